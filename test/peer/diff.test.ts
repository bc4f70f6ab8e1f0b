import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { comparePeers, diffPeers, makePeer, mergePeerRuns, normalizePeers, peerKey } from '../../src/peer/index.ts';
import type { Peer } from '../../src/peer/index.ts';

const nobody = { addresses: new Set<string>(), hostname: 'nobody' };
const peer = (i: number, extra: { ready?: boolean; port?: number } = {}): Peer =>
  makePeer({ host: `web-${i}.db.default.svc.cluster.local`, address: `10.0.0.${i}`, port: extra.port ?? 80, ttl: 5, ready: extra.ready ?? true }, nobody);

/** The reference: by key strings, as the diff was first written. */
function diffByKeys(before: readonly Peer[], after: readonly Peer[]): { added: string[]; removed: string[]; updated: string[] } {
  const b = new Map(before.map((p) => [peerKey(p), p]));
  const a = new Map(after.map((p) => [peerKey(p), p]));
  return {
    added: [...a.keys()].filter((k) => !b.has(k)),
    removed: [...b.keys()].filter((k) => !a.has(k)),
    updated: [...a.keys()].filter((k) => b.has(k) && b.get(k)!.ready !== a.get(k)!.ready),
  };
}

describe('peer sets', () => {
  test('normalizePeers: sorted, one per key, the first of a key wins', () => {
    const first = peer(2);
    const list = normalizePeers([peer(10), first, peer(1), peer(2, { ready: false }), peer(1, { port: 81 })]);
    assert.deepEqual(list.map((p) => `${p.name}:${p.port}`), ['web-1:80', 'web-1:81', 'web-2:80', 'web-10:80']);
    assert.equal(list[2], first);
  });

  test('diffPeers of sorted sets equals the diff by key, for random sets', () => {
    let seed = 7;
    const r = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const before = normalizePeers(Array.from({ length: Math.floor(r() * 30) }, () => peer(Math.floor(r() * 40), { ready: r() < 0.5 })));
      const after = normalizePeers(Array.from({ length: Math.floor(r() * 30) }, () => peer(Math.floor(r() * 40), { ready: r() < 0.5 })));
      const d = diffPeers(before, after);
      const want = diffByKeys(before, after);
      assert.deepEqual({ added: d.added.map(peerKey), removed: d.removed.map(peerKey), updated: d.updated.map(peerKey) }, want, `round ${round}`);
      assert.deepEqual(d.peers, after);
      assert.notEqual(d.peers, after);
    }
  });

  test('diffPeers of unsorted sets falls back to keys', () => {
    const d = diffPeers([peer(3), peer(1)], [peer(2), peer(3, { ready: false })]);
    assert.deepEqual(d.added.map((p) => p.name), ['web-2']);
    assert.deepEqual(d.removed.map((p) => p.name), ['web-1']);
    assert.deepEqual(d.updated.map((p) => p.name), ['web-3']);
  });

  test('mergePeerRuns: runs in any order, overlapping or not, give the normalized union; the first run wins a key', () => {
    const a = normalizePeers([peer(1), peer(5), peer(9)]);
    const b = normalizePeers([peer(2), peer(5, { ready: false }), peer(7)]);
    const c = normalizePeers([peer(20), peer(21)]);
    const merged = mergePeerRuns([a, b, [], c]);
    assert.deepEqual(merged.map((p) => p.name), ['web-1', 'web-2', 'web-5', 'web-7', 'web-9', 'web-20', 'web-21']);
    assert.equal(merged.find((p) => p.name === 'web-5'), a[1]);
    assert.deepEqual(mergePeerRuns([]), []);
    const single = [peer(1)];
    assert.notEqual(mergePeerRuns([single]), single);
    for (let i = 1; i < merged.length; i++) assert.ok(comparePeers(merged[i - 1]!, merged[i]!) < 0);
  });
});
