import { comparePeers } from '../peer/index.js';
import type { Peer } from '../peer/index.js';

/**
 * Merges sorted, de-duplicated runs of peers (each one page's peers) into one sorted set: a
 * k-way merge by {@link comparePeers}, where of equal keys the one of the earliest run is
 * kept, as {@link normalizePeers} keeps the first of a list. O(n log k).
 */
export function mergePeerRuns(runs: readonly (readonly Peer[])[]): Peer[] {
  const live = runs.filter((run) => run.length > 0);
  if (live.length === 0) return [];
  if (live.length === 1) return live[0]!.slice();
  // A binary heap of run indexes, ordered by each run's head, then by run (earliest wins a tie).
  const at = new Array<number>(live.length).fill(0);
  const heap = live.map((_, i) => i);
  const less = (a: number, b: number): boolean => {
    const c = comparePeers(live[a]![at[a]!]!, live[b]![at[b]!]!);
    return c < 0 || (c === 0 && a < b);
  };
  const down = (from: number): void => {
    for (let i = from; ; ) {
      const l = 2 * i + 1;
      if (l >= heap.length) return;
      const r = l + 1;
      const child = r < heap.length && less(heap[r]!, heap[l]!) ? r : l;
      if (!less(heap[child]!, heap[i]!)) return;
      [heap[i], heap[child]] = [heap[child]!, heap[i]!];
      i = child;
    }
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  const out: Peer[] = [];
  let last: Peer | undefined;
  while (heap.length > 0) {
    const run = heap[0]!;
    const peer = live[run]![at[run]!]!;
    if (last === undefined || comparePeers(last, peer) !== 0) {
      out.push(peer);
      last = peer;
    }
    if (++at[run]! < live[run]!.length) down(0);
    else {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
      down(0);
    }
  }
  return out;
}
