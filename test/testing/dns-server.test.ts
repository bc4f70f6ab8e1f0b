import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { createTestCluster, createTestServer, type TestCluster, type TestDnsServer } from '../../src/testing/index.ts';
import { nginxFixture } from '../helpers/fixtures.ts';
import { ask, dataOf, decode, makeQuery, rcodeOf, TcpConnection, tcpExchange, udpExchange } from '../helpers/raw-dns.ts';

const Z = 'cluster.local';
const svc = (name: string): string => `${name}.default.svc.${Z}`;

let cluster: TestCluster;
let dns: TestDnsServer;

before(async () => {
  ({ cluster, dns } = await nginxFixture({ setName: 'web' }));
  cluster.setService({ name: 'big', ports: [{ name: 'web', port: 80 }] });
  cluster.statefulSet({ name: 'big', serviceName: 'big', replicas: 1000 });
  cluster.setService({ name: 'mid', ports: [{ name: 'web', port: 80 }] });
  cluster.statefulSet({ name: 'mid', serviceName: 'mid', replicas: 50 });
});

after(async () => {
  await dns.close();
});

describe('TCP', () => {
  test('answers over TCP on the same port as UDP', async () => {
    assert.deepEqual(dns.servers, [`127.0.0.1:${dns.port}`]);
    const r = await ask(dns, `web-1.${svc('nginx')}`, 'A', { transport: 'tcp' });
    assert.deepEqual(dataOf(r.answers, 'A'), [cluster.getPod('web-1')!.addresses[0]]);
  });

  test('many queries on one connection, pipelined in one write', async () => {
    const conn = await TcpConnection.connect(dns);
    try {
      const queries = Array.from({ length: 50 }, (_, i) => makeQuery(`web-${i % 3}.${svc('nginx')}`, 'A', { id: 1000 + i }));
      conn.write(Buffer.concat(queries.map((q) => Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]))));
      const frames = await conn.waitFrames(50);
      assert.equal(frames.length, 50);
      const byId = new Map(frames.map((f) => [decode(f).id, decode(f)]));
      for (let i = 0; i < 50; i++) {
        const r = byId.get(1000 + i)!;
        assert.deepEqual(dataOf(r.answers, 'A'), [cluster.getPod(`web-${i % 3}`)!.addresses[0]]);
      }
    } finally {
      conn.close();
    }
  });

  test('frames split into single bytes are put back together', async () => {
    const conn = await TcpConnection.connect(dns);
    try {
      const q = makeQuery(svc('nginx'), 'A', { id: 77 });
      const frame = Buffer.concat([Buffer.from([0, q.length]), q]);
      for (const byte of frame) {
        conn.write(Buffer.from([byte]));
        await new Promise((resolve) => setImmediate(resolve));
      }
      const [r] = await conn.waitFrames(1);
      assert.equal(decode(r!).id, 77);
      assert.equal(decode(r!).answers!.length, 3);
    } finally {
      conn.close();
    }
  });

  test('garbage frames get FORMERR or nothing, and the connection goes on', async () => {
    const conn = await TcpConnection.connect(dns);
    try {
      conn.send(Buffer.from([0, 42, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3])); // counts wrong
      conn.send(Buffer.from([1, 2, 3])); // shorter than a header: no answer possible
      conn.send(Buffer.alloc(0));
      conn.send(makeQuery(svc('nginx'), 'A', { id: 99 }));
      const frames = await conn.waitFrames(2);
      assert.equal(frames.length, 2);
      assert.equal(decode(frames[0]!).id, 42);
      assert.equal(rcodeOf(decode(frames[0]!)), 'FORMERR');
      assert.equal(decode(frames[1]!).id, 99);
      assert.equal(rcodeOf(decode(frames[1]!)), 'NOERROR');
      assert.equal(conn.closed, false);
    } finally {
      conn.close();
    }
  });

  test('a half-closed connection gets its answers, then is closed', async () => {
    const conn = await TcpConnection.connect(dns);
    conn.send(makeQuery(svc('nginx'), 'A', { id: 5 }));
    conn.socket.end();
    const frames = await conn.waitFrames(1);
    assert.equal(decode(frames[0]!).id, 5);
    assert.equal(await conn.waitClosed(), true);
  });

  test('idle connections are closed by the server', async () => {
    const quick = await createTestServer({ cluster, tcpIdleTimeout: 50 });
    try {
      const conn = await TcpConnection.connect(quick);
      conn.send(makeQuery(svc('nginx'), 'A'));
      await conn.waitFrames(1);
      assert.equal(await conn.waitClosed(), true);
    } finally {
      await quick.close();
    }
  });
});

describe('truncation', () => {
  test('1,000 pods: the UDP SRV answer has TC and is empty; over TCP all 1,000 arrive', async () => {
    for (const edns of [false, 1232] as const) {
      const udp = await ask(dns, `_web._tcp.${svc('big')}`, 'SRV', { edns });
      assert.equal(udp.flag_tc, true);
      assert.equal(udp.answers!.length, 0);
      assert.equal(udp.questions![0]!.name, `_web._tcp.${svc('big')}`);
    }
    const tcp = await ask(dns, `_web._tcp.${svc('big')}`, 'SRV', { transport: 'tcp', edns: 1232 });
    assert.equal(tcp.flag_tc, false);
    const srv = dataOf(tcp.answers, 'SRV') as dnsPacket.SrvData[];
    assert.equal(srv.length, 1000);
    assert.equal(new Set(srv.map((s) => s.target)).size, 1000);
    assert.ok(srv.every((s) => s.weight === 1 && s.priority === 0 && s.port === 80));
    // Glue that does not fit is left out (without TC); what is there is right.
    const glue = tcp.additionals!.filter((a) => a.type === 'A') as dnsPacket.StringAnswer[];
    assert.ok(glue.length > 0);
    for (const g of glue) assert.equal(g.data, cluster.getPod(g.name.split('.')[0]!)!.addresses[0]);
  });

  test('UDP uses the client EDNS size: 50 SRV fit in 4096, glue is cut without TC', async () => {
    const big = await ask(dns, `_web._tcp.${svc('mid')}`, 'SRV', { edns: 4096 });
    assert.equal(big.flag_tc, false);
    assert.equal(big.answers!.length, 50);
    const small = await ask(dns, `_web._tcp.${svc('mid')}`, 'SRV', { edns: 1232 });
    assert.equal(small.flag_tc, true);
    // An EDNS size below 512 counts as 512.
    const tiny = await ask(dns, `web-0.${svc('mid')}`, 'A', { edns: 100 });
    assert.equal(tiny.flag_tc, false);
  });

  test('1,000 A records over TCP; an answer beyond 65,535 bytes is cut at a record with TC', async () => {
    const a = await ask(dns, svc('big'), 'A', { transport: 'tcp' });
    assert.equal(a.answers!.length, 1000);
    const huge = await createTestCluster();
    huge.setService({ name: 'huge', ports: [{ name: 'web', port: 80 }] });
    huge.statefulSet({ name: 'huge', serviceName: 'huge', replicas: 5000 });
    const server = await createTestServer({ cluster: huge });
    try {
      const response = await tcpExchange(server, makeQuery(svc('huge'), 'A'));
      assert.ok(response && response.length <= 65535);
      const r = decode(response);
      assert.equal(r.flag_tc, true);
      assert.ok(r.answers!.length > 3000 && r.answers!.length < 5000, String(r.answers!.length));
    } finally {
      await server.close();
    }
  });
});

describe('server', () => {
  test('IPv6 host', async () => {
    const v6 = await createTestServer({ cluster, host: '::1' });
    try {
      assert.deepEqual(v6.servers, [`[::1]:${v6.port}`]);
      assert.equal((await ask(v6, svc('nginx'), 'A')).answers!.length, 3);
      assert.equal((await ask(v6, svc('nginx'), 'A', { transport: 'tcp' })).answers!.length, 3);
      assert.match(v6.queries[0]!.from, /^\[::1\]:\d+$/);
    } finally {
      await v6.close();
    }
  });

  test('the query log records every message, bounded', async () => {
    const logged = await createTestServer({ cluster, queryLogLimit: 3 });
    try {
      await ask(logged, svc('nginx'), 'A', { id: 1 });
      await ask(logged, svc('nope'), 'A', { id: 2, transport: 'tcp' });
      await ask(logged, 'Example.COM', 'TXT', { id: 3 });
      await udpExchange(logged, Buffer.from([0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
      assert.equal(logged.queries.length, 3);
      const [a, b, c] = logged.queries;
      assert.deepEqual(
        { ...a, from: '', time: 0 },
        { name: 'nope.default.svc.cluster.local', type: 'A', class: 'IN', transport: 'tcp', id: 2, rcode: 'NXDOMAIN', truncated: false, from: '', time: 0, faults: [] },
      );
      assert.equal(b!.name, 'Example.COM');
      assert.equal(b!.rcode, 'REFUSED');
      assert.equal(c!.name, '');
      assert.equal(c!.rcode, 'FORMERR');
      assert.match(c!.from, /^127\.0\.0\.1:\d+$/);
      assert.equal(typeof c!.time, 'number');
    } finally {
      await logged.close();
    }
  });

  test('stop() takes the server down and start() brings it back on the same port', async () => {
    const server = await createTestServer({ cluster });
    try {
      const port = server.port;
      await server.stop();
      assert.equal(server.listening, false);
      assert.equal(await udpExchange(server, makeQuery(svc('nginx'), 'A'), { timeout: 200 }), null);
      await assert.rejects(TcpConnection.connect(server), { code: 'ECONNREFUSED' });
      await server.start();
      assert.equal(server.port, port);
      assert.equal((await ask(server, svc('nginx'), 'A')).answers!.length, 3);
      assert.equal((await ask(server, svc('nginx'), 'A', { transport: 'tcp' })).answers!.length, 3);
    } finally {
      await server.close();
    }
    await assert.rejects(server.start(), { code: 'ERR_SERVER_CLOSED' });
  });

  test('bad options are rejected with a code', async () => {
    await assert.rejects(createTestServer({ cluster, host: 'localhost' }), { code: 'ERR_INVALID_ARG_VALUE' });
    await assert.rejects(createTestServer({ cluster, port: 70000 }), { code: 'ERR_INVALID_ARG_VALUE' });
    await assert.rejects(createTestServer({ cluster, ttl: -1 }), { code: 'ERR_INVALID_ARG_VALUE' });
    await assert.rejects(createTestServer({} as never), { code: 'ERR_INVALID_ARG_VALUE' });
  });

  test('a port in use is an error', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      await assert.rejects(createTestServer({ cluster, port }), { code: 'EADDRINUSE' });
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  test('close() leaves no active handles, with connections open and answers pending', async () => {
    const before = process.getActiveResourcesInfo();
    const server = await createTestServer({ cluster });
    const conn = await TcpConnection.connect(server);
    conn.send(makeQuery(svc('nginx'), 'A'));
    await conn.waitFrames(1);
    server.fault({ delayMs: 60_000 });
    conn.send(makeQuery(svc('nginx'), 'A'));
    await udpExchange(server, makeQuery(svc('nginx'), 'A'), { timeout: 50 });
    await server.close();
    assert.equal(await conn.waitClosed(), true);
    await new Promise((resolve) => setImmediate(resolve));
    // Nothing more than before (handles of earlier tests may have finished closing meanwhile).
    const count = (list: string[]): Map<string, number> => {
      const m = new Map<string, number>();
      for (const r of list) m.set(r, (m.get(r) ?? 0) + 1);
      return m;
    };
    const was = count(before);
    for (const [kind, n] of count(process.getActiveResourcesInfo())) {
      assert.ok(n <= (was.get(kind) ?? 0), `${n} ${kind} after close, ${was.get(kind) ?? 0} before`);
    }
    assert.deepEqual(server.internalErrors, []);
  });
});
