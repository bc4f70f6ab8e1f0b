import type { Pool } from 'undici/index.js';
import type { Peer } from '../peer/index.js';

/** One peer's pool and its place in the rotation. */
export interface Upstream {
  peer: Peer;
  origin: string;
  pool: Pool;
  /** As BalancedPool: lowered by connection errors, raised back by connects. */
  weight: number;
  /** Smooth weighted round robin's running credit. */
  current: number;
  /** The pool said "wait for drain". */
  busy: boolean;
  /** After a connection error: passed over until this time (ms) while others can take requests. */
  downUntil: number;
  /** The next wait after a connection error, doubled per error up to 30 s, reset by a connect. */
  backoff: number;
}

/** First wait after a connection error, ms. */
export const FIRST_BACKOFF = 500;
/** Longest wait, ms. */
export const MAX_BACKOFF = 30_000;

/** A connection to the upstream failed: pass it over for a while (then one request tries again). */
export function markDown(upstream: Upstream, now = Date.now()): void {
  upstream.downUntil = now + upstream.backoff;
  upstream.backoff = Math.min(MAX_BACKOFF, upstream.backoff * 2);
}

/** The upstream connected: it is up. */
export function markUp(upstream: Upstream): void {
  upstream.downUntil = 0;
  upstream.backoff = FIRST_BACKOFF;
}

/**
 * Smooth weighted round robin (nginx's): each pick adds every upstream's weight to its credit
 * and takes the one with the most, which pays the total back. Equal weights give plain
 * round robin; an upstream with connection errors gets a smaller share until it connects
 * again. Upstreams whose connections fail are passed over while any other is up (as gRPC's
 * round_robin picks only READY subchannels: a pod killed before discovery saw it go costs
 * the requests on its connections, not a share of all requests), and busy ones while any
 * other is free.
 */
export function pickUpstream(upstreams: readonly Upstream[], now = Date.now()): Upstream | null {
  let best: Upstream | null = null;
  let total = 0;
  const anyUp = upstreams.some((u) => u.downUntil <= now);
  const anyFree = upstreams.some((u) => !u.busy && (!anyUp || u.downUntil <= now));
  for (const u of upstreams) {
    if (anyUp && u.downUntil > now) continue;
    if (anyFree && u.busy) continue;
    u.current += u.weight;
    total += u.weight;
    if (best === null || u.current > best.current) best = u;
  }
  if (best !== null) best.current -= total;
  return best;
}
