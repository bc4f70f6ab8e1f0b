import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici/index.js';
import { createFakeKubernetesApi, createTestCluster } from '../../src/testing/index.ts';
import type { FakeKubernetesApi, StatefulSet, TestCluster } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';

const NS_PATH = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const WATCH_LIST = 'watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan';

interface Event {
  type: string;
  object: {
    kind: string;
    metadata: { name?: string; namespace?: string; resourceVersion: string; annotations?: Record<string, string> };
    rows?: { cells: unknown[] }[];
  };
}

let cluster: TestCluster;
let set: StatefulSet;
let api: FakeKubernetesApi;
let before: Map<string, number>;

/** Opens a watch and collects its events, line by line. */
async function watch(path: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await request(`${api.url}${path}`, { signal: controller.signal, headers });
  const events: Event[] = [];
  const reading = (async () => {
    let buffered = '';
    try {
      for await (const chunk of res.body) {
        buffered += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffered.slice(0, nl)) as Event);
          buffered = buffered.slice(nl + 1);
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    status: res.statusCode,
    events,
    until: (n: number) => until(() => events.length >= n, `${n} events (got ${events.map((e) => e.type).join(', ')})`, 30_000),
    async close() {
      controller.abort();
      await reading;
    },
  };
}

beforeEach(async () => {
  before = activeResources();
  cluster = await createTestCluster();
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
  cluster.setService({ name: 'db', namespace: 'data' });
  set = cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 3 });
  cluster.statefulSet({ name: 'pg', serviceName: 'db', namespace: 'data', replicas: 1 });
  api = await createFakeKubernetesApi({ cluster, maxEndpointsPerSlice: 2 });
});

afterEach(async () => {
  await api.close();
  await assertNoLeaks(before);
});

const isEnd = (e: Event): boolean => e.type === 'BOOKMARK' && e.object.metadata.annotations?.['k8s.io/initial-events-end'] === 'true';

describe('fake API watch-list (sendInitialEvents)', () => {
  test('initial ADDED events, then the k8s.io/initial-events-end bookmark at the list version, then changes', async () => {
    const rv = api.resourceVersion;
    const w = await watch(`${NS_PATH}?${WATCH_LIST}&allowWatchBookmarks=true`);
    assert.equal(w.status, 200);
    await w.until(3);
    assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'ADDED', 'BOOKMARK']);
    assert.ok(w.events.slice(0, 2).every((e) => e.object.metadata.namespace === 'default'));
    assert.ok(isEnd(w.events[2]!));
    assert.equal(w.events[2]!.object.metadata.resourceVersion, rv);
    set.scale(4);
    await w.until(4);
    assert.equal(w.events[3]!.type, 'MODIFIED');
    assert.ok(Number(w.events[3]!.object.metadata.resourceVersion) > Number(rv));
    await w.close();
  });

  test('the end bookmark goes only to clients that allow bookmarks; a resourceVersion is a lower bound', async () => {
    const rv = api.resourceVersion;
    const w = await watch(`${NS_PATH}?${WATCH_LIST}&resourceVersion=${rv}`);
    await w.until(2);
    set.scale(4);
    await w.until(3);
    assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'ADDED', 'MODIFIED']);
    assert.ok(!w.events.some(isEnd));
    await w.close();
  });

  test('sendInitialEvents=false: changes after resourceVersion only', async () => {
    const rv = api.resourceVersion;
    set.scale(5); // a third slice
    const w = await watch(`/apis/discovery.k8s.io/v1/endpointslices?watch=1&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&resourceVersion=${rv}`);
    await w.until(2);
    assert.deepEqual(w.events.map((e) => e.type), ['MODIFIED', 'ADDED']);
    await w.close();
  });

  test('a watch with a field selector sees its one slice; a cluster-wide watch-list sees every namespace', async () => {
    const holding = (pod: string) => api.slices('default', 'nginx').find((s) => s.endpoints.some((e) => e.targetRef.name === pod))!;
    const [first, second] = [holding('web-0'), holding('web-2')];
    const one = await watch(`${NS_PATH}?watch=1&fieldSelector=metadata.name%3D${second!.metadata.name}&resourceVersion=${api.resourceVersion}`);
    const all = await watch(`/apis/discovery.k8s.io/v1/endpointslices?${WATCH_LIST}&allowWatchBookmarks=true&labelSelector=kubernetes.io%2Fservice-name`);
    await all.until(4);
    assert.deepEqual(all.events.map((e) => e.object.metadata.namespace ?? 'bookmark').sort(), ['bookmark', 'data', 'default', 'default']);
    cluster.setReady('web-0', false); // first slice
    cluster.setReady('web-2', false); // second slice
    await one.until(1);
    await all.until(6);
    assert.equal(one.events.length, 1);
    assert.equal(one.events[0]!.object.metadata.name, second!.metadata.name);
    assert.deepEqual(all.events.slice(4).map((e) => e.object.metadata.name), [first!.metadata.name, second!.metadata.name]);
    await one.close();
    await all.close();
  });

  test('kubectl’s Accept: list and watch events as meta.k8s.io Tables', async () => {
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    const res = await request(`${api.url}${NS_PATH}`, { headers: { accept } });
    const table = (await res.body.json()) as { kind: string; columnDefinitions: { name: string }[]; rows: { cells: string[] }[] };
    assert.equal(table.kind, 'Table');
    assert.deepEqual(table.columnDefinitions.map((c) => c.name), ['Name', 'AddressType', 'Ports', 'Endpoints', 'Age']);
    assert.deepEqual(table.rows.map((r) => r.cells.slice(1, 4)).sort(), [
      ['IPv4', '80', '127.1.0.1,127.1.0.2'],
      ['IPv4', '80', '127.1.0.3'],
    ]);
    const w = await watch(`${NS_PATH}?watch=true&resourceVersion=${api.resourceVersion}`, { accept });
    set.scale(6);
    await w.until(2);
    assert.ok(w.events.every((e) => e.object.kind === 'Table' && e.object.rows!.length === 1));
    const last = set.pods[5]!.addresses[0]!;
    assert.ok(w.events.some((e) => String(e.object.rows![0]!.cells[3]).endsWith(last)), JSON.stringify(w.events.map((e) => e.object.rows)));
    await w.close();
  });
});
