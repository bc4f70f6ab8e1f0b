import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { activeWatchLoops, DnsError, waitForPeers, watchPeers } from '../../src/index.ts';
import type { Peer, PeerChange, PeerWatcher } from '../../src/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { nginxFixture } from '../helpers/fixtures.ts';
import type { NginxFixture } from '../helpers/fixtures.ts';

const names = (ps: Peer[]): string[] => ps.map((p) => p.name ?? p.address);
// A generous timeout: on a loaded machine a 100 ms try can expire, and a timeout is an error event.
const fast = { minInterval: 20, maxInterval: 100, timeout: 1000, attempts: 1 } as const;

function watch(f: NginxFixture, extra: Record<string, unknown> = {}): { watcher: PeerWatcher; changes: PeerChange[]; errors: Error[] } {
  const watcher = watchPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, ...fast, ...extra });
  const changes: PeerChange[] = [];
  const errors: Error[] = [];
  watcher.on('change', (c) => changes.push(c));
  watcher.on('error', (e) => errors.push(e));
  return { watcher, changes, errors };
}

describe('watchPeers() over the test cluster', () => {
  test('scale 3 -> 5 -> 2 -> 0 -> 3 and a pod IP change: each step exactly, no event without a change', async () => {
    const before = activeResources();
    const f = await nginxFixture({ ttl: 0 });
    // This test asserts no errors at all: a try long enough that a loaded machine never times out.
    const { watcher, changes, errors } = watch(f, { timeout: 3000, attempts: 2 });
    try {
      assert.deepEqual(names(await watcher.ready), ['nginx-0', 'nginx-1', 'nginx-2']);
      await until(() => changes.length === 1, 'the initial change');
      assert.deepEqual(names(changes[0]!.added), ['nginx-0', 'nginx-1', 'nginx-2']);

      const step = async (mutate: () => void, added: string[], removed: string[]): Promise<void> => {
        const n = changes.length;
        mutate();
        await until(() => changes.length > n, `change after ${added}/${removed}`);
        const queriesAt = f.dns.queries.length;
        // Several more polls see the same set: no further event.
        await until(() => f.dns.queries.length >= queriesAt + 3, 'three more polls');
        assert.equal(changes.length, n + 1, 'exactly one change');
        const c = changes[n]!;
        assert.deepEqual(names(c.added), added);
        assert.deepEqual(names(c.removed), removed);
        assert.deepEqual(c.peers, watcher.peers);
      };
      await step(() => f.set.scale(5), ['nginx-3', 'nginx-4'], []);
      await step(() => f.set.scale(2), [], ['nginx-2', 'nginx-3', 'nginx-4']);
      await step(() => f.set.scale(0), [], ['nginx-0', 'nginx-1']);
      assert.equal(watcher.peers.length, 0);
      await step(() => f.set.scale(3), ['nginx-0', 'nginx-1', 'nginx-2'], []);
      const oldAddress = watcher.peers[1]!.address;
      await step(() => f.cluster.setPodAddresses('nginx-1'), ['nginx-1'], ['nginx-1']);
      assert.notEqual(changes.at(-1)!.added[0]!.address, oldAddress);
      assert.equal(changes.at(-1)!.removed[0]!.address, oldAddress);
      assert.deepEqual(errors, [], 'scaling to 0 is not an error');
    } finally {
      watcher.close();
      await f.close();
    }
    await assertNoLeaks(before);
  });

  test('server down for 3 intervals, then back: errors, set kept, one change after recovery', async () => {
    const f = await nginxFixture({ ttl: 0 });
    const { watcher, changes, errors } = watch(f);
    try {
      const first = await watcher.ready;
      await f.dns.stop();
      await until(() => errors.length >= 3, 'three errors while the server is down');
      assert.deepEqual(watcher.peers, first, 'the last good set stays');
      assert.ok(errors.every((e) => e instanceof DnsError && ['ETIMEOUT', 'ECONNREFUSED'].includes(e.code)));
      f.set.scale(4);
      const n = changes.length;
      await f.dns.start();
      await until(() => changes.length > n, 'the change after recovery');
      assert.equal(changes.length, n + 1);
      assert.deepEqual(names(changes.at(-1)!.added), ['nginx-3']);
      assert.deepEqual(changes.at(-1)!.removed, []);
    } finally {
      watcher.close();
      await f.close();
    }
  });

  for (const fault of [{ rcode: 'SERVFAIL' as const }, { drop: true }]) {
    test(`fault ${JSON.stringify(fault)}: errors, set kept, recovery without a spurious change`, async () => {
      const f = await nginxFixture({ ttl: 0 });
      const { watcher, changes, errors } = watch(f);
      try {
        const first = await watcher.ready;
        f.dns.fault(fault);
        await until(() => errors.length >= 2, 'errors under the fault', 30_000);
        assert.deepEqual(watcher.peers, first);
        f.dns.clearFaults();
        const queriesAt = f.dns.queries.length;
        await until(() => f.dns.queries.length >= queriesAt + 3, 'polls after recovery', 30_000);
        assert.equal(changes.length, 1, 'nothing changed, so no change after the initial set');
      } finally {
        watcher.close();
        await f.close();
      }
    });
  }

  test('200 watchers of one service share one loop: one query per interval, not 200', async () => {
    const f = await nginxFixture({ ttl: 1 });
    const watchers = Array.from({ length: 200 }, () =>
      watchPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, minInterval: 200, maxInterval: 1000 }),
    );
    try {
      assert.equal(activeWatchLoops(), 1);
      await Promise.all(watchers.map((w) => w.ready));
      await watchers[0]!.refresh(); // joins the first poll if it is still finishing
      let start = f.dns.queries.length;
      await watchers[1]!.refresh();
      await watchers[2]!.refresh();
      assert.equal(f.dns.queries.length - start, 2, 'a refresh is one query for all 200');
      // Two poll intervals on their own: 200 separate loops would ask 400 times.
      start = f.dns.queries.length;
      await until(() => f.dns.queries.length >= start + 2, 'two intervals');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(f.dns.queries.length - start, 2);
      assert.ok(watchers.every((w) => w.peers.length === 3));
    } finally {
      for (const w of watchers) w.close();
      await f.close();
    }
    assert.equal(activeWatchLoops(), 0);
  });

  test('a consumer that reads nothing for 1,000 changes gets one merged change', async () => {
    const f = await nginxFixture({ ttl: 0, replicas: 4 });
    const watcher = watchPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, minInterval: 0, maxInterval: 50 });
    try {
      const it = watcher[Symbol.asyncIterator]();
      const first = await it.next();
      assert.deepEqual(names(first.value!.added), ['nginx-0', 'nginx-1', 'nginx-2', 'nginx-3']);
      let seen = 0;
      watcher.on('change', () => {
        seen++;
        if (seen >= 1000) return;
        f.cluster.setReady('nginx-3', !f.cluster.getPod('nginx-3')!.ready);
        // Polls come at most once per minInterval (floored at 100 ms): ask now instead.
        setImmediate(() => void watcher.refresh().catch(() => {}));
      });
      f.cluster.setReady('nginx-3', false);
      await until(() => seen >= 1000, '1,000 changes', 60_000);
      f.cluster.setPodAddresses('nginx-0');
      await until(() => seen >= 1001, 'the last change');
      const merged = (await it.next()).value!;
      // Compare with the real difference between the first set and now.
      const expectedRemoved = ['nginx-0', ...(f.cluster.getPod('nginx-3')!.ready ? [] : ['nginx-3'])];
      assert.deepEqual(names(merged.removed), expectedRemoved);
      assert.deepEqual(names(merged.added), ['nginx-0']);
      assert.deepEqual(merged.peers, watcher.peers);
      await it.return!();
    } finally {
      watcher.close();
      await f.close();
    }
  });

  test('for await: first item is the current set; break closes the watcher; close ends every iterator', async () => {
    const f = await nginxFixture({ ttl: 0 });
    const first = watchPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, ...fast });
    const watcher = watchPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, ...fast });
    try {
      for await (const change of first) {
        assert.deepEqual(names(change.added), ['nginx-0', 'nginx-1', 'nginx-2']);
        break;
      }
      assert.equal(first.closed, true, 'break closes the watcher it iterates');
      assert.equal(watcher.closed, false, 'a watcher sharing the loop goes on');
      const seen: PeerChange[] = [];
      const other: PeerChange[] = [];
      const consumer = (async () => {
        for await (const change of watcher) seen.push(change);
      })();
      const second = (async () => {
        for await (const change of watcher) other.push(change);
      })();
      await until(() => seen.length === 1 && other.length === 1, 'both iterators start with the set');
      f.set.scale(4);
      await until(() => seen.length === 2 && other.length === 2, 'the scale change');
      assert.deepEqual(names(seen[1]!.added), ['nginx-3']);
      watcher.close();
      await consumer;
      await second;
    } finally {
      first.close();
      watcher.close();
      await f.close();
    }
  });

  test('abort through signal closes; nothing keeps the event loop alive', async () => {
    const before = activeResources();
    const f = await nginxFixture();
    const ac = new AbortController();
    const watcher = watchPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, signal: ac.signal });
    await watcher.ready;
    const closed = once(watcher, 'close');
    ac.abort();
    await closed;
    assert.equal(watcher.closed, true);
    await assert.rejects(watcher.refresh(), { code: 'ECANCELLED' });
    await f.close();
    await assertNoLeaks(before);
  });

  test('a watcher closed before its first answer rejects ready with ECANCELLED', async () => {
    const f = await nginxFixture();
    f.dns.fault({ drop: true });
    const watcher = watchPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, timeout: 1000 });
    const ready = watcher.ready;
    watcher.close();
    await assert.rejects(ready, { code: 'ECANCELLED' });
    await f.close();
  });
});

describe('waitForPeers()', () => {
  test('resolves once min peers are seen and the set is stable', async () => {
    const f = await nginxFixture({ ttl: 0, replicas: 1 });
    try {
      const waiting = waitForPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, min: 3, stableFor: 200, ...fast });
      let done = false;
      void waiting.then(() => (done = true));
      const atStart = f.dns.queries.length;
      await until(() => f.dns.queries.length > atStart + 3, 'a few polls');
      assert.equal(done, false, 'one peer is not enough');
      f.set.scale(3);
      const list = await waiting;
      assert.deepEqual(names(list), ['nginx-0', 'nginx-1', 'nginx-2']);
    } finally {
      await f.close();
    }
  });

  test('rejects on abort and on waitTimeout with a clear message', async () => {
    const before = activeResources();
    const f = await nginxFixture({ ttl: 0, replicas: 1 });
    try {
      await assert.rejects(
        waitForPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, min: 3, waitTimeout: 300, ...fast }),
        (err: unknown) => err instanceof DnsError && err.code === 'ETIMEOUT' && /1 of the 3 peers needed \(nginx-0\)/.test(err.message),
      );
      const ac = new AbortController();
      const waiting = waitForPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, min: 3, signal: ac.signal, ...fast });
      setTimeout(() => ac.abort(), 50);
      await assert.rejects(waiting, { code: 'ECANCELLED' });
    } finally {
      await f.close();
    }
    await assertNoLeaks(before);
  });
});
