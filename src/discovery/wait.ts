import { DnsError, DnsErrorCode } from '../dns/errors.js';
import { checkDuration } from './options.js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import type { Peer } from '../peer/index.js';
import { watchPeers } from './watcher.js';
import type { WatchPeersOptions } from './watcher.js';

/** Options of {@link waitForPeers}. */
export interface WaitForPeersOptions extends WatchPeersOptions {
  /** Peers needed (default 1). */
  min?: number;
  /** How long the set must stay unchanged, ms (default 2 x minInterval, at least 1000). */
  stableFor?: number;
  /** Give up after this many ms (default: never; use `signal` or this). Rejects ETIMEOUT. */
  waitTimeout?: number;
}

/**
 * Resolves once at least `min` peers are seen and the set has not changed for
 * `stableFor` ms: the bootstrap step of a cluster that forms itself from its StatefulSet.
 * Rejects with DnsError `ECANCELLED` on abort and `ETIMEOUT` after `waitTimeout`,
 * saying how many peers were seen.
 */
export function waitForPeers(service: string, options: WaitForPeersOptions = {}): Promise<Peer[]> {
  const min = options.min ?? 1;
  if (!Number.isInteger(min) || min < 0) throw new InvalidArgumentError('min', min, 'an integer >= 0');
  const stableFor = checkDuration('stableFor', options.stableFor, Math.max(1000, 2 * (options.minInterval ?? 1000)));
  const waitTimeout = options.waitTimeout === undefined ? undefined : checkDuration('waitTimeout', options.waitTimeout, 0);
  const { signal, ...watchOptions } = options;
  return new Promise<Peer[]>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DnsError(DnsErrorCode.CANCELLED, `waitForPeers(${service}) was aborted`, { hostname: service, cause: signal.reason }));
      return;
    }
    const watcher = watchPeers(service, watchOptions);
    let stableTimer: NodeJS.Timeout | undefined;
    let lastError: Error | undefined;
    const finish = (error: Error | null): void => {
      clearTimeout(stableTimer);
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      const seen = watcher.peers;
      watcher.close();
      if (error) reject(error);
      else resolve(seen);
    };
    const onAbort = (): void =>
      finish(new DnsError(DnsErrorCode.CANCELLED, `waitForPeers(${service}) was aborted with ${describe(watcher.peers, min)}`, { hostname: service, cause: signal?.reason }));
    const deadline =
      waitTimeout === undefined
        ? undefined
        : setTimeout(
            () =>
              finish(
                new DnsError(
                  DnsErrorCode.TIMEOUT,
                  `waitForPeers(${service}): ${describe(watcher.peers, min)} after ${waitTimeout} ms` +
                    (lastError ? `; last error: ${lastError.message}` : ''),
                  { hostname: service, cause: lastError },
                ),
              ),
            waitTimeout,
          );
    signal?.addEventListener('abort', onAbort, { once: true });
    watcher.on('error', (error) => {
      lastError = error;
    });
    watcher.on('change', ({ peers }) => {
      clearTimeout(stableTimer);
      if (peers.length >= min) stableTimer = setTimeout(() => finish(null), stableFor);
    });
  });
}

function describe(peers: Peer[], min: number): string {
  return `${peers.length} of the ${min} peers needed${peers.length ? ` (${peers.map((p) => p.name ?? p.address).join(', ')})` : ''}`;
}
