/**
 * Servers the kernel will not send to from here (a link-local IPv6 address without a scope, the
 * IPv4 broadcast address): lookups on them fail with a typed ENETUNREACH, the next server is
 * tried, and the process does not crash. Nothing leaves the machine: the kernel refuses these
 * at connect(), before any packet.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { QUERY_END_CHANNEL, type QueryEndMessage } from '../../src/dns/diagnostics.ts';
import { DnsClient, type DnsClientOptions } from '../../src/dns/client.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { rawUdpServer } from '../helpers/raw-servers.ts';
import { answerA } from '../helpers/wire-builder.ts';
import { rejectsWithDnsError as rejects } from '../helpers/dns-assert.ts';
import { runtime } from '../helpers/runtime.ts';

const NAME = 'web-0.web.default.svc.cluster.local';
/**
 * Refused by the kernel at connect(): EINVAL (no scope) and EACCES (broadcast without
 * SO_BROADCAST). Deno's dgram connect() does not connect the kernel socket and the kernel
 * accepts a sendto() to a scope-less fe80::1 (docs/deno.md): there it would send a packet,
 * which tests never do, so on Deno only the broadcast address (refused at sendto()) is used.
 */
const UNSENDABLE = runtime === 'deno' ? ['255.255.255.255:53'] : ['[fe80::1]:53', '255.255.255.255:53'];
/**
 * Over TCP only the broadcast address: libuv (Node 22 and later) gives a scope-less link-local
 * address the scope of the first interface before connect(), so the kernel accepts it and a SYN
 * would leave on that link. The broadcast address is refused at connect() everywhere.
 */
const UNCONNECTABLE = ['255.255.255.255:53'];

function client(servers: string[], options: DnsClientOptions = {}): DnsClient {
  return new DnsClient({ servers, search: [], ndots: 1, timeout: 2000, attempts: 1, ...options });
}

describe('servers the kernel refuses to send to', () => {
  for (const bad of UNSENDABLE) {
    test(`UDP to ${bad}: ENETUNREACH, no crash; many at once too`, async () => {
      const before = activeResources();
      const c = client([bad]);
      // Deno: the kernel's EACCES comes at sendto() and without its errno (code UNKNOWN), so it
      // is an ECONNREFUSED naming the failed send (docs/deno.md); still at once, typed.
      const [code, message] = runtime === 'deno' ? ['ECONNREFUSED', /UDP send to .* failed with UNKNOWN/] : ['ENETUNREACH', /cannot be reached/];
      try {
        const err = await rejects(c.resolve4(NAME), code, message);
        assert.equal(err.server, bad);
        const all = await Promise.allSettled(Array.from({ length: 50 }, () => c.resolve4(NAME)));
        for (const r of all) assert.equal(r.status === 'rejected' && (r.reason as { code: string }).code, code);
        // Deno counts the sends whose failure came back in their callback; the kernel sent nothing.
        if (runtime === 'deno') assert.ok(c.stats.queries <= 51, `${c.stats.queries} sends tried`);
        else assert.equal(c.stats.queries, 0, 'nothing was sent');
      } finally {
        c.close();
      }
      await assertNoLeaks(before);
    });

  }

  for (const bad of UNCONNECTABLE) {
    test(`TCP (tcp: 'always') to ${bad}: ENETUNREACH`, async () => {
      const c = client([bad], { tcp: 'always' });
      // Bun reports every failed TCP connect as ECONNREFUSED, even the kernel's ENETUNREACH
      // for a broadcast address (docs/bun.md); the lookup still fails at once, typed.
      const expected = runtime === 'bun' && bad.startsWith('255.') ? 'ECONNREFUSED' : 'ENETUNREACH';
      try {
        await rejects(c.resolve4(NAME), expected);
      } finally {
        c.close();
      }
    });
  }

  test('the next server is tried, and later lookups skip the unreachable one', async () => {
    const good = await rawUdpServer((q, reply) => reply.send(answerA(q.msg, ['10.0.0.7'])));
    const c = client([...UNSENDABLE, ...good.servers], { attempts: 3 });
    const tries = new Map<string, number>();
    const onEnd = (m: unknown): void => {
      const { server } = m as QueryEndMessage;
      tries.set(server, (tries.get(server) ?? 0) + 1);
    };
    subscribe(QUERY_END_CHANNEL, onEnd);
    try {
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.7']);
      for (let i = 0; i < 5; i++) assert.deepEqual(await c.resolve4(NAME), ['10.0.0.7']);
      assert.equal(good.queries.length, 6);
      assert.equal(c.stats.errors, 0);
      // Each unreachable server was tried by the first lookup only (server health).
      for (const bad of UNSENDABLE) assert.equal(tries.get(bad), 1, bad);
    } finally {
      unsubscribe(QUERY_END_CHANNEL, onEnd);
      c.close();
      await good.close();
    }
  });
});
