import { diffPeers, isEmptyChange } from '../peer/index.js';
import type { Peer, PeerChange } from '../peer/index.js';
import type { PeerSink, PeerSource, PeerSourceKind } from './source.js';

/** What a loop tells each watcher that shares it. */
export interface LoopSubscriber {
  onChange(change: PeerChange): void;
  onError(error: Error): void;
}

/**
 * One resolution loop for one (service, options): it owns the source and the last good
 * set, and fans changes out to every watcher that shares it.
 */
export class ResolutionLoop implements PeerSink {
  readonly #source: PeerSource;
  readonly #subscribers = new Set<LoopSubscriber>();
  readonly #onIdle: () => void;
  #peers: Peer[] = [];
  #known = false;
  #closed = false;
  readonly #firstSet: Promise<Peer[]>;
  #resolveFirst!: (peers: Peer[]) => void;
  #rejectFirst!: (error: Error) => void;

  constructor(source: PeerSource, onIdle: () => void) {
    this.#source = source;
    this.#onIdle = onIdle;
    this.#firstSet = new Promise<Peer[]>((resolve, reject) => {
      this.#resolveFirst = resolve;
      this.#rejectFirst = reject;
    });
    // Nobody may be awaiting it when the loop closes: that is not an unhandled rejection.
    this.#firstSet.catch(() => {});
    source.start(this);
  }

  /** The last good set (empty before the first). */
  get peers(): Peer[] {
    return this.#peers;
  }

  /** The source in use, when the source says (null while `auto` decides). */
  get sourceKind(): PeerSourceKind | null {
    return this.#source.kind ?? null;
  }

  /** True once a set is known. */
  get known(): boolean {
    return this.#known;
  }

  /** Resolves with the first set; rejects if the loop closes before. */
  get firstSet(): Promise<Peer[]> {
    return this.#firstSet;
  }

  subscribe(subscriber: LoopSubscriber): void {
    this.#subscribers.add(subscriber);
  }

  /** Removes a subscriber; the last one out closes the loop. */
  unsubscribe(subscriber: LoopSubscriber, error: Error): void {
    this.#subscribers.delete(subscriber);
    if (this.#subscribers.size === 0 && !this.#closed) {
      this.#closed = true;
      this.#source.close();
      this.#rejectFirst(error);
      this.#onIdle();
    }
  }

  async refresh(): Promise<Peer[]> {
    await this.#source.refresh();
    return this.#peers;
  }

  update(peers: Peer[], known?: { change: PeerChange; since: Peer[] | null }): void {
    if (this.#closed) return;
    // The API source knows its change from the one slice that changed: no second full-set diff.
    const change = known && known.since === this.#peers ? known.change : diffPeers(this.#peers, peers);
    const first = !this.#known;
    // Kept as given when the source tracks it: its next `since` is then this very array.
    this.#peers = known ? peers : change.peers;
    if (first) {
      this.#known = true;
      this.#resolveFirst(this.#peers);
    } else if (isEmptyChange(change)) {
      return;
    }
    for (const s of [...this.#subscribers]) deliver(() => s.onChange(change));
  }

  fail(error: Error): void {
    if (this.#closed) return;
    for (const s of [...this.#subscribers]) deliver(() => s.onError(error));
  }
}

/**
 * Calls a subscriber. A listener that throws must not stop the others nor be taken for a
 * resolution failure: its error is rethrown on its own tick, as an EventEmitter listener's
 * error in a timer callback would be.
 */
function deliver(call: () => void): void {
  try {
    call();
  } catch (error) {
    process.nextTick(() => {
      throw error;
    });
  }
}

/** Live loops by key, so that watchers of the same service and options share one. */
export class LoopRegistry {
  readonly #loops = new Map<string, ResolutionLoop>();

  /** The loop for `key`, created with `createSource` when there is none. */
  acquire(key: string, createSource: () => PeerSource): ResolutionLoop {
    let loop = this.#loops.get(key);
    if (!loop) {
      const created: ResolutionLoop = new ResolutionLoop(createSource(), () => {
        if (this.#loops.get(key) === created) this.#loops.delete(key);
      });
      loop = created;
      this.#loops.set(key, loop);
    }
    return loop;
  }

  /** Number of live loops. */
  get size(): number {
    return this.#loops.size;
  }
}
