import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError, PeerRing, watchPeers } from '../../src/index.ts';
import type { Peer } from '../../src/index.ts';
import { makePeer } from '../../src/peer/index.ts';
import type { PeerInit } from '../../src/peer/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { nginxFixture } from '../helpers/fixtures.ts';

const NOBODY = { addresses: new Set<string>(), hostname: 'test-runner' };

function pod(i: number, init: Partial<PeerInit> = {}): Peer {
  return makePeer({ host: `web-${i}.nginx.default.svc.cluster.local`, address: `10.0.0.${i + 1}`, port: 80, ttl: 5, ...init }, NOBODY);
}

const KEYS = Array.from({ length: 10_000 }, (_, i) => `key-${i}`);

function owners(ring: PeerRing): string[] {
  return KEYS.map((k) => ring.owner(k)!.name!);
}

function counts(assignment: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const name of assignment) m.set(name, (m.get(name) ?? 0) + 1);
  return m;
}

test('10,000 keys over 10 peers: removing one moves exactly its keys, each to its second choice', () => {
  const ten = Array.from({ length: 10 }, (_, i) => pod(i));
  const ring = new PeerRing(ten);
  const before = owners(ring);
  const second = KEYS.map((k) => ring.owners(k, 2)[1]!.name!);
  ring.update(ten.filter((p) => p.name !== 'web-3'));
  const after = owners(ring);
  for (let i = 0; i < KEYS.length; i++) {
    if (before[i] === 'web-3') assert.equal(after[i], second[i], `${KEYS[i]} goes to its second choice`);
    else assert.equal(after[i], before[i], `${KEYS[i]} did not belong to web-3 and must stay`);
  }
  const moved = before.filter((o, i) => o !== after[i]).length;
  assert.equal(moved, counts(before).get('web-3'));
});

test('10,000 keys over 10 peers: adding an 11th moves 8-12% of keys, all to the new peer', (t) => {
  const ten = Array.from({ length: 10 }, (_, i) => pod(i));
  const ring = new PeerRing(ten);
  const before = owners(ring);
  ring.update([...ten, pod(10)]);
  const after = owners(ring);
  const moved = KEYS.filter((_, i) => before[i] !== after[i]);
  for (let i = 0; i < KEYS.length; i++) if (before[i] !== after[i]) assert.equal(after[i], 'web-10');
  const share = moved.length / KEYS.length;
  t.diagnostic(`adding web-10 moved ${moved.length} of ${KEYS.length} keys (${(share * 100).toFixed(1)}%)`);
  assert.ok(share >= 0.08 && share <= 0.12, `moved ${(share * 100).toFixed(1)}%`);
});

test('keys spread evenly: max/min keys per peer stays under 1.3 for 10,000 keys over 10 peers', (t) => {
  const ring = new PeerRing(Array.from({ length: 10 }, (_, i) => pod(i)));
  const perPeer = [...counts(owners(ring)).values()];
  assert.equal(perPeer.length, 10);
  const spread = Math.max(...perPeer) / Math.min(...perPeer);
  t.diagnostic(`keys per peer: ${perPeer.join(' ')} (max/min ${spread.toFixed(3)})`);
  assert.ok(spread < 1.3, `spread ${spread}`);
});

test('owners(key, n): distinct peers, best first, the first is owner(); fewer when the set is smaller', () => {
  const ring = new PeerRing(Array.from({ length: 5 }, (_, i) => pod(i)));
  for (const key of KEYS.slice(0, 200)) {
    const list = ring.owners(key, 3);
    assert.equal(list.length, 3);
    assert.equal(new Set(list.map((p) => p.name)).size, 3);
    assert.equal(list[0], ring.owner(key));
  }
  assert.equal(ring.owners('k', 10).length, 5);
  assert.deepEqual(ring.owners('k', 0), []);
  assert.equal(new PeerRing([]).owner('k'), null);
  assert.deepEqual(new PeerRing([]).owners('k', 2), []);
});

test('identity is host:port: a pod back with a new address keeps its keys; same host twice (dual stack) counts once', () => {
  const three = [pod(0), pod(1), pod(2)];
  const ring = new PeerRing(three);
  const before = owners(ring);
  ring.update([pod(0), pod(1, { address: '10.9.9.9' }), pod(2), pod(2, { address: 'fd00::3' })]);
  assert.equal(ring.size, 3);
  assert.deepEqual(owners(ring), before);
  assert.equal(ring.peers.find((p) => p.name === 'web-1')!.address, '10.9.9.9');
});

test('terminating and not-ready peers own no keys; preferZone keeps owners in the zone while it has peers', () => {
  const peers = [
    pod(0, { zone: 'a' }),
    pod(1, { zone: 'b' }),
    pod(2, { zone: 'a' }),
    pod(3, { zone: 'b' }),
    pod(4, { zone: 'a', ready: false, serving: true, terminating: true }),
    pod(5, { zone: 'b', ready: false, serving: false }),
  ];
  const ring = new PeerRing(peers, { preferZone: 'b' });
  assert.deepEqual(ring.peers.map((p) => p.name), ['web-0', 'web-1', 'web-2', 'web-3']);
  for (const key of KEYS.slice(0, 500)) {
    assert.equal(ring.owner(key)!.zone, 'b');
    assert.deepEqual(ring.owners(key, 4).map((p) => p.zone), ['b', 'b', 'a', 'a']);
  }
  const seen = new Set(KEYS.slice(0, 500).map((k) => ring.owner(k)!.name));
  assert.deepEqual([...seen].sort(), ['web-1', 'web-3']);
  // No peer in the zone: every routable peer owns keys.
  ring.update(peers.filter((p) => p.zone === 'a'));
  assert.deepEqual(ring.peers.map((p) => p.name), ['web-0', 'web-2']);
  assert.equal(ring.owner('x')!.zone, 'a');
  // Only terminating peers left: they still serve, so they own the keys rather than nobody.
  ring.update([peers[4]!]);
  assert.equal(ring.owner('x')!.name, 'web-4');
  // A filter of one's own.
  const all = new PeerRing(peers, { filter: (list) => list });
  assert.equal(all.size, 6);
});

test('bad arguments are InvalidArgumentError', () => {
  const ring = new PeerRing([pod(0)]);
  assert.throws(() => ring.owner(42 as unknown as string), InvalidArgumentError);
  assert.throws(() => ring.owners('k', -1), InvalidArgumentError);
  assert.throws(() => ring.owners('k', 1.5), InvalidArgumentError);
  assert.throws(() => new PeerRing(null as unknown as Peer[]), InvalidArgumentError);
  assert.throws(() => new PeerRing([], { preferZone: 3 as unknown as string }), InvalidArgumentError);
  assert.throws(() => new PeerRing([], { filter: 'x' as unknown as () => Peer[] }), InvalidArgumentError);
});

test('a ring over a watcher follows the cluster: 3 -> 5 -> 2 pods; close() leaves the watcher to its owner', async () => {
  const before = activeResources();
  const f = await nginxFixture({ replicas: 3, ttl: 0 });
  const watcher = watchPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, minInterval: 50 });
  const ring = new PeerRing(watcher);
  try {
    await until(() => ring.size === 3, 'the ring to hold 3 peers');
    const owned = new Set(KEYS.slice(0, 300).map((k) => ring.owner(k)!.name));
    assert.deepEqual([...owned].sort(), ['nginx-0', 'nginx-1', 'nginx-2']);
    f.set.scale(5);
    await until(() => ring.size === 5, 'the ring to hold 5 peers');
    f.set.scale(2);
    await until(() => ring.size === 2, 'the ring to hold 2 peers');
    assert.deepEqual(ring.peers.map((p) => p.name), ['nginx-0', 'nginx-1']);
    ring.close();
    f.set.scale(4);
    await until(() => watcher.peers.length === 4, 'the watcher to see 4 peers');
    assert.equal(ring.size, 2, 'a closed ring keeps its last set');
  } finally {
    ring.close();
    watcher.close();
    await f.close();
  }
  await assertNoLeaks(before);
});
