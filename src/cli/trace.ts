/**
 * `--debug`: one stderr line per DNS query try, from the client's diagnostics channel
 * (no cost when off: nothing subscribes).
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { QUERY_END_CHANNEL } from '../dns/diagnostics.js';
import type { QueryEndMessage } from '../dns/diagnostics.js';

/** One trace line: `debug: udp 127.0.0.1:5353 SRV _web._tcp.nginx... -> NOERROR (2 ms)`. */
export function formatQueryTrace(m: QueryEndMessage): string {
  const outcome = m.error ? `${m.error.code}` : m.truncated ? 'truncated, retrying over TCP' : (m.rcode ?? 'no answer');
  return `headless-sd: debug: ${m.transport} ${m.server} ${m.type} ${m.name} -> ${outcome} (${Math.round(m.duration)} ms)\n`;
}

/** Writes a trace line per query try until the returned function is called. */
export function traceQueries(write: (text: string) => void): () => void {
  const onMessage = (message: unknown): void => write(formatQueryTrace(message as QueryEndMessage));
  diagnosticsChannel.subscribe(QUERY_END_CHANNEL, onMessage);
  return () => {
    diagnosticsChannel.unsubscribe(QUERY_END_CHANNEL, onMessage);
  };
}
