/**
 * Fault matrix of the DNS source: for each fault of the test server, peers() gives the right set
 * or its typed error within timeout x attempts (+10%), and a watcher keeps its set, emits
 * `error`, and recovers when the fault ends.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsError, peers, watchPeers } from '../../src/index.ts';
import type { Peer, PeerChange } from '../../src/index.ts';
import { nginxFixture } from '../helpers/fixtures.ts';
import type { NginxFixture } from '../helpers/fixtures.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { assertRecoversWithScaleUp, assertWithinBound, logWatcher, lookupBound, record, recorded, tally } from './support.ts';

const TIMEOUT = 150;
const ATTEMPTS = 3;
const keys = (ps: readonly Peer[]): string[] => ps.map((p) => `${p.host}|${p.address}|${p.port}`);

interface FaultCase {
  name: string;
  apply(f: NginxFixture): void | Promise<void>;
  /** Ends the fault (default: clearFaults). */
  clear?(f: NginxFixture): void | Promise<void>;
  /** The typed errors this fault may give. */
  codes: string[];
  /** peers() may also succeed (a fault that hits some queries only). */
  mayResolve?: boolean;
  /** peers() calls made under the fault. */
  runs?: number;
}

const cases: FaultCase[] = [
  { name: 'drop 30%', apply: (f) => f.dns.fault({ drop: 0.3 }), codes: ['ETIMEOUT'], mayResolve: true, runs: 20 },
  { name: 'delay beyond timeout', apply: (f) => f.dns.fault({ delayMs: TIMEOUT * 4 }), codes: ['ETIMEOUT'] },
  { name: 'SERVFAIL', apply: (f) => f.dns.fault({ rcode: 'SERVFAIL' }), codes: ['ESERVFAIL'] },
  { name: 'REFUSED', apply: (f) => f.dns.fault({ rcode: 'REFUSED' }), codes: ['EREFUSED'] },
  {
    name: 'truncation, TCP port dead',
    apply: (f) => {
      f.dns.fault({ truncate: true });
      f.dns.fault({ tcp: false });
    },
    codes: ['ECONNREFUSED'],
  },
  {
    // The UDP answer comes late and truncated, the TCP one never: the TCP retry is part of the try.
    name: 'late truncation, TCP silent',
    apply: (f) => {
      f.dns.fault({ truncate: true, delayMs: Math.round(TIMEOUT * 0.8), transport: 'udp' });
      f.dns.fault({ delayMs: TIMEOUT * 20, transport: 'tcp' });
    },
    codes: ['ETIMEOUT'],
  },
  { name: 'garbage', apply: (f) => f.dns.fault({ garbage: true }), codes: ['ETIMEOUT', 'EBADRESP'] },
  { name: 'wrong ID', apply: (f) => f.dns.fault({ wrongId: true }), codes: ['ETIMEOUT'] },
  {
    name: 'server down, then back',
    apply: (f) => f.dns.stop(),
    clear: (f) => f.dns.start(),
    // ICMP port unreachable on loopback; a timeout if the kernel rate-limits it.
    codes: ['ECONNREFUSED', 'ETIMEOUT'],
  },
];

describe('DNS fault matrix', () => {
  for (const c of cases) {
    test(`${c.name}: peers() gives the set or a typed error in time; a watcher keeps its set and recovers`, recorded('faults (DNS)', c.name, async () => {
      const before = activeResources();
      const f = await nginxFixture({ ttl: 0 });
      const options = { port: 'web', namespace: 'default', servers: f.servers, timeout: TIMEOUT, attempts: ATTEMPTS } as const;
      try {
        const expected = keys(await peers('nginx', options));
        assert.equal(expected.length, 3);

        // peers() under the fault.
        await c.apply(f);
        const outcomes: string[] = [];
        let slowest = 0;
        for (let i = 0; i < (c.runs ?? 1); i++) {
          const start = performance.now();
          const outcome = await peers('nginx', options).then(
            (list) => {
              assert.ok(c.mayResolve, `${c.name}: peers() resolved under the fault`);
              assert.deepEqual(keys(list), expected);
              return 'ok';
            },
            (err: unknown) => {
              assert.ok(err instanceof DnsError, `${c.name}: not a DnsError: ${String(err)}`);
              assert.ok(c.codes.includes(err.code), `${c.name}: code ${err.code} (${err.message}), expected ${c.codes.join(' or ')}`);
              return err.code;
            },
          );
          const elapsed = performance.now() - start;
          assertWithinBound(elapsed, TIMEOUT, ATTEMPTS, `peers() under ${c.name}`);
          slowest = Math.max(slowest, elapsed);
          outcomes.push(outcome);
        }
        await (c.clear ?? ((x: NginxFixture) => x.dns.clearFaults()))(f);
        assert.deepEqual(keys(await peers('nginx', options)), expected, 'peers() after the fault');
        record(
          'faults (DNS)',
          `${c.name} / peers()`,
          `${tally(outcomes)}; slowest ${slowest.toFixed(0)} ms (bound ${lookupBound(TIMEOUT, ATTEMPTS)} ms); right set after`,
        );

        // A watcher under the same fault.
        const watcher = watchPeers('nginx', { ...options, timeout: 100, attempts: 1, minInterval: 30, maxInterval: 200 });
        const log = logWatcher(watcher);
        const { changes, errors } = log;
        try {
          assert.deepEqual(keys(await watcher.ready), expected);
          await until(() => changes.length === 1, 'the initial change');
          await c.apply(f);
          await until(() => errors.length >= 1, `an error event under ${c.name}`);
          for (const e of errors) {
            assert.ok(e instanceof DnsError && c.codes.includes(e.code), `watcher error ${String(e)}`);
          }
          assert.deepEqual(keys(watcher.peers), expected, 'the set is kept under the fault');
          assert.equal(changes.length, 1, 'no change event under the fault');
          const errorCodes = tally(errors.map((e) => (e as DnsError).code));
          await (c.clear ?? ((x: NginxFixture) => x.dns.clearFaults()))(f);
          await assertRecoversWithScaleUp(f.set, watcher, log, 'nginx-3');
          record('faults (DNS)', `${c.name} / watcher`, `set kept, errors: ${errorCodes}; recovered (scale 3 -> 4 seen)`);
        } finally {
          watcher.close();
        }
      } finally {
        await f.close();
      }
      await assertNoLeaks(before);
    }));
  }

  test('one stray NXDOMAIN does not empty a watcher\'s set; a lasting one does, once confirmed', recorded('faults (DNS)', 'stray NXDOMAIN', async () => {
    const before = activeResources();
    const f = await nginxFixture({ ttl: 0 });
    const watcher = watchPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, timeout: 100, attempts: 1, minInterval: 30, maxInterval: 200 });
    const changes: PeerChange[] = [];
    watcher.on('change', (ch) => changes.push(ch));
    watcher.on('error', () => {});
    try {
      const expected = keys(await watcher.ready);
      await until(() => changes.length === 1, 'the initial change');
      const at = f.dns.queries.length;
      f.dns.fault({ rcode: 'NXDOMAIN', count: 1 });
      await until(() => f.dns.queries.length >= at + 4, 'the NXDOMAIN and three more polls');
      assert.equal(changes.length, 1, 'no change: the stray NXDOMAIN was not confirmed');
      assert.deepEqual(keys(watcher.peers), expected);
      f.dns.fault({ rcode: 'NXDOMAIN' });
      await until(() => watcher.peers.length === 0, 'the lasting NXDOMAIN empties the set');
      assert.equal(changes.length, 2);
      assert.equal(changes[1]!.removed.length, 3);
      f.dns.clearFaults();
      await until(() => watcher.peers.length === 3, 'the set comes back');
      record('faults (DNS)', 'NXDOMAIN once / lasting / watcher', 'once: set kept, no change; lasting: emptied after one confirming poll; back after');
    } finally {
      watcher.close();
      await f.close();
    }
    await assertNoLeaks(before);
  }));
});
