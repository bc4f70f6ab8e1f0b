import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { createTestCluster, createTestServer, type TestDnsServer } from '../../src/testing/index.ts';
import { ask, makeQuery, TcpConnection } from '../helpers/raw-dns.ts';

const SVC = 'nginx.default.svc.cluster.local';

/** Deterministic PRNG (mulberry32): a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20240601;
const rand = prng(SEED);
const int = (n: number): number => Math.floor(rand() * n);
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));

const BASES: Buffer[] = [
  makeQuery(SVC, 'A'),
  makeQuery(SVC, 'AAAA', { edns: 1232 }),
  makeQuery(`_web._tcp.${SVC}`, 'SRV', { edns: 4096 }),
  makeQuery(`web-0.${SVC}`, 'A'),
  makeQuery('1.0.1.127.in-addr.arpa', 'PTR', { edns: 512 }),
  makeQuery('example.com', 'TXT'),
  makeQuery('cluster.local', 'SOA', { edns: 1232 }),
];

/** A mutated real query, or random bytes. */
function mutant(): Buffer {
  const base = Buffer.from(BASES[int(BASES.length)]!);
  switch (int(9)) {
    case 0: // flip bytes
      for (let i = 0, n = 1 + int(5); i < n; i++) base[int(base.length)] = int(256);
      return base;
    case 1: // cut short
      return base.subarray(0, int(base.length));
    case 2: // extend
      return Buffer.concat([base, bytes(1 + int(64))]);
    case 3: // bad counts
      for (let i = 4; i < 12; i += 2) if (rand() < 0.5) base.writeUInt16BE(int(4) === 0 ? 0xffff : int(4), i);
      return base;
    case 4: // question name is a pointer to itself
      return Buffer.concat([base.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    case 5: {
      // an additional record whose owner points at itself (a compression loop)
      const withAr = Buffer.from(base);
      withAr.writeUInt16BE(withAr.readUInt16BE(10) + 1, 10);
      const at = withAr.length;
      return Buffer.concat([withAr, Buffer.from([0xc0 | (at >> 8), at & 0xff, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4])]);
    }
    case 6: // odd header flags: QR, opcodes, Z
      base.writeUInt16BE(int(0x10000), 2);
      return base;
    case 7: // labels with any bytes
      for (let i = 13; i < base.length - 5; i++) if (rand() < 0.2) base[i] = int(256);
      return base;
    default: // pure noise
      return bytes(int(600));
  }
}

let dns: TestDnsServer;

before(async () => {
  const cluster = await createTestCluster();
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
  cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 3 });
  dns = await createTestServer({ cluster, queryLogLimit: 20_000 });
});

after(async () => {
  await dns.close();
});

test('10,000 random and mutated UDP packets, then a valid query answers; every answer decodes', async () => {
  const socket = dgram.createSocket('udp4');
  const answers: Buffer[] = [];
  socket.on('message', (msg) => answers.push(msg));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const start = dns.queries.length;
  try {
    for (let batch = 1; batch <= 100; batch++) {
      for (let i = 0; i < 100; i++) socket.send(mutant(), dns.port, '127.0.0.1');
      // Let the server read each batch before the next, so the kernel's socket buffer does not overflow.
      for (let wait = 0; dns.queries.length - start < batch * 100 && wait < 200; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    // Wait until the server has read what arrived: the log stops growing.
    let seen = -1;
    while (dns.queries.length !== seen) {
      seen = dns.queries.length;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    socket.close();
  }
  const received = dns.queries.length - start;
  assert.ok(received > 9000, `${received} of 10,000 packets reached the server`);
  assert.ok(answers.length > 0);
  for (const answer of answers) {
    assert.doesNotThrow(() => dnsPacket.decode(answer), 'every answer the server sends is a valid DNS message');
  }
  assert.deepEqual(dns.internalErrors, []);
  const r = await ask(dns, SVC, 'A');
  assert.equal(r.answers!.length, 3);
});

test('mutated frames and raw noise over TCP, then a valid query answers', async () => {
  for (let c = 0; c < 10; c++) {
    const conn = await TcpConnection.connect(dns);
    // Messages under 12 bytes (no header) get no answer; every other one does, in order.
    let expected = 1;
    for (let i = 0; i < 50; i++) {
      const m = mutant();
      if (m.length >= 12) expected++;
      conn.send(m);
    }
    conn.send(makeQuery(SVC, 'A', { id: 4321 }));
    const frames = await conn.waitFrames(expected);
    assert.equal(frames.length, expected);
    const last = frames.at(-1);
    assert.ok(last);
    assert.equal(dnsPacket.decode(last).id, 4321);
    for (const f of frames) assert.doesNotThrow(() => dnsPacket.decode(f));
    conn.close();
  }
  for (let c = 0; c < 10; c++) {
    const conn = await TcpConnection.connect(dns);
    conn.write(bytes(1 + int(3000)));
    conn.close();
  }
  assert.deepEqual(dns.internalErrors, []);
  assert.equal((await ask(dns, SVC, 'A', { transport: 'tcp' })).answers!.length, 3);
});
