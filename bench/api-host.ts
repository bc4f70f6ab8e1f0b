/** Starts bench/api-worker.ts and talks to it: the fake API in a worker thread. */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerService } from './api-worker.ts';

/** The fake API running in a worker. */
export interface WorkerApi {
  url: string;
  ca: string | undefined;
  /** Sets one pod's readiness; resolves with the absolute time its watch events were written. */
  setReady(pod: string, ready: boolean): Promise<number>;
  /** Scales a StatefulSet; resolves with the absolute time its watch events were written. */
  scale(service: string, replicas: number): Promise<number>;
  /** The requests received since the last call (and the watches open now). */
  takeRequests(): Promise<{ list: { path: string; query: Record<string, string>; watch: boolean }[]; openWatches: number }>;
  close(): Promise<void>;
}

/** Absolute time, comparable with the worker's. */
export const absoluteNow = (): number => performance.timeOrigin + performance.now();

/** Starts the fake API with `services` in a worker thread. */
export async function startWorkerApi(services: WorkerService[], tls = true): Promise<WorkerApi> {
  // tsx's loader is not inherited by workers on Node 20: register it in the worker, then load the file.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(new URL('./api-worker.ts', import.meta.url).href)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { services, tls } });
  const waiting = new Map<number, (m: FromWorker) => void>();
  let seq = 0;
  const [first] = (await Promise.race([once(worker, 'message'), once(worker, 'error').then(([e]) => Promise.reject(e as Error))])) as [FromWorker];
  if (first.type !== 'listening') throw new Error(`the API worker said ${first.type} first`);
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'listening') return;
    waiting.get(m.seq)?.(m);
    waiting.delete(m.seq);
  });
  const ask = <T extends FromWorker>(m: ToWorker): Promise<T> =>
    new Promise((resolve) => {
      waiting.set(m.seq, resolve as (m: FromWorker) => void);
      worker.postMessage(m);
    });
  return {
    url: first.url,
    ca: first.ca,
    setReady: async (pod, ready) => (await ask<Extract<FromWorker, { type: 'done' }>>({ type: 'ready', seq: ++seq, pod, ready })).writtenAt,
    scale: async (service, replicas) => (await ask<Extract<FromWorker, { type: 'done' }>>({ type: 'scale', seq: ++seq, service, replicas })).writtenAt,
    takeRequests: async () => {
      const r = await ask<Extract<FromWorker, { type: 'requests' }>>({ type: 'requests', seq: ++seq });
      return { list: r.list, openWatches: r.openWatches };
    },
    close: async () => {
      await ask({ type: 'close', seq: ++seq });
      await worker.terminate();
    },
  };
}
