/**
 * DnsClient over UDP against small scripted servers on loopback: anti-spoofing, retries,
 * rotation, rcodes, malformed answers, abort, close.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket from 'dns-packet';
import { DnsClient, type DnsClientOptions } from '../../src/dns/client.ts';
import { DnsError } from '../../src/dns/errors.ts';
import { activeResources, assertNoLeaks, closeAll, until } from '../helpers/handles.ts';
import { deadUdpPort, rawUdpServer, type RawUdpServer } from '../helpers/raw-servers.ts';
import { answerA, buildResponse, readQuestion } from '../helpers/wire-builder.ts';
import { rejectsWithDnsError as rejects } from '../helpers/dns-assert.ts';
import { runtime } from '../helpers/runtime.ts';

const NAME = 'nginx.default.svc.cluster.local';

function client(servers: string[], options: DnsClientOptions = {}): DnsClient {
  return new DnsClient({ servers, search: [], ndots: 1, timeout: 2000, attempts: 1, ...options });
}

/** Answers every query with A 10.0.0.1 (or what `ips` gives for the name). */
function answering(ips: (name: string) => string[] = () => ['10.0.0.1']): Promise<RawUdpServer> {
  return rawUdpServer((q, reply) => reply.send(answerA(q.msg, ips(readQuestion(q.msg).name))));
}

describe('DnsClient over UDP', () => {
  test('sends RD + EDNS(0) 1232, one question, and decodes the answer', async () => {
    const server = await answering(() => ['10.0.0.1', '10.0.0.2']);
    const c = client(server.servers);
    try {
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.1', '10.0.0.2']);
      assert.deepEqual(await c.resolve4(NAME, { ttl: true }), [
        { address: '10.0.0.1', ttl: 5 },
        { address: '10.0.0.2', ttl: 5 },
      ]);
      const q = dnsPacket.decode(server.queries[0]!.msg);
      assert.equal(q.flag_rd, true);
      assert.deepEqual(q.questions, [{ name: NAME, type: 'A', class: 'IN' }]);
      const opt = q.additionals?.[0] as unknown as { type: string; udpPayloadSize: number };
      assert.equal(opt.type, 'OPT');
      assert.equal(opt.udpPayloadSize, 1232);
      const res = await c.query(`${NAME}.`, 'A');
      assert.equal(res.name, NAME);
      assert.equal(res.rcode, 'NOERROR');
      assert.equal(res.server, server.servers[0]);
      assert.equal(res.transport, 'udp');
      assert.equal(res.truncated, false);
      assert.equal(c.stats.answers, 3);
    } finally {
      await closeAll(c, server);
    }
  });

  test('forged answers (wrong ID, other port, wrong question, not a response, short) are ignored; the real one counts', async () => {
    const server = await rawUdpServer((q, reply) => {
      const forged = answerA(q.msg, ['6.6.6.6']);
      reply.sendFromOtherPort(forged); // right ID and question, wrong source port
      const wrongId = answerA(q.msg, ['6.6.6.7']);
      wrongId.writeUInt16BE(q.id ^ 0x5555, 0);
      reply.send(wrongId);
      const { type } = readQuestion(q.msg);
      reply.send(buildResponse({ id: q.id, qname: 'evil.example', qtype: type, answers: [] }));
      reply.send(buildResponse({ id: q.id, qname: NAME, qtype: 28 }));
      reply.send(buildResponse({ id: q.id, qname: NAME, qtype: type, flags: 0x0100 })); // QR clear
      reply.send(Buffer.from([q.msg[0]!, q.msg[1]!, 0x81]));
      setTimeout(() => reply.send(answerA(q.msg, ['10.0.0.1'])), 20);
    });
    const c = client(server.servers);
    try {
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.1']);
      // The kernel drops the other-port datagram on the connected socket; the rest reach the checks.
      // Deno's dgram connect() leaves the kernel socket unconnected: our own check drops that one too.
      assert.equal(c.stats.dropped, runtime === 'deno' ? 6 : 5);
      assert.equal(c.stats.answers, 1);
    } finally {
      await closeAll(c, server);
    }
  });

  test('IDs are random, not sequential; every query has its own', async () => {
    const server = await answering();
    const c = client(server.servers);
    try {
      await Promise.all(Array.from({ length: 200 }, () => c.resolve4(NAME)));
      const ids = server.queries.map((q) => q.id);
      const sorted = [...ids].sort((a, b) => a - b);
      assert.ok(sorted[sorted.length - 1]! - sorted[0]! > 30_000, 'IDs spread over the 16-bit space');
      const steps = ids.slice(1).filter((id, i) => id === ids[i]! + 1).length;
      assert.ok(steps < 10, 'not a counter');
    } finally {
      await closeAll(c, server);
    }
  });

  test('the source port changes after maxQueriesPerSocket queries', async () => {
    const server = await answering();
    const c = client(server.servers, { maxQueriesPerSocket: 3 });
    try {
      for (let i = 0; i < 9; i++) await c.resolve4(NAME);
      const ports = server.queries.map((q) => q.rinfo.port);
      assert.equal(new Set(ports).size, 3);
      assert.equal(new Set(ports.slice(0, 3)).size, 1);
      await until(() => c.stats.udpSockets === 1, 'retired sockets to close');
    } finally {
      await closeAll(c, server);
    }
  });

  test('timeouts: `attempts` tries in total, rotating over the servers, then ETIMEOUT', async () => {
    const a = await rawUdpServer(() => {});
    const b = await rawUdpServer(() => {});
    const c = client([...a.servers, ...b.servers], { timeout: 60, attempts: 3 });
    try {
      const err = await rejects(c.resolve4(NAME), 'ETIMEOUT', /^queryA ETIMEOUT nginx\.default\.svc\.cluster\.local \(no answer from 127\.0\.0\.1:\d+ within 60 ms, 3 tries\)$/);
      assert.equal(err.hostname, NAME);
      assert.equal(err.rrtype, 'A');
      assert.equal(err.server, a.servers[0]);
      assert.equal(a.queries.length, 2);
      assert.equal(b.queries.length, 1);
      assert.notEqual(a.queries[0]!.id, a.queries[1]!.id);
      assert.equal(c.stats.timeouts, 3);
    } finally {
      await closeAll(c, a, b);
    }
  });

  test('a late answer after the try timed out is dropped; the retry still succeeds', async () => {
    let n = 0;
    let lateSent: () => void = () => {};
    const late = new Promise<void>((resolve) => (lateSent = resolve));
    const server = await rawUdpServer((q, reply) => {
      if (n++ === 0) {
        setTimeout(() => {
          reply.send(answerA(q.msg, ['6.6.6.6']));
          lateSent();
        }, 120);
      } else {
        // Same socket, sent after the late one: the client gets the late answer first.
        void late.then(() => reply.send(answerA(q.msg, ['10.0.0.1'])));
      }
    });
    const c = client(server.servers, { timeout: 100, attempts: 2 });
    try {
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.1']);
      assert.equal(c.stats.dropped, 1);
      assert.equal(c.stats.timeouts, 1);
    } finally {
      await closeAll(c, server);
    }
  });

  test('ICMP port unreachable: the next server, or ECONNREFUSED at the end', async () => {
    const dead = await deadUdpPort();
    const good = await answering();
    // Deno's dgram connect() does not connect the kernel socket, so the ICMP error never
    // reaches it: the dead server times out instead (docs/deno.md).
    const deno = runtime === 'deno';
    const timeout = deno ? 2000 : 5000;
    const c = client([`127.0.0.1:${dead}`, ...good.servers], { attempts: 2, timeout });
    const alone = client([`127.0.0.1:${dead}`], { attempts: 2, timeout });
    try {
      const res = await c.query(NAME, 'A');
      assert.equal(res.server, good.servers[0]);
      if (deno) await rejects(alone.resolve4(NAME), 'ETIMEOUT', new RegExp(`no answer from 127\\.0\\.0\\.1:${dead} within ${timeout} ms, 2 tries`));
      else await rejects(alone.resolve4(NAME), 'ECONNREFUSED', new RegExp(`\\(server 127\\.0\\.0\\.1:${dead}: port unreachable, 2 tries\\)$`));
    } finally {
      await closeAll(c, alone, good);
    }
  });

  test('SERVFAIL and REFUSED rotate to the next server; all failing gives ESERVFAIL / EREFUSED', async () => {
    const servfail = await rawUdpServer((q, reply) => reply.send(answerA(q.msg, [], { rcode: 2 })));
    const refused = await rawUdpServer((q, reply) => reply.send(answerA(q.msg, [], { rcode: 5 })));
    const good = await answering();
    const c1 = client([...servfail.servers, ...good.servers], { attempts: 2 });
    const c2 = client([...refused.servers, ...good.servers], { attempts: 2 });
    const c3 = client([...servfail.servers], { attempts: 2 });
    const c4 = client([...refused.servers, ...servfail.servers], { attempts: 2 });
    try {
      assert.equal((await c1.query(NAME, 'A')).server, good.servers[0]);
      assert.equal((await c2.query(NAME, 'A')).server, good.servers[0]);
      await rejects(c3.resolve4(NAME), 'ESERVFAIL', /answered SERVFAIL, 2 tries\)$/);
      const err = await rejects(c4.resolve4(NAME), 'ESERVFAIL');
      assert.equal(err.server, servfail.servers[0]);
      const c5 = client([...refused.servers]);
      await rejects(c5.resolveSrv(`_web._tcp.${NAME}`), 'EREFUSED', /^querySrv EREFUSED _web\._tcp\./);
      c5.close();
    } finally {
      for (const c of [c1, c2, c3, c4]) c.close();
      for (const s of [servfail, refused, good]) await s.close();
    }
  });

  test('FORMERR and NOTIMP reject at once (no retry); NXDOMAIN and NODATA map to ENOTFOUND / ENODATA', async () => {
    const server = await rawUdpServer((q, reply) => {
      const { name } = readQuestion(q.msg);
      const rcode = name.startsWith('formerr') ? 1 : name.startsWith('notimp') ? 4 : name.includes('nx.') ? 3 : 0;
      // FORMERR without a question section, as some servers send it
      if (rcode === 1) reply.send(answerA(q.msg, [], { rcode, counts: [0, 0, 0, 0] }).subarray(0, 12));
      else reply.send(answerA(q.msg, [], { rcode }));
    });
    const c = client(server.servers, { attempts: 3 });
    try {
      await rejects(c.resolve4('formerr.example'), 'EFORMERR', /answered FORMERR/);
      await rejects(c.resolve4('notimp.example'), 'ENOTIMP');
      assert.equal(server.queries.length, 2);
      const nx = await rejects(c.resolveSrv('_web._tcp.nx.example'), 'ENOTFOUND');
      assert.equal(nx.message, `querySrv ENOTFOUND _web._tcp.nx.example (server ${server.servers[0]}: the name does not exist)`);
      assert.equal(nx.hostname, '_web._tcp.nx.example');
      assert.equal(nx.server, server.servers[0]);
      await rejects(c.resolve6('nodata.example'), 'ENODATA', /no AAAA records/);
      const res = await c.query('nx.example', 'A');
      assert.equal(res.rcode, 'NXDOMAIN');
    } finally {
      await closeAll(c, server);
    }
  });

  test('an answer that matches but cannot be decoded fails the try with EBADRESP', async () => {
    let n = 0;
    const server = await rawUdpServer((q, reply) => {
      const res = answerA(q.msg, ['10.0.0.1']);
      if (n++ === 0) res.writeUInt16BE(9, 6); // 9 answers claimed, 1 present
      reply.send(res);
    });
    const once = client(server.servers);
    const twice = client(server.servers, { attempts: 2 });
    try {
      await rejects(once.resolve4(NAME), 'EBADRESP', /sent a bad answer: record count says 9/);
      n = 0;
      assert.deepEqual(await twice.resolve4(NAME), ['10.0.0.1']);
      assert.equal(twice.stats.badResponses, 1);
    } finally {
      await closeAll(once, twice, server);
    }
  });

  test('invalid names fail with EBADNAME before any packet is sent', async () => {
    const server = await answering();
    const c = client(server.servers);
    try {
      for (const bad of ['a..b', `${'x'.repeat(64)}.example`, `${'a.'.repeat(127)}b`, '', ' space.example', 'tab\there.example', 'caf\u00e9.example']) {
        await rejects(c.resolve4(bad), 'EBADNAME');
      }
      await assert.rejects(c.query(NAME, 'BOGUS' as 'A'), { code: 'ERR_INVALID_ARG_VALUE' });
      await sleep(20);
      assert.equal(server.queries.length, 0);
    } finally {
      await closeAll(c, server);
    }
  });

  test('AbortSignal: rejects ECANCELLED at once, frees the ID (a late answer is dropped)', async () => {
    const server = await rawUdpServer((q, reply) => setTimeout(() => reply.send(answerA(q.msg, ['10.0.0.1'])), 100));
    const c = client(server.servers, { timeout: 5000 });
    try {
      const ac = new AbortController();
      const p = c.resolve4(NAME, { signal: ac.signal });
      await until(() => server.queries.length === 1, 'the query');
      ac.abort();
      const err = await rejects(p, 'ECANCELLED', /^queryA ECANCELLED nginx\.default\.svc\.cluster\.local \(aborted\)$/);
      assert.equal(err.hostname, NAME);
      await until(() => c.stats.dropped === 1, 'the late answer to be dropped');
      // Already aborted: nothing is sent.
      await rejects(c.resolve4(NAME, { signal: AbortSignal.abort() }), 'ECANCELLED');
      assert.equal(server.queries.length, 1);
      // The client still works.
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.1']);
    } finally {
      await closeAll(c, server);
    }
  });

  test('one signal shared by many queries: one listener, all cancelled together', async () => {
    const server = await rawUdpServer(() => {});
    const c = client(server.servers, { timeout: 5000 });
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const ac = new AbortController();
      const all = Array.from({ length: 50 }, (_, i) => c.resolve4(`p${i}.${NAME}`, { signal: ac.signal }));
      await until(() => server.queries.length === 50, 'the queries');
      ac.abort();
      for (const p of all) await rejects(p, 'ECANCELLED');
      // A finished query lets go of the signal: aborting later touches nothing.
      const ac2 = new AbortController();
      const done = client(server.servers, { timeout: 50 });
      await rejects(done.resolve4(NAME, { signal: ac2.signal }), 'ETIMEOUT');
      ac2.abort();
      done.close();
      await sleep(10);
      assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning'), []);
    } finally {
      process.off('warning', onWarning);
      c.close();
      await server.close();
    }
  });

  test('close() rejects in-flight queries with ECANCELLED and leaves no handles', async () => {
    const before = activeResources();
    const server = await rawUdpServer(() => {});
    const c = client(server.servers, { timeout: 5000 });
    const inflight = [c.resolve4(NAME), c.resolveSrv(`_web._tcp.${NAME}`), c.query(NAME, 'AAAA')];
    await until(() => server.queries.length === 3, 'the queries');
    c.close();
    for (const p of inflight) await rejects(p, 'ECANCELLED', /client closed/);
    await rejects(c.resolve4(NAME), 'ECANCELLED');
    await server.close();
    await assertNoLeaks(before);
  });

  test('2,000 concurrent queries on few sockets', async () => {
    const server = await answering((name) => [`10.${name.length}.0.1`]);
    const c = client(server.servers, { timeout: 5000 });
    try {
      const names = Array.from({ length: 2000 }, (_, i) => `pod-${i}.${NAME}`);
      const results = await Promise.all(names.map((n) => c.resolve4(n)));
      results.forEach((r, i) => assert.deepEqual(r, [`10.${names[i]!.length}.0.1`]));
      assert.equal(c.stats.timeouts, 0);
      assert.equal(c.stats.queries, 2000);
      assert.ok(new Set(server.queries.map((q) => q.from)).size <= 2, 'few sockets');
    } finally {
      await closeAll(c, server);
    }
  });

  test('an IPv6 server on ::1', async () => {
    const server = await rawUdpServer((q, reply) => reply.send(answerA(q.msg, ['10.0.0.6'])), '::1');
    const c = client(server.servers);
    try {
      const res = await c.query(NAME, 'A');
      assert.equal(res.server, `[::1]:${server.port}`);
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.6']);
    } finally {
      await closeAll(c, server);
    }
  });

  test('bad options are InvalidArgumentError', () => {
    assert.throws(() => new DnsClient({ servers: [] }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => new DnsClient({ servers: ['dns.example'] }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => client(['127.0.0.1'], { timeout: 0 }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => client(['127.0.0.1'], { attempts: 1.5 }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => client(['127.0.0.1'], { udpPayloadSize: 100 }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => client(['127.0.0.1'], { tcp: 'never' as 'always' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => client(['127.0.0.1'], { search: ['a..b'] }), { code: 'ERR_INVALID_ARG_VALUE', message: /empty label/ });
  });
});
