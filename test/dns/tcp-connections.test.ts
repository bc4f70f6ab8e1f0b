/**
 * TCP connection life against scripted servers: more queries than IDs, a server that closes
 * after N answers (CoreDNS/miekg close after 128), a connection that stops answering, a server
 * that closes without answering; load spread over connections.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DnsClient, type DnsClientOptions } from '../../src/dns/client.ts';
import { DnsError } from '../../src/dns/errors.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { frame, rawTcpServer, type RawTcpConnection } from '../helpers/raw-servers.ts';
import { answerA, readQuestion } from '../helpers/wire-builder.ts';
import { rejectsWithDnsError as rejects } from '../helpers/dns-assert.ts';

const NAME = 'web.default.svc.cluster.local';

function client(servers: string[], options: DnsClientOptions = {}): DnsClient {
  return new DnsClient({ servers, search: [], ndots: 1, timeout: 5000, attempts: 1, tcp: 'always', ...options });
}

/** Answers the first `n` queries of each connection, then closes it gracefully (FIN), as miekg/dns does. */
function closesAfter(n: number) {
  const answered = new WeakMap<RawTcpConnection, number>();
  return rawTcpServer((q, conn) => {
    const done = answered.get(conn) ?? 0;
    if (done >= n) return;
    answered.set(conn, done + 1);
    conn.socket.write(frame(answerA(q, [`10.1.0.${q[0]! & 0x7f}`])));
    if (done + 1 === n) conn.socket.end();
  });
}

describe('TCP connections', () => {
  test('a server that closes after 50 answers: 1,000 concurrent lookups all succeed, over several connections', async () => {
    const before = activeResources();
    const server = await closesAfter(50);
    const c = client(server.servers);
    try {
      const names = Array.from({ length: 1000 }, (_, i) => `p${i}.${NAME}`);
      const results = await Promise.allSettled(names.map((n) => c.resolve4(n)));
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(failed.length, 0, `failed: ${failed.length}, first: ${String((failed[0] as PromiseRejectedResult | undefined)?.reason)}`);
      assert.ok(server.connections.length >= 20, `${server.connections.length} connections for 1,000 answers at 50 each`);
      assert.ok(c.stats.queries >= 1000);
    } finally {
      c.close();
      await server.close();
    }
    await assertNoLeaks(before);
  });

  test('load is spread: more than maxTcpInflight queries open another connection, never more than maxTcpConnections', async () => {
    const held: { q: Buffer; conn: RawTcpConnection }[] = [];
    const server = await rawTcpServer((q, conn) => held.push({ q, conn }));
    const c = client(server.servers, { maxTcpInflight: 10, maxTcpConnections: 3 });
    try {
      const all = Promise.all(Array.from({ length: 100 }, (_, i) => c.resolve4(`p${i}.${NAME}`)));
      await until(() => held.length === 30, '30 queries held on 3 connections');
      await sleep(50);
      assert.equal(held.length, 30, 'the other 70 wait their turn');
      assert.equal(server.connections.length, 3);
      assert.equal(c.stats.queries, 30, 'stats count what was sent');
      for (const conn of server.connections) assert.equal(conn.queries.length, 10);
      // Answer as queries come: every one gets through.
      const answer = (h: { q: Buffer; conn: RawTcpConnection }): void => void h.conn.socket.write(frame(answerA(h.q, ['10.1.1.1'])));
      held.splice(0).forEach(answer);
      const pump = setInterval(() => held.splice(0).forEach(answer), 5);
      try {
        assert.equal((await all).length, 100);
      } finally {
        clearInterval(pump);
      }
      assert.equal(c.stats.queries, 100);
    } finally {
      c.close();
      await server.close();
    }
  });

  test('70,000 lookups against a server that never answers: the event loop runs, close() ends them all', { timeout: 120_000 }, async () => {
    const server = await rawTcpServer(() => {});
    const c = client(server.servers, { timeout: 600_000 });
    try {
      const all = Array.from({ length: 70_000 }, (_, i) => c.resolve4(`p${i}.${NAME}`).catch((e: unknown) => e));
      // With 65,536+ in flight on one connection, picking a free ID never ended: the loop hung here.
      await sleep(1);
      await until(() => server.connections.reduce((n, conn) => n + conn.queries.length, 0) === 4 * 128, '512 queries on the wire');
      assert.equal(c.stats.tcpConnections, 4);
      c.close();
      const outcomes = await Promise.all(all);
      assert.ok(outcomes.every((e) => e instanceof DnsError && e.code === 'ECANCELLED'));
    } finally {
      c.close();
      await server.close();
    }
  });

  test('a wedged connection (open, silent) is replaced after a timeout: the retry goes to a new connection', async () => {
    // The first connection answers 2 queries, then never again; later connections answer all.
    const server = await rawTcpServer((q, conn) => {
      if (conn === server.connections[0] && conn.queries.length > 2) return;
      conn.socket.write(frame(answerA(q, ['10.1.2.3'])));
    });
    const c = client(server.servers, { timeout: 300, attempts: 2 });
    try {
      assert.deepEqual(await c.resolve4(`a.${NAME}`), ['10.1.2.3']);
      assert.deepEqual(await c.resolve4(`b.${NAME}`), ['10.1.2.3']);
      // The third query hits the wedge; the retry must not wait on the same dead connection.
      assert.deepEqual(await c.resolve4(`c.${NAME}`), ['10.1.2.3']);
      assert.equal(server.connections.length, 2);
      await until(() => server.connections[0]!.closed, 'the wedged connection is closed');
      assert.deepEqual(await c.resolve4(`d.${NAME}`), ['10.1.2.3']);
      assert.equal(c.stats.timeouts, 1);
    } finally {
      c.close();
      await server.close();
    }
  });

  test('a server that accepts and closes without answering: ECONNRESET saying closed, not refused', async () => {
    const server = await rawTcpServer((_q, conn) => conn.socket.end());
    const c = client(server.servers);
    try {
      const err = await rejects(c.resolve4(NAME), 'ECONNRESET', /closed/);
      assert.doesNotMatch(err.message, /refused/);
      assert.equal(server.connections.length, 2, 'tried once more on a new connection');
    } finally {
      c.close();
      await server.close();
    }
  });

  test('answers keep their names when a close forces resends', async () => {
    const server = await closesAfter(7);
    const c = client(server.servers, { maxTcpInflight: 20 });
    try {
      const names = Array.from({ length: 200 }, (_, i) => `n${i}.${NAME}`);
      const responses = await Promise.all(names.map((n) => c.query(n, 'A')));
      responses.forEach((r, i) => assert.equal(r.name, names[i]));
      for (const conn of server.connections) for (const q of conn.queries) assert.match(readQuestion(q).name, /^n\d+\./);
    } finally {
      c.close();
      await server.close();
    }
  });
});
