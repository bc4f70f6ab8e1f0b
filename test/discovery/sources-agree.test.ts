/**
 * One model, two frontends: watchers on the DNS source and on the Kubernetes API source see the
 * same peer set at every step of a scale 3 -> 50 -> 10 (and a readiness change).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peers, watchPeers } from '../../src/index.ts';
import type { Peer, PeerChange, PeerWatcher } from '../../src/index.ts';
import { createTestServer } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { apiFixture, expectedPeers, keysOf } from '../kubernetes/fixture.ts';

// Every field DNS can know: name, address, port, ordinal, family and the conditions of a published peer.
const identity = (peers: readonly Peer[]): string[] =>
  peers.map((p) => `${p.name}|${p.address}|${p.port}|${p.ordinal}|${p.family}|${p.ready}|${p.serving}|${p.terminating}|${p.self}`);

test('DNS and API watchers agree at every step of 3 -> 50 -> 10 and a pod terminating', async () => {
  const before = activeResources();
  const f = await apiFixture();
  f.cluster.ttl = 0;
  const dns = await createTestServer({ cluster: f.cluster });
  const common = { port: 'web', namespace: 'default', minInterval: 20, maxInterval: 100 } as const;
  const viaDns = watchPeers('nginx', { ...common, servers: dns.servers });
  const viaApi = watchPeers('nginx', { ...common, source: 'kubernetes', kubernetes: f.kubernetes });
  const apiChanges: PeerChange[] = [];
  viaApi.on('change', (c) => apiChanges.push(c));
  const settled = async (watcher: PeerWatcher, what: string): Promise<void> => {
    const want = keysOf(expectedPeers(f.cluster));
    await until(() => JSON.stringify(keysOf(watcher.peers)) === JSON.stringify(want), what);
  };
  try {
    await Promise.all([viaDns.ready, viaApi.ready]);
    const steps: [string, () => void][] = [
      ['3 pods', () => {}],
      ['scaled to 50', () => f.set.scale(50)],
      ['web-7 not ready', () => f.cluster.setReady('web-7', false)],
      ['scaled to 10', () => f.set.scale(10)],
      ['web-9 terminating', () => f.cluster.setTerminating('web-9')],
    ];
    for (const [name, step] of steps) {
      step();
      await settled(viaApi, `the API watcher at ${name}`);
      await settled(viaDns, `the DNS watcher at ${name}`);
      assert.deepEqual(identity(viaApi.peers), identity(viaDns.peers), name);
    }
    assert.equal(viaApi.peers.length, 8);
    // The API pushes: one change per step after the initial set, no more.
    assert.equal(apiChanges.length, 5);
  } finally {
    viaDns.close();
    viaApi.close();
    await dns.close();
    await f.close();
  }
  await assertNoLeaks(before);
});

test('a peer turning terminating is one `updated` change on the API source (includeNotReady); DNS peers are ready, serving, not terminating', async () => {
  const before = activeResources();
  const f = await apiFixture();
  f.cluster.ttl = 0;
  const dns = await createTestServer({ cluster: f.cluster });
  const viaApi = watchPeers('nginx', { port: 'web', namespace: 'default', source: 'kubernetes', kubernetes: f.kubernetes, includeNotReady: true });
  const changes: PeerChange[] = [];
  viaApi.on('change', (c) => changes.push(c));
  try {
    const initial = await viaApi.ready;
    assert.ok(initial.every((p) => p.ready && p.serving && !p.terminating && Object.isFrozen(p)));
    assert.ok(initial.every((p) => p.pod !== null && p.pod.name === p.name && p.pod.uid.length > 0 && p.nodeName !== null));
    await until(() => changes.length >= 1, 'the initial set');
    f.cluster.setTerminating('web-2');
    await until(() => changes.length >= 2, 'the change for web-2 terminating');
    assert.equal(changes.length, 2);
    const change = changes[1];
    assert.deepEqual([change!.added, change!.removed], [[], []]);
    assert.deepEqual(change!.updated.map((p) => [p.name, p.ready, p.serving, p.terminating]), [['web-2', false, true, true]]);
    const fromDns = await peers('nginx', { port: 'web', namespace: 'default', servers: dns.servers });
    assert.deepEqual(fromDns.map((p) => p.name), ['web-0', 'web-1']);
    assert.ok(fromDns.every((p) => p.ready && p.serving && !p.terminating && p.zone === null && p.nodeName === null && p.pod === null));
  } finally {
    viaApi.close();
    await dns.close();
    await f.close();
  }
  await assertNoLeaks(before);
});
