import type { DnsClient } from '../dns/client.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { DnsError, DnsErrorCode } from '../dns/errors.js';
import type { PeerInit } from '../peer/index.js';
import { addressesOf, negativeTtlOf, srvTargetsOf } from './answers.js';
import type { ResolutionPlan } from './resolve.js';
import { negativeError, searchOnce, type SearchResult } from './search-once.js';
import { srvName } from './service-name.js';
import { EXPIRY_SLACK } from './poll-timing.js';
import { addressTypes, TargetBook } from './target-book.js';

/** What one DNS resolution of a Service found, and what the next poll should know. */
export interface DnsOutcome {
  inits: PeerInit[];
  /** Smallest TTL of the records used (seconds), or null. */
  ttl: number | null;
  /** Set when the Service answered NXDOMAIN/NODATA: the error to report. */
  empty: DnsError | null;
  /** How long caches keep that negative answer (seconds, from its SOA), or null. */
  negativeTtl: number | null;
  /** Seconds until a listed SRV target whose lookup said NXDOMAIN should be asked again, or null. */
  retryIn: number | null;
  /** The answer came from an authoritative server (AA), not through a cache that counts its TTL down. */
  authoritative: boolean;
}

/**
 * Resolves a Service's peers over and over with what earlier polls learnt: the absolute name the
 * search list gave, whether the server sends glue, and the addresses of SRV targets. One-shot
 * callers use a fresh one.
 */
export class PeerResolver {
  readonly #client: DnsClient;
  readonly #plan: ResolutionPlan;
  readonly #book = new TargetBook();
  /** The Service's absolute name, as the last SRV answer gave it. */
  #serviceName: string | null = null;
  #glueSeen = true;
  readonly #oneShot: boolean;

  /**
   * `oneShot`: for `peers()`, which has no earlier address to keep for a listed target whose
   * lookup a cache answered NXDOMAIN: it waits out that negative answer and asks once more.
   */
  constructor(client: DnsClient, plan: ResolutionPlan, oneShot = false) {
    this.#client = client;
    this.#plan = plan;
    this.#oneShot = oneShot;
  }

  resolve(signal?: AbortSignal): Promise<DnsOutcome> {
    const { port, protocol, name } = this.#plan;
    return typeof port === 'string' ? this.#srv(srvName(port, protocol, name), signal) : this.#addresses(name, port, signal);
  }

  async #addresses(name: string, port: number | null, signal: AbortSignal | undefined): Promise<DnsOutcome> {
    const result = await searchOnce(this.#client, name, addressTypes(this.#plan.family), signal);
    if (!result.found) return emptyOutcome(result);
    const found = result.responses.flatMap(addressesOf);
    let ttl = Number.POSITIVE_INFINITY;
    for (const a of found) ttl = Math.min(ttl, a.ttl);
    return {
      inits: found.map(({ address, ttl }) => ({ host: null, address, port, ttl })),
      ttl: found.length > 0 ? ttl : null,
      empty: null,
      negativeTtl: null,
      retryIn: null,
      authoritative: result.responses.every((r) => r.authoritative),
    };
  }

  async #srv(name: string, signal: AbortSignal | undefined): Promise<DnsOutcome> {
    // A server that sent no glue last time will not now: ask the Service's addresses alongside.
    const earlyName = this.#serviceName;
    const early = !this.#glueSeen && earlyName !== null ? this.#serviceAddresses(earlyName, signal) : null;
    let result: SearchResult;
    try {
      result = await searchOnce(this.#client, name, ['SRV'], signal);
    } catch (err) {
      await early;
      throw err;
    }
    if (!result.found) {
      await early;
      return emptyOutcome(result);
    }
    // RFC 2782: a target of "." says the service is decidedly not available there: no peer.
    const targets = srvTargetsOf(result.responses[0]!).filter((t) => t.name !== '' && t.name !== '.');
    this.#glueSeen = targets.some((t) => t.glue.length > 0);
    const serviceName = result.name.split('.').slice(2).join('.');
    this.#serviceName = serviceName;
    let known: Map<string, number> | null = null;
    if (this.#book.wouldReuse(targets, this.#plan.family)) {
      known = early !== null && earlyName === serviceName ? await early : await this.#serviceAddresses(serviceName, signal);
    } else {
      await early;
    }
    let out = await this.#book.resolve(this.#client, targets, this.#plan.family, known, signal);
    if (this.#oneShot && out.unresolved > 0 && out.retryIn !== null) {
      await wait(Math.min(out.retryIn * 1000 + EXPIRY_SLACK, MAX_ONE_SHOT_WAIT), signal);
      out = await this.#book.resolve(this.#client, targets, this.#plan.family, null, signal, true);
    }
    const authoritative = result.responses.every((r) => r.authoritative);
    return { inits: out.inits, ttl: out.ttl, retryIn: out.retryIn, empty: null, negativeTtl: null, authoritative };
  }

  /** The Service's own address set (address -> TTL), or null when it did not answer with one. */
  async #serviceAddresses(name: string, signal: AbortSignal | undefined): Promise<Map<string, number> | null> {
    const opts = signal ? { signal } : {};
    try {
      const responses = await Promise.all(addressTypes(this.#plan.family).map((type) => this.#client.query(`${name}.`, type, opts)));
      const set = new Map<string, number>();
      for (const a of responses.flatMap(addressesOf)) set.set(a.address, a.ttl);
      return set;
    } catch {
      // Without it, known targets are looked up again: slower, never wrong.
      return null;
    }
  }
}

/** Longest a one-shot resolution waits for a cache's stale NXDOMAIN to expire (ms). */
const MAX_ONE_SHOT_WAIT = 10_000;

async function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    throw new DnsError(DnsErrorCode.CANCELLED, 'aborted while waiting for a stale NXDOMAIN to expire', { cause: err });
  }
}

function emptyOutcome(result: SearchResult): DnsOutcome {
  let negativeTtl: number | null = null;
  for (const res of result.responses) {
    const n = negativeTtlOf(res);
    if (n !== null) negativeTtl = Math.min(negativeTtl ?? n, n);
  }
  const authoritative = result.responses.every((r) => r.authoritative);
  return { inits: [], ttl: null, empty: negativeError(result, 'the Service has no ready endpoints'), negativeTtl, retryIn: null, authoritative };
}
