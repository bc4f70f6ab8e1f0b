import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestCluster } from '../src/testing/index.ts';

test('a StatefulSet of 3 gives pods web-0..2 behind its Service', async () => {
  const cluster = await createTestCluster();
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
  const web = cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 3 });
  assert.deepEqual(web.pods.map((p) => p.name), ['web-0', 'web-1', 'web-2']);
  assert.equal(cluster.endpoints('nginx').filter((e) => e.published).length, 3);
  web.scale(1);
  assert.deepEqual(cluster.endpoints('nginx').map((e) => e.hostname), ['web-0']);
});

test('getStatefulSet returns the handle statefulSet() made', async () => {
  const cluster = await createTestCluster();
  cluster.setService({ name: 'nginx' });
  const web = cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 2 });
  assert.equal(cluster.getStatefulSet('web'), web);
  cluster.getStatefulSet('web')!.scale(4);
  assert.equal(web.replicas, 4);
  assert.equal(cluster.getStatefulSet('web', 'other'), undefined);
});
