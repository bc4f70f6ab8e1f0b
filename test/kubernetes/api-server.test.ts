import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
// The package file, not the bare name: Bun swaps `undici` for a stand-in (src/kubernetes/undici.ts).
import { Agent, request } from 'undici/index.js';
import type { Dispatcher } from 'undici/index.js';
import { parseNdjson } from '../../src/kubernetes/ndjson.ts';
import { createFakeKubernetesApi, createTestCluster } from '../../src/testing/index.ts';
import type { FakeEndpointSlice, FakeKubernetesApi } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { apiFixture } from './fixture.ts';

const PATH = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const SELECTOR = 'labelSelector=kubernetes.io%2Fservice-name%3Dnginx';

async function get(api: FakeKubernetesApi, path: string, headers: Record<string, string> = {}, dispatcher?: Dispatcher) {
  const res = await request(`${api.url}${path}`, { headers, ...(dispatcher ? { dispatcher } : {}) });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

interface Event {
  type: string;
  object: FakeEndpointSlice & { code?: number; reason?: string; message?: string };
}

/** Opens a watch and collects its events. */
async function openWatch(api: FakeKubernetesApi, query: string) {
  const controller = new AbortController();
  const res = await request(`${api.url}${PATH}?${SELECTOR}&watch=1&${query}`, { signal: controller.signal });
  const events: Event[] = [];
  let ended = false;
  const reading = (async () => {
    try {
      for await (const e of parseNdjson(res.body)) events.push(e as Event);
    } catch {
      // aborted
    }
    ended = true;
  })();
  return {
    status: res.statusCode,
    events,
    get ended() {
      return ended;
    },
    async until(n: number) {
      for (let i = 0; i < 1000 && events.length < n && !ended; i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(events.length >= n, `expected ${n} events, got ${events.length}`);
    },
    async close() {
      controller.abort();
      await reading;
    },
  };
}

describe('createFakeKubernetesApi', () => {
  test('list: an EndpointSliceList whose slices look like real ones', async () => {
    const before = activeResources();
    const f = await apiFixture({ replicas: 3 });
    try {
      f.cluster.setReady('web-2', false);
      const { status, json } = await get(f.api, `${PATH}?${SELECTOR}`);
      assert.equal(status, 200);
      assert.equal(json.kind, 'EndpointSliceList');
      assert.equal(json.apiVersion, 'discovery.k8s.io/v1');
      const rv = (json.metadata as { resourceVersion: string }).resourceVersion;
      assert.match(rv, /^\d+$/);
      const items = json.items as FakeEndpointSlice[];
      assert.equal(items.length, 1);
      const s = items[0]!;
      assert.equal(s.apiVersion, 'discovery.k8s.io/v1');
      assert.equal(s.kind, 'EndpointSlice');
      assert.match(s.metadata.name, /^nginx-[a-z0-9]{5}$/);
      assert.equal(s.metadata.namespace, 'default');
      assert.equal(s.metadata.labels['kubernetes.io/service-name'], 'nginx');
      assert.equal(s.metadata.ownerReferences[0]!.kind, 'Service');
      assert.equal(s.metadata.ownerReferences[0]!.name, 'nginx');
      assert.ok(Number(s.metadata.resourceVersion) <= Number(rv));
      assert.equal(s.addressType, 'IPv4');
      assert.deepEqual(s.ports, [{ name: 'web', port: 80, protocol: 'TCP' }]);
      assert.deepEqual(
        s.endpoints.map((e) => [e.hostname, e.conditions.ready, e.conditions.serving, e.conditions.terminating, e.targetRef.kind, e.targetRef.name]),
        [
          ['web-0', true, true, false, 'Pod', 'web-0'],
          ['web-1', true, true, false, 'Pod', 'web-1'],
          ['web-2', false, false, false, 'Pod', 'web-2'],
        ],
      );
      assert.deepEqual(s.endpoints[0]!.addresses, [f.cluster.getPod('web-0')!.addresses[0]]);
      assert.match(s.endpoints[0]!.nodeName, /^node-\d$/);
      // Without a selector: every slice of the namespace (one Service here); other namespaces are apart.
      f.cluster.setService({ name: 'other', namespace: 'apps' });
      assert.equal(((await get(f.api, PATH)).json.items as unknown[]).length, 1);
    } finally {
      await f.close();
    }
    await assertNoLeaks(before);
  });

  test('10,000 pods: 100 slices of 100; one pod change modifies only its slice', async () => {
    const f = await apiFixture({ replicas: 10_000 });
    try {
      const slices = f.api.slices('default', 'nginx');
      assert.equal(slices.length, 100);
      assert.ok(slices.every((s) => s.endpoints.length === 100));
      assert.equal(new Set(slices.map((s) => s.metadata.name)).size, 100);
      const home = slices.find((s) => s.endpoints.some((e) => e.targetRef.name === 'web-4242'))!;
      const w = await openWatch(f.api, `resourceVersion=${f.api.resourceVersion}`);
      f.cluster.setReady('web-4242', false);
      await w.until(1);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(w.events.length, 1);
      assert.equal(w.events[0]!.type, 'MODIFIED');
      assert.equal(w.events[0]!.object.metadata.name, home.metadata.name);
      assert.equal(w.events[0]!.object.endpoints.find((e) => e.targetRef.name === 'web-4242')!.conditions.ready, false);
      // Names are stable: the same 100 slices, one with a new version.
      const now = f.api.slices('default', 'nginx');
      assert.deepEqual(now.map((s) => s.metadata.name), slices.map((s) => s.metadata.name));
      assert.equal(now.filter((s, i) => s.metadata.resourceVersion !== slices[i]!.metadata.resourceVersion).length, 1);
      await w.close();
    } finally {
      await f.close();
    }
  });

  test('watch: ADDED/MODIFIED/DELETED with increasing resourceVersions; an emptied slice goes, one stays', async () => {
    const f = await apiFixture({ replicas: 2, maxEndpointsPerSlice: 2 });
    try {
      const w = await openWatch(f.api, `resourceVersion=${f.api.resourceVersion}&allowWatchBookmarks=true`);
      assert.equal(w.status, 200);
      f.set.scale(3); // a second slice
      await w.until(1);
      f.set.scale(1); // the second slice empties: deleted; the first is modified
      await w.until(3);
      f.set.scale(0); // the last slice stays, empty
      await w.until(4);
      f.api.bookmark();
      await w.until(5);
      assert.deepEqual(
        w.events.map((e) => e.type),
        ['ADDED', 'DELETED', 'MODIFIED', 'MODIFIED', 'BOOKMARK'],
      );
      const versions = w.events.map((e) => Number(e.object.metadata.resourceVersion));
      const changes = versions.slice(0, -1);
      assert.ok(changes.every((v, i) => i === 0 || v > changes[i - 1]!), `versions increase: ${versions}`);
      // The bookmark carries the newest version.
      assert.equal(versions.at(-1), Number(f.api.resourceVersion));
      const left = f.api.slices('default', 'nginx');
      assert.equal(left.length, 1);
      assert.deepEqual(left[0]!.endpoints, []);
      await w.close();
    } finally {
      await f.close();
    }
  });

  test('watch resumes from a resourceVersion; a compacted one gets an ERROR event with a 410 Status', async () => {
    const f = await apiFixture({ replicas: 1 });
    try {
      const rv = f.api.resourceVersion;
      f.set.scale(2);
      f.set.scale(3);
      await new Promise((r) => setImmediate(r));
      const resumed = await openWatch(f.api, `resourceVersion=${rv}`);
      await resumed.until(1);
      assert.equal(resumed.events[0]!.type, 'MODIFIED');
      assert.equal(resumed.events[0]!.object.endpoints.length, 3);
      await resumed.close();

      f.api.compact();
      const gone = await openWatch(f.api, `resourceVersion=${rv}`);
      assert.equal(gone.status, 200);
      await gone.until(1);
      assert.equal(gone.events[0]!.type, 'ERROR');
      assert.equal(gone.events[0]!.object.code, 410);
      assert.equal(gone.events[0]!.object.reason, 'Expired');
      await gone.close();

      // No resourceVersion: ADDED for what exists.
      const fresh = await openWatch(f.api, '');
      await fresh.until(1);
      assert.equal(fresh.events[0]!.type, 'ADDED');
      await fresh.close();
    } finally {
      await f.close();
    }
  });

  test('dual stack: one slice per address type', async () => {
    const f = await apiFixture({ replicas: 2, ipFamilies: 'DualStack' });
    try {
      const slices = f.api.slices('default', 'nginx');
      assert.deepEqual(slices.map((s) => s.addressType).sort(), ['IPv4', 'IPv6']);
      for (const s of slices) {
        assert.equal(s.endpoints.length, 2);
        assert.ok(s.endpoints.every((e) => e.addresses.every((a) => a.includes(':') === (s.addressType === 'IPv6'))));
      }
    } finally {
      await f.close();
    }
  });

  test('401, 403, 404 answer Status objects as the API server does', async () => {
    const cluster = await createTestCluster();
    const api = await createFakeKubernetesApi({ cluster, token: 'right' });
    try {
      const unauth = await get(api, `${PATH}?${SELECTOR}`, { authorization: 'Bearer wrong' });
      assert.equal(unauth.status, 401);
      assert.equal(unauth.json.kind, 'Status');
      assert.equal(unauth.json.reason, 'Unauthorized');
      assert.equal(api.requests.at(-1)!.token, 'wrong');

      api.setForbidden(true);
      const denied = await get(api, `${PATH}?${SELECTOR}`, { authorization: 'Bearer right' });
      assert.equal(denied.status, 403);
      assert.match(String(denied.json.message), /cannot list resource "endpointslices" in API group "discovery.k8s.io" in the namespace "default"/);
      api.setForbidden(false);

      const missing = await get(api, '/apis/discovery.k8s.io/v1/namespaces/nope/endpointslices', { authorization: 'Bearer right' });
      assert.equal(missing.status, 404);
      assert.equal(missing.json.message, 'namespaces "nope" not found');
      const noGroup = await get(api, '/apis/discovery.k8s.io/v1beta9/namespaces/default/endpointslices', { authorization: 'Bearer right' });
      assert.equal(noGroup.status, 404);

      api.setToken(null);
      assert.equal((await get(api, PATH)).status, 200);
    } finally {
      await api.close();
    }
  });

  test('faults: status, reset, delay, count; stop and start keep the port', async () => {
    const f = await apiFixture();
    try {
      f.api.fail({ status: 503, count: 1 });
      assert.equal((await get(f.api, PATH)).status, 503);
      assert.equal((await get(f.api, PATH)).status, 200);
      f.api.fail({ reset: true, count: 1 });
      await assert.rejects(get(f.api, PATH));
      assert.equal(f.api.requests.at(-1)!.status, null);
      assert.deepEqual(f.api.requests.at(-1)!.faults, ['reset']);
      f.api.fail({ status: 410, on: 'watch' });
      assert.equal((await get(f.api, PATH)).status, 200, 'a watch-only fault leaves lists alone');
      f.api.clearFaults();

      const port = f.api.port;
      await f.api.stop();
      assert.equal(f.api.listening, false);
      await assert.rejects(get(f.api, PATH));
      await f.api.start();
      assert.equal(f.api.port, port);
      assert.equal((await get(f.api, PATH)).status, 200);
    } finally {
      await f.close();
    }
  });

  test('tls: the certificate verifies against api.ca for 127.0.0.1', async () => {
    const f = await apiFixture({ tls: true });
    const agent = new Agent({ connect: { ca: f.api.ca! } });
    try {
      assert.match(f.api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.match(f.api.ca!, /BEGIN CERTIFICATE/);
      assert.equal((await get(f.api, `${PATH}?${SELECTOR}`, {}, agent)).status, 200);
      await assert.rejects(get(f.api, PATH), /self-signed|unable to verify|certificate/i);
    } finally {
      await agent.close();
      await f.close();
    }
  });
});
