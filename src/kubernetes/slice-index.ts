import { comparePeers, concatDisjoint, diffPeers, isEmptyChange, peerDetailsDiffer, peerKey } from '../peer/index.js';
import type { Peer, PeerChange, SelfIdentity } from '../peer/index.js';
import { slicePeers } from './endpoint-slices.js';
import type { EndpointSlice, SlicePeerOptions, StringPool } from './endpoint-slices.js';

/** What one update did to the union of a Service's peers. */
export type PeerDelta = Omit<PeerChange, 'peers'>;

interface IndexedSlice {
  resourceVersion: string | undefined;
  /** Normalized (sorted, one per key). */
  peers: Peer[];
}

/** An edit of the sorted union: `peer` leaves, enters, or takes the place of the one with its key. */
interface Edit {
  op: 'remove' | 'insert' | 'replace';
  peer: Peer;
}

/** A relist fed page by page (see {@link EndpointSliceIndex.beginReplace}). */
export interface SliceReplacement {
  /** Takes one page of the list: each slice's peers are computed now. */
  add(slices: Iterable<EndpointSlice>): void;
  /** Takes back a slice added before (a watch-list's DELETED event): it is not in the new set. */
  remove(name: string): void;
  /** Replaces every slice with those added; returns what changed in the union, or null. */
  end(): PeerDelta | null;
}

/** Above this many edits, the union is rebuilt in one merge pass instead of spliced edit by edit. */
const SPLICE_LIMIT = 32;

/** Index of the peer with `peer`'s key in the sorted `list`, or `-(insertion point) - 1`. */
function search(list: readonly Peer[], peer: Peer): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = comparePeers(list[mid]!, peer);
    if (c < 0) lo = mid + 1;
    else if (c > 0) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

/**
 * The peers of a Service's slices, kept per slice and as one sorted union. A watch event
 * for one slice costs work in proportion to that slice: its old and new peers are diffed,
 * and what changed is spliced into the union (binary search; no re-sort, no full diff).
 * Unchanged peers keep their objects. A relist rebuilds the union once.
 */
export class EndpointSliceIndex {
  readonly #options: SlicePeerOptions;
  readonly #self: SelfIdentity;
  readonly #slices = new Map<string, IndexedSlice>();
  /** Sorted union, one peer per key: the peer of the first slice that holds the key. */
  #union: Peer[] = [];
  /** Keys held by more than one slice (a pod moving between slices): each holder's peer, in slice order. */
  #shared = new Map<string, Peer[]>();
  #recomputed = 0;
  /** Node names and zones, one string each for all peers; started afresh at each relist so it cannot grow forever. */
  #pool: StringPool = new Map();

  constructor(options: SlicePeerOptions, self: SelfIdentity) {
    this.#options = options;
    this.#self = self;
  }

  /** How many times a slice's peers were computed (for tests and diagnostics). */
  get recomputed(): number {
    return this.#recomputed;
  }

  /** Number of slices held. */
  get size(): number {
    return this.#slices.size;
  }

  /** Names of the slices held. */
  get names(): string[] {
    return [...this.#slices.keys()];
  }

  /** The peers of one slice, or undefined. */
  peersOf(name: string): readonly Peer[] | undefined {
    return this.#slices.get(name)?.peers;
  }

  /**
   * The normalized union of every slice's peers. The index's own array: a change of a few
   * peers is spliced into it in place, so whoever hands it out copies it first.
   */
  get peers(): readonly Peer[] {
    return this.#union;
  }

  /** Adds or replaces a slice (ADDED, MODIFIED). Returns what changed in the union, or null. */
  set(slice: EndpointSlice): PeerDelta | null {
    const name = slice.metadata.name;
    const before = this.#slices.get(name);
    const peers = this.#compute(slice, before);
    if (peers === null) return null;
    const old = before?.peers ?? [];
    this.#slices.set(name, { resourceVersion: slice.metadata.resourceVersion, peers });
    return this.#update(old, peers);
  }

  /** Removes a slice (DELETED). Returns what changed in the union, or null. */
  delete(name: string): PeerDelta | null {
    const before = this.#slices.get(name);
    if (!before) return null;
    this.#slices.delete(name);
    return this.#update(before.peers, []);
  }

  /** Replaces every slice with a fresh list (after a relist); the union is rebuilt once. Returns what changed, or null. */
  replace(slices: Iterable<EndpointSlice>): PeerDelta | null {
    const relist = this.beginReplace();
    relist.add(slices);
    return relist.end();
  }

  /**
   * A relist that arrives in pages: `add` each page's slices as it comes (their peers are
   * computed at once, the slices are not kept), then `end()` replaces every slice as
   * {@link replace} does and returns what changed. Nothing changes before `end()`: a relist
   * given up midway is just dropped.
   */
  beginReplace(): SliceReplacement {
    // Per listed name: its new entry, or null when its peers did not change.
    const listed = new Map<string, IndexedSlice | null>();
    this.#pool = new Map();
    return {
      add: (slices) => {
        for (const slice of slices) {
          const name = slice.metadata.name;
          const peers = this.#compute(slice, this.#slices.get(name));
          listed.set(name, peers === null ? null : { resourceVersion: slice.metadata.resourceVersion, peers });
        }
      },
      remove: (name) => void listed.delete(name),
      end: () => this.#commit(listed),
    };
  }

  #commit(listed: ReadonlyMap<string, IndexedSlice | null>): PeerDelta | null {
    let touched = false;
    for (const [name, entry] of listed) {
      if (entry === null) continue;
      this.#slices.set(name, entry);
      touched = true;
    }
    for (const name of [...this.#slices.keys()]) {
      if (listed.has(name)) continue;
      this.#slices.delete(name);
      touched = true;
    }
    if (!touched) return null;
    const old = this.#union;
    this.#rebuild();
    const { peers: _, ...delta } = diffPeers(old, this.#union);
    if (isEmptyChange({ peers: [], ...delta })) {
      this.#union = old;
      return null;
    }
    return delta;
  }

  /** The slice's new peers, with unchanged ones as the old objects; null when nothing about them changed. */
  #compute(slice: EndpointSlice, before: IndexedSlice | undefined): Peer[] | null {
    const rv = slice.metadata.resourceVersion;
    // A relist repeats slices the watch already delivered: same version, nothing to compute.
    if (before && rv !== undefined && before.resourceVersion === rv) return null;
    this.#recomputed++;
    const fresh = slicePeers(slice, this.#options, this.#self, this.#pool);
    if (!before) return fresh;
    const old = before.peers;
    let same = old.length === fresh.length;
    for (let i = 0, j = 0; i < fresh.length; i++) {
      // Both sorted by the same order: walk the old list alongside.
      while (j < old.length && comparePeers(old[j]!, fresh[i]!) < 0) j++;
      const o = old[j];
      if (o !== undefined && comparePeers(o, fresh[i]!) === 0 && !peerDetailsDiffer(o, fresh[i]!)) fresh[i] = o;
      else same = false;
    }
    if (same) {
      before.resourceVersion = rv;
      return null;
    }
    return fresh;
  }

  /** Applies one slice's change from `old` to `fresh` (both sorted) to the union. */
  #update(old: readonly Peer[], fresh: readonly Peer[]): PeerDelta | null {
    const delta: PeerDelta = { added: [], removed: [], updated: [] };
    const edits: Edit[] = [];
    let i = 0;
    let j = 0;
    while (i < old.length || j < fresh.length) {
      const o = old[i];
      const f = fresh[j];
      const c = o === undefined ? 1 : f === undefined ? -1 : comparePeers(o, f);
      if (c === 0) {
        i++;
        j++;
        if (o !== f) this.#replaceHolder(o!, f!, edits, delta);
      } else if (c < 0) {
        i++;
        this.#removeHolder(o!, edits, delta);
      } else {
        j++;
        this.#addHolder(f!, edits, delta);
      }
    }
    if (edits.length === 0) return null;
    if (edits.length <= SPLICE_LIMIT) spliceInPlace(this.#union, edits);
    else this.#union = merge(this.#union, edits);
    return isEmptyChange({ peers: [], ...delta }) ? null : delta;
  }

  #removeHolder(peer: Peer, edits: Edit[], delta: PeerDelta): void {
    const key = this.#shared.size === 0 ? '' : peerKey(peer);
    const holders = this.#shared.get(key);
    if (holders === undefined) {
      edits.push({ op: 'remove', peer });
      delta.removed.push(peer);
      return;
    }
    const at = holders.indexOf(peer);
    if (at < 0) return;
    holders.splice(at, 1);
    if (holders.length === 1) this.#shared.delete(key);
    if (at === 0) this.#represent(peer, holders[0]!, edits, delta);
  }

  #addHolder(peer: Peer, edits: Edit[], delta: PeerDelta): void {
    const at = search(this.#union, peer);
    if (at < 0) {
      edits.push({ op: 'insert', peer });
      delta.added.push(peer);
      return;
    }
    // Another slice holds this key already (a pod moving between slices): that one stays the face.
    const key = peerKey(peer);
    const holders = this.#shared.get(key);
    if (holders) holders.push(peer);
    else this.#shared.set(key, [this.#union[at]!, peer]);
  }

  #replaceHolder(old: Peer, peer: Peer, edits: Edit[], delta: PeerDelta): void {
    const holders = this.#shared.size === 0 ? undefined : this.#shared.get(peerKey(old));
    if (holders !== undefined) {
      const at = holders.indexOf(old);
      if (at >= 0) holders[at] = peer;
      if (at !== 0) return;
    }
    this.#represent(old, peer, edits, delta);
  }

  /** The union's peer for a key becomes `peer` instead of `old`. */
  #represent(old: Peer, peer: Peer, edits: Edit[], delta: PeerDelta): void {
    edits.push({ op: 'replace', peer });
    if (peerDetailsDiffer(old, peer)) delta.updated.push(peer);
  }

  /** Builds the union and the shared keys from every slice (after a relist). */
  #rebuild(): void {
    const runs: Peer[][] = [];
    for (const s of this.#slices.values()) runs.push(s.peers);
    const lined = concatDisjoint(runs);
    if (lined !== null) {
      this.#union = lined;
      this.#shared = new Map();
      return;
    }
    const all: Peer[] = [];
    for (const run of runs) for (const p of run) all.push(p);
    // Stable: for a key held twice, the first slice's peer stays first.
    all.sort(comparePeers);
    const union: Peer[] = [];
    const shared = new Map<string, Peer[]>();
    for (let i = 0; i < all.length; ) {
      let end = i + 1;
      while (end < all.length && comparePeers(all[i]!, all[end]!) === 0) end++;
      union.push(all[i]!);
      if (end - i > 1) shared.set(peerKey(all[i]!), all.slice(i, end));
      i = end;
    }
    this.#union = union;
    this.#shared = shared;
  }
}

/**
 * A few edits made to `out` itself, each placed by binary search: no copy of a large set for
 * a one-pod change (the union is the index's own; see {@link EndpointSliceIndex.peers}).
 */
function spliceInPlace(out: Peer[], edits: readonly Edit[]): void {
  for (const { op, peer } of edits) {
    const at = search(out, peer);
    if (op === 'insert') {
      if (at < 0) out.splice(-at - 1, 0, peer);
    } else if (at >= 0) {
      if (op === 'remove') out.splice(at, 1);
      else out[at] = peer;
    }
  }
}

/** `union` with many edits, in one pass: the edits sorted, then merged in. */
function merge(union: readonly Peer[], edits: Edit[]): Peer[] {
  edits.sort((a, b) => comparePeers(a.peer, b.peer));
  const out: Peer[] = [];
  let e = 0;
  for (const peer of union) {
    // Inserts before this peer go in; an edit of a key the union lacks is dropped.
    for (let next = edits[e]; next !== undefined && comparePeers(next.peer, peer) < 0; next = edits[++e]) {
      if (next.op === 'insert') out.push(next.peer);
    }
    const edit = edits[e];
    if (edit !== undefined && edit.op !== 'insert' && comparePeers(edit.peer, peer) === 0) {
      e++;
      if (edit.op === 'replace') out.push(edit.peer);
    } else {
      out.push(peer);
    }
  }
  for (; e < edits.length; e++) if (edits[e]!.op === 'insert') out.push(edits[e]!.peer);
  return out;
}
