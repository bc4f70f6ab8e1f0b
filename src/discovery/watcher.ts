import { EventEmitter } from 'node:events';
import { DnsError, DnsErrorCode } from '../dns/errors.js';
import type { EndpointSliceWatch } from '../kubernetes/source.js';
import { ChangeQueue } from './change-queue.js';
import { DnsPoller } from './dns-poller.js';
import { LoopRegistry } from './loop.js';
import type { LoopSubscriber, ResolutionLoop } from './loop.js';
import { checkDuration, checkFamily, checkOptions, checkPort, checkProtocol } from './options.js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import { KubernetesApiError } from '../kubernetes/errors.js';
import type { Peer, PeerChange } from '../peer/index.js';
import { createClient, kubernetesSourceOptions } from './resolve.js';
import type { PeersOptions } from './resolve.js';
import type { PeerSink, PeerSource, PeerSourceKind } from './source.js';
import { AutoSource } from './auto-source.js';
import { checkApiTimeout, checkKubernetesOptions } from '../kubernetes/check-options.js';
import { loadKubernetesSource } from './kubernetes-module.js';

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

/** The `code` of the process warning emitted for a watcher error that no `error` listener heard. */
export const WATCH_ERROR_WARNING = 'HEADLESS_SD_WATCH_ERROR';

// Error kinds (codes) already warned about in this process: once each, so a retry loop does not flood stderr.
const warned = new Set<string>();

/**
 * True for an error that no retry can fix, so a watcher that never had a set gives up on it:
 * a bad argument (`InvalidArgumentError`), a name that is not a DNS name (`EBADNAME`), and
 * API credentials refused (`EUNAUTHORIZED`, `EFORBIDDEN`) or missing (`ECONFIG`). NXDOMAIN is
 * not one: a Service whose pods are not ready yet answers the same as one that does not exist.
 */
export function isPermanentError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof InvalidArgumentError) return true;
  if (error instanceof DnsError) return code === DnsErrorCode.BADNAME;
  return error instanceof KubernetesApiError && (code === 'EUNAUTHORIZED' || code === 'EFORBIDDEN' || code === 'ECONFIG');
}

/**
 * A live peer set. Emits `change` (PeerChange), `error` (the set is kept) and `close`;
 * iterate it with `for await` to get the current set first, then every change. Leaving the
 * loop (`break`, `return`, a throw) closes the watcher. An error that nobody listens for
 * becomes a process warning (once per error code). An error no retry can fix
 * ({@link isPermanentError}) before the first set closes the watcher: `ready` rejects
 * with it and iterators throw it.
 */
export class PeerWatcher extends EventEmitter<PeerWatcherEvents> implements AsyncIterable<PeerChange> {
  /** Aborted when the watcher closes. */
  readonly signal: AbortSignal;
  readonly #abort = new AbortController();
  readonly #loop: ResolutionLoop;
  readonly #service: string;
  readonly #queues = new Set<ChangeQueue>();
  readonly #wakers = new Map<ChangeQueue, () => void>();
  readonly #subscriber: LoopSubscriber;
  readonly #userSignal: AbortSignal | undefined;
  readonly #onUserAbort = (): void => this.close();
  readonly #ready: Promise<Peer[]>;
  #rejectReady!: (error: Error) => void;
  /** The permanent error that closed the watcher, thrown once by each iterator. */
  #failure: Error | null = null;

  /** @internal Use {@link watchPeers}. */
  constructor(loop: ResolutionLoop, userSignal: AbortSignal | undefined, service = '') {
    super();
    this.signal = this.#abort.signal;
    this.#loop = loop;
    this.#service = service;
    this.#ready = new Promise<Peer[]>((resolve, reject) => {
      this.#rejectReady = reject;
      loop.firstSet.then(resolve, reject);
    });
    // Nobody may be awaiting it: a rejection here is not an unhandled one.
    this.#ready.catch(() => {});
    this.#subscriber = {
      onChange: (change) => this.#deliver(change),
      onError: (error) => this.#fail(error),
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

  /** The source in use: 'dns' or 'kubernetes'; with `source: 'auto'`, null until its first list decides. */
  get source(): PeerSourceKind | null {
    return this.#loop.sourceKind;
  }

  /** The last known good set (empty before the first resolution). */
  get peers(): Peer[] {
    return this.#loop.peers;
  }

  /**
   * Resolves with the first successful resolution. Rejects with the error when one that no
   * retry can fix ends the watcher first, and with `ECANCELLED` when it is closed first.
   */
  get ready(): Promise<Peer[]> {
    return this.#ready;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.signal.aborted;
  }

  /** Resolves now (DNS) instead of waiting for the next poll; resolves with the set after. */
  async refresh(): Promise<Peer[]> {
    if (this.#failure) throw this.#failure;
    if (this.closed) throw cancelled('refresh() on a closed watcher');
    return this.#loop.refresh();
  }

  /** Stops this watcher: ends its iterators, emits `close`. The shared loop stops with its last watcher. */
  close(): void {
    if (this.closed) return;
    this.#abort.abort();
    this.#userSignal?.removeEventListener('abort', this.#onUserAbort);
    const error = cancelled('the watcher was closed before its first resolution');
    this.#rejectReady(error);
    this.#loop.unsubscribe(this.#subscriber, error);
    for (const wake of this.#wakers.values()) wake();
    this.#wakers.clear();
    this.emit('close');
  }

  /**
   * Each iterator yields the current set first (all `added`), then every change, merged
   * while unread. Leaving the loop early (`break`, `return`, a throw) closes the watcher,
   * as with `events.on()`; the iterator throws the error that closed the watcher, if any.
   */
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
          if (!this.#queues.has(queue)) return done();
          if (this.closed) {
            const failure = this.#failure;
            done();
            if (failure) throw failure;
            return { done: true, value: undefined };
          }
          const change = queue.take();
          if (change) return { done: false, value: change };
          await new Promise<void>((resolve) => this.#wakers.set(queue, resolve));
        }
      },
      return: async (): Promise<IteratorResult<PeerChange>> => {
        const waker = this.#wakers.get(queue);
        const result = done();
        waker?.();
        this.close();
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

  /** An error of the loop: emitted (or a warning when nobody listens); a permanent one before the first set closes the watcher. */
  #fail(error: Error): void {
    const permanent = !this.#loop.known && isPermanentError(error);
    if (permanent) {
      this.#failure = error;
      this.#rejectReady(error);
    }
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else warnOnce(this.#service, error, permanent);
    if (permanent) this.close();
  }
}

/** A process warning for an error nobody listened for, once per error code in this process. */
function warnOnce(service: string, error: Error, permanent: boolean): void {
  const kind = String((error as { code?: unknown }).code ?? error.name);
  if (warned.has(kind)) return;
  warned.add(kind);
  const what = permanent ? 'the watcher closed: no retry can fix this' : 'the watcher keeps retrying and keeps its last set';
  process.emitWarning(`watchPeers(${JSON.stringify(service)}): ${error.message} (${what})`, {
    type: 'HeadlessSdWarning',
    code: WATCH_ERROR_WARNING,
    detail: `No 'error' listener on the PeerWatcher: add watcher.on('error', ...) to handle errors. This warning is shown once per error code (${kind}).`,
  });
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
 * Throws {@link InvalidArgumentError} for a bad option, an unknown option key (with a
 * suggestion), or `client` with options that only a new client would use.
 */
export function watchPeers(service: string, options: WatchPeersOptions = {}): PeerWatcher {
  checkOptions('watchPeers', service, options);
  const minInterval = checkDuration('minInterval', options.minInterval, 1000);
  const maxInterval = checkDuration('maxInterval', options.maxInterval, 30_000);
  if (maxInterval < minInterval) throw new InvalidArgumentError('maxInterval', maxInterval, `>= minInterval (${minInterval})`);
  checkPort(options.port);
  checkProtocol(options.protocol);
  checkFamily(options.family);
  if (options.source === 'kubernetes' || options.source === 'auto') {
    checkApiTimeout(options.timeout, 1);
    if (options.kubernetes !== undefined) checkKubernetesOptions(options.kubernetes);
  }
  const loop = registry.acquire(loopKey(service, options), () => createSource(service, options, { minInterval, maxInterval }));
  return new PeerWatcher(loop, options.signal, service);
}

function createSource(service: string, options: WatchPeersOptions, intervals: { minInterval: number; maxInterval: number }): PeerSource {
  if (options.source === 'kubernetes') return new KubernetesSource(service, options, intervals);
  const dns = (): PeerSource => {
    const client = options.client ?? createClient(options);
    return new DnsPoller(client, client !== options.client, service, options, intervals);
  };
  return options.source === 'auto' ? new AutoSource({ service, options, intervals, dns }) : dns();
}

/** Adapts the EndpointSlice watch to a PeerSource. */
class KubernetesSource implements PeerSource {
  readonly kind = 'kubernetes' as const;
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
    loadKubernetesSource().then(
      (api) => this.#startWatch(api.EndpointSliceWatch, sink),
      (error: Error) => sink.fail(error),
    );
  }

  #startWatch(Watch: typeof EndpointSliceWatch, sink: PeerSink): void {
    if (this.#closed) return;
    const o = this.#options;
    try {
      this.#watch = new Watch(
        {
          ...kubernetesSourceOptions(this.#service, o),
          minBackoff: this.#intervals.minInterval,
          maxBackoff: this.#intervals.maxInterval,
        },
        { onPeers: (peers, change, since) => sink.update(peers, { change, since }), onError: (error) => sink.fail(error) },
      );
    } catch (error) {
      // A bad option found late must not become an unhandled rejection.
      sink.fail(error as Error);
      return;
    }
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
