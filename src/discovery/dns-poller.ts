import pRetry from 'p-retry';
import type { DnsClient } from '../dns/client.js';
import { DnsErrorCode, isDnsError } from '../dns/errors.js';
import { planResolution, resolvePeers } from './resolve.js';
import type { PeersOptions, ResolutionPlan } from './resolve.js';
import type { PeerSink, PeerSource } from './source.js';

/** Intervals of a poller, in ms. */
export interface PollIntervals {
  minInterval: number;
  maxInterval: number;
}

/** Seconds used for the next poll when an answer carried no TTL (an empty set). */
const EMPTY_SET_TTL = 5;

/**
 * The next poll's delay: the answer's TTL with up to 20% taken off at random (so that the
 * pods of a StatefulSet do not ask in lockstep), clamped to [minInterval, maxInterval].
 */
export function nextDelay(ttlSeconds: number, { minInterval, maxInterval }: PollIntervals, random = Math.random()): number {
  const jittered = ttlSeconds * 1000 * (0.8 + 0.2 * random);
  return Math.min(maxInterval, Math.max(minInterval, jittered));
}

/**
 * Polls DNS for a Service's peers: on the answer's TTL, with p-retry backoff on errors.
 * An empty answer (NXDOMAIN/NODATA) for a Service that had peers is believed only when
 * the next poll, at minInterval, confirms it, so one bad answer does not flap the set.
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

  constructor(client: DnsClient, ownsClient: boolean, service: string, options: PeersOptions, intervals: PollIntervals) {
    this.#client = client;
    this.#ownsClient = ownsClient;
    this.#plan = planResolution(client, service, options);
    // A Service never seen with peers and answering empty is an error unless the user allows empty sets.
    this.#allowEmpty = options.allowEmpty ?? false;
    this.#intervals = intervals;
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
      const { peers, ttl } = await resolvePeers(this.#client, this.#plan, { signal: this.#abort.signal });
      if (this.#abort.signal.aborted) return 0;
      this.#known = true;
      this.#emptyStreak = 0;
      this.#lastTtl = ttl ?? this.#lastTtl;
      sink.update(peers);
      return nextDelay(this.#lastTtl, this.#intervals);
    } catch (err) {
      if (!isDnsError(err, DnsErrorCode.NOTFOUND, DnsErrorCode.NODATA)) throw err;
      this.#emptyStreak++;
      if (this.#known && this.#emptyStreak === 1) {
        // A Service that had peers answers empty: confirm once before emptying the set.
        return this.#intervals.minInterval;
      }
      if (!this.#known && !this.#allowEmpty) throw err;
      this.#known = true;
      sink.update([]);
      return nextDelay(this.#lastTtl, this.#intervals);
    }
  }
}
