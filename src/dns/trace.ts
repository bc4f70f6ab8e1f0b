/**
 * What a lookup tells NODE_DEBUG=headless-sd and the diagnostics channels about each try.
 */
import { debug, queryEndChannel, queryStartChannel } from './diagnostics.js';
import { DnsError, type DnsErrorCodeValue } from './errors.js';

/** What a failed try left, to report if it was the last one. */
export interface TryFailure {
  code: DnsErrorCodeValue;
  detail: string;
  cause?: unknown;
}

/** One try as traced. */
export interface TracedTry {
  name: string;
  type: string;
  server: string;
  transport: 'udp' | 'tcp';
  id: number;
}

/** node:dns names its calls queryA, queryAaaa, querySrv: errors say which call failed the same way. */
export function syscall(type: string): string {
  return `query${type.charAt(0)}${type.slice(1).toLowerCase()}`;
}

/** A try went out. */
export function traceStart(t: TracedTry): void {
  if (debug.enabled) debug('query %s %s -> %s %s id=%d', t.type, t.name, t.server, t.transport, t.id);
  if (queryStartChannel.hasSubscribers) queryStartChannel.publish(t);
}

/** A try ended: an rcode, a failure, or a truncated UDP answer about to be asked over TCP. */
export function traceEnd(t: TracedTry, duration: number, rcode: string | null, failure: TryFailure | null, truncated: boolean): void {
  const error =
    failure === null
      ? null
      : new DnsError(failure.code, `${syscall(t.type)} ${failure.code} ${t.name} (${failure.detail})`, {
          hostname: t.name,
          rrtype: t.type,
          server: t.server,
          cause: failure.cause,
        });
  if (debug.enabled) {
    debug('answer %s %s <- %s %s id=%d: %s in %s ms', t.type, t.name, t.server, t.transport, t.id,
      rcode ?? failure?.code ?? 'truncated, retrying over TCP', duration.toFixed(1));
  }
  if (queryEndChannel.hasSubscribers) queryEndChannel.publish({ ...t, rcode, error, truncated, duration });
}
