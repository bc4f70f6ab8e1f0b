/**
 * Observability of the DNS client, off unless someone listens.
 *
 * - `NODE_DEBUG=headless-sd` logs every query sent, every answer, and every answer dropped
 *   by the anti-spoofing checks (through `util.debuglog('headless-sd')`, on stderr).
 * - `node:diagnostics_channel` channels, for tracing and metrics:
 *   - `headless-sd:dns:query:start`: {@link QueryStartMessage}, each time a query is sent
 *     (one per try: a retry, a fallback to TCP or another server is a new start).
 *   - `headless-sd:dns:query:end`: {@link QueryEndMessage}, when that try ends: with an
 *     answer (`rcode` set) or a failure (`error` set: timeout, refused, bad response, cancelled).
 *   - `headless-sd:dns:drop`: {@link DropMessage}, an answer ignored by the RFC 5452 checks
 *     (unknown ID, wrong source address or port, wrong question, not a response).
 *
 * ```ts
 * import diagnosticsChannel from 'node:diagnostics_channel';
 * diagnosticsChannel.subscribe('headless-sd:dns:query:end', (m) => console.log(m));
 * ```
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import type { DnsError } from './errors.js';

/** Name of the channel published when a query is sent. */
export const QUERY_START_CHANNEL = 'headless-sd:dns:query:start';
/** Name of the channel published when a query's try ends. */
export const QUERY_END_CHANNEL = 'headless-sd:dns:query:end';
/** Name of the channel published when an answer is dropped by the anti-spoofing checks. */
export const DROP_CHANNEL = 'headless-sd:dns:drop';

/** Published on `headless-sd:dns:query:start`. */
export interface QueryStartMessage {
  /** Absolute name asked (no trailing dot). */
  name: string;
  /** Record type asked. */
  type: string;
  /** `host:port` asked. */
  server: string;
  transport: 'udp' | 'tcp';
  /** The DNS message ID. */
  id: number;
}

/** Published on `headless-sd:dns:query:end`. */
export interface QueryEndMessage extends QueryStartMessage {
  /** The answer's rcode (`'NOERROR'`, `'NXDOMAIN'`, ...), or null when the try failed or was truncated. */
  rcode: string | null;
  /** Why the try failed, or null when it got an answer. */
  error: DnsError | null;
  /** The UDP answer was truncated (TC): the next start message is its retry over TCP. */
  truncated: boolean;
  /** Milliseconds since the start message. */
  duration: number;
}

/** Published on `headless-sd:dns:drop`. */
export interface DropMessage {
  transport: 'udp' | 'tcp';
  /** `host:port` the answer came from. */
  from: string;
  /** Its message ID (or -1 when shorter than a header). */
  id: number;
  reason: 'short' | 'unknown id' | 'wrong source' | 'wrong question';
}

/** The channels, created once per process by node itself (channel objects are interned). */
export const queryStartChannel = diagnosticsChannel.channel(QUERY_START_CHANNEL);
/** See {@link QUERY_END_CHANNEL}. */
export const queryEndChannel = diagnosticsChannel.channel(QUERY_END_CHANNEL);
/** See {@link DROP_CHANNEL}. */
export const dropChannel = diagnosticsChannel.channel(DROP_CHANNEL);

/** `util.debuglog('headless-sd')`: a no-op unless NODE_DEBUG names headless-sd. */
export const debug = debuglog('headless-sd');

/** True when either the debug log or a start/end subscriber wants per-query messages. */
export function tracing(): boolean {
  return debug.enabled || queryStartChannel.hasSubscribers || queryEndChannel.hasSubscribers;
}

/** Reports a dropped answer (debug log and drop channel). */
export function reportDrop(message: DropMessage): void {
  if (debug.enabled) debug('dropped %s answer from %s id=%d: %s', message.transport, message.from, message.id, message.reason);
  if (dropChannel.hasSubscribers) dropChannel.publish(message);
}
