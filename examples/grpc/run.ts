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
import { registerHeadlessResolver } from '../../src/grpc/index.ts';
import { askUntilAll, startExampleCluster } from '../shared/pods.ts';
import { textUnaryMethod } from '../shared/text-method.ts';

const greeter = { hello: textUnaryMethod('/example.Greeter/Hello') };
interface GreeterClient extends grpc.Client {
  hello(name: string, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, reply?: string) => void): grpc.ClientUnaryCall;
}
const Greeter = grpc.makeGenericClientConstructor(greeter, 'Greeter') as unknown as new (target: string, credentials: grpc.ChannelCredentials) => GreeterClient;

// The cluster, with a grpc-js server on each pod's address.
const { set, dns, servers, startPods, scaleDown } = await startExampleCluster(
  'greeter',
  'grpc',
  async (name, address, port) => {
    const server = new grpc.Server();
    server.addService(greeter, {
      hello: (call: grpc.ServerUnaryCall<string, string>, callback: grpc.sendUnaryData<string>) => callback(null, `hello ${call.request}, from ${name}`),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`${address}:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
    );
    return server;
  },
  (address, port) => `gRPC on ${address}:${port}`,
);

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

await askUntilAll(['greeter-0', 'greeter-1', 'greeter-2'], '3 pods', call);
set.scale(5);
await startPods();
await askUntilAll(['greeter-0', 'greeter-1', 'greeter-2', 'greeter-3', 'greeter-4'], 'scaled to 5', call);

// Scale down as Kubernetes does: the pods leave DNS (terminating), drain, then stop.
const ms = await scaleDown(2, 'calls', call, (server) => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
console.log(`scaled to 2: 50 calls in a row on greeter-0 and greeter-1 only (${ms} ms after the pods turned terminating)`);

client.close();
for (const server of servers.values()) server.forceShutdown();
await dns.close();
console.log(failed === 0 ? 'no call failed' : `${failed} calls failed`);
process.exitCode = failed === 0 ? 0 : 1;
