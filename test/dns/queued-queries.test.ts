/**
 * Queries beyond maxInflight wait in a queue: one that times out there says it was never sent
 * (not that no answer came), and stats.queries counts only what went on the wire.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsClient } from '../../src/dns/client.ts';
import { DnsError } from '../../src/dns/errors.ts';
import { rawUdpServer } from '../helpers/raw-servers.ts';
import { until } from '../helpers/handles.ts';

const NAME = 'web.default.svc.cluster.local';

describe('queued UDP queries', () => {
  test('a query that timed out in the queue says "not sent"; stats count the 2 sent, not the 10 asked', async () => {
    const silent = await rawUdpServer(() => {});
    const c = new DnsClient({ servers: silent.servers, search: [], ndots: 1, timeout: 300, attempts: 1, maxInflight: 2 });
    try {
      const errors = await Promise.all(Array.from({ length: 10 }, (_, i) => c.resolve4(`p${i}.${NAME}`).then(() => assert.fail('answered'), (e: unknown) => e as DnsError)));
      for (const e of errors) assert.equal(e.code, 'ETIMEOUT');
      const sent = errors.filter((e) => /no answer from/.test(e.message));
      const unsent = errors.filter((e) => /not sent to .* within 300 ms: 2 UDP queries were in flight to it \(maxInflight\)/.test(e.message));
      assert.equal(sent.length + unsent.length, 10, errors.map((e) => e.message).join('\n'));
      // 2 go out at once; the 8 queued get their turn only as the 2 give up, too late to be sent
      // (on a loaded machine a few may still have a tenth of their try left, and go).
      assert.ok(sent.length >= 2 && unsent.length >= 4, errors.map((e) => e.message).join('\n'));
      assert.equal(c.stats.queries, sent.length);
      assert.equal(c.stats.timeouts, sent.length);
      await until(() => silent.queries.length === sent.length, 'the sent queries reach the server');
    } finally {
      c.close();
      await silent.close();
    }
  });

  test('the same over TCP: queued beyond maxTcpConnections x maxTcpInflight, counted only when written', async () => {
    const { rawTcpServer } = await import('../helpers/raw-servers.ts');
    const silent = await rawTcpServer(() => {});
    const c = new DnsClient({
      servers: silent.servers, search: [], ndots: 1, timeout: 300, attempts: 1, tcp: 'always', maxTcpInflight: 3, maxTcpConnections: 1,
    });
    try {
      const errors = await Promise.all(Array.from({ length: 7 }, (_, i) => c.resolve4(`p${i}.${NAME}`).then(() => assert.fail('answered'), (e: unknown) => e as DnsError)));
      const sent = errors.filter((e) => /no answer from/.test(e.message));
      const unsent = errors.filter((e) => /not sent to .*1 x 3 TCP queries/.test(e.message));
      // Three go at once; the rest wait. On a loaded machine a waiting one may still have a tenth of
      // its try left when a slot frees (the wedged connection is replaced), and go.
      assert.equal(sent.length + unsent.length, 7, errors.map((e) => e.message).join('\n'));
      assert.ok(sent.length >= 3 && unsent.length >= 1, errors.map((e) => e.message).join('\n'));
      assert.equal(c.stats.tcpQueries, c.stats.queries);
      assert.ok(c.stats.queries >= sent.length && c.stats.queries < 7 + sent.length, `queries ${c.stats.queries}`);
    } finally {
      c.close();
      await silent.close();
    }
  });
});
