import { EventEmitter } from 'node:events';
import { DnsError, DnsErrorCode } from '../dns/errors.js';
import type { EndpointSliceWatch } from '../kubernetes/source.js';
import { ChangeQueue } from './change-queue.js';
import { DnsPoller } from './dns-poller.js';
import { LoopRegistry } from './loop.js';
import type { LoopSubscriber, ResolutionLoop } from './loop.js';
import { checkDuration, checkFamily, checkPort, checkProtocol } from './options.js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import type { Peer, PeerChange } from '../peer/index.js';
import { createClient, kubernetesSourceOptions } from './resolve.js';
import type { PeersOptions } from './resolve.js';
import type { PeerSink, PeerSource } from './source.js';

/** Options of {@link watchPeers}: those of `peers()` plus the polling bounds. */
export interface WatchPeersOptions extends PeersOptions {
  /** Shortest time between two polls, ms (default 1000). Also the first retry delay. */
  minInterval?: number;
  /** Longest time between two polls and cap of the error backoff, ms (default 30000). */
  maxInterval?: number;
}

/** Events of a {@link PeerWatcher}. */
export interface PeerWatcherEvents {
  change: [change: PeerChange];
  error: [error: Error];
  close: [];
}

const registry = new LoopRegistry();

/** Number of resolution loops running in this process (watchers of the same service and options share one). */
export function activeWatchLoops(): number {
  return registry.size;
}

/**
 * A live peer set. Emits `change` (PeerChange), `error` (the set is kept; emitted only
 * when someone listens, so an unhandled error never crashes the process) and `close`;
 * iterate it with `for await` to get the current set first, then every change.
 */
export class PeerWatcher extends EventEmitter<PeerWatcherEvents> implements AsyncIterable<PeerChange> {
  /** Aborted when the watcher closes. */
  readonly signal: AbortSignal;
  readonly #abort = new AbortController();
  readonly #loop: ResolutionLoop;
  readonly #queues = new Set<ChangeQueue>();
  readonly #wakers = new Map<ChangeQueue, () => void>();
  readonly #subscriber: LoopSubscriber;
  readonly #userSignal: AbortSignal | undefined;
  readonly #onUserAbort = (): void => this.close();

  /** @internal Use {@link watchPeers}. */
  constructor(loop: ResolutionLoop, userSignal: AbortSignal | undefined) {
    super();
    this.signal = this.#abort.signal;
    this.#loop = loop;
    this.#subscriber = {
      onChange: (change) => this.#deliver(change),
      onError: (error) => {
        if (this.listenerCount('error') > 0) this.emit('error', error);
      },
    };
    loop.subscribe(this.#subscriber);
    if (loop.known) {
      // Joined a loop that already has a set: this watcher's first change is that set.
      const initial: PeerChange = { peers: loop.peers, added: loop.peers, removed: [], updated: [] };
      queueMicrotask(() => {
        if (!this.signal.aborted) this.#deliver(initial);
      });
    }
    this.#userSignal = userSignal;
    if (userSignal?.aborted) queueMicrotask(() => this.close());
    else userSignal?.addEventListener('abort', this.#onUserAbort, { once: true });
  }

  /** The last known good set (empty before the first resolution). */
  get peers(): Peer[] {
    return this.#loop.peers;
  }

  /** Resolves with the first successful resolution; rejects ECANCELLED if closed before. */
  get ready(): Promise<Peer[]> {
    return this.#loop.firstSet;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.signal.aborted;
  }

  /** Resolves now (DNS) instead of waiting for the next poll; resolves with the set after. */
  async refresh(): Promise<Peer[]> {
    if (this.closed) throw cancelled('refresh() on a closed watcher');
    return this.#loop.refresh();
  }

  /** Stops this watcher: ends its iterators, emits `close`. The shared loop stops with its last watcher. */
  close(): void {
    if (this.closed) return;
    this.#abort.abort();
    this.#userSignal?.removeEventListener('abort', this.#onUserAbort);
    this.#loop.unsubscribe(this.#subscriber, cancelled('the watcher was closed before its first resolution'));
    for (const wake of this.#wakers.values()) wake();
    this.#wakers.clear();
    this.#queues.clear();
    this.emit('close');
  }

  /** Each iterator yields the current set first (all `added`), then every change, merged while unread. */
  [Symbol.asyncIterator](): AsyncIterator<PeerChange> {
    const queue = new ChangeQueue();
    if (this.#loop.known) queue.push({ peers: this.#loop.peers, added: this.#loop.peers, removed: [], updated: [] });
    this.#queues.add(queue);
    const done = (): IteratorResult<PeerChange> => {
      this.#queues.delete(queue);
      this.#wakers.delete(queue);
      return { done: true, value: undefined };
    };
    return {
      next: async (): Promise<IteratorResult<PeerChange>> => {
        for (;;) {
          if (this.closed || !this.#queues.has(queue)) return done();
          const change = queue.take();
          if (change) return { done: false, value: change };
          await new Promise<void>((resolve) => this.#wakers.set(queue, resolve));
        }
      },
      return: async (): Promise<IteratorResult<PeerChange>> => {
        const waker = this.#wakers.get(queue);
        const result = done();
        waker?.();
        return result;
      },
    };
  }

  #deliver(change: PeerChange): void {
    for (const queue of this.#queues) {
      queue.push(change);
      const wake = this.#wakers.get(queue);
      if (wake) {
        this.#wakers.delete(queue);
        wake();
      }
    }
    this.emit('change', change);
  }
}

function cancelled(message: string): DnsError {
  return new DnsError(DnsErrorCode.CANCELLED, message);
}

/**
 * Watches a Service's peer set. Watchers of the same service and options share one loop.
 *
 * ```ts
 * for await (const { added, removed } of watchPeers('nginx', { port: 'web' })) { ... }
 * ```
 */
export function watchPeers(service: string, options: WatchPeersOptions = {}): PeerWatcher {
  const minInterval = checkDuration('minInterval', options.minInterval, 1000);
  const maxInterval = checkDuration('maxInterval', options.maxInterval, 30_000);
  if (maxInterval < minInterval) throw new InvalidArgumentError('maxInterval', maxInterval, `>= minInterval (${minInterval})`);
  checkPort(options.port);
  checkProtocol(options.protocol);
  checkFamily(options.family);
  const loop = registry.acquire(loopKey(service, options), () => createSource(service, options, { minInterval, maxInterval }));
  return new PeerWatcher(loop, options.signal);
}

function createSource(service: string, options: WatchPeersOptions, intervals: { minInterval: number; maxInterval: number }): PeerSource {
  if (options.source === 'kubernetes') return new KubernetesSource(service, options, intervals);
  const client = options.client ?? createClient(options);
  return new DnsPoller(client, client !== options.client, service, options, intervals);
}

/** Adapts the EndpointSlice watch to a PeerSource. */
class KubernetesSource implements PeerSource {
  #watch: EndpointSliceWatch | null = null;
  #closed = false;
  readonly #service: string;
  readonly #options: WatchPeersOptions;
  readonly #intervals: { minInterval: number; maxInterval: number };

  constructor(service: string, options: WatchPeersOptions, intervals: { minInterval: number; maxInterval: number }) {
    this.#service = service;
    this.#options = options;
    this.#intervals = intervals;
  }

  start(sink: PeerSink): void {
    // Loaded on demand: DNS-only users never load the API client (undici).
    import('../kubernetes/source.js').then(
      (api) => this.#startWatch(api.EndpointSliceWatch, sink),
      (error: Error) => sink.fail(error),
    );
  }

  #startWatch(Watch: typeof EndpointSliceWatch, sink: PeerSink): void {
    if (this.#closed) return;
    const o = this.#options;
    this.#watch = new Watch(
      {
        ...kubernetesSourceOptions(this.#service, o),
        minBackoff: this.#intervals.minInterval,
        maxBackoff: this.#intervals.maxInterval,
      },
      { onPeers: (peers, change, since) => sink.update(peers, { change, since }), onError: (error) => sink.fail(error) },
    );
    this.#watch.start();
  }

  // The API pushes every change: there is nothing to ask now.
  async refresh(): Promise<void> {}

  close(): void {
    this.#closed = true;
    this.#watch?.close();
  }
}

// Objects in options (a shared client, Kubernetes config) are keyed by identity.
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function idOf(value: object): number {
  let id = objectIds.get(value);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(value, id);
  }
  return id;
}

/** What makes two watchers share a loop: the service and every option that changes the answer. */
export function loopKey(service: string, options: WatchPeersOptions): string {
  return JSON.stringify([
    service,
    options.source ?? 'dns',
    checkPort(options.port),
    checkProtocol(options.protocol),
    options.namespace ?? null,
    options.clusterDomain ?? null,
    checkFamily(options.family),
    options.servers ?? null,
    options.timeout ?? null,
    options.attempts ?? null,
    options.resolvConf ?? null,
    options.allowEmpty ?? false,
    options.includeNotReady ?? false,
    options.minInterval ?? null,
    options.maxInterval ?? null,
    options.client ? idOf(options.client) : null,
    options.kubernetes ? idOf(options.kubernetes) : null,
  ]);
}
