/**
 * What the adapter tests (test/grpc, test/undici) share: a test cluster whose StatefulSet pods
 * each run a real server, and the checks on which pod answered each call.
 */
import { createTestCluster } from '../../src/testing/index.ts';
import type { StatefulSet, TestCluster } from '../../src/testing/index.ts';
import { freePodPort } from '../../examples/shared/pods.ts';
import { until } from './handles.ts';

/** A cluster with a server on each ready pod. */
export interface PodCluster<S> {
  cluster: TestCluster;
  set: StatefulSet;
  port: number;
  /** The pods' servers by pod name. */
  servers: Map<string, S>;
  /** Starts a server on each pod that has none, then marks the pod ready. */
  startNewPods(): Promise<void>;
  /** Stops every server at once (killed pods). */
  close(): Promise<void>;
}

/** What {@link podCluster} takes. */
export interface PodClusterOptions<S> {
  /** The Service's and the StatefulSet's name. */
  name: string;
  /** The Service port's name. */
  portName: string;
  replicas: number;
  zones?: string[];
  /** Starts a pod's server on `address:port`. */
  start(pod: string, address: string, port: number): Promise<S>;
  /** Stops a server at once. */
  kill(server: S): void;
}

/** A cluster (TTL 1 s) with Service and StatefulSet `name`, pods unready until their server listens. */
export async function podCluster<S>(o: PodClusterOptions<S>): Promise<PodCluster<S>> {
  const cluster = await createTestCluster({ ttl: 1 });
  const port = await freePodPort();
  cluster.setService({ name: o.name, ports: [{ name: o.portName, port }] });
  // Pods start unready and turn ready once their server listens, as with a readiness probe.
  const set = cluster.statefulSet({ name: o.name, serviceName: o.name, replicas: o.replicas, ready: false, ...(o.zones ? { zones: o.zones } : {}) });
  const servers = new Map<string, S>();
  const startNewPods = async (): Promise<void> => {
    for (const pod of set.pods) {
      if (servers.has(pod.name)) continue;
      servers.set(pod.name, await o.start(pod.name, pod.addresses[0]!, port));
      cluster.setReady(pod.name, true);
    }
  };
  await startNewPods();
  return {
    cluster,
    set,
    port,
    servers,
    startNewPods,
    close: async () => {
      for (const s of servers.values()) o.kill(s);
    },
  };
}

/** One call's outcome: the pod that answered, or null. */
export interface Answered {
  pod: string | null;
}

/** The pods that answered the calls from index `from` on. */
export const servedBy = (results: readonly Answered[], from = 0): Set<string> => new Set(results.slice(from).flatMap((r) => (r.pod === null ? [] : [r.pod])));

/**
 * Waits (30 s at most) until `n` calls in a row, from now on, went only to `pods`. A failed call
 * breaks the row only when `failureBreaks` (the grpc tests let a failure through; undici's do not).
 */
export async function onlyTo(results: readonly Answered[], pods: string[], n: number, what: string, failureBreaks: boolean): Promise<void> {
  let from = results.length;
  await until(
    () => {
      for (let i = from; i < results.length; i++) {
        const pod = results[i]!.pod;
        if (pod === null ? failureBreaks : !pods.includes(pod)) from = i + 1;
      }
      return results.length - from >= n;
    },
    what,
    30_000,
  );
}

/** Calls made in a loop until stopped, and what each gave. */
export interface CallLoop<R> {
  results: R[];
  /** Stops the loops and waits for the calls in flight. */
  stop(): Promise<void>;
}

/**
 * `concurrency` loops that each make one call after the other (call ids `<prefix>-N`) until
 * stopped; `one` makes a call and resolves with its result (it must not reject).
 */
export function callInLoop<R>(prefix: string, concurrency: number, one: (id: string) => Promise<R>): CallLoop<R> {
  const results: R[] = [];
  let stopped = false;
  let next = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopped) {
      results.push(await one(`${prefix}-${next++}`));
      // A client may fail calls at once (no set yet): let timers and I/O run between calls.
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  return {
    results,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}
