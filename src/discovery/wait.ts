import { DnsError, DnsErrorCode } from '../dns/errors.js';
import { checkDuration, checkOptions } from './options.js';
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
  checkOptions('waitForPeers', service, options);
  const min = options.min ?? 1;
  if (!Number.isInteger(min) || min < 0) throw new InvalidArgumentError('min', min, 'an integer >= 0');
  const stableFor = checkDuration('stableFor', options.stableFor, Math.max(1000, 2 * (options.minInterval ?? 1000)));
  const waitTimeout = options.waitTimeout === undefined ? undefined : checkDuration('waitTimeout', options.waitTimeout, 0);
  const { signal, min: _min, stableFor: _stableFor, waitTimeout: _waitTimeout, ...watchOptions } = options;
  return new Promise<Peer[]>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DnsError(DnsErrorCode.CANCELLED, `waitForPeers(${service}) was aborted`, { hostname: service, cause: signal.reason }));
      return;
    }
    const watcher = watchPeers(service, watchOptions);
    let stableTimer: NodeJS.Timeout | undefined;
    let lastError: Error | undefined;
    let settled = false;
    // The set has `min` peers (the stable timer runs).
    let enough = false;
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
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
    const onDeadline = (): void => {
      const peers = watcher.peers;
      const unstable =
        enough
          ? `: enough peers, but the set never stayed unchanged for stableFor (${stableFor} ms)` +
            (waitTimeout! < stableFor ? `, which is longer than waitTimeout (${waitTimeout} ms): raise waitTimeout or lower stableFor` : '')
          : '';
      finish(
        new DnsError(
          DnsErrorCode.TIMEOUT,
          `waitForPeers(${service}): ${describe(peers, min)} after ${waitTimeout} ms${unstable}` + (lastError ? `; last error: ${lastError.message}` : ''),
          { hostname: service, cause: lastError },
        ),
      );
    };
    const deadline = waitTimeout === undefined ? undefined : setTimeout(onDeadline, waitTimeout);
    signal?.addEventListener('abort', onAbort, { once: true });
    watcher.on('error', (error) => {
      lastError = error;
    });
    // An error no retry can fix ends the watcher before its first set: end the wait with it.
    watcher.ready.catch((error: Error) => finish(error));
    watcher.on('change', ({ peers }) => {
      clearTimeout(stableTimer);
      enough = peers.length >= min;
      if (peers.length >= min) stableTimer = setTimeout(() => finish(null), stableFor);
    });
  });
}

function describe(peers: Peer[], min: number): string {
  return `${peers.length} of the ${min} peers needed${peers.length ? ` (${peers.map((p) => p.name ?? p.address).join(', ')})` : ''}`;
}
