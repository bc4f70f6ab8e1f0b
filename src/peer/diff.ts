import { comparePeers, peerDetailsDiffer, peerKey } from './peer.js';
import type { Peer, PeerChange } from './peer.js';

/** Sorts and removes duplicates (same host, address, port: the first wins). */
export function normalizePeers(peers: Iterable<Peer>): Peer[] {
  const seen = new Map<string, Peer>();
  for (const p of peers) {
    const k = peerKey(p);
    if (!seen.has(k)) seen.set(k, p);
  }
  return [...seen.values()].sort(comparePeers);
}

/**
 * The difference from `before` to `after` (both normalized). A peer whose key is in both is
 * `updated` when its details differ ({@link peerDetailsDiffer}); a TTL that differs is no change.
 */
export function diffPeers(before: readonly Peer[], after: readonly Peer[]): PeerChange {
  const beforeByKey = new Map<string, Peer>();
  for (const p of before) beforeByKey.set(peerKey(p), p);
  const afterKeys = new Set<string>();
  const added: Peer[] = [];
  const updated: Peer[] = [];
  for (const p of after) {
    const key = peerKey(p);
    afterKeys.add(key);
    const old = beforeByKey.get(key);
    if (old === undefined) added.push(p);
    else if (old !== p && peerDetailsDiffer(old, p)) updated.push(p);
  }
  return { peers: [...after], added, removed: before.filter((p) => !afterKeys.has(peerKey(p))), updated };
}

/** True when a change has nothing added, removed or updated. */
export function isEmptyChange(change: PeerChange): boolean {
  return change.added.length === 0 && change.removed.length === 0 && change.updated.length === 0;
}
