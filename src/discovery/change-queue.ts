import { comparePeers, peerDetailsDiffer, peerKey } from '../peer/index.js';
import type { Peer, PeerChange } from '../peer/index.js';

/**
 * Changes not yet read by one consumer, merged into one: memory stays bounded by the
 * size of the sets however long the consumer sleeps. A peer added then removed while
 * unread is in neither list; one removed then added back is in neither either (or in
 * `updated` when its details changed meanwhile); an added peer updated later stays added,
 * with its newest details.
 */
export class ChangeQueue {
  #added = new Map<string, Peer>();
  #removed = new Map<string, Peer>();
  #updated = new Map<string, Peer>();
  #peers: Peer[] | null = null;
  #first = true;

  /** Merges a change into what is pending. */
  push(change: PeerChange): void {
    for (const p of change.removed) {
      const k = peerKey(p);
      this.#updated.delete(k);
      if (!this.#added.delete(k)) this.#removed.set(k, p);
    }
    for (const p of change.added) {
      const k = peerKey(p);
      const gone = this.#removed.get(k);
      if (gone === undefined) this.#added.set(k, p);
      else {
        this.#removed.delete(k);
        // Back with other details: for the reader, the peer was updated.
        if (peerDetailsDiffer(gone, p)) this.#updated.set(k, p);
      }
    }
    for (const p of change.updated ?? []) {
      const k = peerKey(p);
      if (this.#added.has(k)) this.#added.set(k, p);
      else this.#updated.set(k, p);
    }
    this.#peers = change.peers;
  }

  /**
   * The merged pending change, or null when there is none. The first change taken is
   * returned even when empty (it is the initial set); later empty merges are skipped.
   */
  take(): PeerChange | null {
    if (this.#peers === null) return null;
    if (!this.#first && this.#added.size === 0 && this.#removed.size === 0 && this.#updated.size === 0) return null;
    const change: PeerChange = {
      peers: this.#peers,
      added: [...this.#added.values()].sort(comparePeers),
      removed: [...this.#removed.values()].sort(comparePeers),
      updated: [...this.#updated.values()].sort(comparePeers),
    };
    this.#added.clear();
    this.#removed.clear();
    this.#updated.clear();
    this.#peers = null;
    this.#first = false;
    return change;
  }

  /** Number of peers held in pending lists (for tests and memory checks). */
  get pendingSize(): number {
    return this.#added.size + this.#removed.size + this.#updated.size;
  }
}
