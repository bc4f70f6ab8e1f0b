import pRetry from 'p-retry';
import type { DnsClient } from '../dns/client.js';
import { DnsErrorCode, isDnsError } from '../dns/errors.js';
import { PeerResolver } from './dns-resolver.js';
import { nextDelay, pollIntervals, type PollIntervals } from './poll-timing.js';
import { EmptyServiceError, planResolution, resolvePeers } from './resolve.js';
import type { PeersOptions, ResolutionPlan } from './resolve.js';
import type { PeerSink, PeerSource } from './source.js';

export { EXPIRY_SLACK, MIN_INTERVAL_FLOOR, POLL_JITTER, nextDelay, pollIntervals } from './poll-timing.js';
export type { PollIntervals } from './poll-timing.js';

/** Seconds used for the next poll when an answer carried no TTL (an empty set). */
const EMPTY_SET_TTL = 5;

/**
 * Polls DNS for a Service's peers: after the answer's TTL, with p-retry backoff on errors.
 * An empty answer (NXDOMAIN/NODATA) for a Service that had peers is believed only when the next
 * poll confirms it, and that poll waits until caches have let the negative answer go (its SOA's
 * negative TTL): a short "no ready pods" blip must not empty the set.
 */
export class DnsPoller implements PeerSource {
  readonly kind = 'dns' as const;
  readonly #client: DnsClient;
  readonly #ownsClient: boolean;
  readonly #plan: ResolutionPlan;
  readonly #intervals: PollIntervals;
  readonly #allowEmpty: boolean;
  readonly #abort = new AbortController();
  #sink: PeerSink | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #known = false;
  #emptyStreak = 0;
  #lastTtl = EMPTY_SET_TTL;
  /** The last answer passed a cache (it was not authoritative): polls wait for the cache's countdown too. */
  #throughCache = true;
  readonly #resolver: PeerResolver;

  constructor(client: DnsClient, ownsClient: boolean, service: string, options: PeersOptions, intervals: PollIntervals) {
    this.#client = client;
    this.#ownsClient = ownsClient;
    this.#plan = planResolution(client, service, options);
    this.#resolver = new PeerResolver(client, this.#plan);
    // A Service never seen with peers and answering empty is an error unless the user allows empty sets.
    this.#allowEmpty = options.allowEmpty ?? false;
    this.#intervals = pollIntervals(intervals);
  }

  start(sink: PeerSink): void {
    this.#sink = sink;
    void this.refresh();
  }

  refresh(): Promise<void> {
    if (this.#abort.signal.aborted) return Promise.resolve();
    if (this.#running) return this.#running;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#running = this.#poll().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  close(): void {
    this.#abort.abort();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#ownsClient) this.#client.close();
  }

  async #poll(): Promise<void> {
    const { minInterval, maxInterval } = this.#intervals;
    let delay: number;
    try {
      delay = await pRetry(() => this.#attempt(), {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: Math.max(minInterval, 1),
        maxTimeout: maxInterval,
        randomize: true,
        signal: this.#abort.signal,
        onFailedAttempt: ({ error }) => {
          if (!this.#abort.signal.aborted) this.#sink?.fail(error);
        },
      });
    } catch {
      return; // Only an abort ends the retries: the poller is closed.
    }
    if (this.#abort.signal.aborted) return;
    this.#timer = setTimeout(() => void this.refresh(), delay);
  }

  /** One resolution; resolves with the delay until the next. */
  async #attempt(): Promise<number> {
    const sink = this.#sink!;
    try {
      const { peers, ttl, retryIn, authoritative } = await resolvePeers(this.#client, this.#plan, { signal: this.#abort.signal }, this.#resolver);
      if (this.#abort.signal.aborted) return 0;
      this.#throughCache = !authoritative;
      this.#known = true;
      this.#emptyStreak = 0;
      this.#lastTtl = ttl ?? this.#lastTtl;
      sink.update(peers);
      // A target whose lookup said NXDOMAIN is asked again once the cache has let that answer go.
      return nextDelay(Math.min(this.#lastTtl, retryIn ?? Number.POSITIVE_INFINITY), this.#intervals, Math.random(), this.#throughCache);
    } catch (err) {
      if (!isDnsError(err, DnsErrorCode.NOTFOUND, DnsErrorCode.NODATA)) throw err;
      this.#emptyStreak++;
      if (this.#known && this.#emptyStreak === 1) {
        // A Service that had peers answers empty: confirm once before emptying the set, after the
        // caches on the way have let that negative answer go (before, they would only repeat it).
        const negativeTtl = err instanceof EmptyServiceError ? err.negativeTtl : null;
        return negativeTtl === null ? this.#intervals.minInterval : nextDelay(negativeTtl, this.#intervals);
      }
      if (!this.#known && !this.#allowEmpty) throw err;
      this.#known = true;
      sink.update([]);
      return nextDelay(this.#lastTtl, this.#intervals, Math.random(), this.#throughCache);
    }
  }
}
