/**
 * The fake Kubernetes API (createFakeKubernetesApi, TLS) in a worker thread, so that its
 * rendering runs beside the client under test, not on its thread. The main thread drives the
 * model by messages; after each change the worker answers with the absolute time
 * (`performance.timeOrigin + performance.now()`, comparable across threads) at which the watch
 * events had been written.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { createFakeKubernetesApi, createTestCluster } from '../src/testing/index.ts';

/** A headless Service of `pods` ready pods with the named port `web`. */
export interface WorkerService {
  name: string;
  pods: number;
}

/** Messages to the worker. */
export type ToWorker =
  | { type: 'ready'; seq: number; pod: string; ready: boolean }
  | { type: 'scale'; seq: number; service: string; replicas: number }
  | { type: 'requests'; seq: number }
  | { type: 'close'; seq: number };

/** Messages from the worker. */
export type FromWorker =
  | { type: 'listening'; url: string; ca: string | undefined }
  | { type: 'done'; seq: number; writtenAt: number }
  | { type: 'requests'; seq: number; list: { path: string; query: Record<string, string>; watch: boolean }[]; openWatches: number };

const port = parentPort!;
const { services, tls } = workerData as { services: WorkerService[]; tls: boolean };
const cluster = await createTestCluster();
for (const s of services) {
  cluster.setService({ name: s.name, ports: [{ name: 'web', port: 80 }] });
  cluster.statefulSet({ name: s.name, serviceName: s.name, replicas: s.pods });
}
const api = await createFakeKubernetesApi({ cluster, tls });
const now = (): number => performance.timeOrigin + performance.now();

port.on('message', async (m: ToWorker) => {
  if (m.type === 'ready' || m.type === 'scale') {
    if (m.type === 'ready') cluster.setReady(m.pod, m.ready);
    else cluster.getStatefulSet(m.service)!.scale(m.replicas);
    // The fake API renders and writes in a microtask queued by the change: this runs after it.
    await null;
    port.postMessage({ type: 'done', seq: m.seq, writtenAt: now() } satisfies FromWorker);
  } else if (m.type === 'requests') {
    const list = api.requests.map((r) => ({ path: r.path, query: r.query, watch: r.watch }));
    api.requests.length = 0;
    port.postMessage({ type: 'requests', seq: m.seq, list, openWatches: api.openWatches } satisfies FromWorker);
  } else {
    await api.close();
    port.postMessage({ type: 'done', seq: m.seq, writtenAt: now() } satisfies FromWorker);
    port.close();
  }
});
port.postMessage({ type: 'listening', url: api.url, ca: api.ca } satisfies FromWorker);
