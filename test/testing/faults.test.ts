import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestServer, type TestCluster, type TestDnsServer } from '../../src/testing/index.ts';
import { FaultSet } from '../../src/testing/faults.ts';
import { nginxFixture } from '../helpers/fixtures.ts';
import { ask, decode, makeQuery, rcodeOf, TcpConnection, tcpExchange, udpExchange } from '../helpers/raw-dns.ts';

const NAME = 'nginx.default.svc.cluster.local';
const OTHER = 'web-0.nginx.default.svc.cluster.local';

let cluster: TestCluster;
let dns: TestDnsServer;

before(async () => {
  ({ cluster, dns } = await nginxFixture({ setName: 'web' }));
});

afterEach(() => {
  dns.clearFaults();
});

after(async () => {
  await dns.close();
});

/** A quiet wait for an answer that must not come: the server decided to drop it when it arrived. */
const NO_ANSWER_MS = 200;

describe('faults', () => {
  test('drop: no answer, logged as dropped; clearFaults() ends it', async () => {
    dns.fault({ drop: true });
    assert.equal(await udpExchange(dns, makeQuery(NAME, 'A'), { timeout: NO_ANSWER_MS }), null);
    assert.equal(await tcpExchange(dns, makeQuery(NAME, 'A'), NO_ANSWER_MS), null);
    const last = dns.queries.at(-1)!;
    assert.deepEqual([last.rcode, last.faults], [null, ['drop']]);
    dns.clearFaults();
    assert.equal((await ask(dns, NAME, 'A')).answers!.length, 3);
  });

  test('drop with a probability drops some and answers others', async () => {
    dns.fault({ drop: 0.5 });
    const results = await Promise.all(
      Array.from({ length: 100 }, () => udpExchange(dns, makeQuery(NAME, 'A'), { timeout: NO_ANSWER_MS })),
    );
    const answered = results.filter(Boolean).length;
    assert.ok(answered > 0 && answered < 100, `${answered} of 100 answered`);
    const set = new FaultSet(() => 0.7);
    set.add({ drop: 0.5 });
    assert.equal(set.forQuery(NAME, 'udp')!.drop, false);
  });

  test('count: the fault ends after that many queries', async () => {
    dns.fault({ rcode: 'SERVFAIL', count: 2 });
    assert.equal(rcodeOf(await ask(dns, NAME, 'A')), 'SERVFAIL');
    assert.equal(rcodeOf(await ask(dns, NAME, 'A', { transport: 'tcp' })), 'SERVFAIL');
    assert.equal(rcodeOf(await ask(dns, NAME, 'A')), 'NOERROR');
  });

  test('rcode: every forced rcode, with empty sections and the question echoed', async () => {
    for (const rcode of ['SERVFAIL', 'REFUSED', 'NOTIMP', 'FORMERR', 'NXDOMAIN'] as const) {
      dns.fault({ rcode, count: 1 });
      const r = await ask(dns, NAME, 'A');
      assert.equal(rcodeOf(r), rcode);
      assert.equal(r.answers!.length, 0);
      assert.equal(r.questions![0]!.name, NAME);
    }
  });

  test('delayMs: a late answer does not hold up others', async () => {
    dns.fault({ delayMs: 300, name: NAME });
    const order: string[] = [];
    const slow = ask(dns, NAME, 'A').then((r) => order.push(`slow ${r.answers!.length}`));
    const fast = ask(dns, OTHER, 'A').then((r) => order.push(`fast ${r.answers!.length}`));
    await Promise.all([slow, fast]);
    assert.deepEqual(order, ['fast 1', 'slow 3']);
    assert.deepEqual(dns.queries.findLast((q) => q.name === NAME && q.faults.length > 0)?.faults, ['delayMs']);
  });

  test('delayMs over TCP: answers come back out of order on one connection', async () => {
    dns.fault({ delayMs: 300, name: NAME, transport: 'tcp' });
    const conn = await TcpConnection.connect(dns);
    try {
      conn.send(makeQuery(NAME, 'A', { id: 1 }));
      conn.send(makeQuery(OTHER, 'A', { id: 2 }));
      const frames = await conn.waitFrames(2);
      assert.deepEqual(frames.map((f) => decode(f).id), [2, 1]);
    } finally {
      conn.close();
    }
  });

  test('truncate: TC and an empty answer over UDP even when it fits; TCP is whole', async () => {
    dns.fault({ truncate: true });
    const udp = await ask(dns, NAME, 'A', { edns: 1232 });
    assert.equal(udp.flag_tc, true);
    assert.equal(udp.answers!.length, 0);
    assert.ok(udp.additionals!.some((a) => a.type === 'OPT'));
    const tcp = await ask(dns, NAME, 'A', { transport: 'tcp' });
    assert.equal(tcp.flag_tc, false);
    assert.equal(tcp.answers!.length, 3);
    dns.clearFaults();
    dns.fault({ truncate: true, transport: 'tcp' });
    assert.equal((await ask(dns, NAME, 'A', { transport: 'tcp' })).flag_tc, true);
    assert.equal((await ask(dns, NAME, 'A')).flag_tc, false);
  });

  test('garbage: random bytes instead of the answer', async () => {
    dns.fault({ garbage: true });
    const query = makeQuery(NAME, 'A', { id: 4242 });
    const [reply] = await Promise.all([
      udpExchange(dns, query, { accept: () => true }),
    ]);
    assert.ok(reply);
    let valid = false;
    try {
      const r = decode(reply);
      valid = r.id === 4242 && r.questions?.[0]?.name === NAME && r.answers?.length === 3;
    } catch {
      valid = false;
    }
    assert.equal(valid, false);
    assert.deepEqual(dns.queries.at(-1)!.faults, ['garbage']);
  });

  test('wrongId: the right answer under another ID', async () => {
    dns.fault({ wrongId: true });
    const reply = await udpExchange(dns, makeQuery(NAME, 'A', { id: 100 }), { accept: () => true });
    const r = decode(reply!);
    assert.notEqual(r.id, 100);
    assert.equal(r.answers!.length, 3);
  });

  test('name and transport select the queries a fault applies to', async () => {
    dns.fault({ rcode: 'REFUSED', name: 'NGINX.default.svc.cluster.local.' });
    dns.fault({ rcode: 'SERVFAIL', transport: 'tcp', name: OTHER });
    assert.equal(rcodeOf(await ask(dns, NAME, 'A')), 'REFUSED');
    assert.equal(rcodeOf(await ask(dns, OTHER, 'A')), 'NOERROR');
    assert.equal(rcodeOf(await ask(dns, OTHER, 'A', { transport: 'tcp' })), 'SERVFAIL');
  });

  test('tcp: false resets TCP connections (TC with a dead TCP port); count counts connections', async () => {
    dns.fault({ tcp: false, count: 1 });
    dns.fault({ truncate: true, count: 1 });
    assert.equal((await ask(dns, NAME, 'A')).flag_tc, true);
    const conn = await TcpConnection.connect(dns).catch((err: NodeJS.ErrnoException) => err);
    if (conn instanceof TcpConnection) {
      conn.send(makeQuery(NAME, 'A'));
      assert.equal(await conn.waitClosed(), true);
      assert.equal(conn.frames.length, 0);
    } else {
      assert.equal(conn.code, 'ECONNRESET');
    }
    assert.equal((await ask(dns, NAME, 'A', { transport: 'tcp' })).answers!.length, 3);
  });

  test('stop/start: the server down and back, same port', async () => {
    const server = await createTestServer({ cluster });
    try {
      await server.stop();
      assert.equal(await udpExchange(server, makeQuery(NAME, 'A'), { timeout: NO_ANSWER_MS }), null);
      await server.start();
      assert.equal((await ask(server, NAME, 'A')).answers!.length, 3);
    } finally {
      await server.close();
    }
  });

  test('bad faults throw a typed error', () => {
    for (const bad of [
      { drop: 2 },
      { delayMs: -1 },
      { rcode: 'NOERROR' },
      { count: 0 },
      { transport: 'sctp' },
      { tcp: false, rcode: 'SERVFAIL' },
      { bogus: true },
    ]) {
      assert.throws(() => dns.fault(bad as never), { code: 'ERR_INVALID_ARG_VALUE' }, JSON.stringify(bad));
    }
  });
});
