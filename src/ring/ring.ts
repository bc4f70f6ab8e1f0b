import { InvalidArgumentError } from '../dns/invalid-argument.js';
import type { PeerWatcher } from '../discovery/watcher.js';
import { routablePeers } from '../peer/index.js';
import type { Peer, PeerChange } from '../peer/index.js';
import { hashPair, score } from './hash.js';

/** Options of a {@link PeerRing}. */
export interface PeerRingOptions {
  /**
   * A zone to keep owners in: `owner()` picks among the peers of this zone when it has any,
   * and `owners()` lists them first. Peers know their zone from the Kubernetes API source.
   */
  preferZone?: string | null;
  /**
   * Which peers own keys. Default: the routable ones (ready and not terminating; if none,
   * those serving while they terminate), so a draining pod hands its keys on at once.
   */
  filter?: (peers: readonly Peer[]) => readonly Peer[];
  /**
   * A peer's identity in the hash (default `host:port`, or `address:port` without a host):
   * a StatefulSet pod keeps its keys when it comes back with a new address.
   */
  identity?: (peer: Peer) => string;
}

interface Member {
  peer: Peer;
  id: string;
  a: number;
  b: number;
  inZone: boolean;
}

/** `host:port` (or `address:port`): what a peer is to the ring. */
export function defaultIdentity(peer: Peer): string {
  return `${peer.host ?? peer.address}:${peer.port ?? ''}`;
}

/**
 * Rendezvous (highest random weight) hashing over a peer set: each key goes to the peer with
 * the highest score for it. When a peer leaves, only its keys move (each to its second
 * choice); when one joins, it takes about 1/N of the keys, from every other peer alike.
 *
 * ```ts
 * const ring = new PeerRing(watchPeers('cache', { port: 'memcache' }));
 * const peer = ring.owner('user:42');
 * ```
 * Given a {@link PeerWatcher}, it follows the watcher's changes until {@link close} (which
 * leaves the watcher open: close that yourself). Given an array, call {@link update}.
 */
export class PeerRing {
  readonly #preferZone: string | null;
  readonly #filter: (peers: readonly Peer[]) => readonly Peer[];
  readonly #identity: (peer: Peer) => string;
  readonly #watcher: PeerWatcher | null;
  readonly #onChange = (change: PeerChange): void => this.update(change.peers);
  #members: Member[] = [];
  #zoneCount = 0;

  constructor(source: readonly Peer[] | PeerWatcher, options: PeerRingOptions = {}) {
    const zone = options.preferZone ?? null;
    if (zone !== null && typeof zone !== 'string') throw new InvalidArgumentError('preferZone', zone, 'a zone name or null');
    if (options.filter !== undefined && typeof options.filter !== 'function') throw new InvalidArgumentError('filter', options.filter, 'a function');
    if (options.identity !== undefined && typeof options.identity !== 'function') throw new InvalidArgumentError('identity', options.identity, 'a function');
    this.#preferZone = zone;
    this.#filter = options.filter ?? routablePeers;
    this.#identity = options.identity ?? defaultIdentity;
    if (Array.isArray(source)) {
      this.#watcher = null;
      this.update(source);
    } else if (isWatcher(source)) {
      this.#watcher = source;
      this.update(source.peers);
      source.on('change', this.#onChange);
    } else {
      throw new InvalidArgumentError('source', source, 'an array of peers or a PeerWatcher');
    }
  }

  /** The peers that own keys now, in the set's order. */
  get peers(): Peer[] {
    return this.#members.map((m) => m.peer);
  }

  /** How many peers own keys. */
  get size(): number {
    return this.#members.length;
  }

  /** Replaces the set (done for you when the ring follows a watcher). Peers of the same identity count once. */
  update(peers: readonly Peer[]): void {
    const members: Member[] = [];
    const seen = new Set<string>();
    let zoneCount = 0;
    for (const peer of this.#filter(peers)) {
      const id = this.#identity(peer);
      if (seen.has(id)) continue;
      seen.add(id);
      const [a, b] = hashPair(id);
      const inZone = this.#preferZone !== null && peer.zone === this.#preferZone;
      if (inZone) zoneCount++;
      members.push({ peer, id, a, b, inZone });
    }
    this.#members = members;
    this.#zoneCount = zoneCount;
  }

  /** The peer that owns `key` (in `preferZone` when that zone has peers), or null for an empty set. */
  owner(key: string): Peer | null {
    checkKey(key);
    const members = this.#members;
    const zoneOnly = this.#zoneCount > 0;
    const [ka, kb] = hashPair(key);
    let best: Member | null = null;
    let bestScore = -1;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      if (zoneOnly && !m.inZone) continue;
      const s = score(ka, kb, m.a, m.b);
      if (s > bestScore || (s === bestScore && best !== null && m.id < best.id)) {
        best = m;
        bestScore = s;
      }
    }
    return best === null ? null : best.peer;
  }

  /**
   * The first `n` owners of `key`, best first (fewer when the set is smaller): replicas of
   * a key, or where to go when the owner fails. With `preferZone`, peers of that zone first.
   */
  owners(key: string, n: number): Peer[] {
    checkKey(key);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('n', n, 'an integer >= 0');
    const [ka, kb] = hashPair(key);
    const ranked = this.#members.map((m) => ({ m, s: score(ka, kb, m.a, m.b) }));
    ranked.sort((x, y) => {
      if (x.m.inZone !== y.m.inZone) return x.m.inZone ? -1 : 1;
      if (x.s !== y.s) return y.s - x.s;
      return x.m.id < y.m.id ? -1 : x.m.id > y.m.id ? 1 : 0;
    });
    return ranked.slice(0, n).map((r) => r.m.peer);
  }

  /** Stops following the watcher (the watcher stays open). The ring keeps its last set. */
  close(): void {
    this.#watcher?.off('change', this.#onChange);
  }
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new InvalidArgumentError('key', key, 'a string');
}

function isWatcher(source: unknown): source is PeerWatcher {
  return (
    typeof source === 'object' &&
    source !== null &&
    typeof (source as PeerWatcher).on === 'function' &&
    typeof (source as PeerWatcher).off === 'function' &&
    Array.isArray((source as PeerWatcher).peers)
  );
}
