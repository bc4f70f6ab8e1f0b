import type { Peer, PeerChange } from '../peer/index.js';

/** Where a resolution loop sends what a source finds. */
export interface PeerSink {
  /**
   * The whole current set (normalized). `known`, when the source knows it, is the change
   * from the array `since` (the `peers` it gave last): a sink still holding that very array
   * need not diff the whole set.
   */
  update(peers: Peer[], known?: { change: PeerChange; since: Peer[] | null }): void;
  /** A failure; the last good set stays. */
  fail(error: Error): void;
}

/** Which source gives a watcher its peers. */
export type PeerSourceKind = 'dns' | 'kubernetes';

/** A source of peer sets: DNS polling or the Kubernetes watch. */
export interface PeerSource {
  /** The source in use (`auto` decides after its first list: null until then). */
  readonly kind?: PeerSourceKind | null;
  start(sink: PeerSink): void;
  /** Resolves now (DNS) or returns when the current set is known (API); resolves when done. */
  refresh(): Promise<void>;
  close(): void;
}
