/**
 * DnsClient over TCP against scripted servers: TC fallback, framing, reuse, pipelining,
 * idle close, broken frames.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsClient, type DnsClientOptions } from '../../src/dns/client.ts';
import { DnsError } from '../../src/dns/errors.ts';
import { activeResources, assertNoLeaks, closeAll, until } from '../helpers/handles.ts';
import { frame, rawServerPair, type RawTcpConnection } from '../helpers/raw-servers.ts';
import { answerA, RESPONSE_FLAGS } from '../helpers/wire-builder.ts';
import { rejectsWithDnsError as rejects } from '../helpers/dns-assert.ts';

const NAME = 'big.default.svc.cluster.local';
const THOUSAND = Array.from({ length: 1000 }, (_, i) => `10.2.${i >> 8}.${i & 255}`);

function client(servers: string[], options: DnsClientOptions = {}): DnsClient {
  return new DnsClient({ servers, search: [], ndots: 1, timeout: 2000, attempts: 1, ...options });
}

/** UDP always answers TC with no records; TCP runs `tcp`. */
function truncatingPair(tcp: (query: Buffer, conn: RawTcpConnection) => void) {
  return rawServerPair((q, reply) => reply.send(answerA(q.msg, [], { flags: RESPONSE_FLAGS | 0x0200 })), tcp);
}

describe('DnsClient over TCP', () => {
  test('a truncated UDP answer is asked again over TCP: 1,000 records arrive whole', async () => {
    const pair = await truncatingPair((q, conn) => conn.socket.write(frame(answerA(q, THOUSAND))));
    const c = client(pair.servers);
    try {
      const res = await c.query(NAME, 'A');
      assert.equal(res.transport, 'tcp');
      assert.equal(res.answers.length, 1000);
      assert.deepEqual(await c.resolve4(NAME), THOUSAND);
      const s = c.stats;
      assert.equal(s.truncated, 2);
      assert.equal(s.tcpQueries, 2);
      assert.equal(s.queries, 4);
      assert.equal(pair.tcp.connections.length, 1, 'the connection is reused');
    } finally {
      await closeAll(c, pair);
    }
  });

  test("tcp: 'always' pipelines queries on one connection, answers matched by ID in any order", async () => {
    const pair = await rawServerPair(
      () => assert.fail('no UDP with tcp: always'),
      (_q, conn) => {
        if (conn.queries.length < 5) return;
        // All five arrived on one connection before any answer: answer them backwards.
        for (const q of [...conn.queries].reverse()) conn.socket.write(frame(answerA(q, [`10.9.0.${q[0]! & 0x7f}`])));
      },
    );
    const c = client(pair.servers, { tcp: 'always' });
    try {
      const names = Array.from({ length: 5 }, (_, i) => `p${i}.${NAME}`);
      const results = await Promise.all(names.map((n) => c.query(n, 'A')));
      results.forEach((r, i) => {
        assert.equal(r.name, names[i]);
        assert.equal(r.transport, 'tcp');
      });
      assert.equal(pair.tcp.connections.length, 1);
      assert.equal(pair.udp.queries.length, 0);
    } finally {
      await closeAll(c, pair);
    }
  });

  test('an idle connection is closed after tcpIdleTimeout, and never holds the process', async () => {
    const before = activeResources();
    const pair = await truncatingPair((q, conn) => conn.socket.write(frame(answerA(q, ['10.0.0.1']))));
    const c = client(pair.servers, { tcpIdleTimeout: 50 });
    await c.resolve4(NAME);
    assert.equal(c.stats.tcpConnections, 1);
    await until(() => pair.tcp.connections[0]!.closed, 'the idle connection to close');
    assert.equal(c.stats.tcpConnections, 0);
    c.close();
    await pair.close();
    await assertNoLeaks(before);
  });

  test('a reused connection the server closed is replaced once, transparently', async () => {
    const pair = await truncatingPair((q, conn) => {
      // Each connection answers its first query, then closes when asked a second one.
      if (conn.queries.length === 1) conn.socket.write(frame(answerA(q, ['10.0.0.1'])));
      else conn.socket.destroy();
    });
    const c = client(pair.servers);
    try {
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.1']);
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.1']);
      assert.equal(pair.tcp.connections.length, 2);
    } finally {
      await closeAll(c, pair);
    }
  });

  test('framing garbage is EBADRESP: a frame shorter than a header, a frame cut by close', async () => {
    const short = await truncatingPair((_q, conn) => conn.socket.write(Buffer.from([0, 3, 1, 2, 3])));
    const cut = await truncatingPair((_q, conn) => {
      conn.socket.write(Buffer.from([0xff, 0xff, 1, 2, 3, 4]));
      conn.socket.end();
    });
    const c1 = client(short.servers);
    const c2 = client(cut.servers);
    try {
      await rejects(c1.resolve4(NAME), 'EBADRESP', /TCP frame of 3 bytes/);
      await rejects(c2.resolve4(NAME), 'EBADRESP', /closed in the middle of an answer/);
    } finally {
      await closeAll(c1, c2, short, cut);
    }
  });

  test('a wrong-ID frame is dropped and the real answer still accepted', async () => {
    const pair = await truncatingPair((q, conn) => {
      const forged = answerA(q, ['6.6.6.6']);
      forged.writeUInt16BE(q.readUInt16BE(0) ^ 0x0f0f, 0);
      conn.socket.write(Buffer.concat([frame(forged), frame(answerA(q, ['10.0.0.1']))]));
    });
    const c = client(pair.servers);
    try {
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.1']);
      assert.equal(c.stats.dropped, 1);
    } finally {
      await closeAll(c, pair);
    }
  });

  test('frames split across reads and several frames in one read', async () => {
    const pair = await truncatingPair((q, conn) => {
      const bytes = frame(answerA(q, THOUSAND.slice(0, 300)));
      // one byte, then the rest in odd pieces
      conn.socket.write(bytes.subarray(0, 1));
      setTimeout(() => {
        conn.socket.write(bytes.subarray(1, 7));
        setTimeout(() => conn.socket.write(bytes.subarray(7)), 5);
      }, 5);
    });
    const c = client(pair.servers);
    try {
      assert.equal((await c.resolve4(NAME)).length, 300);
    } finally {
      await closeAll(c, pair);
    }
  });

  test('TC answer but the TCP port is closed: a typed ECONNREFUSED, not a crash', async () => {
    const pair = await truncatingPair(() => {});
    await pair.tcp.close();
    const c = client(pair.servers);
    try {
      await rejects(c.resolve4(NAME), 'ECONNREFUSED', /TCP connection refused/);
    } finally {
      await closeAll(c, pair.udp);
    }
  });

  test('abort and close with queries in flight over TCP', async () => {
    const before = activeResources();
    const pair = await rawServerPair(
      () => {},
      () => {},
    );
    const c = client(pair.servers, { tcp: 'always', timeout: 5000 });
    const ac = new AbortController();
    const aborted = c.resolve4(NAME, { signal: ac.signal });
    const closed = c.resolveSrv(`_web._tcp.${NAME}`);
    await until(() => pair.tcp.connections[0]?.queries.length === 2, 'two queries on the connection');
    ac.abort();
    await rejects(aborted, 'ECANCELLED', /\(aborted\)$/);
    c.close();
    await rejects(closed, 'ECANCELLED', /\(client closed\)$/);
    await pair.close();
    await assertNoLeaks(before);
  });
});
