/**
 * `npm run example:grpc`: a grpc-js client that follows a StatefulSet as it scales.
 *
 * Starts a test cluster on loopback (headless Service `greeter`, port `grpc`; StatefulSet
 * `greeter` of 3, pods on 127.1.0.x) and its DNS server, and a real grpc-js server on each
 * pod's address (in a cluster, each pod runs its own). The client is what an app writes:
 *
 *   registerHeadlessResolver();
 *   new Greeter('headless:///greeter.default:grpc', credentials.createInsecure());
 *
 * (here with `?servers=` naming the test DNS server; in a pod, resolv.conf's nameserver is
 * used). It calls while the set scales 3 -> 5 -> 2 and prints which pods answered: new pods
 * get calls within TTL + minInterval, removed ones none, no call fails. Exits 0.
 *
 * Users import from 'headless-sd/grpc' and 'headless-sd/testing'; this file imports the sources.
 */
import * as grpc from '@grpc/grpc-js';
import { createServer } from 'node:net';
import { registerHeadlessResolver } from '../../src/grpc/index.ts';
import { createTestCluster, createTestServer } from '../../src/testing/index.ts';

const text = { serialize: (s: string): Buffer => Buffer.from(s), deserialize: (b: Buffer): string => b.toString() };
const greeter = {
  hello: {
    path: '/example.Greeter/Hello',
    requestStream: false,
    responseStream: false,
    requestSerialize: text.serialize,
    requestDeserialize: text.deserialize,
    responseSerialize: text.serialize,
    responseDeserialize: text.deserialize,
  },
};
interface GreeterClient extends grpc.Client {
  hello(name: string, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, reply?: string) => void): grpc.ClientUnaryCall;
}
const Greeter = grpc.makeGenericClientConstructor(greeter, 'Greeter') as unknown as new (target: string, credentials: grpc.ChannelCredentials) => GreeterClient;

// The cluster: one Service port, the same number on every pod (each pod has its own address).
const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.1.0.1', () => {
    const { port } = probe.address() as { port: number };
    probe.close(() => resolve(port));
  });
});
const cluster = await createTestCluster({ ttl: 1 });
cluster.setService({ name: 'greeter', ports: [{ name: 'grpc', port }] });
// Pods start unready and turn ready once they listen, as with a readiness probe.
const set = cluster.statefulSet({ name: 'greeter', serviceName: 'greeter', replicas: 3, ready: false });
const dns = await createTestServer({ cluster });
console.log(`cluster DNS on ${dns.servers[0]}: Service greeter (port grpc ${port}), StatefulSet greeter of 3`);

const servers = new Map<string, grpc.Server>();
async function startPods(): Promise<void> {
  for (const pod of set.pods) {
    if (servers.has(pod.name)) continue;
    const server = new grpc.Server();
    server.addService(greeter, {
      hello: (call: grpc.ServerUnaryCall<string, string>, callback: grpc.sendUnaryData<string>) => callback(null, `hello ${call.request}, from ${pod.name}`),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`${pod.addresses[0]}:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
    );
    servers.set(pod.name, server);
    cluster.setReady(pod.name, true);
    console.log(`  ${pod.name} serves gRPC on ${pod.addresses[0]}:${port}`);
  }
}
await startPods();

// What an app writes.
registerHeadlessResolver();
const target = `headless:///greeter.default:grpc?servers=${dns.servers[0]}&minInterval=250`;
const client = new Greeter(target, grpc.credentials.createInsecure());
console.log(`client: ${target}`);

let failed = 0;
const call = (): Promise<string | null> =>
  new Promise((resolve) =>
    client.hello('example', { deadline: Date.now() + 10_000 }, (error, reply) => {
      if (error) failed++;
      resolve(error ? null : reply!.replace(/.*from /, ''));
    }),
  );

/** Calls until every pod in `want` has answered (at most 60 s); prints who answered. */
async function callUntil(want: string[], label: string): Promise<void> {
  const seen = new Map<string, number>();
  const started = Date.now();
  while (!want.every((p) => seen.has(p))) {
    if (Date.now() - started > 60_000) throw new Error(`${label}: only ${[...seen.keys()].join(', ')} answered in 60 s`);
    const pod = await call();
    if (pod) seen.set(pod, (seen.get(pod) ?? 0) + 1);
  }
  const answered = [...seen].sort().map(([p, n]) => `${p} x${n}`).join(', ');
  console.log(`${label}: answered by ${answered} (${Date.now() - started} ms)`);
}

await callUntil(['greeter-0', 'greeter-1', 'greeter-2'], '3 pods');
set.scale(5);
await startPods();
await callUntil(['greeter-0', 'greeter-1', 'greeter-2', 'greeter-3', 'greeter-4'], 'scaled to 5');

// Scale down as Kubernetes does: the pods leave DNS (terminating), drain, then stop.
const leaving = set.pods.slice(2);
for (const pod of leaving) cluster.setTerminating(pod.name);
const mark = Date.now();
let onlyTwo = 0;
while (onlyTwo < 50) {
  const pod = await call();
  onlyTwo = pod === 'greeter-0' || pod === 'greeter-1' ? onlyTwo + 1 : 0;
  if (Date.now() - mark > 60_000) throw new Error('the leaving pods still got calls after 60 s');
}
await Promise.all(leaving.map((pod) => new Promise<void>((resolve) => servers.get(pod.name)!.tryShutdown(() => resolve()))));
set.scale(2);
console.log(`scaled to 2: 50 calls in a row on greeter-0 and greeter-1 only (${Date.now() - mark} ms after the pods turned terminating)`);

client.close();
for (const server of servers.values()) server.forceShutdown();
await dns.close();
console.log(failed === 0 ? 'no call failed' : `${failed} calls failed`);
process.exitCode = failed === 0 ? 0 : 1;
