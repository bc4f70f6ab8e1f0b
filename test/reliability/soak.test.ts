/**
 * Soak: a DNS watcher and a Kubernetes API watcher of one Service under churn (a change every
 * 100 ms) for HSD_SOAK_SECONDS (default 120 with CI=true, 20 otherwise). After a warm-up, the
 * heap after GC stays within 10% and sockets, timers and listeners do not grow; close leaves nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchPeers } from '../../src/index.ts';
import type { Peer, PeerWatcher } from '../../src/index.ts';
import { createFakeKubernetesApi, createTestCluster, createTestServer } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { collectGarbage, openSockets, record, recorded } from './support.ts';

const SECONDS = Number(process.env.HSD_SOAK_SECONDS ?? (process.env.CI === 'true' ? 120 : 20));
const CHURN_MS = 100;
const keys = (ps: readonly Peer[]): string[] => ps.map((p) => `${p.host}|${p.address}|${p.port}`).sort();

function heapAfterGc(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

test(`soak: two watchers under a change every ${CHURN_MS} ms for ${SECONDS} s: flat heap, no handle growth, nothing left after close`, recorded('soak', `${SECONDS} s of churn`, async () => {
  assert.ok(Number.isFinite(SECONDS) && SECONDS >= 5, `HSD_SOAK_SECONDS must be a number >= 5, got ${process.env.HSD_SOAK_SECONDS}`);
  const before = activeResources();
  const socketsBefore = openSockets();
  const cluster = await createTestCluster({ ttl: 0 });
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
  const set = cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 4 });
  // Logs and histories bounded below what the run produces: the test tools' own memory stays flat too.
  const dns = await createTestServer({ cluster, queryLogLimit: 100 });
  const api = await createFakeKubernetesApi({ cluster, historyLimit: 100 });
  const common = { port: 'web', namespace: 'default', minInterval: CHURN_MS, maxInterval: 1000 } as const;
  const watchers: { name: string; watcher: PeerWatcher; changes: number; errors: number }[] = [
    { name: 'DNS', watcher: watchPeers('nginx', { ...common, servers: dns.servers, timeout: 500, attempts: 2 }), changes: 0, errors: 0 },
    { name: 'API', watcher: watchPeers('nginx', { ...common, source: 'kubernetes', kubernetes: { url: api.url } }), changes: 0, errors: 0 },
  ];
  for (const w of watchers) {
    w.watcher.on('change', () => w.changes++);
    w.watcher.on('error', () => w.errors++);
  }
  // A `for await` consumer too, reading slowly: pending changes must merge, not pile up.
  let iterated = 0;
  const consumer = (async () => {
    for await (const change of watchers[0]!.watcher) {
      iterated += change.added.length + change.removed.length > 0 ? 1 : 0;
      await sleep(250);
    }
  })();

  let step = 0;
  const churn = (): void => {
    step++;
    const pods = cluster.pods.filter((p) => p.name.startsWith('web-'));
    switch (step % 4) {
      case 0:
        set.scale(pods.length >= 6 ? 3 : pods.length + 1);
        break;
      case 1: {
        const pod = pods[step % pods.length];
        if (pod) cluster.setReady(pod.name, !pod.ready);
        break;
      }
      case 2: {
        const pod = pods[(step >> 2) % pods.length];
        if (pod) cluster.setPodAddresses(pod.name);
        break;
      }
      default:
        set.scale(Math.max(2, pods.length - 1));
    }
  };
  const timer = setInterval(churn, CHURN_MS);

  const samples: Map<string, number>[] = [];
  const listenerCounts = (): string =>
    [...watchers.map((w) => w.watcher.listenerCount('change') + w.watcher.listenerCount('error')), cluster.listenerCount('change')].join('/');
  let heapStart = 0;
  let heapEnd = 0;
  let listenersStart = '';
  let listenersEnd = '';
  try {
    await Promise.all(watchers.map((w) => w.watcher.ready));
    const warmUp = Math.max(3, Math.round(SECONDS * 0.15));
    await sleep(warmUp * 1000);
    heapStart = heapAfterGc();
    listenersStart = listenerCounts();
    const end = Date.now() + (SECONDS - warmUp) * 1000;
    while (Date.now() < end) {
      const sample = activeResources();
      const sockets = openSockets();
      if (sockets !== null) sample.set('sockets (fds)', sockets);
      samples.push(sample);
      await sleep(500);
    }
    clearInterval(timer);
    // The churn stopped: both watchers come to the model's set.
    const model = (): string[] =>
      cluster
        .endpoints('nginx')
        .filter((e) => e.ready)
        .flatMap((e) => e.addresses.map((a) => `${e.hostname}.nginx.default.svc.cluster.local|${a}|80`))
        .sort();
    for (const w of watchers) await until(() => keys(w.watcher.peers).join() === model().join(), `the ${w.name} watcher's final set`);
    heapEnd = heapAfterGc();
    listenersEnd = listenerCounts();
  } finally {
    clearInterval(timer);
    for (const w of watchers) w.watcher.close();
    await consumer;
    await api.close();
    await dns.close();
  }
  await assertNoLeaks(before);
  // Unref'd sockets do not show in getActiveResourcesInfo(): count file descriptors too.
  if (socketsBefore !== null) await until(() => openSockets()! <= socketsBefore, `open sockets back to ${socketsBefore}`, 2000);

  // Resources: the most seen in the last third of the run is no more than in the first third (+2 for sockets being replaced).
  const third = Math.max(1, Math.floor(samples.length / 3));
  const peak = (list: Map<string, number>[]): Map<string, number> => {
    const out = new Map<string, number>();
    for (const s of list) for (const [k, n] of s) out.set(k, Math.max(out.get(k) ?? 0, n));
    return out;
  };
  const early = peak(samples.slice(0, third));
  const late = peak(samples.slice(-third));
  const grown = [...late].filter(([k, n]) => n > (early.get(k) ?? 0) + 2).map(([k, n]) => `${k}: ${early.get(k) ?? 0} -> ${n}`);
  assert.deepEqual(grown, [], 'handles grew during the soak');
  const delta = (heapEnd - heapStart) / heapStart;
  const summary = watchers.map((w) => `${w.name} ${w.changes} changes, ${w.errors} errors`).join('; ');
  for (const w of watchers) assert.ok(w.changes >= SECONDS / 2, `the ${w.name} watcher saw only ${w.changes} changes in ${SECONDS} s`);
  assert.ok(iterated > 0);
  assert.ok(Math.abs(delta) <= 0.1, `heap after GC went from ${mb(heapStart)} to ${mb(heapEnd)} (${(delta * 100).toFixed(1)}%)`);
  assert.equal(listenersEnd, listenersStart, 'listener counts (watchers change/error, cluster change)');
  const fmt = (m: Map<string, number>): string =>
    ['sockets (fds)', 'Timeout'].map((k) => `${k} ${m.get(k) ?? 0}`).join(', ');
  record('soak', `${SECONDS} s, a change every ${CHURN_MS} ms (${step} changes made)`, summary);
  record('soak', 'heap after GC (after warm-up -> end)', `${mb(heapStart)} -> ${mb(heapEnd)}: ${delta >= 0 ? '+' : ''}${(delta * 100).toFixed(1)}% (limit 10%)`);
  record('soak', 'handles, peak first third -> last third', `${fmt(early)} -> ${fmt(late)}; listeners ${listenersStart} -> ${listenersEnd}; none left after close`);
}));
