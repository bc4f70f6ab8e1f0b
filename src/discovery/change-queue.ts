import { comparePeers, peerKey } from './peer.js';
import type { Peer, PeerChange } from './peer.js';

/**
 * Changes not yet read by one consumer, merged into one: memory stays bounded by the
 * size of the sets however long the consumer sleeps. A peer added then removed while
 * unread is in neither list; one removed then added back is in neither either.
 */
export class ChangeQueue {
  #added = new Map<string, Peer>();
  #removed = new Map<string, Peer>();
  #peers: Peer[] | null = null;
  #first = true;

  /** Merges a change into what is pending. */
  push(change: PeerChange): void {
    for (const p of change.removed) {
      const k = peerKey(p);
      if (!this.#added.delete(k)) this.#removed.set(k, p);
    }
    for (const p of change.added) {
      const k = peerKey(p);
      if (!this.#removed.delete(k)) this.#added.set(k, p);
    }
    this.#peers = change.peers;
  }

  /**
   * The merged pending change, or null when there is none. The first change taken is
   * returned even when empty (it is the initial set); later empty merges are skipped.
   */
  take(): PeerChange | null {
    if (this.#peers === null) return null;
    if (!this.#first && this.#added.size === 0 && this.#removed.size === 0) return null;
    const change: PeerChange = {
      peers: this.#peers,
      added: [...this.#added.values()].sort(comparePeers),
      removed: [...this.#removed.values()].sort(comparePeers),
    };
    this.#added.clear();
    this.#removed.clear();
    this.#peers = null;
    this.#first = false;
    return change;
  }

  /** Number of peers held in pending lists (for tests and memory checks). */
  get pendingSize(): number {
    return this.#added.size + this.#removed.size;
  }
}
