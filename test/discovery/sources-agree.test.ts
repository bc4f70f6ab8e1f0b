/**
 * One model, two frontends: watchers on the DNS source and on the Kubernetes API source see the
 * same peer set at every step of a scale 3 -> 50 -> 10 (and a readiness change).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchPeers } from '../../src/index.ts';
import type { Peer, PeerChange, PeerWatcher } from '../../src/index.ts';
import { createTestServer } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { apiFixture, expectedPeers, keysOf } from '../kubernetes/fixture.ts';

const identity = (peers: readonly Peer[]): string[] => peers.map((p) => `${p.name}|${p.address}|${p.port}|${p.ordinal}|${p.family}`);

test('DNS and API watchers agree at every step of 3 -> 50 -> 10', async () => {
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
    ];
    for (const [name, step] of steps) {
      step();
      await settled(viaApi, `the API watcher at ${name}`);
      await settled(viaDns, `the DNS watcher at ${name}`);
      assert.deepEqual(identity(viaApi.peers), identity(viaDns.peers), name);
    }
    assert.equal(viaApi.peers.length, 9);
    // The API pushes: one change per step after the initial set, no more.
    assert.equal(apiChanges.length, 4);
  } finally {
    viaDns.close();
    viaApi.close();
    await dns.close();
    await f.close();
  }
  await assertNoLeaks(before);
});
