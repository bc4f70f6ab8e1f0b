import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrap, BootstrapError, BootstrapLatch, isBootstrapError } from '../../src/bootstrap/index.ts';
import type { BootstrapOptions, BootstrapProbeFunction } from '../../src/bootstrap/index.ts';
import { InvalidArgumentError } from '../../src/index.ts';
import type { Peer } from '../../src/index.ts';
import { createTestCluster, createTestServer } from '../../src/testing/index.ts';
import type { TestCluster, TestDnsServer } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';

let cluster: TestCluster;
let dns: TestDnsServer;
let namespaceCount = 0;

before(async () => {
  cluster = await createTestCluster({ ttl: 0 });
  dns = await createTestServer({ cluster });
});
after(async () => {
  await dns.close();
});

/** A fresh namespace with a headless Service `app` and a StatefulSet `web` of `replicas`. */
function namespace(replicas = 3): string {
  const ns = `ns${++namespaceCount}`;
  cluster.setService({ name: 'app', namespace: ns, ports: [{ name: 'peer', port: 7626 }] });
  cluster.statefulSet({ name: 'web', serviceName: 'app', namespace: ns, replicas });
  return ns;
}

/** The options every test shares: short clocks, its own latch. */
function options(ns: string, self: string, probe: BootstrapProbeFunction, extra: Partial<BootstrapOptions> = {}): BootstrapOptions {
  return {
    min: 3,
    stableFor: 200,
    probe,
    self: { name: self },
    namespace: ns,
    port: 'peer',
    servers: dns.servers,
    timeout: 1000,
    minInterval: 50,
    maxInterval: 200,
    probeInterval: 50,
    probeTimeout: 200,
    latch: new BootstrapLatch(),
    ...extra,
  };
}

const noCluster: BootstrapProbeFunction = async () => null;

/**
 * Wraps `probe` to abort the bootstrap once it has probed `calls` times and `ms` have passed:
 * long enough to have formed if it were going to, whatever the machine's load. The error's
 * message then holds the verdict of the last whole round.
 */
function stopAfter(probe: BootstrapProbeFunction, calls = 10, ms = 800): { probe: BootstrapProbeFunction; signal: AbortSignal } {
  const controller = new AbortController();
  const start = Date.now();
  let n = 0;
  return {
    probe: (peer, signal) => {
      if (++n >= calls && Date.now() - start >= ms) controller.abort();
      return probe(peer, signal);
    },
    signal: controller.signal,
  };
}

/** Expects a rejection with BootstrapError `code`; returns it. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<BootstrapError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isBootstrapError(error), String(error));
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`resolved; expected ${code}`);
}

describe('bootstrap()', () => {
  test('bad options throw InvalidArgumentError', () => {
    const ok = options('x', 'web-0', noCluster);
    for (const bad of [
      { min: 0 },
      { min: 1.5 },
      { min: undefined },
      { probe: undefined },
      { probe: 'http' },
      { stableFor: -1 },
      { stableFor: 2 ** 31 },
      { newCluster: 'no' },
      { self: { name: '' } },
      { self: { address: 'web-0' } },
      { self: { name: 'web-0', address: '10.0.0.1' } },
      { probeInterval: 0 },
      { waitTimeout: Number.NaN },
    ]) {
      assert.throws(() => bootstrap('app', { ...ok, ...bad } as BootstrapOptions), InvalidArgumentError, JSON.stringify(bad));
    }
  });

  test('the lowest forms once the set is stable and every other peer says "no cluster"; the others join it', async () => {
    const before = activeResources();
    const ns = namespace();
    const asked = new Set<string>();
    const decision = await bootstrap('app', options(ns, 'web-0', async (peer) => (asked.add(peer.name!), null)));
    assert.deepEqual(decision, { action: 'form' });
    assert.deepEqual([...asked].sort(), ['web-1', 'web-2']);
    const formed: BootstrapProbeFunction = async (peer) => (peer.name === 'web-0' ? ['web-0.app:2552'] : null);
    assert.deepEqual(await bootstrap('app', options(ns, 'web-2', formed)), { action: 'join', seeds: ['web-0.app:2552'] });
    await assertNoLeaks(before);
  });

  test('self by address', async () => {
    const ns = namespace();
    const address = cluster.getPod('web-0', ns)!.addresses[0]!;
    assert.deepEqual(await bootstrap('app', { ...options(ns, 'web-0', noCluster), self: { address } }), { action: 'form' });
  });

  test('the others keep probing until the lowest has formed, then join it', async () => {
    const ns = namespace();
    let formed = false;
    const probe: BootstrapProbeFunction = async (peer) => (formed && peer.name === 'web-0' ? ['a', 'b'] : null);
    const joining = bootstrap('app', options(ns, 'web-1', probe));
    setTimeout(() => (formed = true), 600);
    assert.deepEqual(await joining, { action: 'join', seeds: ['a', 'b'] });
  });

  test('newCluster: false never forms: it waits for a cluster, then joins', async () => {
    const ns = namespace();
    const run = stopAfter(noCluster);
    const error = await rejectsWith(bootstrap('app', options(ns, 'web-0', run.probe, { newCluster: false, signal: run.signal })), 'ECANCELLED');
    assert.match(error.message, /newCluster is false/);
    let formed = false;
    setTimeout(() => (formed = true), 300);
    const join = bootstrap('app', options(ns, 'web-0', async () => (formed ? ['m'] : null), { newCluster: false, waitTimeout: 10_000 }));
    assert.deepEqual(await join, { action: 'join', seeds: ['m'] });
  });

  test('a probe error, timeout or bad answer is never "no cluster": the lowest does not form', async () => {
    const before = activeResources();
    const ns = namespace();
    const cases: [string, BootstrapProbeFunction][] = [
      ['rejects', async (p) => (p.name === 'web-2' ? Promise.reject(new Error('ECONNREFUSED')) : null)],
      ['throws', (p) => {
        if (p.name === 'web-1') throw new Error('boom');
        return Promise.resolve(null);
      }],
      ['never answers, ignoring its signal', (p) => (p.name === 'web-1' ? new Promise<null>(() => {}) : Promise.resolve(null))],
      ['answers garbage', async (p) => (p.name === 'web-2' ? ([42] as unknown as string[]) : null)],
      ['answers an empty list', async (p) => (p.name === 'web-2' ? [] : null)],
    ];
    for (const [what, probe] of cases) {
      const run = stopAfter(probe);
      const error = await rejectsWith(bootstrap('app', options(ns, 'web-0', run.probe, { signal: run.signal })), 'ECANCELLED');
      // It did not form (aborted, still deciding). Where the abort found the round waiting for the
      // failing peer, the verdict names it; where a slow poll had just restarted the stability clock
      // (a loaded machine), the failing peer's answer stands among the probe errors.
      assert.match(error.message, /no "no cluster" answer from web-[12]|probe errors: web-[12]: /, what);
    }
    // Once the failing peer answers, the lowest forms.
    let failures = 5;
    const recovering: BootstrapProbeFunction = async (p) => {
      if (p.name === 'web-2' && failures-- > 0) throw new Error('not listening yet');
      return null;
    };
    assert.deepEqual(await bootstrap('app', options(ns, 'web-0', recovering)), { action: 'form' });
    assert.ok(failures < 0);
    await assertNoLeaks(before);
  });

  test('a process forms at most once (the latch): a second bootstrap only joins', async () => {
    const ns = namespace();
    const latch = new BootstrapLatch();
    assert.deepEqual(await bootstrap('app', options(ns, 'web-0', noCluster, { latch })), { action: 'form' });
    const run = stopAfter(noCluster);
    const again = await rejectsWith(bootstrap('app', options(ns, 'web-0', run.probe, { latch, signal: run.signal })), 'ECANCELLED');
    assert.match(again.message, /latch/);
    assert.deepEqual(await bootstrap('app', options(ns, 'web-0', async () => ['x'], { latch })), { action: 'join', seeds: ['x'] });
    // Another cluster (another namespace) is another key.
    assert.deepEqual(await bootstrap('app', options(namespace(), 'web-0', noCluster, { latch })), { action: 'form' });
  });

  test('failed DNS polls never lead to form and never shrink the set', async () => {
    const before = activeResources();
    const ns = namespace();
    const name = `_peer._tcp.app.${ns}.svc.cluster.local`;
    // web-1 is not the lowest. Had the set shrunk to what failed polls showed (nothing, or
    // web-1 alone), it would be; it never forms.
    dns.fault({ name, drop: true, count: 1_000_000 });
    let seen: Peer[] = [];
    const first = bootstrap('app', options(ns, 'web-1', async (p) => (seen.push(p), null), { min: 1, waitTimeout: 1000 }));
    await rejectsWith(first, 'ETIMEOUT');
    dns.clearFaults();

    // With the set known, then SERVFAIL on every poll: web-0 (the lowest) never forms while polls fail.
    const failing = { stop: false };
    let polls = 0;
    const probe: BootstrapProbeFunction = async () => {
      if (++polls === 3) {
        dns.fault({ name, rcode: 'SERVFAIL' });
        failing.stop = true;
      }
      return null;
    };
    const error = await rejectsWith(bootstrap('app', options(ns, 'web-0', probe, { stableFor: 300, waitTimeout: 2000 })), 'ETIMEOUT');
    assert.ok(failing.stop);
    assert.match(error.message, /3 peer\(s\) \(web-0, web-1, web-2\)/, 'the set is kept');
    assert.match(error.message, /last DNS error/);
    dns.clearFaults();

    // A set seen with web-1 while polls fail: web-1 still sees web-0, and waits for it.
    seen = [];
    const kept = bootstrap('app', options(ns, 'web-1', async (p) => (seen.push(p), null), { min: 1, waitTimeout: 1500 }));
    setTimeout(() => dns.fault({ name, drop: true }), 300);
    const keptError = await rejectsWith(kept, 'ETIMEOUT');
    assert.match(keptError.message, /3 peer\(s\) \(web-0, web-1, web-2\)/);
    assert.ok(seen.some((p) => p.name === 'web-0'));
    dns.clearFaults();

    // Once DNS answers again, the lowest forms.
    assert.deepEqual(await bootstrap('app', options(ns, 'web-0', noCluster)), { action: 'form' });
    await assertNoLeaks(before);
  });

  test('a member that is not in the set never forms', async () => {
    const ns = namespace();
    const error = await rejectsWith(bootstrap('app', options(ns, 'web-7', noCluster, { min: 1, waitTimeout: 800 })), 'ETIMEOUT');
    assert.match(error.message, /not in the set/);
  });

  test('abort: ECANCELLED, nothing left running', async () => {
    const before = activeResources();
    const ns = namespace();
    const controller = new AbortController();
    const pending = bootstrap('app', options(ns, 'web-1', noCluster, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 300);
    await rejectsWith(pending, 'ECANCELLED');
    await rejectsWith(bootstrap('app', options(ns, 'web-1', noCluster, { signal: AbortSignal.abort() })), 'ECANCELLED');
    await assertNoLeaks(before);
  });
});
