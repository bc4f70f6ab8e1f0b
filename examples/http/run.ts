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
import { PeerRing, watchPeers } from '../../src/index.ts';
import { createPeerDispatcher } from '../../src/undici/index.ts';
import { askUntilAll, startExampleCluster } from '../shared/pods.ts';

// The cluster, with a node:http server on each pod's address.
const { set, dns, servers, startPods, scaleDown } = await startExampleCluster(
  'api',
  'http',
  async (name, address, port) => {
    const server = createServer((req, res) => res.end(`${name} answers ${req.url}`));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, address, () => resolve()));
    return server;
  },
  (address, port) => `http://${address}:${port}`,
);

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

const hello = (): Promise<string | null> => get('/hello');

const KEYS = ['user:1', 'user:2', 'user:3', 'user:4', 'user:5', 'user:6'];
const owners = (): string => KEYS.map((k) => `${k}->${ring.owner(k)?.name}`).join(' ');

await askUntilAll(['api-0', 'api-1', 'api-2'], '3 pods', hello);
console.log(`ring over ${ring.size}: ${owners()}`);
set.scale(5);
await startPods();
await askUntilAll(['api-0', 'api-1', 'api-2', 'api-3', 'api-4'], 'scaled to 5', hello);
while (ring.size < 5) await new Promise((resolve) => setTimeout(resolve, 50));
console.log(`ring over ${ring.size}: ${owners()}`);

// Scale down as Kubernetes does: the pods turn terminating (they leave DNS), drain, then go.
const ms = await scaleDown(2, 'requests', hello, (server) => new Promise<void>((resolve) => server.close(() => resolve())));
console.log(`scaled to 2: 50 requests in a row on api-0 and api-1 only (${ms} ms after the pods turned terminating)`);
console.log(`ring over ${ring.size}: ${owners()}`);

ring.close();
watcher.close();
await api.close();
for (const server of servers.values()) server.close();
await dns.close();
console.log(failed === 0 ? 'no request failed' : `${failed} requests failed`);
process.exitCode = failed === 0 ? 0 : 1;
