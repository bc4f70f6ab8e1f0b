/**
 * `npm run example:http`: an undici Dispatcher over a StatefulSet's pods, and a PeerRing
 * that gives each key an owner among them.
 *
 * Starts a test cluster on loopback (headless Service `api`, port `http`; StatefulSet `api`
 * of 3, pods on 127.1.0.x), its DNS server and a node:http server on each pod's address. Then what an app writes:
 *
 *   const api = createPeerDispatcher('api', { port: 'http', namespace: 'default' });
 *   await api.request({ path: '/hello', method: 'GET' });
 *   const ring = new PeerRing(watchPeers('api', { port: 'http', namespace: 'default' }));
 *   ring.owner('user:42');
 *
 * It sends requests while the set scales 3 -> 5 -> 2 and prints which pods answered, and
 * which pod owns a few keys before and after (only the keys of a leaving pod move). Exits 0.
 *
 * Users import from 'headless-sd', 'headless-sd/undici' and 'headless-sd/testing'.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { PeerRing, watchPeers } from '../../src/index.ts';
import { createPeerDispatcher } from '../../src/undici/index.ts';
import { createTestCluster, createTestServer } from '../../src/testing/index.ts';

// One Service port, the same number on every pod (each pod has its own address).
const port = await new Promise<number>((resolve) => {
  const probe = createNetServer().listen(0, '127.1.0.1', () => {
    const { port } = probe.address() as { port: number };
    probe.close(() => resolve(port));
  });
});
const cluster = await createTestCluster({ ttl: 1 });
cluster.setService({ name: 'api', ports: [{ name: 'http', port }] });
// Pods start unready and turn ready once they listen, as with a readiness probe.
const set = cluster.statefulSet({ name: 'api', serviceName: 'api', replicas: 3, ready: false });
const dns = await createTestServer({ cluster });
console.log(`cluster DNS on ${dns.servers[0]}: Service api (port http ${port}), StatefulSet api of 3`);

const servers = new Map<string, Server>();
async function startPods(): Promise<void> {
  for (const pod of set.pods) {
    if (servers.has(pod.name)) continue;
    const server = createServer((req, res) => res.end(`${pod.name} answers ${req.url}`));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, pod.addresses[0], () => resolve()));
    servers.set(pod.name, server);
    cluster.setReady(pod.name, true);
    console.log(`  ${pod.name} serves http://${pod.addresses[0]}:${port}`);
  }
}
await startPods();

// What an app writes (with `servers` naming the test DNS server; in a pod, resolv.conf's).
const discovery = { port: 'http', namespace: 'default', servers: dns.servers, minInterval: 250 } as const;
const api = createPeerDispatcher('api', discovery);
const watcher = watchPeers('api', discovery);
const ring = new PeerRing(watcher);
await watcher.ready;

let failed = 0;
async function get(path: string): Promise<string | null> {
  try {
    const { statusCode, body } = await api.request({ path, method: 'GET' });
    const text = await body.text();
    return statusCode === 200 ? text.split(' ')[0]! : null;
  } catch {
    failed++;
    return null;
  }
}

/** Requests until every pod in `want` answered (60 s at most); prints who answered. */
async function requestUntil(want: string[], label: string): Promise<void> {
  const seen = new Map<string, number>();
  const started = Date.now();
  while (!want.every((p) => seen.has(p))) {
    if (Date.now() - started > 60_000) throw new Error(`${label}: only ${[...seen.keys()].join(', ')} answered in 60 s`);
    const pod = await get('/hello');
    if (pod) seen.set(pod, (seen.get(pod) ?? 0) + 1);
  }
  console.log(`${label}: answered by ${[...seen].sort().map(([p, n]) => `${p} x${n}`).join(', ')} (${Date.now() - started} ms)`);
}

const KEYS = ['user:1', 'user:2', 'user:3', 'user:4', 'user:5', 'user:6'];
const owners = (): string => KEYS.map((k) => `${k}->${ring.owner(k)?.name}`).join(' ');

await requestUntil(['api-0', 'api-1', 'api-2'], '3 pods');
console.log(`ring over ${ring.size}: ${owners()}`);
set.scale(5);
await startPods();
await requestUntil(['api-0', 'api-1', 'api-2', 'api-3', 'api-4'], 'scaled to 5');
while (ring.size < 5) await new Promise((resolve) => setTimeout(resolve, 50));
console.log(`ring over ${ring.size}: ${owners()}`);

// Scale down as Kubernetes does: the pods turn terminating (they leave DNS), drain, then go.
const leaving = set.pods.slice(2);
for (const pod of leaving) cluster.setTerminating(pod.name);
const mark = Date.now();
let onlyTwo = 0;
while (onlyTwo < 50) {
  const pod = await get('/hello');
  onlyTwo = pod === 'api-0' || pod === 'api-1' ? onlyTwo + 1 : 0;
  if (Date.now() - mark > 60_000) throw new Error('the leaving pods still got requests after 60 s');
}
await Promise.all(leaving.map((pod) => new Promise<void>((resolve) => servers.get(pod.name)!.close(() => resolve()))));
set.scale(2);
console.log(`scaled to 2: 50 requests in a row on api-0 and api-1 only (${Date.now() - mark} ms after the pods turned terminating)`);
console.log(`ring over ${ring.size}: ${owners()}`);

ring.close();
watcher.close();
await api.close();
for (const server of servers.values()) server.close();
await dns.close();
console.log(failed === 0 ? 'no request failed' : `${failed} requests failed`);
process.exitCode = failed === 0 ? 0 : 1;
