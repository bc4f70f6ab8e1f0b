/**
 * Fuzzing: 1,000,000 random and mutated responses through the decoder (in-process), 100,000
 * random and mutated queries through the test server over UDP and TCP, and mutated answers
 * through the client. No crash, no error but the typed one, and bounded work per packet.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { DnsClient, DnsError } from '../../src/index.ts';
import { decodeResponse } from '../../src/dns/message.ts';
import { Responder } from '../../src/testing/answer.ts';
import { createTestCluster, createTestServer, type TestCluster, type TestDnsServer } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { ask, makeQuery, TcpConnection } from '../helpers/raw-dns.ts';
import { frame, rawServerPair } from '../helpers/raw-servers.ts';
import { aRdata, pointer, readQuestion } from '../helpers/wire-builder.ts';
import { chain, fullMessage, quadratic, rr, response } from './packets.ts';
import { record, recorded, Rng } from './support.ts';

const SVC = 'nginx.default.svc.cluster.local';
const DECODER_CASES = 1_000_000;
const SERVER_UDP_CASES = 80_000;
const SERVER_TCP_CASES = 20_000;
const CLIENT_UDP_CASES = 4_000;
const CLIENT_TCP_CASES = 1_000;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let cluster: TestCluster;

before(async () => {
  cluster = await createTestCluster({ ipFamilies: 'DualStack' });
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }, { name: 'peer', port: 7000, protocol: 'UDP' }] });
  cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 3 });
  cluster.setService({ name: 'big', ports: [{ name: 'web', port: 80 }] });
  cluster.statefulSet({ name: 'big', serviceName: 'big', replicas: 40 });
});

/** Real responses (compressed as the test server writes them) and dns-packet's encodings of other types. */
function responseCorpus(): Buffer[] {
  const responder = new Responder(cluster);
  const answer = (name: string, type: string, edns: number | false = 1232): Buffer =>
    responder.answerPacket(makeQuery(name, type, { edns }), 'udp')!.response;
  const out = [
    answer(`_web._tcp.${SVC}`, 'SRV'),
    answer(`_peer._udp.${SVC}`, 'SRV', false),
    answer(SVC, 'A'),
    answer(SVC, 'AAAA'),
    answer(`web-0.${SVC}`, 'A'),
    answer(`nothere.${SVC}`, 'A'),
    answer(`web-0.${SVC}`, 'TXT'),
    answer(`_web._tcp.big.default.svc.cluster.local`, 'SRV', 4096),
    answer(`_web._tcp.big.default.svc.cluster.local`, 'SRV', 512),
    answer('cluster.local', 'SOA'),
  ];
  const encoded = (answers: dnsPacket.Answer[], question: { name: string; type: string }): Buffer =>
    dnsPacket.encode({
      type: 'response',
      id: 4242,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: [{ name: question.name, type: question.type as dnsPacket.RecordType, class: 'IN' }],
      answers,
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as unknown as dnsPacket.Answer],
    });
  const owner = 'x.example';
  out.push(
    encoded([{ type: 'TXT', name: owner, ttl: 5, data: ['hello', 'world'] }], { name: owner, type: 'TXT' }),
    encoded([{ type: 'MX', name: owner, ttl: 5, data: { preference: 10, exchange: 'mail.example' } }], { name: owner, type: 'MX' }),
    encoded(
      [
        { type: 'CNAME', name: owner, ttl: 5, data: 'y.example' },
        { type: 'A', name: 'y.example', ttl: 5, data: '10.0.0.1' },
      ],
      { name: owner, type: 'A' },
    ),
    encoded(
      [{ type: 'NAPTR', name: owner, ttl: 5, data: { order: 1, preference: 1, flags: 'S', services: 'SIP+D2U', regexp: '', replacement: '_sip._udp.example' } }],
      { name: owner, type: 'NAPTR' },
    ),
    encoded([{ type: 'CAA', name: owner, ttl: 5, data: { flags: 0, tag: 'issue', value: 'ca.example' } }], { name: owner, type: 'CAA' }),
    encoded([{ type: 'RP', name: owner, ttl: 5, data: { mbox: 'admin.example', txt: 'txt.example' } }], { name: owner, type: 'RP' }),
    encoded([{ type: 'NSEC', name: owner, ttl: 5, data: { nextDomain: 'z.example', rrtypes: ['A', 'TXT', 'RRSIG'] } }], { name: owner, type: 'NSEC' }),
    encoded(
      [
        {
          type: 'RRSIG',
          name: owner,
          ttl: 5,
          data: {
            typeCovered: 'A',
            algorithm: 8,
            labels: 2,
            originalTTL: 5,
            expiration: 1_900_000_000,
            inception: 1_800_000_000,
            keyTag: 12345,
            signersName: 'example',
            signature: Buffer.alloc(64, 7),
          },
        },
      ],
      { name: owner, type: 'RRSIG' },
    ),
    encoded([{ type: 'HINFO', name: owner, ttl: 5, data: { cpu: 'x86', os: 'linux' } }], { name: owner, type: 'HINFO' }),
    encoded([{ type: 'DS', name: owner, ttl: 5, data: { keyTag: 1, algorithm: 8, digestType: 2, digest: Buffer.alloc(32, 1) } }], { name: owner, type: 'DS' }),
    encoded([{ type: 'PTR', name: '1.0.0.10.in-addr.arpa', ttl: 5, data: `web-0.${SVC}` }], { name: '1.0.0.10.in-addr.arpa', type: 'PTR' }),
  );
  return out;
}

const INTERESTING = [0x00, 0xff, 0xc0, 0xc1, 0x3f, 0x40, 0x80, 0x01, 0x7f, 0x0c, 0xfe];

/**
 * Writes a mutant of `corpus` into `work` and returns its length. Cheap on purpose: a copy and a
 * few byte writes per case, so a million cases spend their time in the decoder.
 */
function mutate(rng: Rng, corpus: Buffer[], work: Buffer): number {
  const base = corpus[rng.int(corpus.length)]!;
  let len = base.length;
  base.copy(work, 0, 0, len);
  const kind = rng.int(11);
  switch (kind) {
    case 0: // bit flips
      for (let i = 0, n = 1 + rng.int(8); i < n; i++) work[rng.int(len)]! ^= 1 << rng.int(8);
      break;
    case 1: // interesting bytes
      for (let i = 0, n = 1 + rng.int(4); i < n; i++) work[rng.int(len)] = INTERESTING[rng.int(INTERESTING.length)]!;
      break;
    case 2: {
      // a compression pointer anywhere, to anywhere (backward, forward, itself, past the end)
      const at = rng.int(len - 1);
      const to = rng.int(len + 32);
      work[at] = 0xc0 | ((to >> 8) & 0x3f);
      work[at + 1] = to & 0xff;
      break;
    }
    case 3: // cut short
      len = rng.int(len);
      break;
    case 4: // random bytes appended
      for (let i = 0, n = 1 + rng.int(64); i < n && len < work.length; i++) work[len++] = rng.int(256);
      break;
    case 5: // header counts
      for (let i = 4; i < 12; i += 2) if (rng.int(2) === 0) work.writeUInt16BE(rng.int(3) === 0 ? rng.int(0x10000) : rng.int(8), i);
      break;
    case 6: {
      // splice: this one's head, another's tail
      const other = corpus[rng.int(corpus.length)]!;
      const cut = rng.int(len);
      const from = rng.int(other.length);
      const n = Math.min(other.length - from, work.length - cut);
      other.copy(work, cut, from, from + n);
      len = cut + n;
      break;
    }
    case 7: // a small value (a label length, a count, an rdlength) somewhere
      for (let i = 0, n = 1 + rng.int(3); i < n; i++) work[rng.int(len)] = rng.int(70);
      break;
    case 8: {
      // a region copied over another (repeats names and records)
      const from = rng.int(len);
      const to = rng.int(len);
      const n = Math.min(1 + rng.int(40), len - from, work.length - to);
      work.copy(work, to, from, from + n);
      len = Math.max(len, to + n);
      break;
    }
    case 9: // noise with a response header
      len = 12 + rng.int(300);
      for (let i = 2; i < len; i++) work[i] = rng.int(256);
      work[2] = 0x81;
      break;
    default: // pure noise
      len = rng.int(rng.int(20) === 0 ? 4000 : 600);
      for (let i = 0; i < len; i++) work[i] = rng.int(256);
      break;
  }
  return len;
}

/** Work done by dns-packet's readers while `fn` runs: buffer reads and string decodes (each label, each pointer hop). */
function countSteps(fn: () => void): number {
  const proto = Buffer.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const names = ['readUInt16BE', 'readUInt32BE', 'readUInt8', 'toString', 'slice', 'subarray'] as const;
  const saved = names.map((n) => proto[n]!);
  let steps = 0;
  names.forEach((n, i) => {
    const original = saved[i]!;
    proto[n] = function (this: Buffer, ...args: unknown[]) {
      steps++;
      return original.apply(this, args);
    };
  });
  try {
    fn();
  } finally {
    names.forEach((n, i) => (proto[n] = saved[i]!));
  }
  return steps;
}

/** Fastest of `runs` decodes of `packet`, in µs (the minimum filters GC and scheduling noise). */
function decodeMicros(packet: Buffer, runs: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    try {
      decodeResponse(packet);
    } catch {
      // typed EBADRESP: checked elsewhere
    }
    best = Math.min(best, performance.now() - t);
  }
  return best * 1000;
}

/** Decodes and returns 'ok' or the error code; anything but a DnsError EBADRESP fails. */
function outcome(packet: Buffer): string {
  try {
    decodeResponse(packet);
    return 'ok';
  } catch (err) {
    if (err instanceof DnsError && err.code === 'EBADRESP') return 'EBADRESP';
    throw new Error(`decodeResponse threw ${String(err)} for ${packet.toString('hex')}`, { cause: err });
  }
}

describe('fuzzing', () => {
  test(`${DECODER_CASES.toLocaleString('en')} random and mutated responses through the decoder: only EBADRESP, bounded work`, recorded('fuzz', 'decoder', () => {
    const corpus = responseCorpus();
    for (const p of corpus) assert.equal(outcome(p), 'ok', 'every corpus packet decodes');
    const rng = new Rng(0x5eed1234);
    const work = Buffer.alloc(8192);
    let ok = 0;
    let bad = 0;
    // The slowest packets, kept with their bytes to time again and count their steps.
    const slow: { ms: number; bytes: Buffer }[] = [];
    let threshold = 0;
    const start = performance.now();
    for (let i = 0; i < DECODER_CASES; i++) {
      const len = mutate(rng, corpus, work);
      const packet = work.subarray(0, len);
      const t = performance.now();
      try {
        decodeResponse(packet);
        ok++;
      } catch (err) {
        if (!(err instanceof DnsError) || err.code !== 'EBADRESP') {
          assert.fail(`case ${i}: decodeResponse threw ${String(err)} for ${Buffer.from(packet).toString('hex')}`);
        }
        bad++;
      }
      const ms = performance.now() - t;
      if (ms > threshold) {
        slow.push({ ms, bytes: Buffer.from(packet) });
        slow.sort((a, b) => b.ms - a.ms);
        if (slow.length > 10) slow.length = 10;
        threshold = slow.length === 10 ? slow[9]!.ms : 0;
      }
    }
    const totalS = (performance.now() - start) / 1000;
    // Timed once, a packet may have met a GC pause: time the slowest again, and count their steps.
    const retimed = slow.map((s) => ({ ...s, us: decodeMicros(s.bytes, 20), steps: countSteps(() => outcome(s.bytes)) }));
    retimed.sort((a, b) => b.us - a.us);
    // Linear: at most 4 steps per byte (a TXT record of empty strings takes 2). A name chain
    // followed from 2,000 records took ~285 per byte before scanMessage checked NSEC/RRSIG/RP names.
    for (const s of retimed) {
      assert.ok(s.steps <= 4 * s.bytes.length + 100, `${s.steps} decode steps for a packet of ${s.bytes.length} bytes: ${s.bytes.toString('hex')}`);
    }
    const worst = retimed[0]!;
    record('fuzz', 'decoder (in-process)', `${DECODER_CASES} cases in ${totalS.toFixed(1)} s: ${ok} decoded, ${bad} EBADRESP, 0 other errors`);
    record(
      'fuzz',
      'decoder: slowest packet',
      `${worst.us.toFixed(1)} µs (min of 20) for ${worst.bytes.length} bytes, ${worst.steps} steps; first timing ${(worst.ms * 1000).toFixed(0)} µs`,
    );
  }));

  test('pathological packets cost work linear in their size (pointer chains, 64 KB answers, 5,000 records)', recorded('fuzz', 'pathological packets', () => {
    const q = makeQuery('p.example', 'A');
    const ownerChain = (() => {
      // 127 hops is the most a name may take: every record's owner ends a chain of 126 pointers.
      const base = chain(q, 126);
      const s = readQuestion(q).end;
      const end = pointer(s + 2 + 10 + 125 * 2);
      const records: Buffer[] = [];
      let size = base.length;
      const one = rr(end, 1, 5, aRdata('10.0.0.1'));
      while (size + one.length <= 65_535) {
        records.push(one);
        size += one.length;
      }
      const head = Buffer.from(base);
      head.writeUInt16BE(2 + records.length, 6);
      return Buffer.concat([head, ...records]);
    })();
    const cases: [string, Buffer][] = [
      ['64 KB of A records (baseline)', fullMessage(q, [])],
      ['64 KB: every owner at the end of a 127-hop chain', ownerChain],
      ['64 KB: pointer chain + NSEC names at its end', quadratic(q, 47)],
      ['64 KB: pointer chain + RRSIG signers at its end', quadratic(q, 46)],
      ['64 KB: pointer chain + RP names at its end', quadratic(q, 17)],
      ['64 KB: one TXT record of 1-byte strings', response(q, [rr(pointer(12), 16, 5, Buffer.alloc(65_000, 0))], [1, 0, 0])],
      ['64 KB: OPT of empty options', response(q, [rr(Buffer.from([0]), 41, 0, Buffer.alloc(65_000, 0))], [0, 0, 1])],
    ];
    const baseline = decodeMicros(cases[0]![1], 10);
    const rows: string[] = [];
    for (const [what, packet] of cases) {
      const result = outcome(packet);
      const steps = countSteps(() => outcome(packet));
      const us = decodeMicros(packet, 10);
      assert.ok(steps <= 4 * packet.length + 100, `${what}: ${steps} decode steps for ${packet.length} bytes`);
      rows.push(`${what}: ${result}, ${steps} steps, ${(us / 1000).toFixed(2)} ms (${(us / baseline).toFixed(1)}x baseline)`);
    }
    record('fuzz', 'pathological 64 KB packets', rows.join('; '));
  }));

  describe('through the test server', () => {
    let dns: TestDnsServer;
    before(async () => {
      dns = await createTestServer({ cluster, queryLogLimit: SERVER_UDP_CASES + SERVER_TCP_CASES + 100 });
    });
    after(async () => {
      await dns.close();
    });

    const QUERIES = [
      makeQuery(SVC, 'A'),
      makeQuery(SVC, 'AAAA', { edns: 1232 }),
      makeQuery(`_web._tcp.${SVC}`, 'SRV', { edns: 4096 }),
      makeQuery(`_web._tcp.big.default.svc.cluster.local`, 'SRV'),
      makeQuery(`web-0.${SVC}`, 'A'),
      makeQuery('1.0.1.127.in-addr.arpa', 'PTR', { edns: 512 }),
      makeQuery('example.com', 'TXT'),
      makeQuery('cluster.local', 'SOA', { edns: 1232, ednsVersion: 1 }),
    ];

    test(`${(SERVER_UDP_CASES + SERVER_TCP_CASES).toLocaleString('en')} random and mutated queries over UDP and TCP: the server answers on, no internal error`, recorded('fuzz', 'test server', async () => {
      const rng = new Rng(0xd15ea5e);
      const work = Buffer.alloc(8192);
      const mutant = (): Buffer => Buffer.from(work.subarray(0, mutate(rng, QUERIES, work)));
      const start = performance.now();

      // UDP: paced so the server reads every datagram (the query log then counts them exactly).
      const socket = dgram.createSocket('udp4');
      let answers = 0;
      socket.on('message', () => answers++);
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      for (let sent = 0; sent < SERVER_UDP_CASES; ) {
        for (let i = 0; i < 32 && sent < SERVER_UDP_CASES; i++, sent++) socket.send(mutant(), dns.port, dns.host);
        const limit = performance.now() + 1000;
        while (dns.queries.length < sent && performance.now() < limit) await nextTurn();
      }
      const udpSeen = dns.queries.length;
      await nextTurn();
      socket.close();

      // TCP: 200 pipelined connections of 100 frames each, 10 at a time; half of them end with a
      // broken tail (a frame cut short, a lone length byte, noise) before the client closes.
      const tcpSeen = (): number => dns.queries.length - udpSeen;
      const PER_CONNECTION = 100;
      for (let c = 0; c < SERVER_TCP_CASES / PER_CONNECTION; c += 10) {
        const conns = await Promise.all(Array.from({ length: 10 }, () => TcpConnection.connect(dns)));
        for (const conn of conns) {
          const frames: Buffer[] = [];
          for (let i = 0; i < PER_CONNECTION; i++) frames.push(frame(mutant()));
          if (rng.int(2) === 0) {
            const tail = frame(mutant());
            frames.push(rng.int(2) === 0 ? tail.subarray(0, rng.int(tail.length)) : Buffer.from([rng.int(256)]));
          }
          conn.write(Buffer.concat(frames));
        }
        // Every whole frame is logged when read; the broken tails wait for bytes that never come.
        const target = (c + 10) * PER_CONNECTION;
        const limit = performance.now() + 5000;
        while (tcpSeen() < target && performance.now() < limit) await nextTurn();
        for (const conn of conns) conn.close();
      }
      const seconds = (performance.now() - start) / 1000;
      const tcpRead = tcpSeen();
      const tcpAnswers = dns.queries.slice(udpSeen).filter((e) => e.rcode !== null).length;
      assert.deepEqual(dns.internalErrors, [], 'no exception inside the server');
      assert.ok(udpSeen >= SERVER_UDP_CASES * 0.99, `the server read ${udpSeen} of ${SERVER_UDP_CASES} datagrams`);
      assert.equal(tcpRead, SERVER_TCP_CASES, 'the server read every whole TCP frame');
      // Still answering, right, over both transports.
      for (const transport of ['udp', 'tcp'] as const) {
        const res = await ask(dns, `_web._tcp.${SVC}`, 'SRV', { transport, edns: 1232 });
        assert.equal((res.answers ?? []).length, 3);
      }
      record(
        'fuzz',
        'test server over UDP and TCP',
        `${SERVER_UDP_CASES} UDP (${udpSeen} read, ${answers} answered) + ${SERVER_TCP_CASES} TCP frames (${tcpRead} read, ${tcpAnswers} answered) in ${seconds.toFixed(1)} s; 0 internal errors; answers right after`,
      );
    }));
  });

  test(`${(CLIENT_UDP_CASES + CLIENT_TCP_CASES).toLocaleString('en')} mutated answers through DnsClient (UDP and TCP): a result or a typed error`, recorded('fuzz', 'DnsClient', async () => {
    const handles = activeResources();
    const rng = new Rng(0xc11e47);
    // The answer's ID and question stay (so it passes the RFC 5452 checks and reaches the decoder); the rest mutates.
    const mutatedAnswer = (query: Buffer): Buffer => {
      const qEnd = readQuestion(query).end;
      const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
      const base = rng.int(8) === 0 ? fullMessage(query, []).subarray(0, 4000) : response(query, ips.map((ip) => rr(pointer(12), 1, 5, aRdata(ip))), [3, 0, 0]);
      const out = Buffer.from(base);
      const tailLen = out.length - qEnd;
      if (tailLen <= 0) return out;
      for (let i = 0, n = 1 + rng.int(6); i < n; i++) {
        const at = qEnd + rng.int(tailLen);
        out[at] = rng.int(3) === 0 ? INTERESTING[rng.int(INTERESTING.length)]! : rng.int(256);
      }
      if (rng.int(5) === 0) out.writeUInt16BE(rng.int(8), 6 + 2 * rng.int(3)); // counts
      if (rng.int(5) === 0) out[3] = rng.int(256); // rcode, RA, Z
      return rng.int(10) === 0 ? out.subarray(0, qEnd + rng.int(tailLen)) : out;
    };
    const pair = await rawServerPair(
      (q, reply) => reply.send(mutatedAnswer(q.msg)),
      (q, conn) => conn.socket.write(frame(mutatedAnswer(q))),
    );
    const outcomes = new Map<string, number>();
    const run = async (client: DnsClient, count: number): Promise<void> => {
      for (let done = 0; done < count; done += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, count - done) }, (_, i) =>
            client.resolve4(`f${done + i}.fuzz.test`).then(
              () => 'ok',
              (err: unknown) => {
                assert.ok(err instanceof DnsError, `not a DnsError: ${String(err)}`);
                return err.code;
              },
            ).then((code) => outcomes.set(code, (outcomes.get(code) ?? 0) + 1)),
          ),
        );
      }
    };
    const udp = new DnsClient({ servers: pair.servers, timeout: 1000, attempts: 1, search: [], ndots: 1 });
    const tcp = new DnsClient({ servers: pair.servers, timeout: 1000, attempts: 1, search: [], ndots: 1, tcp: 'always' });
    try {
      await run(udp, CLIENT_UDP_CASES);
      await run(tcp, CLIENT_TCP_CASES);
    } finally {
      udp.close();
      tcp.close();
      await pair.close();
    }
    await assertNoLeaks(handles);
    assert.ok((outcomes.get('ok') ?? 0) > 0 && (outcomes.get('EBADRESP') ?? 0) > 0, 'both outcomes occur');
    record('fuzz', 'mutated answers through DnsClient', `${CLIENT_UDP_CASES} UDP + ${CLIENT_TCP_CASES} TCP: ${[...outcomes].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }));
});
