import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, request } from 'undici/index.js';
import type { Dispatcher } from 'undici/index.js';
import { activeWatchLoops, DnsError, InvalidArgumentError } from '../../src/index.ts';
import { createPeerDispatcher } from '../../src/undici/index.ts';
import type { PeerDispatcher } from '../../src/undici/index.ts';
import { createFakeKubernetesApi, createTestCluster, createTestServer } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { callInLoop, onlyTo as onlyToPods, podCluster, servedBy } from '../helpers/pod-cluster.ts';
import type { CallLoop, PodCluster } from '../helpers/pod-cluster.ts';
import { drain, kill, startPodServer } from './pods.ts';
import type { PodHttpServer } from './pods.ts';

interface Result {
  id: string;
  pod: string | null;
  error: (Error & { code?: string; address?: string; socket?: { remoteAddress?: string } }) | null;
}

/** Callers that send GET / in a loop until stopped. */
const requestInLoop = (dispatcher: PeerDispatcher, concurrency = 4): CallLoop<Result> =>
  callInLoop('req', concurrency, async (id) => {
    try {
      const { statusCode, body } = await dispatcher.request({ path: '/', method: 'GET', headers: { 'x-call-id': id }, headersTimeout: 10_000, bodyTimeout: 10_000 });
      const text = await body.text();
      return { id, pod: statusCode === 200 ? text : null, error: statusCode === 200 ? null : new Error(`status ${statusCode}`) };
    } catch (error) {
      return { id, pod: null, error: error as Result['error'] };
    }
  });

const onlyTo = (results: Result[], pods: string[], n: number, what: string): Promise<void> => onlyToPods(results, pods, n, what, true);

const webCluster = (replicas: number, zones?: string[]): Promise<PodCluster<PodHttpServer>> =>
  podCluster({ name: 'web', portName: 'http', replicas, ...(zones ? { zones } : {}), start: (pod, address, port) => startPodServer(pod, address, port), kill });

test('DNS source: 3 -> 5 pods while requesting: new pods get requests; 5 -> 2 with pods killed: failures only on requests bound to them', async (t) => {
  const before = activeResources();
  const f = await webCluster(3);
  const dns = await createTestServer({ cluster: f.cluster });
  // Which peer each request was handed to: each peer's Pool makes its Clients through this factory.
  const boundTo = new Map<string, string>();
  const factory = (origin: string | URL, options: object): Dispatcher => {
    const client = new Client(origin, options);
    const dispatch = client.dispatch.bind(client);
    client.dispatch = (o, handler) => {
      const id = (o.headers as Record<string, string> | undefined)?.['x-call-id'];
      if (id) boundTo.set(id, new URL(String(origin)).hostname);
      return dispatch(o, handler);
    };
    return client;
  };
  const dispatcher = createPeerDispatcher('web', { port: 'http', namespace: 'default', servers: dns.servers, minInterval: 100, maxInterval: 1000, pool: { factory } });
  const loop = requestInLoop(dispatcher);
  try {
    await until(() => servedBy(loop.results).size === 3, 'requests on all 3 pods', 30_000);
    f.set.scale(5);
    await f.startNewPods();
    const scaledAt = Date.now();
    const mark = loop.results.length;
    await until(() => servedBy(loop.results, mark).size === 5, 'requests on all 5 pods', 30_000);
    t.diagnostic(`3 -> 5: the new pods got requests ${Date.now() - scaledAt} ms after the scale (TTL 1 s + minInterval 100 ms)`);
    assert.deepEqual(loop.results.filter((r) => r.error), [], 'no request failed before the scale-down');

    const gone = f.set.pods.slice(2);
    const goneAddresses = gone.map((p) => p.addresses[0]!);
    f.set.scale(2);
    for (const p of gone) kill(f.servers.get(p.name)!);
    await onlyTo(loop.results, ['web-0', 'web-1'], 200, '200 requests in a row on web-0 and web-1 only');
    await loop.stop();
    const failures = loop.results.filter((r) => r.error);
    t.diagnostic(
      `5 -> 2 (DNS, pods killed): ${failures.length} of ${loop.results.length} requests failed, all bound to removed pods: ` +
        JSON.stringify(failures.map((r) => [r.error!.code, boundTo.get(r.id) ?? null])),
    );
    // Bound to a removed pod: the dispatcher had handed it to that pod's pool (a connection
    // broke under it, or the pod refused a new one while the set still listed it).
    for (const r of failures) {
      const bound = boundTo.get(r.id);
      assert.ok(bound !== undefined && goneAddresses.includes(bound), `request ${r.id} failed on ${bound ?? 'no peer'}: ${r.error!.code} ${r.error!.message}`);
    }
  } finally {
    await loop.stop();
    await dispatcher.close();
    await f.close();
    await dns.close();
  }
  assert.equal(activeWatchLoops(), 0, 'close() closed the watcher');
  await assertNoLeaks(before);
});

test('API source: 5 -> 2 with terminating pods: no new request goes to them, those in flight finish, no request fails', async (t) => {
  const before = activeResources();
  const f = await webCluster(5);
  const api = await createFakeKubernetesApi({ cluster: f.cluster });
  const dispatcher = createPeerDispatcher('web', { port: 'http', namespace: 'default', source: 'kubernetes', kubernetes: { url: api.url } });
  const loop = requestInLoop(dispatcher);
  try {
    await until(() => servedBy(loop.results).size === 5, 'requests on all 5 pods', 30_000);
    const gone = f.set.pods.slice(2);
    for (const p of gone) f.cluster.setTerminating(p.name);
    await onlyTo(loop.results, ['web-0', 'web-1'], 200, '200 requests in a row on web-0 and web-1 only');
    await Promise.all(gone.map((p) => drain(f.servers.get(p.name)!)));
    f.set.scale(2);
    await onlyTo(loop.results, ['web-0', 'web-1'], 100, '100 more requests after the pods are gone');
    await loop.stop();
    const failures = loop.results.filter((r) => r.error);
    t.diagnostic(`5 -> 2 (API, terminating pods drain): ${failures.length} of ${loop.results.length} requests failed`);
    assert.deepEqual(failures.map((r) => r.error!.message), []);
  } finally {
    await loop.stop();
    await dispatcher.close();
    await f.close();
    await api.close();
  }
  assert.equal(activeWatchLoops(), 0);
  await assertNoLeaks(before);
});

test('zone: only peers of the zone get requests while it has routable ones; then the others', async () => {
  const before = activeResources();
  const f = await webCluster(4, ['a', 'b']);
  const api = await createFakeKubernetesApi({ cluster: f.cluster });
  const dispatcher = createPeerDispatcher('web', { port: 'http', namespace: 'default', source: 'kubernetes', kubernetes: { url: api.url }, zone: 'b' });
  const loop = requestInLoop(dispatcher, 2);
  try {
    await until(() => loop.results.length >= 100, '100 requests');
    assert.deepEqual([...servedBy(loop.results)].sort(), ['web-1', 'web-3']);
    assert.deepEqual(dispatcher.peers.map((p) => [p.name, p.zone]), [['web-1', 'b'], ['web-3', 'b']]);
    f.cluster.setTerminating('web-1');
    f.cluster.setTerminating('web-3');
    await onlyTo(loop.results, ['web-0', 'web-2'], 100, 'requests on zone a once zone b has no ready peer');
    await loop.stop();
    assert.deepEqual(loop.results.filter((r) => r.error), []);
  } finally {
    await loop.stop();
    await dispatcher.close();
    await f.close();
    await api.close();
  }
  await assertNoLeaks(before);
});

test('excludeSelf leaves this machine\'s own pod out; request() with an origin works too; requests wait for the first set', async () => {
  const before = activeResources();
  const f = await webCluster(2);
  // A pod on 127.0.0.1, an address of this machine: the peer is `self`.
  f.cluster.addPod({ name: 'web-own', labels: { app: 'web' }, subdomain: 'web', addresses: ['127.0.0.1'] });
  const own = await startPodServer('web-own', '127.0.0.1', f.port);
  const dns = await createTestServer({ cluster: f.cluster });
  const options = { port: 'http', namespace: 'default', servers: dns.servers, minInterval: 100 } as const;
  const withSelf = createPeerDispatcher('web', options);
  const withoutSelf = createPeerDispatcher('web', { ...options, excludeSelf: true });
  try {
    // Sent before any resolution: they wait for the first set.
    const early = await Promise.all(Array.from({ length: 30 }, () => withSelf.request({ path: '/', method: 'GET' }).then((r) => r.body.text())));
    assert.deepEqual([...new Set(early)].sort(), ['web-0', 'web-1', 'web-own']);
    const names = await Promise.all(Array.from({ length: 30 }, () => withoutSelf.request({ path: '/', method: 'GET' }).then((r) => r.body.text())));
    assert.deepEqual([...new Set(names)].sort(), ['web-0', 'web-1']);
    assert.ok(withSelf.peers.some((p) => p.self) && !withoutSelf.peers.some((p) => p.self));
    // undici's request() with the dispatcher: the origin is only a label, the peers are the hosts.
    const viaRequest = await request('http://web.default.svc.cluster.local/', { dispatcher: withoutSelf });
    assert.match(await viaRequest.body.text(), /^web-[01]$/);
  } finally {
    await withSelf.close();
    await withoutSelf.close();
    await f.close();
    kill(own);
    await dns.close();
  }
  await assertNoLeaks(before);
});

test('no set ever: requests fail with the watcher\'s DnsError; after close() and destroy() they fail at once; bad options throw', async () => {
  const before = activeResources();
  const cluster = await createTestCluster({ ttl: 1 });
  const dns = await createTestServer({ cluster });
  const dispatcher = createPeerDispatcher('nothing', { port: 80, namespace: 'default', servers: dns.servers, minInterval: 50 });
  try {
    await assert.rejects(dispatcher.request({ path: '/', method: 'GET' }), (e) => e instanceof DnsError && e.code === 'ENOTFOUND');
  } finally {
    await dispatcher.close();
  }
  assert.ok(dispatcher.closed);
  await assert.rejects(dispatcher.request({ path: '/', method: 'GET' }), { code: 'UND_ERR_CLOSED' });
  const destroyed = createPeerDispatcher('nothing', { port: 80, namespace: 'default', servers: dns.servers });
  await destroyed.destroy();
  assert.ok(destroyed.destroyed);
  await assert.rejects(destroyed.request({ path: '/', method: 'GET' }), { code: 'UND_ERR_DESTROYED' });
  await dns.close();
  assert.throws(() => createPeerDispatcher('web', {} as never), InvalidArgumentError);
  assert.throws(() => createPeerDispatcher('web', { port: 80, scheme: 'ftp' as never }), InvalidArgumentError);
  assert.throws(() => createPeerDispatcher('web', { port: 80, errorPenalty: -1 }), InvalidArgumentError);
  assert.throws(() => createPeerDispatcher('web', { port: 80, minInterval: -1 }), InvalidArgumentError);
  assert.equal(activeWatchLoops(), 0);
  await assertNoLeaks(before);
});
