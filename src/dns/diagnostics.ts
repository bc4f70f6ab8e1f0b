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
import { debuglog, format } from 'node:util';
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

/** A debug logger: call it like `util.format`; `enabled` says whether it prints. */
export interface DebugLogger {
  (format: string, ...args: unknown[]): void;
  readonly enabled: boolean;
}

/** True when a NODE_DEBUG value names `section`: a comma-separated list, `*` wildcards, any case (as node reads it). */
export function debugEnabled(nodeDebug: string | undefined, section: string): boolean {
  if (!nodeDebug) return false;
  return nodeDebug.split(',').some((pattern) => {
    const glob = pattern.trim().replace(/[|\\{}()[\]^$+?.]/g, '\\$&').replace(/\*/g, '.*');
    return glob !== '' && new RegExp(`^${glob}$`, 'i').test(section);
  });
}

/** NODE_DEBUG, or undefined where reading the environment is not allowed (Deno without --allow-env). */
function readNodeDebug(): string | undefined {
  try {
    return process.env.NODE_DEBUG;
  } catch {
    return undefined;
  }
}

/**
 * `util.debuglog(section)`, or our own logger in its format (`SECTION pid: message` on
 * stderr) where the runtime's debuglog never prints though NODE_DEBUG names the section (Bun).
 */
export function createDebugLogger(section: string, nodeDebug = readNodeDebug()): DebugLogger {
  const native = debuglog(section);
  if (native.enabled === true) return native;
  // Bun's debuglog has no `enabled` and never prints: a no-op that says so, or our own.
  if (!debugEnabled(nodeDebug, section)) return Object.assign((): void => {}, { enabled: false as const });
  const prefix = `${section.toUpperCase()} ${process.pid}:`;
  const log = (fmt: string, ...args: unknown[]): void => {
    process.stderr.write(`${prefix} ${format(fmt, ...args)}\n`);
  };
  return Object.assign(log, { enabled: true as const });
}

/** The `headless-sd` debug log: a no-op unless NODE_DEBUG names headless-sd. */
export const debug: DebugLogger = createDebugLogger('headless-sd');

/** True when either the debug log or a start/end subscriber wants per-query messages. */
export function tracing(): boolean {
  return debug.enabled || queryStartChannel.hasSubscribers || queryEndChannel.hasSubscribers;
}

/** Reports a dropped answer (debug log and drop channel). */
export function reportDrop(message: DropMessage): void {
  if (debug.enabled) debug('dropped %s answer from %s id=%d: %s', message.transport, message.from, message.id, message.reason);
  if (dropChannel.hasSubscribers) dropChannel.publish(message);
}
