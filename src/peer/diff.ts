import { comparePeers, peerDetailsDiffer, peerKey } from './peer.js';
import type { Peer, PeerChange } from './peer.js';

/**
 * Sorts and removes duplicates (same host, address, port: the first wins). The sort is stable
 * and `comparePeers` is 0 exactly for peers of one key, so duplicates end up side by side,
 * the first one first: no key strings. Sorted runs (a source's usual output) cost one pass.
 */
export function normalizePeers(peers: Iterable<Peer>): Peer[] {
  return normalizeInPlace(Array.isArray(peers) ? (peers as Peer[]).slice() : [...peers]);
}

/** {@link normalizePeers} of an array the caller owns, in place: it is sorted and cut. Returns it. */
export function normalizeInPlace(list: Peer[]): Peer[] {
  if (isNormalized(list)) return list;
  list.sort(comparePeers);
  return dropAdjacentDuplicates(list);
}

/** True when `list` is sorted with no two peers of one key. */
function isNormalized(list: readonly Peer[]): boolean {
  for (let i = 1; i < list.length; i++) if (comparePeers(list[i - 1]!, list[i]!) >= 0) return false;
  return true;
}

/** `sorted` without the later peers of a key (in place; returns it). */
function dropAdjacentDuplicates(sorted: Peer[]): Peer[] {
  let out = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (out > 0 && comparePeers(sorted[out - 1]!, sorted[i]!) === 0) continue;
    sorted[out++] = sorted[i]!;
  }
  sorted.length = out;
  return sorted;
}

/**
 * Merges normalized runs (each sorted, one peer per key) into one normalized set; for a key in
 * several runs, the peer of the first run wins. Pairwise merges: log2(runs) passes, no sort.
 */
export function mergePeerRuns(runs: readonly (readonly Peer[])[]): Peer[] {
  const lined = concatDisjoint(runs);
  if (lined !== null) return lined;
  let level = runs.filter((r) => r.length > 0);
  // Left before right at every level: the earlier run's peer wins.
  while (level.length > 1) {
    const next: (readonly Peer[])[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? mergeTwo(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!.slice();
}

/**
 * Normalized runs that do not overlap (each one's last peer before the next one's first, once
 * put in order of their first peers), as one normalized array; null when they overlap. The slices
 * of a StatefulSet hold ranges of ordinals, which line up like this; disjoint runs hold no key
 * twice, so which one wins does not arise.
 */
export function concatDisjoint(runs: readonly (readonly Peer[])[]): Peer[] | null {
  const byFirst = runs.filter((r) => r.length > 0).sort((a, b) => comparePeers(a[0]!, b[0]!));
  for (let i = 1; i < byFirst.length; i++) {
    const prev = byFirst[i - 1]!;
    if (comparePeers(prev[prev.length - 1]!, byFirst[i]![0]!) >= 0) return null;
  }
  return concat(byFirst);
}

/** Runs that follow each other, as one array. */
function concat(runs: readonly (readonly Peer[])[]): Peer[] {
  let size = 0;
  for (const r of runs) size += r.length;
  const out = new Array<Peer>(size);
  let n = 0;
  for (const r of runs) for (let i = 0; i < r.length; i++) out[n++] = r[i]!;
  return out;
}

/** One normalized set from two; `a`'s peer wins a key both hold. */
function mergeTwo(a: readonly Peer[], b: readonly Peer[]): Peer[] {
  const out: Peer[] = new Array<Peer>(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  // Disjoint runs in order (slices of consecutive pods): one comparison, then copies.
  if (a.length > 0 && b.length > 0 && comparePeers(a[a.length - 1]!, b[0]!) < 0) {
    for (const p of a) out[n++] = p;
    for (const p of b) out[n++] = p;
    return out;
  }
  while (i < a.length && j < b.length) {
    const c = comparePeers(a[i]!, b[j]!);
    if (c < 0) out[n++] = a[i++]!;
    else if (c > 0) out[n++] = b[j++]!;
    else {
      out[n++] = a[i++]!;
      j++;
    }
  }
  while (i < a.length) out[n++] = a[i++]!;
  while (j < b.length) out[n++] = b[j++]!;
  out.length = n;
  return out;
}

/**
 * The difference from `before` to `after` (both normalized). A peer whose key is in both is
 * `updated` when its details differ ({@link peerDetailsDiffer}); a TTL that differs is no change.
 * One merge walk over the two sorted sets: no key strings, no maps.
 */
export function diffPeers(before: readonly Peer[], after: readonly Peer[]): PeerChange {
  if (!isNormalized(before) || !isNormalized(after)) return diffByKey(before, after);
  const added: Peer[] = [];
  const removed: Peer[] = [];
  const updated: Peer[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const b = before[i];
    const a = after[j];
    const c = b === undefined ? 1 : a === undefined ? -1 : comparePeers(b, a);
    if (c === 0) {
      if (b !== a && peerDetailsDiffer(b!, a!)) updated.push(a!);
      i++;
      j++;
    } else if (c < 0) {
      removed.push(b!);
      i++;
    } else {
      added.push(a!);
      j++;
    }
  }
  return { peers: after.slice(), added, removed, updated };
}

/** {@link diffPeers} for sets that are not sorted: by key. */
function diffByKey(before: readonly Peer[], after: readonly Peer[]): PeerChange {
  const beforeByKey = new Map<string, Peer>();
  for (const p of before) {
    const key = peerKey(p);
    if (!beforeByKey.has(key)) beforeByKey.set(key, p);
  }
  const afterKeys = new Set<string>();
  const added: Peer[] = [];
  const updated: Peer[] = [];
  for (const p of after) {
    const key = peerKey(p);
    if (afterKeys.has(key)) continue;
    afterKeys.add(key);
    const old = beforeByKey.get(key);
    if (old === undefined) added.push(p);
    else if (old !== p && peerDetailsDiffer(old, p)) updated.push(p);
  }
  return { peers: after.slice(), added, removed: [...beforeByKey.values()].filter((p) => !afterKeys.has(peerKey(p))), updated };
}

/** True when a change has nothing added, removed or updated. */
export function isEmptyChange(change: PeerChange): boolean {
  return change.added.length === 0 && change.removed.length === 0 && change.updated.length === 0;
}
