import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeQueue } from '../../src/discovery/change-queue.ts';
import { diffPeers, localIdentity, makePeer, normalizePeers } from '../../src/peer/index.ts';
import type { Peer } from '../../src/peer/index.ts';

const self = { addresses: new Set<string>(), hostname: 'nobody' };
const pod = (n: number, address = `127.1.0.${n + 1}`): Peer =>
  makePeer({ host: `web-${n}.nginx.default.svc.cluster.local.`, address, port: 80, ttl: 5 }, self);
const set = (...ns: number[]): Peer[] => normalizePeers(ns.map((n) => pod(n)));
const names = (ps: Peer[]): (string | null)[] => ps.map((p) => p.name);

test('the first take is the initial set even when empty; later empty merges are skipped', () => {
  const q = new ChangeQueue();
  assert.equal(q.take(), null);
  q.push(diffPeers([], []));
  assert.deepEqual(q.take(), { peers: [], added: [], removed: [], updated: [] });
  q.push(diffPeers([], set(0)));
  q.push(diffPeers(set(0), []));
  assert.equal(q.take(), null, 'added then removed while unread is no change');
});

test('a slow consumer holds one merged change after 1,000 changes', () => {
  const q = new ChangeQueue();
  let current: Peer[] = set(0, 1, 2);
  q.push(diffPeers([], current));
  assert.deepEqual(names(q.take()!.added), ['web-0', 'web-1', 'web-2']);
  for (let i = 0; i < 1000; i++) {
    // Flip pod 3 in and out, and move pod 1 to a new address at the end.
    const next = i % 2 === 0 ? set(0, 1, 2, 3) : set(0, 1, 2);
    q.push(diffPeers(current, next));
    current = next;
    assert.ok(q.pendingSize <= 1);
  }
  const moved = normalizePeers([pod(0), pod(1, '127.9.9.9'), pod(2)]);
  q.push(diffPeers(current, moved));
  const change = q.take()!;
  assert.deepEqual(change.peers, moved);
  assert.deepEqual(change.added.map((p) => p.address), ['127.9.9.9']);
  assert.deepEqual(change.removed.map((p) => p.address), ['127.1.0.2']);
  assert.equal(q.take(), null);
});

test('removed then added back while unread is no change', () => {
  const q = new ChangeQueue();
  q.push(diffPeers([], set(0, 1)));
  q.take();
  q.push(diffPeers(set(0, 1), set(0)));
  q.push(diffPeers(set(0), set(0, 1)));
  assert.equal(q.take(), null);
});

test('peers on a local interface are marked self', () => {
  const me = localIdentity();
  const p = makePeer({ host: 'web-0.nginx.default.svc.cluster.local', address: '127.0.0.1', port: 80, ttl: 5 }, me);
  assert.equal(p.self, true);
  assert.equal(p.ordinal, 0);
  assert.equal(p.name, 'web-0');
  const q = makePeer({ host: 'web-1.nginx.default.svc.cluster.local', address: '127.1.0.9', port: 80, ttl: 5 }, me);
  assert.equal(q.self, false);
});

test('updates merge: an added peer updated while unread stays added with its new details; removed then back changed is updated', () => {
  const q = new ChangeQueue();
  q.push(diffPeers([], set(0)));
  q.take();
  const draining = makePeer({ host: 'web-1.nginx.default.svc.cluster.local.', address: '127.1.0.2', port: 80, ttl: 5, ready: false, terminating: true }, self);
  q.push(diffPeers(set(0), set(0, 1)));
  q.push(diffPeers(set(0, 1), normalizePeers([pod(0), draining])));
  const change = q.take()!;
  assert.deepEqual(change.added, [draining]);
  assert.deepEqual(change.updated, []);
  q.push(diffPeers(normalizePeers([pod(0), draining]), set(0)));
  q.push(diffPeers(set(0), set(0, 1)));
  const back = q.take()!;
  assert.deepEqual(back.added, []);
  assert.deepEqual(back.removed, []);
  assert.deepEqual(names(back.updated), ['web-1']);
  assert.equal(back.updated[0]!.terminating, false);
});

test('diffPeers: same key with new conditions is updated, a TTL countdown is not; peers are frozen', () => {
  const ready = pod(1);
  const older = makePeer({ host: 'web-1.nginx.default.svc.cluster.local.', address: '127.1.0.2', port: 80, ttl: 1 }, self);
  assert.ok(Object.isFrozen(ready));
  assert.deepEqual(diffPeers([ready], [older]), { peers: [older], added: [], removed: [], updated: [] });
  const terminating = makePeer({ host: 'web-1.nginx.default.svc.cluster.local.', address: '127.1.0.2', port: 80, ttl: 0, ready: false, serving: true, terminating: true, zone: 'a' }, self);
  assert.deepEqual(diffPeers([ready], [terminating]).updated, [terminating]);
  assert.deepEqual([ready.ready, ready.serving, ready.terminating, ready.zone, ready.nodeName, ready.pod], [true, true, false, null, null, null]);
});
