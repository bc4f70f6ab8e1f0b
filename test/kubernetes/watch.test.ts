import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { diffPeers } from '../../src/peer/index.ts';
import { watchPeers } from '../../src/index.ts';
import type { PeerChange } from '../../src/index.ts';
import type { Peer } from '../../src/peer/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { apiFixture, expectedPeers, keysOf, namesOf, recordWatch } from './fixture.ts';
import type { ApiFixture, Recorder } from './fixture.ts';

/** Backoff so long that any retry would stall the test: what arrives was pushed. */
const NO_RETRY = { minBackoff: 60_000, maxBackoff: 60_000 };
/** Quick retries for the fault tests. */
const FAST_RETRY = { minBackoff: 5, maxBackoff: 20 };

/**
 * Applies `mutate`, waits for the next reported set and checks it is the model's, with
 * exactly the names added and removed that `expected` says.
 */
async function step(
  f: ApiFixture,
  r: Recorder,
  mutate: () => unknown,
  expected: { added?: string[]; removed?: string[] },
  what: string,
): Promise<Peer[]> {
  const n = r.sets.length;
  const before = r.sets[n - 1]!;
  await mutate();
  const got = await r.waitForSets(n + 1, what);
  assert.deepEqual(keysOf(got), keysOf(expectedPeers(f.cluster)), `${what}: the model's set`);
  const change = diffPeers(before, got);
  assert.deepEqual(namesOf(change.added), expected.added ?? [], `${what}: added`);
  assert.deepEqual(namesOf(change.removed), expected.removed ?? [], `${what}: removed`);
  return got;
}

/** Every report changed the set (no duplicates), and there were `count` of them. */
function assertReports(r: Recorder, count: number): void {
  assert.equal(r.sets.length, count, `${count} sets reported`);
  for (let i = 1; i < r.sets.length; i++) {
    const c = diffPeers(r.sets[i - 1]!, r.sets[i]!);
    assert.ok(c.added.length + c.removed.length > 0, `report ${i} changed nothing`);
  }
}

const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `web-${from + i}`);

describe('EndpointSliceWatch', () => {
  test('scale 3 -> 50 -> 10: each step pushed as one exact change, no retry, no poll', async () => {
    const before = activeResources();
    const f = await apiFixture({ replicas: 3, tls: true, token: 'tok' });
    const r = recordWatch({ kubernetes: f.kubernetes, ...NO_RETRY });
    try {
      const first = await r.waitForSets(1, 'the first list');
      assert.deepEqual(namesOf(first), range(0, 3));
      await step(f, r, () => f.set.scale(50), { added: range(3, 50) }, 'scale to 50');
      await step(f, r, () => f.set.scale(10), { removed: range(10, 50) }, 'scale to 10');
      await step(f, r, () => f.cluster.setReady('web-4', false), { removed: ['web-4'] }, 'web-4 not ready');
      const moved = f.cluster.getPod('web-2')!.addresses[0];
      const got = await step(f, r, () => f.cluster.setPodAddresses('web-2'), { added: ['web-2'], removed: ['web-2'] }, 'web-2 rescheduled');
      assert.notEqual(got.find((p) => p.name === 'web-2')!.address, moved);
      assertReports(r, 5);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(
        f.api.requests.map((q) => (q.watch ? 'watch' : 'list')),
        ['watch'],
        'one streaming watch-list: the initial set and everything else was pushed',
      );
      const q = f.api.requests[0]!.query;
      assert.deepEqual([q.sendInitialEvents, q.resourceVersionMatch, q.allowWatchBookmarks], ['true', 'NotOlderThan', 'true']);
      assert.match(q.timeoutSeconds!, /^\d+$/);
      assert.equal(r.watch.stats.watchList, true);
      assert.deepEqual(r.watch.peers, r.last);
    } finally {
      r.watch.close();
      await f.close();
    }
    await assertNoLeaks(before);
  });

  test('10,000 pods in 100 slices: one pod change recomputes only its slice', async () => {
    const f = await apiFixture({ replicas: 10_000 });
    const r = recordWatch({ kubernetes: f.kubernetes, ...NO_RETRY });
    try {
      const first = await r.waitForSets(1, 'the first list');
      assert.equal(first.length, 10_000);
      assert.deepEqual(keysOf(first), keysOf(expectedPeers(f.cluster)));
      assert.equal(r.watch.stats.slices, 100);
      assert.equal(r.watch.stats.slicesRecomputed, 100);

      const second = await step(f, r, () => f.cluster.setReady('web-4242', false), { removed: ['web-4242'] }, 'web-4242 not ready');
      assert.equal(r.watch.stats.slicesRecomputed, 101, 'one slice recomputed');
      const old = new Set(first);
      assert.equal(second.filter((p) => old.has(p)).length, 9_999, 'every other peer kept its Peer object');

      await step(f, r, () => f.cluster.setReady('web-4242', true), { added: ['web-4242'] }, 'web-4242 ready again');
      assert.equal(r.watch.stats.slicesRecomputed, 102);
      await step(f, r, () => f.set.scale(10_001), { added: ['web-10000'] }, 'one more pod: a new slice');
      assert.equal(r.watch.stats.slices, 101);
      assert.equal(r.watch.stats.slicesRecomputed, 103);
      assertReports(r, 4);
    } finally {
      r.watch.close();
      await f.close();
    }
  });

  test('410 Gone as an ERROR event and as HTTP 410: relist, report only the real difference', async () => {
    const f = await apiFixture({ replicas: 3 });
    const r = recordWatch({ kubernetes: f.kubernetes, ...FAST_RETRY });
    try {
      await r.waitForSets(1, 'the first list');
      await until(() => f.api.openWatches === 1, 'the watch');
      // Changes while disconnected, then the history is gone: the resumed watch gets ERROR 410.
      await step(f, r, () => (f.api.dropWatches(), f.set.scale(5), f.api.compact()), { added: ['web-3', 'web-4'] }, 'after ERROR 410');
      assert.equal(r.watch.stats.lists, 2, 'relisted');
      await until(() => f.api.openWatches === 1, 'the watch after the relist');

      // A relist that finds nothing new reports nothing: the next report is the next change.
      f.cluster.setService({ name: 'other', ports: [] });
      f.api.dropWatches();
      f.api.compact();
      await until(() => r.watch.stats.lists === 3, 'the second relist');
      await step(f, r, () => f.set.scale(6), { added: ['web-5'] }, 'a change after a no-op relist');

      // HTTP 410 on the watch request itself.
      await until(() => f.api.openWatches === 1, 'the watch');
      f.api.fail({ status: 410, on: 'watch', count: 1 });
      await step(f, r, () => (f.api.dropWatches(), f.set.scale(4)), { removed: ['web-4', 'web-5'] }, 'after HTTP 410');
      assert.equal(r.watch.stats.lists, 4);
      assert.ok(f.api.requests.some((q) => q.watch && q.status === 410));

      assertReports(r, 4);
      assert.ok(
        r.errors.every((e) => e.code === 'ECONNECTION'),
        `only the dropped connections are errors, not the 410s: ${r.errors.map((e) => e.code)}`,
      );
    } finally {
      r.watch.close();
      await f.close();
    }
  });

  test('dropped connection mid-stream and server restart: resume from the last resourceVersion, nothing lost or repeated', async () => {
    const f = await apiFixture({ replicas: 3, tls: true });
    const r = recordWatch({ kubernetes: f.kubernetes, ...FAST_RETRY });
    try {
      await r.waitForSets(1, 'the first list');
      await step(f, r, () => f.set.scale(4), { added: ['web-3'] }, 'a first event');
      const known = r.watch.resourceVersion;
      await step(f, r, () => (f.api.dropWatches(), f.set.scale(6)), { added: ['web-4', 'web-5'] }, 'a change while the connection is down');
      assert.equal(r.watch.stats.lists, 1, 'resumed, not relisted');
      const resumed = f.api.requests.filter((q) => q.watch).at(-1)!;
      assert.equal(resumed.query.sendInitialEvents, undefined, 'a plain watch');
      assert.equal(resumed.resourceVersion, known, 'the watch resumed from the last version applied');

      // Down for a while (several failed reconnects), changed meanwhile, back on the same port.
      await f.api.stop();
      const errorsBefore = r.errors.length;
      f.set.scale(2);
      f.cluster.setReady('web-0', false);
      await r.waitForErrors(errorsBefore + 3, 'three failed reconnects');
      assert.equal(r.sets.length, 3, 'the set is kept while the server is down');
      await step(f, r, () => f.api.start(), { removed: ['web-0', 'web-2', 'web-3', 'web-4', 'web-5'] }, 'back after a restart');
      assert.equal(r.watch.stats.lists, 1);
      await step(f, r, () => f.cluster.setReady('web-0', true), { added: ['web-0'] }, 'a change after the restart');
      assertReports(r, 5);
      assert.ok(r.errors.every((e) => e.code === 'ECONNECTION'), `${r.errors.map((e) => e.message)}`);
      assert.match(r.errors.at(-1)!.message, /ECONNREFUSED/);
    } finally {
      r.watch.close();
      await f.close();
    }
  });

  test('the server ends the stream (watch timeout): reconnect at once, no relist', async () => {
    const f = await apiFixture({ replicas: 3 });
    // 2 s: a stream that ends within 1 s is short, and a second short one in a row backs off
    // (NO_RETRY: a minute). The stream ended by endWatches() below is one; a 1 s timeout measured
    // from the client's side could be a hair under 1 s and be the second.
    const r = recordWatch({ kubernetes: f.kubernetes, ...NO_RETRY, watchTimeout: 2 });
    try {
      await r.waitForSets(1, 'the first list');
      assert.equal(f.api.requests[0]!.query.timeoutSeconds, '2');
      await step(f, r, () => (f.api.endWatches(), f.set.scale(4)), { added: ['web-3'] }, 'after a normal end');
      // The server's own timeoutSeconds (2 s) ends the next stream.
      await until(() => r.watch.stats.watches >= 3, 'a reconnect after timeoutSeconds');
      await step(f, r, () => f.set.scale(5), { added: ['web-4'] }, 'after a timeout');
      assert.equal(r.watch.stats.lists, 1);
      assert.deepEqual(r.errors, []);
    } finally {
      r.watch.close();
      await f.close();
    }
  });

  test('bookmarks move the resume point: no relist after a compaction', async () => {
    const f = await apiFixture({ replicas: 3, bookmarkIntervalMs: 10 });
    const r = recordWatch({ kubernetes: f.kubernetes, ...FAST_RETRY });
    try {
      await r.waitForSets(1, 'the first list');
      await until(() => r.watch.stats.bookmarks > 0, 'a periodic bookmark');
      // Other Services change: our watch sees no event, only the next bookmark.
      f.cluster.setService({ name: 'other', ports: [] });
      f.cluster.addPod({ name: 'o-1', labels: { app: 'other' } });
      await tick();
      f.api.bookmark();
      await until(() => r.watch.resourceVersion === f.api.resourceVersion, 'the bookmark version');
      await step(f, r, () => (f.api.dropWatches(), f.api.compact(), f.set.scale(4)), { added: ['web-3'] }, 'resumed from the bookmark');
      assert.equal(r.watch.stats.lists, 1, 'no 410, no relist');
      assertReports(r, 2);
    } finally {
      r.watch.close();
      await f.close();
    }
  });

  test('token rotation: a changed token file is used at once; an unchanged-looking one after a 401 and one retry', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'headless-sd-rotate-'));
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'token-1');
    const f = await apiFixture({ replicas: 3, token: 'token-1', tls: true });
    const r = recordWatch({ kubernetes: { url: f.api.url, ca: f.api.ca!, tokenFile }, ...FAST_RETRY });
    try {
      await r.waitForSets(1, 'the first list');
      await until(() => f.api.openWatches === 1, 'the watch');
      // kubelet rotates the token: new file; the server rejects the old token from now on.
      const { mtime } = await stat(tokenFile);
      await writeFile(tokenFile, 'token-2');
      await utimes(tokenFile, mtime, new Date(mtime.getTime() + 5000));
      f.api.setToken('token-2');
      await step(f, r, () => (f.api.dropWatches(), f.set.scale(4)), { added: ['web-3'] }, 'after the rotation');
      assert.equal(f.api.requests.at(-1)!.token, 'token-2');
      assert.ok(!f.api.requests.some((q) => q.status === 401), 'the new token was read before any request');

      // Rotated again, but size and mtime look the same: the 401 makes it read the file again.
      await until(() => f.api.openWatches === 1, 'the watch');
      const same = await stat(tokenFile);
      await writeFile(tokenFile, 'token-3');
      await utimes(tokenFile, same.atime, same.mtime);
      f.api.setToken('token-3');
      await step(f, r, () => (f.api.dropWatches(), f.set.scale(5)), { added: ['web-4'] }, 'after a 401 and a retry');
      const rejected = f.api.requests.findIndex((q) => q.status === 401);
      assert.ok(rejected > 0);
      assert.equal(f.api.requests[rejected]!.token, 'token-2');
      assert.equal(f.api.requests[rejected + 1]!.token, 'token-3');
      assert.equal(f.api.requests[rejected + 1]!.status, 200);
      assert.ok(!r.errors.some((e) => e.code === 'EUNAUTHORIZED'), 'the retry succeeded: no error reported');
      assertReports(r, 3);
    } finally {
      r.watch.close();
      await f.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('401, 403 and 404 while watching: reported on each retry; the watch recovers when fixed', async () => {
    const f = await apiFixture({ replicas: 2, forbidden: true, token: 'good' });
    const r = recordWatch({ kubernetes: f.kubernetes, ...FAST_RETRY });
    const bad = recordWatch({ kubernetes: { url: f.api.url, token: 'bad' }, ...FAST_RETRY });
    let missing: Recorder | undefined;
    try {
      await r.waitForErrors(3, 'three 403s');
      assert.ok(r.errors.every((e) => e.code === 'EFORBIDDEN' && /"list", "watch"/.test(e.message)), `${r.errors.map((e) => e.code)}`);
      await bad.waitForErrors(2, 'two 401s');
      assert.ok(bad.errors.every((e) => e.code === 'EUNAUTHORIZED'), `${bad.errors.map((e) => e.code)}`);
      f.api.setForbidden(false);
      assert.deepEqual(namesOf(await r.waitForSets(1, 'the set once RBAC allows it')), ['web-0', 'web-1']);
      missing = recordWatch({ kubernetes: f.kubernetes, namespace: 'later', ...FAST_RETRY });
      await missing.waitForErrors(2, 'two 404s');
      assert.ok(
        missing.errors.every((e) => e.code === 'ENOTFOUND' && /namespace "later" does not exist/.test(e.message)),
        `${missing.errors.map((e) => e.message)}`,
      );
      f.cluster.setService({ name: 'nginx', namespace: 'later', ports: [{ name: 'web', port: 80 }] });
      f.cluster.statefulSet({ name: 'db', serviceName: 'nginx', namespace: 'later', replicas: 1 });
      assert.deepEqual(namesOf(await missing.waitForSets(1, 'the set once the namespace exists')), ['db-0']);
      assert.equal(bad.sets.length, 0);
    } finally {
      r.watch.close();
      bad.watch.close();
      missing?.watch.close();
      await f.close();
    }
  });

  test('a stream split at every byte is parsed; a junk line is an EBADRESP and the watch resumes', async () => {
    const slice = (rv: string, pods: string[]) => ({
      metadata: { name: 'nginx-abcde', resourceVersion: rv },
      addressType: 'IPv4',
      endpoints: pods.map((p, i) => ({ addresses: [`10.0.0.${i + 1}`], conditions: { ready: true }, hostname: p })),
      ports: [{ name: 'web', port: 80, protocol: 'TCP' }],
    });
    const seen: string[] = [];
    const server = http.createServer(async (req, res) => {
      const url = new URL(req.url!, 'http://x');
      seen.push(url.searchParams.get('resourceVersion') ?? 'list');
      if (url.searchParams.get('watch') !== '1') {
        res.end(JSON.stringify({ kind: 'EndpointSliceList', metadata: { resourceVersion: '5' }, items: [slice('5', ['web-0'])] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      if (seen.filter((s) => s !== 'list').length > 1) return; // the second watch stays open, quiet
      const event = Buffer.from(`${JSON.stringify({ type: 'MODIFIED', object: slice('7', ['web-0', 'web-1']) })}\n`);
      for (const byte of event) {
        res.write(Uint8Array.of(byte));
        await tick();
      }
      res.write('this is not json\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const r = recordWatch({ kubernetes: { url: `http://127.0.0.1:${port}` }, namespace: 'default', watchList: false, ...NO_RETRY });
    try {
      await r.waitForSets(2, 'the event');
      assert.deepEqual(namesOf(r.sets[1]!), ['web-0', 'web-1']);
      await r.waitForErrors(1, 'the junk line');
      assert.equal(r.errors[0]!.code, 'EBADRESP');
      assert.match(r.errors[0]!.message, /not JSON/);
      await until(() => seen.length === 3, 'the resumed watch');
      assert.deepEqual(seen, ['list', '5', '7'], 'resumed after the last good event, no relist, no backoff');
    } finally {
      r.watch.close();
      server.closeAllConnections();
      server.close();
    }
  });

  test('close() in every state, and an abort signal, leave nothing running', async () => {
    const before = activeResources();
    const f = await apiFixture({ replicas: 2 });
    try {
      // Watching.
      const a = recordWatch({ kubernetes: f.kubernetes, ...NO_RETRY });
      await a.waitForSets(1, 'a: first list');
      await until(() => f.api.openWatches === 1, 'a: the watch');
      a.watch.close();
      await until(() => f.api.openWatches === 0, 'a: the watch closed on the server');

      // While the list is slow.
      f.api.fail({ delayMs: 60_000, on: 'list', count: 1 });
      const b = recordWatch({ kubernetes: f.kubernetes, watchList: false, ...NO_RETRY });
      await until(() => f.api.requests.some((q) => !q.watch), 'b: the list request');
      b.watch.close();

      // Backing off after a failure.
      f.api.fail({ status: 500, count: 1 });
      const c = recordWatch({ kubernetes: f.kubernetes, ...NO_RETRY });
      await c.waitForErrors(1, 'c: the failure');
      assert.equal(c.errors[0]!.code, 'EHTTP');
      c.watch.close();

      // Through the signal; a closed watch reports nothing more.
      const controller = new AbortController();
      const d = recordWatch({ kubernetes: f.kubernetes, ...NO_RETRY, signal: controller.signal });
      await d.waitForSets(1, 'd: first list');
      controller.abort();
      const e = recordWatch({ kubernetes: f.kubernetes, ...NO_RETRY });
      await e.waitForSets(1, 'e: first list');
      await until(() => f.api.openWatches === 1, 'e: the watch');
      f.set.scale(3);
      await e.waitForSets(2, 'e: the change');
      assert.equal(d.sets.length, 1, 'the aborted watch saw nothing after its abort');
      assert.equal(a.sets.length, 1);
      e.watch.close();
      e.watch.close(); // twice is fine

      // Already aborted: never starts.
      const g = recordWatch({ kubernetes: f.kubernetes, signal: AbortSignal.abort() });
      assert.equal(g.sets.length, 0);
    } finally {
      await f.close();
    }
    await assertNoLeaks(before);
  });

  test('through watchPeers(source: "kubernetes"): ready, then one change per step', async () => {
    const before = activeResources();
    const f = await apiFixture({ replicas: 2 });
    const watcher = watchPeers('nginx', { source: 'kubernetes', namespace: 'default', port: 'web', kubernetes: f.kubernetes, minInterval: 10 });
    const changes: PeerChange[] = [];
    watcher.on('change', (c) => changes.push(c));
    try {
      assert.deepEqual(namesOf(await watcher.ready), ['web-0', 'web-1']);
      await until(() => f.api.openWatches === 1, 'the watch');
      f.set.scale(3);
      await until(() => changes.length === 2, 'the change');
      assert.deepEqual(namesOf(changes[1]!.added), ['web-2']);
      assert.deepEqual(changes[1]!.removed, []);
    } finally {
      watcher.close();
      await f.close();
    }
    await assertNoLeaks(before);
  });
});
