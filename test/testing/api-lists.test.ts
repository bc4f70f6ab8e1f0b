import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici/index.js';
import { createFakeKubernetesApi, createTestCluster } from '../../src/testing/index.ts';
import type { FakeEndpointSlice, FakeKubernetesApi, StatefulSet, TestCluster } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';

const NS_PATH = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const ALL_PATH = '/apis/discovery.k8s.io/v1/endpointslices';

interface List {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: FakeEndpointSlice[];
  // A Status
  code?: number;
  reason?: string;
  message?: string;
  details?: { causes?: { field: string; reason: string }[] };
}

let cluster: TestCluster;
let set: StatefulSet;
let api: FakeKubernetesApi;
let before: Map<string, number>;

async function get(path: string): Promise<{ status: number; body: List }> {
  const res = await request(`${api.url}${path}`);
  return { status: res.statusCode, body: (await res.body.json()) as List };
}

beforeEach(async () => {
  before = activeResources();
  cluster = await createTestCluster();
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
  cluster.setService({ name: 'db', namespace: 'data', ports: [{ name: 'sql', port: 5432 }] });
  set = cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 5 });
  cluster.statefulSet({ name: 'pg', serviceName: 'db', namespace: 'data', replicas: 1 });
  api = await createFakeKubernetesApi({ cluster, maxEndpointsPerSlice: 1 });
});

afterEach(async () => {
  await api.close();
  await assertNoLeaks(before);
});

const names = (l: List): string[] => l.items.map((s) => s.metadata.name);

describe('fake API lists', () => {
  test('pages: limit and continue walk one snapshot in key order; remainingItemCount counts what is left', async () => {
    const all = (await get(NS_PATH)).body;
    assert.equal(all.items.length, 5);
    assert.deepEqual(names(all), [...names(all)].sort(), 'key order');
    const seen: string[] = [];
    let page = (await get(`${NS_PATH}?limit=2`)).body;
    const rv = page.metadata.resourceVersion;
    assert.equal(page.metadata.remainingItemCount, 3);
    seen.push(...names(page));
    // A change between pages does not show: the pages are one consistent list as of `rv`.
    set.scale(7);
    while (page.metadata.continue) {
      page = (await get(`${NS_PATH}?limit=2&continue=${encodeURIComponent(page.metadata.continue)}`)).body;
      assert.equal(page.metadata.resourceVersion, rv);
      seen.push(...names(page));
    }
    assert.deepEqual(seen, names(all));
    assert.equal((await get(NS_PATH)).body.items.length, 7, 'a new list sees the change');
  });

  test('an expired continue token is 410 Expired, with a token to go on inconsistently', async () => {
    const first = (await get(`${NS_PATH}?limit=2`)).body;
    set.scale(6);
    await new Promise((r) => setImmediate(r));
    api.compact();
    const gone = await get(`${NS_PATH}?limit=2&continue=${encodeURIComponent(first.metadata.continue!)}`);
    assert.equal(gone.status, 410);
    assert.equal(gone.body.kind, 'Status');
    assert.equal(gone.body.reason, 'Expired');
    assert.match(gone.body.message!, /continue parameter is too old/);
    const next = await get(`${NS_PATH}?limit=2&continue=${encodeURIComponent(gone.body.metadata.continue!)}`);
    assert.equal(next.status, 200);
    assert.deepEqual(names(next.body), names((await get(NS_PATH)).body).slice(2, 4));
  });

  test('bad continue tokens and versions are 400s; a version from the future is 504', async () => {
    assert.equal((await get(`${NS_PATH}?continue=not-base64-json`)).status, 400);
    const first = (await get(`${NS_PATH}?limit=1`)).body;
    const withVersion = await get(`${NS_PATH}?limit=1&resourceVersion=5&continue=${encodeURIComponent(first.metadata.continue!)}`);
    assert.equal(withVersion.status, 400);
    assert.equal(withVersion.body.message, 'specifying resource version is not allowed when using continue');
    assert.equal((await get(`${NS_PATH}?resourceVersion=abc`)).status, 400);
    assert.equal((await get(`${NS_PATH}?limit=x`)).status, 400);
    assert.equal((await get(`${NS_PATH}?resourceVersion=${Number(api.resourceVersion) + 100}`)).status, 504);
    const exact = await get(`${NS_PATH}?resourceVersion=${api.resourceVersion}&resourceVersionMatch=Exact`);
    assert.equal(exact.status, 200);
    assert.equal(exact.body.metadata.resourceVersion, api.resourceVersion);
  });

  test('invalid parameter combinations are 422 Invalid, as the API server validates ListOptions', async () => {
    const cases: [string, string][] = [
      ['sendInitialEvents=true', 'sendInitialEvents'],
      ['resourceVersionMatch=NotOlderThan', 'resourceVersionMatch'],
      ['resourceVersion=0&resourceVersionMatch=Exact', 'resourceVersionMatch'],
      ['resourceVersion=1&resourceVersionMatch=Newest', 'resourceVersionMatch'],
      ['watch=true&sendInitialEvents=true', 'resourceVersionMatch'],
      ['watch=true&resourceVersionMatch=NotOlderThan', 'resourceVersionMatch'],
      ['watch=true&sendInitialEvents=true&resourceVersionMatch=Exact&allowWatchBookmarks=true', 'resourceVersionMatch'],
    ];
    for (const [query, field] of cases) {
      const { status, body } = await get(`${NS_PATH}?${query}`);
      assert.equal(status, 422, query);
      assert.equal(body.reason, 'Invalid', query);
      assert.match(body.message!, /^ListOptions\.meta\.k8s\.io "" is invalid: /, query);
      assert.ok(body.details!.causes!.every((c) => c.field === field), query);
    }
    assert.equal((await get(`${NS_PATH}?watch=maybe`)).status, 400);
  });

  test('selectors: the label grammar, metadata.name/namespace fields, 400 for other fields', async () => {
    assert.equal((await get(`${ALL_PATH}?labelSelector=${encodeURIComponent('kubernetes.io/service-name in (nginx,db)')}`)).body.items.length, 6);
    assert.equal((await get(`${ALL_PATH}?labelSelector=${encodeURIComponent('kubernetes.io/service-name!=nginx')}`)).body.items.length, 1);
    assert.equal((await get(`${ALL_PATH}?labelSelector=${encodeURIComponent('!kubernetes.io/service-name')}`)).body.items.length, 0);
    const name = names((await get(NS_PATH)).body)[3]!;
    assert.deepEqual(names((await get(`${ALL_PATH}?fieldSelector=metadata.name%3D${name}`)).body), [name]);
    assert.equal((await get(`${ALL_PATH}?fieldSelector=metadata.namespace%3Ddata`)).body.items.length, 1);
    const bad = await get(`${ALL_PATH}?fieldSelector=spec.nodeName%3Dnode-0`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.message, 'field label not supported: spec.nodeName');
    assert.equal((await get(`${NS_PATH}?labelSelector=${encodeURIComponent('app in (')}`)).status, 400);
    // With a selector, no remainingItemCount (the server cannot count it cheaply either).
    const page = (await get(`${ALL_PATH}?limit=1&labelSelector=app!%3Dx`)).body;
    assert.ok(page.metadata.continue);
    assert.equal(page.metadata.remainingItemCount, undefined);
  });

  test('cluster-wide list and get by name; a missing name is a 404 Status', async () => {
    const all = await get(ALL_PATH);
    assert.equal(all.body.kind, 'EndpointSliceList');
    assert.deepEqual([...new Set(all.body.items.map((s) => s.metadata.namespace))], ['data', 'default']);
    const slice = all.body.items[0]!;
    const one = await get(`/apis/discovery.k8s.io/v1/namespaces/data/endpointslices/${slice.metadata.name}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, slice);
    assert.ok(!Number.isNaN(Date.parse(slice.metadata.creationTimestamp)));
    const missing = await get(`${NS_PATH}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'endpointslices.discovery.k8s.io "nope" not found');
  });

  test('discovery documents and the core resources kubectl reads', async () => {
    assert.equal((await get('/version')).body.kind, undefined);
    const groups = (await get('/apis')).body as unknown as { groups: { name: string }[] };
    assert.deepEqual(groups.groups.map((g) => g.name), ['discovery.k8s.io']);
    const resources = (await get('/apis/discovery.k8s.io/v1')).body as unknown as { resources: { name: string; verbs: string[]; namespaced: boolean }[] };
    assert.deepEqual(resources.resources[0], { name: 'endpointslices', singularName: 'endpointslice', namespaced: true, kind: 'EndpointSlice', verbs: ['get', 'list', 'watch'] });
    const core = (await get('/api/v1')).body as unknown as { resources: { name: string }[] };
    assert.deepEqual(core.resources.map((r) => r.name), ['namespaces', 'pods', 'services']);
    assert.deepEqual(names((await get('/api/v1/namespaces')).body), ['data', 'default', 'kube-system']);
    assert.deepEqual(names((await get('/api/v1/namespaces/default/pods?labelSelector=app%3Dnginx')).body), ['web-0', 'web-1', 'web-2', 'web-3', 'web-4']);
    assert.equal((await get('/api/v1/namespaces/data/services/db')).body.metadata.resourceVersion, api.resourceVersion);
    assert.equal((await get('/apis/apps/v1')).status, 404);
  });

  test('a Service change renders every slice of it again; other slices keep their versions', async () => {
    const before = api.slices();
    cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 8080 }] });
    const after = api.slices();
    for (const [i, s] of after.entries()) {
      const changed = s.metadata.resourceVersion !== before[i]!.metadata.resourceVersion;
      assert.equal(changed, s.metadata.namespace === 'default', s.metadata.name);
      if (changed) assert.equal(s.ports[0]!.port, 8080);
    }
  });

  test('a pod change that does not show in its slice is no event and no new version', async () => {
    const rv = api.resourceVersion;
    cluster.setReady('web-1', true); // already ready: a new pod object, the same endpoint
    assert.equal(api.resourceVersion, rv);
    cluster.setReady('web-1', false);
    assert.equal(Number(api.resourceVersion), Number(rv) + 1);
  });

  test('kubeconfigText(): the server, its CA, the token and the context namespace, as YAML', async () => {
    const text = api.kubeconfigText({ namespace: 'data', token: 'a "quoted" token' });
    assert.match(text, /^apiVersion: v1\nkind: Config\n/);
    assert.ok(text.includes(`server: "${api.url}"`));
    assert.ok(text.includes('token: "a \\"quoted\\" token"'));
    assert.ok(text.includes('namespace: "data"'));
    assert.ok(!text.includes('certificate-authority-data'), 'no CA without tls');
    assert.match(text, /current-context: "headless-sd-fake"\n$/);
  });
});
