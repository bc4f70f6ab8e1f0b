/**
 * Kubernetes API source: a 10,000-pod list, the time from a one-pod change to the watcher's
 * `change` event (with its diff), and the watcher's heap per 1,000 peers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { watchPeers } from '../src/discovery/watcher.ts';
import type { PeerChange } from '../src/peer/index.ts';
import { listKubernetesPeers } from '../src/kubernetes/source.ts';
import { createFakeKubernetesApi, createTestCluster } from '../src/testing/index.ts';
import { gcFunction, settledHeap } from './gc.ts';
import { median } from './measure.ts';
import { populate, record, startReplayApi, type ReplayApi } from './replay-api.ts';

/** What the API part reports. */
export interface ApiResults {
  pods: number;
  /** listKubernetesPeers of 10,000 pods from the replay server: the client's own cost (ms, median). */
  listMs: number;
  /** The same list from the fake API (its rendering included), ms, median. */
  listFakeApiMs: number;
  /** One pod's readiness flips: server push -> `change` event with added/removed, ms. */
  changeMs: { p50: number; max: number; samples: number };
  /** Heap of a watcher (its slices, peers, connection) per 1,000 peers, KiB: slope between 1,000 and 10,000 peers. */
  heapPer1000PeersKiB: number;
  /** Heap held by a watcher of 10,000 peers, MiB. */
  heap10000PeersMiB: number;
  /** Heap held by a watcher of 1,000 peers, KiB. */
  heap1000PeersKiB: number;
}



function kubernetesOptions(url: string): { source: 'kubernetes'; namespace: string; port: string; kubernetes: { url: string } } {
  return { source: 'kubernetes', namespace: 'default', port: 'web', kubernetes: { url } };
}

async function timeList(url: string, rounds: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds + 2; i++) {
    const t0 = performance.now();
    const peers = await listKubernetesPeers({ service: 'big', namespace: 'default', port: 'web', kubernetes: { url } });
    const ms = performance.now() - t0;
    if (peers.length !== 10_000) throw new Error(`listed ${peers.length} peers, expected 10,000`);
    if (i >= 2) times.push(ms); // the first two warm up undici and the JIT
  }
  return median(times);
}

/** Flips one pod `count` times through the replay server and times each `change` event. */
async function timeChanges(replay: ReplayApi, count: number): Promise<number[]> {
  const watcher = watchPeers('big', kubernetesOptions(replay.url));
  try {
    await watcher.ready;
    await replay.watching(1);
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const changed = new Promise<PeerChange>((resolve) => watcher.once('change', resolve));
      const t0 = performance.now();
      replay.push('big', i % 2);
      const change = await changed;
      times.push(performance.now() - t0);
      const moved = change.added.length + change.removed.length;
      if (moved !== 1 || change.peers.length !== (i % 2 === 0 ? 9_999 : 10_000)) {
        throw new Error(`change ${i}: expected one pod to move, got +${change.added.length} -${change.removed.length}`);
      }
    }
    return times.slice(4); // the first ones warm up the JIT
  } finally {
    watcher.close();
  }
}

/** Heap held by a watcher of `service` once it has its set. */
async function watcherHeap(replay: ReplayApi, service: string, gc: () => void): Promise<number> {
  const before = await settledHeap(gc);
  const watcher = watchPeers(service, kubernetesOptions(replay.url));
  try {
    await watcher.ready;
    await sleep(50);
    return (await settledHeap(gc)) - before;
  } finally {
    watcher.close();
    await sleep(50);
  }
}

/** Runs the API benchmarks. */
export async function runApiBench(options: { rounds: number; changes: number }): Promise<ApiResults> {
  const gc = gcFunction();
  const cluster = await createTestCluster();
  populate(cluster);
  const api = await createFakeKubernetesApi({ cluster });
  let replay: ReplayApi | null = null;
  try {
    const listFakeApiMs = await timeList(api.url, options.rounds);
    const flip = (pod: string) => [() => cluster.setReady(pod, false), () => cluster.setReady(pod, true)] as const;
    const recordings = [await record(api, 'big', ...flip('big-5000')), await record(api, 'k1', ...flip('k1-500'))];
    await api.close();
    replay = await startReplayApi(recordings);
    const listMs = await timeList(replay.url, options.rounds);
    const changes = await timeChanges(replay, options.changes);
    // Warm both paths once so code and lazily loaded modules are not counted as a watcher's heap.
    await watcherHeap(replay, 'k1', gc);
    const k1 = await watcherHeap(replay, 'k1', gc);
    const big = await watcherHeap(replay, 'big', gc);
    return {
      pods: 10_000,
      listMs,
      listFakeApiMs,
      changeMs: { p50: median(changes), max: Math.max(...changes), samples: changes.length },
      heapPer1000PeersKiB: (big - k1) / 9 / 1024,
      heap10000PeersMiB: big / 1024 / 1024,
      heap1000PeersKiB: k1 / 1024,
    };
  } finally {
    if (replay === null) await api.close();
    else await replay.close();
  }
}
