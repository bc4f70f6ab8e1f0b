/**
 * The Kubernetes API source against its floor and against @kubernetes/client-node, through the
 * public API only (`peers`, `watchPeers` with `source: 'kubernetes'`), so it measures whatever
 * the source does. The fake API (TLS) runs in a worker thread (bench/api-worker.ts).
 *
 * - list: floor = undici request + JSON.parse of the same list (a fresh Agent per call, as
 *   `peers()` makes its own); ours = `peers()`; client-node = listNamespacedEndpointSlice and
 *   flattening the ready endpoints; its informer = start() until the cache holds every slice.
 * - change: one pod's readiness flips; timed from the worker's write of the watch event (an
 *   absolute clock shared by both threads) to: the floor (a raw watch, the event received and
 *   JSON.parse'd), our `change` event, the informer's `update`.
 * - heap: heapUsed after forced GC, with our watcher / the informer holding the set, minus before.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { peers, watchPeers } from '../src/index.ts';
import { absoluteNow, startWorkerApi, type WorkerApi } from './api-host.ts';
import { measurePeakHeap, type PeakHeap } from './api-peak.ts';
import { gcFunction, settledHeap } from './gc.ts';
import { median } from './measure.ts';

const LABEL = 'kubernetes.io/service-name';

/** Figures for one Service size. */
export interface ApiSizeResults {
  pods: number;
  slices: number;
  /** List, ms (median of the rounds). */
  floorListMs: number;
  oursListMs: number;
  /** (ours - floor) / floor, percent (target <= 10). */
  aboveFloorPct: number;
  clientNodeListMs: number;
  informerListMs: number;
  /** Requests our list made, and the `limit` it asked for (null: not paged). */
  listRequests: number;
  listLimit: string | null;
  /** One-pod change, ms p50 from the event's write. */
  changeFloorMs: number;
  changeOursMs: number;
  /** ours / floor (target <= 2). */
  changeRatio: number;
  informerUpdateMs: number;
  changeSamples: number;
  /** Heap held per endpoint, bytes: our watcher, client-node's informer. */
  heapOursPerEndpoint: number;
  heapInformerPerEndpoint: number;
  /** ours / informer (target <= 0.6). */
  heapRatio: number;
  /** Peak heap during a list vs the final set's (measured when asked; target <= 2). */
  peak: PeakHeap | null;
}



function sliceUrl(api: WorkerApi, service: string, params: Record<string, string> = {}): string {
  const url = new URL('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', api.url);
  url.searchParams.set('labelSelector', `${LABEL}=${service}`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

interface SliceList {
  metadata: { resourceVersion: string };
  items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[];
}

/** The floor of a list: one request, its body, one JSON.parse. */
async function floorList(api: WorkerApi, service: string): Promise<SliceList> {
  const agent = new Agent({ connect: { ca: api.ca } });
  try {
    const res = await request(sliceUrl(api, service), { dispatcher: agent });
    return JSON.parse(await res.body.text()) as SliceList;
  } finally {
    await agent.close();
  }
}

function ourOptions(api: WorkerApi): { source: 'kubernetes'; namespace: string; port: string; kubernetes: { url: string; ca: string } } {
  return { source: 'kubernetes', namespace: 'default', port: 'web', kubernetes: { url: api.url, ca: api.ca! } };
}

/** client-node pointed at the fake API. */
function clientNode(api: WorkerApi): { kc: k8s.KubeConfig; discovery: k8s.DiscoveryV1Api } {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: api.url, caData: Buffer.from(api.ca!).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'bench' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'bench' }],
    currentContext: 'fake',
  });
  return { kc, discovery: kc.makeApiClient(k8s.DiscoveryV1Api) };
}

/** client-node's list, flattened to one entry per ready endpoint address (what a peer set needs). */
async function clientNodeList(discovery: k8s.DiscoveryV1Api, service: string): Promise<number> {
  const list = await discovery.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: `${LABEL}=${service}` });
  const out: { address: string; hostname: string | undefined; port: number | undefined }[] = [];
  for (const slice of list.items) {
    const port = slice.ports?.find((p) => p.name === 'web')?.port;
    for (const e of slice.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      for (const address of e.addresses) out.push({ address, hostname: e.hostname, port });
    }
  }
  return out.length;
}

type EndpointSliceInformer = k8s.Informer<k8s.V1EndpointSlice> & k8s.ObjectCache<k8s.V1EndpointSlice>;

/** Starts an informer; resolves once its cache holds `slices` slices. */
async function startInformer(kc: k8s.KubeConfig, discovery: k8s.DiscoveryV1Api, service: string, slices: number): Promise<EndpointSliceInformer> {
  const selector = `${LABEL}=${service}`;
  const informer = k8s.makeInformer(
    kc,
    '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices',
    () => discovery.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: selector }),
    selector,
  );
  let added = 0;
  const full = new Promise<void>((resolve, reject) => {
    informer.on('add', () => {
      if (++added === slices) resolve();
    });
    informer.on('error', (err) => reject(err instanceof Error ? err : new Error(String(err))));
  });
  void informer.start().catch(() => {});
  await full;
  return informer;
}

async function waitForWatches(api: WorkerApi, n: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await api.takeRequests()).openWatches >= n) return;
    await sleep(20);
  }
  throw new Error(`no watch open after 12 s`);
}

/** Arrival times of the events a watcher saw, and a way to wait for the i-th. */
class Arrivals {
  readonly times: number[] = [];
  #waiter: (() => void) | null = null;
  push(t: number): void {
    this.times.push(t);
    this.#waiter?.();
  }
  async nth(i: number): Promise<number> {
    const deadline = Date.now() + 120_000;
    while (this.times.length <= i) {
      if (Date.now() > deadline) throw new Error(`event ${i} never came`);
      await Promise.race([new Promise<void>((resolve) => (this.#waiter = resolve)), sleep(1000)]);
    }
    return this.times[i]!;
  }
}

/** Flips pod `pod` `count` times; the i-th arrival is paired with the i-th write. Drops the first (warm-up). */
async function timeFlips(api: WorkerApi, pod: { name: string; ready: boolean }, count: number, arrivals: Arrivals, start: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    pod.ready = !pod.ready;
    const writtenAt = await api.setReady(pod.name, pod.ready);
    const at = await arrivals.nth(start + i);
    if (i > 0) out.push(at - writtenAt);
  }
  return out;
}

/** A raw watch: request, read, split lines, JSON.parse; MODIFIED events are arrivals. */
function floorWatch(api: WorkerApi, service: string, resourceVersion: string, arrivals: Arrivals): { close(): Promise<void> } {
  const agent = new Agent({ connect: { ca: api.ca } });
  const controller = new AbortController();
  void (async () => {
    const res = await request(sliceUrl(api, service, { watch: '1', resourceVersion, allowWatchBookmarks: 'true' }), { dispatcher: agent, signal: controller.signal });
    let text = '';
    for await (const chunk of res.body) {
      text += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = text.indexOf('\n')) !== -1) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        if (line === '') continue;
        const event = JSON.parse(line) as { type: string };
        if (event.type === 'MODIFIED') arrivals.push(absoluteNow());
      }
    }
  })().catch(() => {});
  return {
    async close() {
      controller.abort();
      await agent.close().catch(() => {});
    },
  };
}

/** Runs the list, change and heap measures on one Service of `pods` pods (a worker of its own). */
export async function runApiSize(o: { pods: number; rounds: number; changes: number; peak: boolean; log: (line: string) => void }): Promise<ApiSizeResults> {
  const service = `k${o.pods / 1000}`;
  const gc = gcFunction();
  const api = await startWorkerApi([{ name: service, pods: o.pods }]);
  try {
    const { kc, discovery } = clientNode(api);
    const first = await floorList(api, service);
    const slices = first.items.length;
    // Everyone lists once (warm-up) and gets the whole set.
    const ours0 = await peers(service, ourOptions(api));
    if (ours0.length !== o.pods) throw new Error(`peers() listed ${ours0.length}, expected ${o.pods}`);
    const cn0 = await clientNodeList(discovery, service);
    if (cn0 !== o.pods) throw new Error(`client-node listed ${cn0}, expected ${o.pods}`);
    await (await startInformer(kc, discovery, service, slices)).stop();
    await api.takeRequests();
    await peers(service, ourOptions(api));
    const ourRequests = (await api.takeRequests()).list.filter((r) => !r.watch);
    o.log(`   ${o.pods.toLocaleString('en-US')} endpoints in ${slices} slices: lists`);

    const floor: number[] = [];
    const ours: number[] = [];
    const cnList: number[] = [];
    const informerList: number[] = [];
    const time = async (into: number[], fn: () => Promise<unknown>): Promise<void> => {
      gc();
      const t0 = performance.now();
      await fn();
      into.push(performance.now() - t0);
    };
    for (let r = 0; r < o.rounds; r++) {
      await time(floor, () => floorList(api, service));
      await time(ours, () => peers(service, ourOptions(api)));
      await time(cnList, () => clientNodeList(discovery, service));
      let informer: EndpointSliceInformer | null = null;
      await time(informerList, async () => (informer = await startInformer(kc, discovery, service, slices)));
      await informer!.stop();
    }

    let peak: PeakHeap | null = null;
    if (o.peak) {
      o.log(`   ${o.pods.toLocaleString('en-US')} endpoints: peak heap of a list (child process, --trace-gc)`);
      peak = await measurePeakHeap({ url: api.url, ca: api.ca!, service, pods: o.pods });
    }

    o.log(`   ${o.pods.toLocaleString('en-US')} endpoints: one-pod changes`);
    const pod = { name: `${service}-${Math.floor(o.pods / 2)}`, ready: true };
    // Floor: a raw watch from the list's resourceVersion.
    const floorArrivals = new Arrivals();
    const rv = (await floorList(api, service)).metadata.resourceVersion;
    const raw = floorWatch(api, service, rv, floorArrivals);
    await waitForWatches(api, 1);
    const changeFloor = await timeFlips(api, pod, o.changes, floorArrivals, 0);
    await raw.close();
    await sleep(50);

    // Ours: a watcher's `change` events (heap measured on the way: the watcher holds the set).
    const before = await settledHeap(gc, 30);
    const watcher = watchPeers(service, ourOptions(api));
    const ourArrivals = new Arrivals();
    watcher.on('change', () => ourArrivals.push(absoluteNow()));
    watcher.on('error', () => {});
    await watcher.ready;
    await waitForWatches(api, 1);
    const heapOurs = (await settledHeap(gc, 30)) - before;
    const skip = ourArrivals.times.length; // a watcher's first change may be its initial set
    const changeOurs = await timeFlips(api, pod, o.changes, ourArrivals, skip);
    watcher.close();
    await sleep(100);

    // client-node's informer: `update` events.
    const before2 = await settledHeap(gc, 30);
    const informer = await startInformer(kc, discovery, service, slices);
    const informerArrivals = new Arrivals();
    informer.on('update', () => informerArrivals.push(absoluteNow()));
    await waitForWatches(api, 1);
    const heapInformer = (await settledHeap(gc, 30)) - before2;
    const changeInformer = await timeFlips(api, pod, o.changes, informerArrivals, 0);
    await informer.stop();

    const floorListMs = median(floor);
    const oursListMs = median(ours);
    const changeFloorMs = median(changeFloor);
    const changeOursMs = median(changeOurs);
    return {
      pods: o.pods,
      slices,
      floorListMs,
      oursListMs,
      aboveFloorPct: (100 * (oursListMs - floorListMs)) / floorListMs,
      clientNodeListMs: median(cnList),
      informerListMs: median(informerList),
      listRequests: ourRequests.length,
      listLimit: ourRequests[0]?.query.limit ?? null,
      changeFloorMs,
      changeOursMs,
      changeRatio: changeOursMs / changeFloorMs,
      informerUpdateMs: median(changeInformer),
      changeSamples: changeOurs.length,
      heapOursPerEndpoint: heapOurs / o.pods,
      heapInformerPerEndpoint: heapInformer / o.pods,
      heapRatio: heapOurs / heapInformer,
      peak,
    };
  } finally {
    await api.close();
  }
}
