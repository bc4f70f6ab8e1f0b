/**
 * RFC 5452: while the client waits for a slow server, 100,000 forged answers to the same
 * question reach its port: from another loopback address, from the server's address but another
 * port, and from the server's own address and port with guessed IDs (the real risk) or with the
 * real ID but another question. None may be accepted; the resolved set is the real one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import diagnosticsChannel from 'node:diagnostics_channel';
import { DnsClient, peers } from '../../src/index.ts';
import { DROP_CHANNEL, type DropMessage } from '../../src/dns/diagnostics.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { rawUdpServer, type RawQuery, type UdpReply } from '../helpers/raw-servers.ts';
import { answerA } from '../helpers/wire-builder.ts';
import { record, recorded, Rng } from './support.ts';

const OTHER_ADDRESS = 30_000;
const OTHER_PORT = 30_000;
const GUESSED_ID = 39_000;
const WRONG_QUESTION = 1_000;
const REAL = ['10.1.0.1', '10.1.0.2', '10.1.0.3'];

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function bindUdp(host: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** Sends `packets` to the client from `socket` and resolves once the kernel took them all. */
function sendAll(socket: dgram.Socket, packets: Buffer[], port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = packets.length;
    if (left === 0) resolve();
    for (const p of packets) {
      socket.send(p, port, '127.0.0.1', (err) => {
        if (err) reject(err);
        else if (--left === 0) resolve();
      });
    }
  });
}

/** The forged answer `base` with its ID set to `id`. */
function withId(base: Buffer, id: number): Buffer {
  const out = Buffer.from(base);
  out.writeUInt16BE(id, 0);
  return out;
}

/** Answers with the real ID whose question differs: another name, type, class, or not a response. */
function wrongQuestions(forged: Buffer, realId: number): Buffer[] {
  const nameByte = withId(forged, realId);
  nameByte[13] = nameByte[13] === 0x78 ? 0x79 : 0x78; // first letter of the name: not a case change
  const qEnd = forged.indexOf(0, 12) + 1;
  const type = withId(forged, realId);
  type.writeUInt16BE(28, qEnd); // AAAA
  const klass = withId(forged, realId);
  klass.writeUInt16BE(3, qEnd + 2); // CH
  const query = withId(forged, realId);
  query[2] = query[2]! & 0x7f; // QR clear
  return [nameByte, type, klass, query];
}

test('100,000 forged answers while the client waits: none accepted, every one that reached the socket dropped and counted', recorded('spoofing', '100,000 forged answers', async () => {
  const before = activeResources();
  let pending: ((v: { q: RawQuery; reply: UdpReply }) => void) | null = null;
  const arrived = new Promise<{ q: RawQuery; reply: UdpReply }>((resolve) => (pending = resolve));
  const server = await rawUdpServer((q, reply) => pending?.({ q, reply }));
  const otherAddress = await bindUdp('127.0.0.2');
  const drops = new Map<string, number>();
  const onDrop = (m: unknown): void => {
    const reason = (m as DropMessage).reason;
    drops.set(reason, (drops.get(reason) ?? 0) + 1);
  };
  diagnosticsChannel.subscribe(DROP_CHANNEL, onDrop);
  const client = new DnsClient({ servers: server.servers, timeout: 120_000, attempts: 1 });
  try {
    const lookup = peers('nginx', { client, namespace: 'default', port: 80, family: 4 });
    const { q, reply } = await arrived;
    const clientPort = q.rinfo.port;
    const realId = q.id;
    const forged = answerA(q.msg, ['6.6.6.6', '6.6.6.7']);
    const rng = new Rng(realId * 7919 + clientPort);

    // Another loopback address and the server's address from another port: every ID, the real one included.
    const sockets = { otherAddress, otherPort: null as dgram.Socket | null };
    sockets.otherPort = await bindUdp('127.0.0.1');
    let sentOtherAddress = 0;
    let sentOtherPort = 0;
    let sentRightSource = 0;
    let sentWrongQuestion = 0;
    const wrong = wrongQuestions(forged, realId);
    const rightTotal = GUESSED_ID + WRONG_QUESTION;
    const start = performance.now();
    while (sentOtherAddress < OTHER_ADDRESS || sentOtherPort < OTHER_PORT || sentRightSource + sentWrongQuestion < rightTotal) {
      const a: Buffer[] = [];
      for (let i = 0; i < 256 && sentOtherAddress < OTHER_ADDRESS; i++) a.push(withId(forged, (realId + sentOtherAddress++) & 0xffff));
      const b: Buffer[] = [];
      for (let i = 0; i < 256 && sentOtherPort < OTHER_PORT; i++) b.push(withId(forged, (realId + sentOtherPort++) & 0xffff));
      await Promise.all([sendAll(sockets.otherAddress, a, clientPort), sendAll(sockets.otherPort, b, clientPort)]);
      // From the server's own address and port: paced so the client reads each batch (no kernel drops),
      // which makes its dropped counter exact.
      for (let i = 0; i < 32 && sentRightSource + sentWrongQuestion < rightTotal; i++) {
        if ((sentRightSource + sentWrongQuestion) % 40 === 39) {
          reply.send(wrong[sentWrongQuestion % wrong.length]!);
          sentWrongQuestion++;
        } else {
          let id = rng.int(0x10000);
          if (id === realId) id = (id + 1) & 0xffff;
          reply.send(withId(forged, id));
          sentRightSource++;
        }
      }
      const target = sentRightSource + sentWrongQuestion;
      const limit = performance.now() + 5000;
      while (client.stats.dropped < target && performance.now() < limit) await nextTurn();
    }
    const floodMs = performance.now() - start;
    assert.equal(client.stats.answers, 0, 'no forged answer was accepted');

    reply.send(answerA(q.msg, REAL));
    const list = await lookup;
    assert.deepEqual(
      list.map((p) => p.address),
      REAL,
      'the resolved set is the real one',
    );
    const stats = client.stats;
    const total = sentOtherAddress + sentOtherPort + sentRightSource + sentWrongQuestion;
    assert.equal(total, 100_000);
    assert.equal(stats.queries, 1, 'one query, no retry');
    assert.equal(stats.answers, 1, 'exactly one answer accepted: the real one');
    assert.equal(stats.dropped, sentRightSource + sentWrongQuestion, 'every forged answer that reached the socket was dropped and counted');
    assert.equal(drops.get('unknown id'), sentRightSource);
    assert.equal(drops.get('wrong question'), sentWrongQuestion);
    assert.equal(drops.get('wrong source') ?? 0, 0, 'the connected socket never sees other sources');
    record('spoofing', `forged answers sent`, `${total} in ${(floodMs / 1000).toFixed(1)} s (client port ${clientPort}, real ID ${realId})`);
    record('spoofing', 'from 127.0.0.2, every ID (real one too)', `${sentOtherAddress} sent, 0 accepted: filtered by the kernel (connected socket)`);
    record('spoofing', "from the server's address, another port", `${sentOtherPort} sent, 0 accepted: filtered by the kernel (connected socket)`);
    record('spoofing', "from the server's address and port, guessed IDs", `${sentRightSource} sent, 0 accepted, ${drops.get('unknown id')} dropped (unknown id)`);
    record('spoofing', 'real ID, another name/type/class/QR', `${sentWrongQuestion} sent, 0 accepted, ${drops.get('wrong question')} dropped (wrong question)`);
    record('spoofing', 'client stats', `answers ${stats.answers}, dropped ${stats.dropped}; resolved set = the real one`);
    sockets.otherPort.close();
  } finally {
    diagnosticsChannel.unsubscribe(DROP_CHANNEL, onDrop);
    client.close();
    otherAddress.close();
    await server.close();
  }
  await assertNoLeaks(before);
}));
