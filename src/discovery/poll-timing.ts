/** Intervals of a poller, in ms. */
export interface PollIntervals {
  minInterval: number;
  maxInterval: number;
}

/**
 * The shortest minInterval a poller uses (ms): a smaller one, 0 included, is raised to it, so
 * no TTL (0 included) and no option can make a watcher a busy loop.
 */
export const MIN_INTERVAL_FLOOR = 100;

/**
 * How long after a TTL runs out a poll waits (ms). A cache counts TTLs down in whole seconds
 * and keeps serving a record while its TTL shows 0 (unbound for up to a second, dnsmasq and BIND
 * alike), so a poll at the TTL can land on the countdown, get TTL 0 and have to poll again. One
 * second later the cache has let the record go and asks upstream: the poll gets fresh records.
 */
export const EXPIRY_SLACK = 1000;

/** Largest random delay added to a poll (ms), so the pods of a StatefulSet do not ask in lockstep. */
export const POLL_JITTER = 50;

/** The intervals a poller uses: minInterval raised to {@link MIN_INTERVAL_FLOOR}, maxInterval to minInterval. */
export function pollIntervals({ minInterval, maxInterval }: PollIntervals): PollIntervals {
  const min = Math.max(minInterval, MIN_INTERVAL_FLOOR);
  return { minInterval: min, maxInterval: Math.max(maxInterval, min) };
}

/**
 * The delay until the next poll (ms): after the answer's TTL has run out in any cache on the
 * way (TTL + {@link EXPIRY_SLACK}; an authoritative answer passed no cache: TTL + 0), plus up to
 * {@link POLL_JITTER}, clamped to [minInterval, maxInterval]. So no TTL makes polls come faster
 * than one per minInterval.
 */
export function nextDelay(ttlSeconds: number, { minInterval, maxInterval }: PollIntervals, random = Math.random(), throughCache = true): number {
  const due = ttlSeconds * 1000 + (throughCache ? EXPIRY_SLACK : 0) + POLL_JITTER * random;
  return Math.min(maxInterval, Math.max(minInterval, due));
}
