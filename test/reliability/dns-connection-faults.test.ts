/**
 * Connection-level faults of DNS servers, with figures in the log and the summary table:
 * a TCP server that closes after N answers (CoreDNS/miekg: 128), a wedged TCP connection,
 * servers the kernel refuses to send to, and a dead first nameserver (timeouts paid per
 * minute of lookups, without and with server health memory).
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { DnsClient, type DnsClientOptions } from '../../src/dns/client.ts';
import { QUERY_END_CHANNEL, type QueryEndMessage } from '../../src/dns/diagnostics.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { frame, rawTcpServer, rawUdpServer, type RawTcpConnection } from '../helpers/raw-servers.ts';
import { answerA } from '../helpers/wire-builder.ts';
import { record, recorded, tally } from './support.ts';

const SECTION = 'faults (DNS connections)';
const NAME = 'web.default.svc.cluster.local';

function client(servers: string[], options: DnsClientOptions = {}): DnsClient {
  return new DnsClient({ servers, search: [], ndots: 1, timeout: 5000, attempts: 2, ...options });
}

/** Records a figure in the summary and prints it in the test log. */
function figure(t: TestContext, item: string, result: string): void {
  record(SECTION, item, result);
  t.diagnostic(`${item}: ${result}`);
  console.log(`[${SECTION}] ${item}: ${result}`);
}

const codeOf = (r: PromiseSettledResult<unknown>): string => (r.status === 'fulfilled' ? 'ok' : String((r.reason as { code?: string }).code));

describe('DNS connection faults', () => {
  test('TCP server closing after 128 answers (CoreDNS): 1,000 concurrent lookups', recorded(SECTION, 'TCP close after 128, 1,000 lookups', async (t) => {
    const before = activeResources();
    const answered = new WeakMap<RawTcpConnection, number>();
    const server = await rawTcpServer((q, conn) => {
      const n = answered.get(conn) ?? 0;
      if (n >= 128) return;
      answered.set(conn, n + 1);
      conn.socket.write(frame(answerA(q, ['10.3.0.1'])));
      if (n + 1 === 128) conn.socket.end();
    });
    const c = client(server.servers, { tcp: 'always' });
    try {
      const start = performance.now();
      const results = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => c.resolve4(`p${i}.${NAME}`)));
      const ms = performance.now() - start;
      const outcome = tally(results.map(codeOf));
      figure(t, 'TCP close after 128, 1,000 lookups', `${outcome}; ${server.connections.length} connections, ${c.stats.queries - 1000} resent, ${ms.toFixed(0)} ms`);
      assert.equal(outcome, 'ok 1000');
    } finally {
      c.close();
      await server.close();
    }
    await assertNoLeaks(before);
  }));

  test('wedged TCP connection: open, silent after 5 answers', recorded(SECTION, 'wedged TCP connection', async (t) => {
    const server = await rawTcpServer((q, conn) => {
      if (conn === server.connections[0] && conn.queries.length > 5) return;
      conn.socket.write(frame(answerA(q, ['10.3.0.2'])));
    });
    const c = client(server.servers, { tcp: 'always', timeout: 250, attempts: 2 });
    try {
      const results: PromiseSettledResult<string[]>[] = [];
      for (let i = 0; i < 50; i++) results.push(...(await Promise.allSettled([c.resolve4(`w${i}.${NAME}`)])));
      const outcome = tally(results.map(codeOf));
      figure(t, 'wedged TCP connection, 50 lookups', `${outcome}; ${c.stats.timeouts} timeouts paid, ${server.connections.length} connections`);
      assert.equal(outcome, 'ok 50');
      assert.equal(c.stats.timeouts, 1, 'one timeout, then the connection is replaced');
    } finally {
      c.close();
      await server.close();
    }
  }));

  test('connect failure: servers the kernel refuses (255.255.255.255, and [fe80::1] over UDP) before a good one', recorded(SECTION, 'connect failure', async (t) => {
    // A scope-less link-local address is refused at connect() for UDP; over TCP, libuv (Node 22
    // and later) gives it an interface's scope and a SYN would leave: this test stays on UDP.
    const unreachable = ['[fe80::1]:53', '255.255.255.255:53'];
    const good = await rawUdpServer((q, reply) => reply.send(answerA(q.msg, ['10.3.0.3'])));
    const tries = new Map<string, number>();
    const onEnd = (m: unknown): void => {
      const { server } = m as QueryEndMessage;
      tries.set(server, (tries.get(server) ?? 0) + 1);
    };
    subscribe(QUERY_END_CHANNEL, onEnd);
    const mixed = client([...unreachable, ...good.servers], { attempts: 3 });
    const alone = client(unreachable);
    try {
      // 4 rounds of 50 concurrent lookups: the first round finds the servers unreachable, the next ones skip them.
      const results: PromiseSettledResult<string[]>[] = [];
      const wasted: string[] = [];
      for (let round = 0; round < 4; round++) {
        results.push(...(await Promise.allSettled(Array.from({ length: 50 }, (_, i) => mixed.resolve4(`c${round}-${i}.${NAME}`)))));
        wasted.push(unreachable.map((s) => tries.get(s) ?? 0).join('+'));
        tries.clear();
      }
      unsubscribe(QUERY_END_CHANNEL, onEnd);
      const failures = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => alone.resolve4(`c${i}.${NAME}`)));
      figure(t, 'connect failure, 4 x 50 lookups', `${tally(results.map(codeOf))}; tries on the unreachable servers per round: ${wasted.join(', ')}`);
      assert.deepEqual(wasted.slice(1), ['0+0', '0+0', '0+0'], 'later rounds skip the unreachable servers');
      figure(t, 'connect failure, only unreachable servers', tally(failures.map(codeOf)));
      assert.equal(tally(results.map(codeOf)), 'ok 200');
      assert.equal(tally(failures.map(codeOf)), 'ENETUNREACH 50');
    } finally {
      unsubscribe(QUERY_END_CHANNEL, onEnd);
      mixed.close();
      alone.close();
      await good.close();
    }
  }));

  test('dead first nameserver: timeouts paid per minute of lookups, without and with health memory', recorded(SECTION, 'dead first server', async (t) => {
    const dead = await rawUdpServer(() => {});
    const good = await rawUdpServer((q, reply) => reply.send(answerA(q.msg, ['10.3.0.4'])));
    const WINDOW_MS = 3000;
    const RETRY_DELAY = 1000;
    const run = async (options: DnsClientOptions): Promise<{ lookups: number; timeouts: number; ms: number; failed: number }> => {
      const c = client([...dead.servers, ...good.servers], { timeout: 100, attempts: 2, failoverRetryDelay: RETRY_DELAY, ...options });
      const start = performance.now();
      let lookups = 0;
      let failed = 0;
      try {
        while (performance.now() - start < WINDOW_MS) {
          lookups++;
          await c.resolve4(`d${lookups}.${NAME}`).catch(() => failed++);
        }
        return { lookups, timeouts: c.stats.timeouts, ms: performance.now() - start, failed };
      } finally {
        c.close();
      }
    };
    try {
      const without = await run({ failover: false });
      const withMemory = await run({});
      const perMinute = (r: { timeouts: number; ms: number }): string => ((r.timeouts * 60_000) / r.ms).toFixed(0);
      figure(t, 'dead first server, before (failover: false)', `${without.timeouts} timeouts in ${without.lookups} lookups = ${perMinute(without)} timeouts per minute of lookups`);
      figure(t, 'dead first server, after (health memory)', `${withMemory.timeouts} timeouts in ${withMemory.lookups} lookups = ${perMinute(withMemory)} timeouts per minute of lookups (probe every ${RETRY_DELAY} ms)`);
      assert.equal(without.failed + withMemory.failed, 0);
      assert.equal(without.timeouts, without.lookups, 'without memory every lookup pays');
      // With memory: the first lookup, then one probe per retry delay at most.
      assert.ok(withMemory.timeouts <= Math.ceil(withMemory.ms / RETRY_DELAY) + 1, `${withMemory.timeouts} timeouts in ${withMemory.ms.toFixed(0)} ms`);
      assert.ok(withMemory.lookups > without.lookups);
    } finally {
      await dead.close();
      await good.close();
    }
  }));
});
