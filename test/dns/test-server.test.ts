/**
 * DnsClient against the project's test DNS server (headless-sd/testing): big answers, every
 * fault, dead servers, abort, concurrency, handles.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsClient, type DnsClientOptions } from '../../src/dns/client.ts';
import { DnsError } from '../../src/dns/errors.ts';
import { createTestCluster, createTestServer, type TestCluster, type TestDnsServer } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { runtime } from '../helpers/runtime.ts';

const SVC = 'nginx.default.svc.cluster.local';
const SRV = `_web._tcp.${SVC}`;
const BIG = 'big.default.svc.cluster.local';

let cluster: TestCluster;
let dns: TestDnsServer;
let spare: TestDnsServer;
let handlesBefore: Map<string, number>;

before(async () => {
  handlesBefore = activeResources();
  cluster = await createTestCluster();
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
  cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 3 });
  cluster.setService({ name: 'big', ports: [{ name: 'web', port: 80 }] });
  cluster.statefulSet({ name: 'big', serviceName: 'big', replicas: 1000 });
  dns = await createTestServer({ cluster, port: 0 });
  spare = await createTestServer({ cluster, port: 0 });
});

after(async () => {
  await dns.close();
  await spare.close();
  await assertNoLeaks(handlesBefore);
});

function client(servers: string[], options: DnsClientOptions = {}): DnsClient {
  return new DnsClient({ servers, search: [], ndots: 1, timeout: 1000, attempts: 1, ...options });
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    assert.ok(err instanceof DnsError, `not a DnsError: ${String(err)}`);
    assert.ok(err.message.length < 300 && !err.message.includes('\n'), 'a one-line message');
    return err.code;
  }
}

async function withFault<T>(fault: Parameters<TestDnsServer['fault']>[0], fn: () => Promise<T>): Promise<T> {
  dns.fault(fault);
  try {
    return await fn();
  } finally {
    dns.clearFaults();
  }
}

describe('DnsClient against createTestServer', () => {
  test('SRV with glue, A, and a truncated 1,000-record answer that arrives whole over TCP', async () => {
    const c = client(dns.servers);
    try {
      const srv = await c.resolveSrv(SRV);
      assert.deepEqual(srv.map((r) => r.name).sort(), [0, 1, 2].map((i) => `web-${i}.${SVC}`));
      for (const r of srv) assert.equal(r.addresses.length > 0, true, `glue for ${r.name}`);
      assert.equal((await c.resolve4(SVC)).length, 3);
      const big = await c.query(BIG, 'A');
      assert.equal(big.transport, 'tcp');
      assert.equal(big.answers.length, 1000);
      assert.equal(c.stats.truncated, 1);
    } finally {
      c.close();
    }
  });

  test('faults give their error codes', async () => {
    const c = client(dns.servers, { timeout: 100, attempts: 2 });
    const always = client(dns.servers, { tcp: 'always', timeout: 100 });
    try {
      assert.equal(await withFault({ drop: true }, () => code(c.resolve4(SVC))), 'ETIMEOUT');
      assert.equal(await withFault({ rcode: 'SERVFAIL' }, () => code(c.resolve4(SVC))), 'ESERVFAIL');
      assert.equal(await withFault({ rcode: 'REFUSED' }, () => code(c.resolve4(SVC))), 'EREFUSED');
      assert.equal(await withFault({ rcode: 'FORMERR' }, () => code(c.resolve4(SVC))), 'EFORMERR');
      assert.equal(await withFault({ rcode: 'NOTIMP' }, () => code(c.resolve4(SVC))), 'ENOTIMP');
      assert.equal(await withFault({ rcode: 'NXDOMAIN' }, () => code(c.resolve4(SVC))), 'ENOTFOUND');

      const dropped = c.stats.dropped;
      assert.equal(await withFault({ wrongId: true }, () => code(c.resolve4(SVC))), 'ETIMEOUT');
      assert.ok(c.stats.dropped >= dropped + 2, 'wrong-ID answers are dropped and counted');

      // Random bytes cannot match an outstanding query (dropped: ETIMEOUT) or, if they do, not decode (EBADRESP).
      const before = c.stats.dropped + c.stats.badResponses;
      assert.ok(['ETIMEOUT', 'EBADRESP'].includes(await withFault({ garbage: true }, () => code(c.resolve4(SVC)))));
      assert.ok(c.stats.dropped + c.stats.badResponses > before);
      assert.ok(['ETIMEOUT', 'EBADRESP'].includes(await withFault({ garbage: true }, () => code(always.resolve4(SVC)))));

      // TC over UDP but the TCP port resets: ECONNREFUSED. Bun reports the connection as
      // established before the reset that follows the handshake: the server closed it, ECONNRESET.
      dns.fault({ truncate: true });
      assert.equal(await withFault({ tcp: false }, () => code(c.resolve4(SVC))), runtime === 'bun' ? 'ECONNRESET' : 'ECONNREFUSED');
    } finally {
      c.close();
      always.close();
    }
  });

  test('SERVFAIL rotates over both servers before ESERVFAIL', async () => {
    const c = client([...dns.servers, ...spare.servers], { attempts: 2 });
    dns.queries.length = 0;
    spare.queries.length = 0;
    dns.fault({ rcode: 'SERVFAIL' });
    spare.fault({ rcode: 'SERVFAIL' });
    try {
      const err = await c.resolve4(SVC).catch((e: DnsError) => e);
      assert.ok(err instanceof DnsError);
      assert.equal(err.code, 'ESERVFAIL');
      assert.equal(err.server, spare.servers[0]);
      assert.equal(dns.queries.length, 1);
      assert.equal(spare.queries.length, 1);
      // Only the first fails: the second answers.
      spare.clearFaults();
      assert.equal((await c.query(SVC, 'A')).server, spare.servers[0]);
    } finally {
      dns.clearFaults();
      spare.clearFaults();
      c.close();
    }
  });

  test('a late answer (delayMs) times the try out; the next try succeeds and the late one is dropped', async () => {
    const c = client(dns.servers, { timeout: 100, attempts: 2 });
    dns.fault({ delayMs: 200, count: 1 });
    try {
      assert.equal((await c.resolve4(SVC)).length, 3);
      assert.equal(c.stats.timeouts, 1);
      await until(() => c.stats.dropped === 1, 'the late answer to be dropped');
    } finally {
      dns.clearFaults();
      c.close();
    }
  });

  test('rotation: the first server is dead (stopped), the second answers', async () => {
    const down = await createTestServer({ cluster, port: 0 });
    await down.stop();
    const c = client([...down.servers, ...dns.servers], { attempts: 2 });
    const dropper = client([...spare.servers, ...dns.servers], { attempts: 2, timeout: 100 });
    spare.fault({ drop: true });
    try {
      const res = await c.query(SVC, 'A');
      assert.equal(res.server, dns.servers[0]);
      assert.equal((await dropper.query(SVC, 'A')).server, dns.servers[0]);
      assert.equal(dropper.stats.timeouts, 1);
      // Back up: it answers again.
      await down.start();
      const only = client(down.servers);
      assert.equal((await only.resolve4(SVC)).length, 3);
      only.close();
    } finally {
      spare.clearFaults();
      c.close();
      dropper.close();
      await down.close();
    }
  });

  test('abort mid-flight rejects ECANCELLED at once', async () => {
    const c = client(dns.servers, { timeout: 5000 });
    dns.fault({ delayMs: 300 });
    try {
      const ac = new AbortController();
      const p = c.resolveSrv(SRV, { signal: ac.signal });
      await until(() => dns.queries.some((q) => q.name === SRV), 'the query');
      ac.abort(new Error('shutting down'));
      const err = await p.catch((e: DnsError) => e);
      assert.ok(err instanceof DnsError);
      assert.equal(err.code, 'ECANCELLED');
      assert.equal((err.cause as Error).message, 'shutting down');
    } finally {
      dns.clearFaults();
      c.close();
    }
  });

  test('2,000 concurrent queries', async () => {
    const c = client(dns.servers, { timeout: 5000, attempts: 2 });
    try {
      const jobs = Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? c.resolve4(`web-${i % 3}.${SVC}`) : c.resolveSrv(SRV)));
      const results = await Promise.all(jobs);
      assert.equal(results.length, 2000);
      assert.equal(c.stats.timeouts, 0);
      assert.ok(c.stats.udpSockets <= 2);
    } finally {
      c.close();
    }
  });

  test('no handles left after close, with UDP sockets and TCP connections open', async () => {
    const before = activeResources();
    const c = client(dns.servers, { tcpIdleTimeout: 60_000 });
    await c.resolve4(BIG);
    assert.equal(c.stats.tcpConnections, 1);
    assert.equal(c.stats.udpSockets, 1);
    c.close();
    await assertNoLeaks(before);
  });
});
