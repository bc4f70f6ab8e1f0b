import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DiscoveryV1Api, KubeConfig, makeInformer } from '@kubernetes/client-node';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { createFakeKubernetesApi, createTestCluster } from '../../src/testing/index.ts';
import type { FakeKubernetesApi, StatefulSet, TestCluster } from '../../src/testing/index.ts';
import { until } from '../helpers/handles.ts';

// @kubernetes/client-node against the fake API over TLS, configured by the kubeconfig the fake wrote.
let cluster: TestCluster;
let set: StatefulSet;
let api: FakeKubernetesApi;
let kc: KubeConfig;
let discovery: DiscoveryV1Api;

const PATH = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const podsOf = (slices: readonly V1EndpointSlice[]): string[] => slices.flatMap((s) => s.endpoints.map((e) => e.targetRef!.name!)).sort();

before(async () => {
  cluster = await createTestCluster();
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
  set = cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 3 });
  // Two endpoints a slice, so a scale adds, changes and deletes slices.
  api = await createFakeKubernetesApi({ cluster, tls: true, token: 'client-node-token', maxEndpointsPerSlice: 2 });
  kc = new KubeConfig();
  kc.loadFromString(api.kubeconfigText());
  discovery = kc.makeApiClient(DiscoveryV1Api);
});

after(async () => {
  await api.close();
});

describe('@kubernetes/client-node against the fake API', () => {
  test('list: namespaced, cluster-wide, by name, with selectors and in pages', async () => {
    const list = await discovery.listNamespacedEndpointSlice({ namespace: 'default' });
    assert.equal(list.items.length, 2);
    assert.deepEqual(podsOf(list.items), ['web-0', 'web-1', 'web-2']);
    assert.ok(list.items.every((s) => s.metadata!.creationTimestamp instanceof Date && s.addressType === 'IPv4'));
    assert.equal((await discovery.listEndpointSliceForAllNamespaces()).items.length, 2);

    const name = list.items[0]!.metadata!.name!;
    const one = await discovery.readNamespacedEndpointSlice({ name, namespace: 'default' });
    assert.equal(one.metadata!.name, name);
    const byField = await discovery.listNamespacedEndpointSlice({ namespace: 'default', fieldSelector: `metadata.name=${name}` });
    assert.deepEqual(byField.items.map((s) => s.metadata!.name), [name]);
    const byLabel = await discovery.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: 'kubernetes.io/service-name notin (nginx)' });
    assert.equal(byLabel.items.length, 0);

    const first = await discovery.listNamespacedEndpointSlice({ namespace: 'default', limit: 1 });
    assert.equal(first.items.length, 1);
    assert.ok(first.metadata!._continue);
    const rest = await discovery.listNamespacedEndpointSlice({ namespace: 'default', limit: 1, _continue: first.metadata!._continue! });
    assert.equal(rest.items.length, 1);
    assert.equal(rest.metadata!._continue, undefined);
    assert.deepEqual(podsOf([...first.items, ...rest.items]), ['web-0', 'web-1', 'web-2']);
  });

  test('an informer sees add, update and delete across a scale 3 -> 5 -> 2', async () => {
    const informer = makeInformer<V1EndpointSlice>(kc, PATH, () => discovery.listNamespacedEndpointSlice({ namespace: 'default' }));
    const events: string[] = [];
    const errors: unknown[] = [];
    let stopped = false;
    informer.on('add', (s) => events.push(`add ${s.metadata!.name}`));
    informer.on('update', (s) => events.push(`update ${s.metadata!.name}`));
    informer.on('delete', (s) => events.push(`delete ${s.metadata!.name}`));
    informer.on('error', (err) => {
      if (!stopped) errors.push(err);
    });
    const cached = (): string[] => podsOf(informer.list('default'));
    try {
      await informer.start();
      await until(() => cached().length === 3, 'the informer to list 3 pods', 60_000);
      const initial = new Set(informer.list('default').map((s) => s.metadata!.name!));
      assert.equal(events.filter((e) => e.startsWith('add')).length, 2);

      set.scale(5);
      await until(() => cached().length === 5, `the informer to see 5 pods (events: ${events.join(', ')})`, 60_000);
      assert.deepEqual(cached(), ['web-0', 'web-1', 'web-2', 'web-3', 'web-4']);
      const third = informer.list('default').find((s) => !initial.has(s.metadata!.name!))!;
      assert.ok(events.includes(`add ${third.metadata!.name}`), events.join(', '));
      const second = informer.list('default').find((s) => podsOf([s]).includes('web-2'))!;
      assert.ok(events.includes(`update ${second.metadata!.name}`), events.join(', '));

      set.scale(2);
      await until(() => cached().length === 2, `the informer to see 2 pods (events: ${events.join(', ')})`, 60_000);
      assert.deepEqual(cached(), ['web-0', 'web-1']);
      assert.ok(events.includes(`delete ${third.metadata!.name}`), events.join(', '));
      assert.ok(events.includes(`delete ${second.metadata!.name}`), events.join(', '));
      assert.equal(informer.list('default').length, 1);
      assert.deepEqual(errors, []);
    } finally {
      stopped = true;
      await informer.stop();
    }
  });
});
