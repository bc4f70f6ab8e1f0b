// The grpc adapter's tests, run against each grpc-js version (grpc-js-latest.test.ts, grpc-js-1-10.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type * as GrpcJs from '@grpc/grpc-js';
import { activeWatchLoops, InvalidArgumentError } from '../../src/index.ts';
import { registerHeadlessResolver } from '../../src/grpc/index.ts';
import type { GrpcModule } from '../../src/grpc/index.ts';
import { createFakeKubernetesApi, createTestServer } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { callInLoop, onlyTo as onlyToPods, podCluster, servedBy } from '../helpers/pod-cluster.ts';
import type { CallLoop, PodCluster } from '../helpers/pod-cluster.ts';
import { drain, echoClientClass, startEchoServer } from './echo.ts';
import type { EchoClient, Grpc, PodServer } from './echo.ts';

interface CallResult {
  id: string;
  pod: string | null;
  code: number | null;
  details: string | null;
  /** The address the call went to, as grpc-js reports it. */
  peer: string;
}

/** Callers that call in a loop until stopped, each call with a deadline. */
const whoInLoop = (client: EchoClient, concurrency = 4): CallLoop<CallResult> =>
  callInLoop('call', concurrency, (id) =>
    new Promise((resolve) => {
      const call = client.who(id, { deadline: Date.now() + 10_000 }, (error, pod) =>
        resolve({ id, pod: pod ?? null, code: error?.code ?? null, details: error?.details ?? null, peer: call.getPeer() }),
      );
    }),
  );

const onlyTo = (results: CallResult[], pods: string[], n: number, what: string): Promise<void> => onlyToPods(results, pods, n, what, false);

const echoCluster = (grpc: Grpc, replicas: number): Promise<PodCluster<PodServer>> =>
  podCluster({
    name: 'echo',
    portName: 'grpc',
    replicas,
    start: (pod, address, port) => startEchoServer(grpc, pod, address, port),
    kill: (s) => s.server.forceShutdown(),
  });

/** Registers the node:test tests of headless-sd/grpc for one grpc-js module. */
export function grpcAdapterTests(grpcModule: unknown, version: string): void {
  const grpc = grpcModule as Grpc;
  const module = grpcModule as GrpcModule;
  const Echo = echoClientClass(grpc);
  const insecure = grpc.credentials.createInsecure();
  registerHeadlessResolver({ grpc: module });

  test(`grpc-js ${version}, DNS source: 3 -> 5 pods while calling: new pods get calls; 5 -> 2 with pods killed: failures only on calls bound to them`, async (t) => {
    const before = activeResources();
    const f = await echoCluster(grpc, 3);
    const dns = await createTestServer({ cluster: f.cluster });
    const client = new Echo(`headless:///echo.default:grpc?servers=${dns.servers[0]}&minInterval=100&maxInterval=1000`, insecure);
    const loop = whoInLoop(client);
    try {
      await until(() => servedBy(loop.results).size === 3, 'calls on all 3 pods', 30_000);
      assert.deepEqual([...servedBy(loop.results)].sort(), ['echo-0', 'echo-1', 'echo-2']);

      f.set.scale(5);
      await f.startNewPods();
      const scaledAt = Date.now();
      const mark = loop.results.length;
      await until(() => servedBy(loop.results, mark).size === 5, 'calls on all 5 pods', 30_000);
      t.diagnostic(`3 -> 5: the new pods got calls ${Date.now() - scaledAt} ms after the scale (TTL 1 s + minInterval 100 ms)`);

      // 5 -> 2: the pods go at once, killed mid-call (no drain, as a crash or a kill -9).
      const gone = f.set.pods.slice(2);
      const goneAddresses = gone.map((p) => `${p.addresses[0]}:${f.port}`);
      const failedBefore = loop.results.filter((r) => r.code !== null).length;
      f.set.scale(2);
      for (const p of gone) f.servers.get(p.name)!.server.forceShutdown();
      await onlyTo(loop.results, ['echo-0', 'echo-1'], 200, '200 calls in a row on echo-0 and echo-1 only');
      await loop.stop();
      const failures = loop.results.filter((r) => r.code !== null);
      t.diagnostic(`5 -> 2 (DNS, pods killed): ${failures.length} of ${loop.results.length} calls failed, all on removed pods: ${JSON.stringify(failures.map((r) => [r.code, r.peer]))}`);
      assert.equal(failedBefore, 0, 'no call failed before the scale-down');
      // Bound to a removed pod: grpc-js names its address as the call's peer, or that pod's
      // server had received the call, or the server reset the call's stream (RST_STREAM
      // CANCEL, "Call cancelled": only a killed server does that; grpc-js 1.10 then reports
      // the peer as 'unknown'). A call that no pod had taken would fail UNAVAILABLE instead.
      const goneServers = gone.map((p) => f.servers.get(p.name)!);
      for (const r of failures) {
        const bound =
          goneAddresses.includes(r.peer) ||
          goneServers.some((s) => s.received.has(r.id)) ||
          (r.code === grpc.status.CANCELLED && r.details === 'Call cancelled');
        assert.ok(bound, `failed call ${r.id} was not bound to a removed pod (peer ${r.peer}, ${r.code} ${r.details})`);
      }
    } finally {
      await loop.stop();
      client.close();
      await f.close();
      await dns.close();
    }
    await until(() => activeWatchLoops() === 0, 'the channel to close its watcher');
    await assertNoLeaks(before);
  });

  test(`grpc-js ${version}, API source: 3 -> 5 pods; 5 -> 2 with terminating pods that drain: no call fails`, async (t) => {
    const before = activeResources();
    const f = await echoCluster(grpc, 3);
    const api = await createFakeKubernetesApi({ cluster: f.cluster });
    registerHeadlessResolver({ grpc: module, scheme: 'headless-api', source: 'kubernetes', kubernetes: { url: api.url } });
    const client = new Echo('headless-api:///echo.default:grpc', insecure);
    const loop = whoInLoop(client);
    try {
      await until(() => servedBy(loop.results).size === 3, 'calls on all 3 pods', 30_000);
      f.set.scale(5);
      await f.startNewPods();
      const scaledAt = Date.now();
      const mark = loop.results.length;
      await until(() => servedBy(loop.results, mark).size === 5, 'calls on all 5 pods', 30_000);
      t.diagnostic(`3 -> 5: the new pods got calls ${Date.now() - scaledAt} ms after the scale (pushed by the API)`);

      // As Kubernetes scales down: the pods turn terminating, the endpoints say so, traffic
      // moves off them, their in-flight calls finish, then they go.
      const gone = f.set.pods.slice(2);
      for (const p of gone) f.cluster.setTerminating(p.name);
      await onlyTo(loop.results, ['echo-0', 'echo-1'], 200, '200 calls in a row on echo-0 and echo-1 only');
      await Promise.all(gone.map((p) => drain(f.servers.get(p.name)!)));
      f.set.scale(2);
      await onlyTo(loop.results, ['echo-0', 'echo-1'], 100, '100 more calls after the pods are gone');
      await loop.stop();
      const failures = loop.results.filter((r) => r.code !== null);
      t.diagnostic(`5 -> 2 (API, terminating pods drain): ${failures.length} of ${loop.results.length} calls failed`);
      assert.deepEqual(failures, []);
    } finally {
      await loop.stop();
      client.close();
      await f.close();
      await api.close();
    }
    await until(() => activeWatchLoops() === 0, 'the channel to close its watcher');
    await assertNoLeaks(before);
  });

  test(`grpc-js ${version}: a failed resolution keeps the last set; with no set ever, calls fail UNAVAILABLE with the reason`, async () => {
    const before = activeResources();
    const f = await echoCluster(grpc, 2);
    const dns = await createTestServer({ cluster: f.cluster });
    const client = new Echo(`headless:///echo.default:grpc?servers=${dns.servers[0]}&minInterval=50&maxInterval=200&timeout=200&attempts=1`, insecure);
    const missing = new Echo(`headless:///nothing.default:grpc?servers=${dns.servers[0]}&minInterval=50&maxInterval=200`, insecure);
    const loop = whoInLoop(client, 2);
    try {
      await until(() => servedBy(loop.results).size === 2, 'calls on both pods', 30_000);
      dns.fault({ rcode: 'SERVFAIL' });
      const mark = loop.results.length;
      await until(() => dns.queries.filter((q) => q.rcode === 'SERVFAIL').length >= 3 && loop.results.length > mark + 50, 'DNS failures while calling');
      dns.clearFaults();
      await loop.stop();
      assert.deepEqual(loop.results.filter((r) => r.code !== null), [], 'calls go on over the last set');

      const error = await new Promise<GrpcJs.ServiceError | null>((resolve) =>
        missing.who('hi', { deadline: Date.now() + 10_000 }, (e) => resolve(e)),
      );
      assert.ok(error);
      assert.equal(error.code, grpc.status.UNAVAILABLE);
      assert.match(error.details, /headless resolver: .*nothing/);
    } finally {
      await loop.stop();
      client.close();
      missing.close();
      await f.close();
      await dns.close();
    }
    await until(() => activeWatchLoops() === 0, 'the channels to close their watchers');
    await assertNoLeaks(before);
  });

  test(`grpc-js ${version}: an idle channel closes its watcher and starts one again on the next call`, async () => {
    const before = activeResources();
    const f = await echoCluster(grpc, 2);
    const dns = await createTestServer({ cluster: f.cluster });
    const client = new Echo(`headless:///echo.default:grpc?servers=${dns.servers[0]}&minInterval=100`, insecure, {
      'grpc.client_idle_timeout_ms': 1000,
    });
    const call = (): Promise<string | undefined> =>
      new Promise((resolve, reject) => client.who('x', { deadline: Date.now() + 10_000 }, (e, pod) => (e ? reject(e) : resolve(pod))));
    try {
      assert.match((await call())!, /^echo-[01]$/);
      assert.equal(activeWatchLoops(), 1);
      await until(() => activeWatchLoops() === 0, 'the idle channel to close its watcher', 30_000);
      f.set.scale(3);
      await f.startNewPods();
      assert.match((await call())!, /^echo-[012]$/);
      assert.equal(activeWatchLoops(), 1, 'a new watcher after idleness');
    } finally {
      client.close();
      await f.close();
      await dns.close();
    }
    await until(() => activeWatchLoops() === 0, 'the channel to close its watcher');
    await assertNoLeaks(before);
  });

  test(`grpc-js ${version}: the default authority is the Service's DNS name; bad targets throw InvalidArgumentError at the channel`, () => {
    const resolverClass = registerHeadlessResolver({ grpc: module, scheme: 'headless-check' });
    assert.equal(resolverClass.getDefaultAuthority({ path: 'nginx.default:grpc' }), 'nginx.default.svc.cluster.local');
    assert.equal(resolverClass.getDefaultAuthority({ path: 'nginx.default:8080' }), 'nginx.default.svc.cluster.local:8080');
    assert.equal(resolverClass.getDefaultAuthority({ path: 'nginx:grpc' }), 'nginx');
    assert.equal(resolverClass.getDefaultAuthority({ path: 'nginx:grpc?namespace=prod&clusterDomain=example.org' }), 'nginx.prod.svc.example.org');
    assert.equal(resolverClass.getDefaultAuthority({ path: 'nginx.prod.svc.cluster.local.:grpc' }), 'nginx.prod.svc.cluster.local');
    const ok = new Echo('headless-check:///nginx.default:grpc', insecure);
    ok.close();
    for (const target of [
      'headless-check:///nginx.default',
      'headless-check:///nginx.default:no_such_port!',
      'headless-check:///nginx.default:70000',
      'headless-check:///bad_name:grpc',
      'headless-check:///nginx:grpc?bogus=1',
      'headless-check:///nginx:grpc?minInterval=soon',
      'headless-check://10.0.0.1:53/nginx:grpc',
    ]) {
      assert.throws(() => new Echo(target, insecure), InvalidArgumentError, target);
    }
    assert.throws(() => registerHeadlessResolver({ grpc: {} as GrpcModule }), InvalidArgumentError);
    assert.throws(() => registerHeadlessResolver({ grpc: module, scheme: 'not a scheme' }), InvalidArgumentError);
    assert.throws(() => registerHeadlessResolver({ grpc: module, scheme: 'headless-check', minInterval: -5 }), InvalidArgumentError);
    assert.throws(() => registerHeadlessResolver({ grpc: module, scheme: 'headless-check', family: 5 as 4 }), InvalidArgumentError);
  });
}
