import { Dispatcher, Pool, errors } from 'undici/index.js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import { watchPeers } from '../discovery/watcher.js';
import type { PeerWatcher, WatchPeersOptions } from '../discovery/watcher.js';
import { checkPort, peerHostPort, routablePeers } from '../peer/index.js';
import type { Peer } from '../peer/index.js';
import { FIRST_BACKOFF, markDown, markUp, pickUpstream } from './balancer.js';
import type { Upstream } from './balancer.js';
import { failHandler } from './handler.js';

/** Options of {@link createPeerDispatcher}: watchPeers options (a `port` is required) and the dispatcher's. */
export interface PeerDispatcherOptions extends WatchPeersOptions {
  /** The peers' port: a port name (SRV) or a number. Required. */
  port: string | number;
  /** 'http' (default) or 'https' (give `pool.connect` TLS options then). */
  scheme?: 'http' | 'https';
  /** Prefer peers in this zone (the API source knows zones): only they get requests while there are any. */
  zone?: string | null;
  /** Leave this process's own pod out (`peer.self`). */
  excludeSelf?: boolean;
  /** Options of each peer's undici `Pool` (connections, timeouts, TLS). */
  pool?: Pool.Options;
  /** Weight a peer loses per connection error and regains per connect, of 100 (default 15, as BalancedPool). */
  errorPenalty?: number;
}

const MAX_WEIGHT = 100;

/**
 * An undici {@link Dispatcher} over a Service's live peers: a `Pool` per peer, requests spread
 * by weighted round robin as `BalancedPool` does (connection errors lower a peer's weight, and
 * a peer whose connections fail is passed over, with backoff, while others are up). A peer that is removed or starts terminating
 * gets no new request; its pool closes once its requests in flight are done.
 *
 * ```ts
 * const api = createPeerDispatcher('api', { port: 'http' });
 * const { body } = await api.request({ path: '/items', method: 'GET' });
 * await api.close();
 * ```
 * Requests made before the first resolution wait for it; they fail with the watcher's error
 * if it fails first (and `dispatch` fails at once while no set was ever found and the last
 * try failed). Later failures keep the last set.
 */
export class PeerDispatcher extends Dispatcher {
  /** The watcher behind it (closed by close() and destroy()). */
  readonly watcher: PeerWatcher;
  readonly #service: string;
  readonly #scheme: 'http' | 'https';
  readonly #zone: string | null;
  readonly #excludeSelf: boolean;
  readonly #poolOptions: Pool.Options;
  readonly #penalty: number;
  /** Pools in use, by origin. */
  readonly #upstreams = new Map<string, Upstream>();
  /** Pools of removed peers, finishing their requests. */
  readonly #draining = new Set<Pool>();
  #candidates: Upstream[] = [];
  #known = false;
  #lastError: Error | null = null;
  #pending: Array<{ options: Dispatcher.DispatchOptions; handler: Dispatcher.DispatchHandler }> = [];
  #closing: Promise<void> | null = null;
  #destroyed = false;

  constructor(service: string, options: PeerDispatcherOptions) {
    super();
    const { scheme = 'http', zone = null, excludeSelf = false, pool = {}, errorPenalty = 15, ...watchOptions } = options;
    if (checkPort(options.port) === null) throw new InvalidArgumentError('port', options.port, 'a port name or number (the dispatcher dials each peer on it)');
    if (scheme !== 'http' && scheme !== 'https') throw new InvalidArgumentError('scheme', scheme, "'http' or 'https'");
    if (zone !== null && typeof zone !== 'string') throw new InvalidArgumentError('zone', zone, 'a zone name or null');
    if (!Number.isFinite(errorPenalty) || errorPenalty < 0 || errorPenalty > MAX_WEIGHT) throw new InvalidArgumentError('errorPenalty', errorPenalty, 'a number in 0..100');
    this.#service = service;
    this.#scheme = scheme;
    this.#zone = zone;
    this.#excludeSelf = excludeSelf;
    this.#poolOptions = pool;
    this.#penalty = errorPenalty;
    this.watcher = watchPeers(service, watchOptions);
    this.watcher.on('change', (change) => {
      this.#known = true;
      this.#lastError = null;
      this.#sync(change.peers);
    });
    this.watcher.on('error', (error) => {
      if (this.#known) return; // The last set stays.
      this.#lastError = error;
      this.#failPending(error);
    });
  }

  /** The peers that get new requests now. */
  get peers(): Peer[] {
    return this.#candidates.map((u) => u.peer);
  }

  /** True after close() or destroy(). */
  get closed(): boolean {
    return this.#closing !== null;
  }

  /** True after destroy(). */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Sends a request to the next peer; `options.origin` is not needed (each peer is its own origin). */
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (!handler || typeof handler !== 'object') throw new InvalidArgumentError('handler', handler, 'a dispatch handler object');
    if (this.#destroyed) return this.#fail(handler, new errors.ClientDestroyedError());
    if (this.#closing) return this.#fail(handler, new errors.ClientClosedError());
    if (this.#candidates.length === 0) {
      if (this.#known) return this.#fail(handler, this.#noPeers());
      if (this.#lastError) return this.#fail(handler, this.#lastError);
      this.#pending.push({ options, handler }); // Sent with the first set.
      return true;
    }
    const upstream = pickUpstream(this.#candidates)!;
    if (!upstream.pool.dispatch(options, handler)) upstream.busy = true;
    return this.#candidates.some((u) => !u.busy);
  }

  /** Closes the watcher, then every pool once its requests are done. */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.#closing ??= this.#shutdown((pool) => pool.close(), new errors.ClientClosedError());
    if (!callback) return this.#closing;
    void this.#closing.then(callback, callback);
  }

  /** Closes the watcher and aborts every request, in flight or waiting. */
  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? a : b;
    const error = (typeof a === 'function' ? null : a) ?? new errors.ClientDestroyedError();
    const destroying = this.#destroyed ? (this.#closing ?? Promise.resolve()) : this.#startDestroy(error);
    if (!callback) return destroying;
    void destroying.then(callback, callback);
  }

  #startDestroy(error: Error): Promise<void> {
    this.#destroyed = true;
    const closing = this.#closing;
    const destroying = this.#shutdown((pool) => pool.destroy(error), error);
    this.#closing = closing ? Promise.all([closing, destroying]).then(() => {}) : destroying;
    return this.#closing;
  }

  async #shutdown(end: (pool: Pool) => Promise<void>, pendingError: Error): Promise<void> {
    this.watcher.close();
    this.#failPending(pendingError);
    const pools = [...[...this.#upstreams.values()].map((u) => u.pool), ...this.#draining];
    this.#candidates = [];
    await Promise.all(pools.map((pool) => end(pool).catch(() => {})));
  }

  #fail(handler: Dispatcher.DispatchHandler, error: Error): boolean {
    failHandler(handler, error);
    return false;
  }

  #failPending(error: Error): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const { handler } of pending) failHandler(handler, error);
  }

  #noPeers(): Error {
    return new errors.UndiciError(`no peer of service ${this.#service} can take requests (none ready${this.#excludeSelf ? ' but this pod' : ''})`);
  }

  /** Makes the pools match the set: new peers get a pool, gone or terminating ones drain. */
  #sync(peers: readonly Peer[]): void {
    if (this.#closing) return;
    const wanted = new Map<string, Peer>();
    for (const peer of routablePeers(peers)) {
      if (this.#excludeSelf && peer.self) continue;
      wanted.set(`${this.#scheme}://${peerHostPort(peer)}`, peer);
    }
    for (const [origin, upstream] of this.#upstreams) {
      if (wanted.has(origin)) continue;
      this.#upstreams.delete(origin);
      this.#draining.add(upstream.pool);
      // close() lets the requests already sent, or queued in this pool, finish.
      void upstream.pool.close().catch(() => {}).finally(() => this.#draining.delete(upstream.pool));
    }
    for (const [origin, peer] of wanted) {
      const existing = this.#upstreams.get(origin);
      if (existing) existing.peer = peer;
      else this.#upstreams.set(origin, this.#open(origin, peer));
    }
    const all = [...this.#upstreams.values()];
    const inZone = this.#zone === null ? [] : all.filter((u) => u.peer.zone === this.#zone);
    this.#candidates = inZone.length > 0 ? inZone : all;
    if (this.#pending.length > 0) {
      const pending = this.#pending;
      this.#pending = [];
      for (const { options, handler } of pending) this.dispatch(options, handler);
    }
  }

  #open(origin: string, peer: Peer): Upstream {
    const pool = new Pool(origin, this.#poolOptions);
    const upstream: Upstream = { peer, origin, pool, weight: MAX_WEIGHT, current: 0, busy: false, downUntil: 0, backoff: FIRST_BACKOFF };
    pool.on('connect', (url, targets) => {
      upstream.weight = Math.min(MAX_WEIGHT, upstream.weight + this.#penalty);
      markUp(upstream);
      this.emit('connect', url, [this, ...targets]);
    });
    pool.on('connectionError', (url, targets, error) => {
      upstream.weight = Math.max(1, upstream.weight - this.#penalty);
      markDown(upstream);
      this.emit('connectionError', url, [this, ...targets], error);
    });
    pool.on('disconnect', (url, targets, error) => {
      if ((error as { code?: string } | null)?.code === 'UND_ERR_SOCKET') upstream.weight = Math.max(1, upstream.weight - this.#penalty);
      this.emit('disconnect', url, [this, ...targets], error);
    });
    pool.on('drain', (url) => {
      upstream.busy = false;
      this.emit('drain', url);
    });
    return upstream;
  }
}

/**
 * An undici Dispatcher that spreads requests over the live peers of a headless Service.
 *
 * ```ts
 * import { request } from 'undici';
 * const peersOfApi = createPeerDispatcher('api', { port: 'http', zone: process.env.ZONE });
 * await peersOfApi.request({ path: '/health', method: 'GET' });
 * await request('http://api/health', { dispatcher: peersOfApi }); // the origin is ignored
 * ```
 */
export function createPeerDispatcher(service: string, options: PeerDispatcherOptions): PeerDispatcher {
  return new PeerDispatcher(service, options);
}
