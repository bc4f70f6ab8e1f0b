import { isIP } from 'node:net';
import { InvalidArgumentError } from './invalid-argument.js';
import { canonicalIpv6 } from './ipv6.js';

/** Port DNS servers listen on unless told otherwise. */
export const DNS_PORT = 53;

/** A DNS server to send queries to. */
export interface ServerAddress {
  /** IP literal in canonical form (`'127.0.0.1'`, `'::1'`), as `rinfo.address` reports it. */
  host: string;
  port: number;
  family: 4 | 6;
  /** `'127.0.0.1:53'` or `'[::1]:53'`: how errors and stats name the server. */
  label: string;
}

/** The canonical text of an IP literal, so it compares equal to what sockets report. */
function canonicalIp(host: string, family: 4 | 6): string {
  // Our own code, not net.SocketAddress: Bun's gives `0::1` back unchanged.
  return family === 4 ? host : (canonicalIpv6(host) ?? host);
}

/**
 * True when a socket's `rinfo.address` is the server's `host`: equal text, or the same
 * IPv6 address written another way (a runtime need not report inet_ntop's form).
 */
export function sameAddress(reported: string, host: string): boolean {
  if (reported === host) return true;
  return reported.includes(':') && canonicalIpv6(reported) === host;
}

function parsePort(text: string, input: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new InvalidArgumentError('DNS server', input, 'a port from 1 to 65535');
  const port = Number(text);
  if (port < 1 || port > 65535) throw new InvalidArgumentError('DNS server', input, 'a port from 1 to 65535');
  return port;
}

/**
 * Parses a server as `'10.0.0.10'`, `'10.0.0.10:5300'`, `'fd00::10'`, `'[fd00::10]'` or
 * `'[fd00::10]:5300'` (port 53 by default). Only IP literals: a server named by DNS would need
 * DNS to be found. Throws {@link InvalidArgumentError} otherwise.
 */
export function parseServerAddress(input: string): ServerAddress {
  if (typeof input !== 'string') throw new InvalidArgumentError('DNS server', input, 'a string');
  const text = input.trim();
  let host: string;
  let port = DNS_PORT;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) throw new InvalidArgumentError('DNS server', input, "'[ipv6]' or '[ipv6]:port'");
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new InvalidArgumentError('DNS server', input, "'[ipv6]:port'");
      port = parsePort(rest.slice(1), input);
    }
    if (isIP(host) !== 6) throw new InvalidArgumentError('DNS server', input, 'an IPv6 address inside [ ]');
  } else if (isIP(text) !== 0) {
    host = text;
  } else {
    const colon = text.lastIndexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    if (colon === -1 || isIP(host) !== 4) {
      throw new InvalidArgumentError('DNS server', input, "an IP address: 'ip', 'ip:port', '[ipv6]:port'");
    }
    port = parsePort(text.slice(colon + 1), input);
  }
  const family = isIP(host) === 6 ? 6 : 4;
  host = canonicalIp(host, family);
  return { host, port, family, label: family === 6 ? `[${host}]:${port}` : `${host}:${port}` };
}
