/**
 * What the adapter examples (grpc, http) share: a test cluster with one headless Service and a
 * StatefulSet whose pods each run a real server, and the loops that watch who answers.
 * Users import from 'headless-sd/testing'; the examples import the sources.
 */
import { createServer } from 'node:net';
import { createTestCluster, createTestServer } from '../../src/testing/index.ts';
import type { StatefulSet, TestCluster, TestDnsServer } from '../../src/testing/index.ts';

/** A port free on `address` now; pods have their own addresses, so the same port is free on each. */
export async function freePodPort(address = '127.1.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A cluster with Service and StatefulSet `name` (3 unready pods), its DNS server, and a server per pod. */
export interface ExampleCluster<S> {
  cluster: TestCluster;
  set: StatefulSet;
  dns: TestDnsServer;
  port: number;
  /** The pods' servers by pod name. */
  servers: Map<string, S>;
  /** Starts a server on each pod that has none, then marks the pod ready. */
  startPods(): Promise<void>;
  /**
   * Scales down as Kubernetes does: the leaving pods turn terminating (they leave DNS), `ask`
   * runs until 50 answers in a row came from the staying pods, the leaving servers `drain`,
   * then the set scales. Resolves with the ms from terminating to those 50 answers.
   */
  scaleDown(replicas: number, what: string, ask: () => Promise<string | null>, drain: (server: S) => Promise<void>): Promise<number>;
}

/**
 * Starts the cluster (TTL 1 s; one Service port, the same number on every pod) and its DNS
 * server, and a server on each of the 3 pods through `listen`; prints what it started.
 */
export async function startExampleCluster<S>(
  name: string,
  portName: string,
  listen: (pod: string, address: string, port: number) => Promise<S>,
  describe: (address: string, port: number) => string,
): Promise<ExampleCluster<S>> {
  const port = await freePodPort();
  const cluster = await createTestCluster({ ttl: 1 });
  cluster.setService({ name, ports: [{ name: portName, port }] });
  // Pods start unready and turn ready once they listen, as with a readiness probe.
  const set = cluster.statefulSet({ name, serviceName: name, replicas: 3, ready: false });
  const dns = await createTestServer({ cluster });
  console.log(`cluster DNS on ${dns.servers[0]}: Service ${name} (port ${portName} ${port}), StatefulSet ${name} of 3`);
  const servers = new Map<string, S>();
  const startPods = async (): Promise<void> => {
    for (const pod of set.pods) {
      if (servers.has(pod.name)) continue;
      servers.set(pod.name, await listen(pod.name, pod.addresses[0]!, port));
      cluster.setReady(pod.name, true);
      console.log(`  ${pod.name} serves ${describe(pod.addresses[0]!, port)}`);
    }
  };
  await startPods();
  const scaleDown = async (replicas: number, what: string, ask: () => Promise<string | null>, drain: (server: S) => Promise<void>): Promise<number> => {
    const leaving = set.pods.slice(replicas);
    for (const pod of leaving) cluster.setTerminating(pod.name);
    const ms = await askUntilOnly(set.pods.slice(0, replicas).map((p) => p.name), 50, what, ask);
    await Promise.all(leaving.map((pod) => drain(servers.get(pod.name)!)));
    set.scale(replicas);
    return ms;
  };
  return { cluster, set, dns, port, servers, startPods, scaleDown };
}

/** Asks until every pod in `want` answered (60 s at most); prints who answered. `ask` gives the pod, or null on failure. */
export async function askUntilAll(want: string[], label: string, ask: () => Promise<string | null>): Promise<void> {
  const seen = new Map<string, number>();
  const started = Date.now();
  while (!want.every((p) => seen.has(p))) {
    if (Date.now() - started > 60_000) throw new Error(`${label}: only ${[...seen.keys()].join(', ')} answered in 60 s`);
    const pod = await ask();
    if (pod) seen.set(pod, (seen.get(pod) ?? 0) + 1);
  }
  console.log(`${label}: answered by ${[...seen].sort().map(([p, n]) => `${p} x${n}`).join(', ')} (${Date.now() - started} ms)`);
}

/** Asks until `n` answers in a row came from `pods` only (60 s at most); resolves with the ms it took. */
async function askUntilOnly(pods: string[], n: number, what: string, ask: () => Promise<string | null>): Promise<number> {
  const mark = Date.now();
  let inRow = 0;
  while (inRow < n) {
    const pod = await ask();
    inRow = pod !== null && pods.includes(pod) ? inRow + 1 : 0;
    if (Date.now() - mark > 60_000) throw new Error(`the leaving pods still got ${what} after 60 s`);
  }
  return Date.now() - mark;
}
