/**
 * DnsClient options checked and merged with resolv.conf: every bad value, of any type, ends in
 * an {@link InvalidArgumentError} here rather than a RangeError or TypeError later.
 */
import { DnsError } from './errors.js';
import { InvalidArgumentError } from './invalid-argument.js';
import { PLAIN_DNS_PAYLOAD } from './message.js';
import { checkName } from './name.js';
import { readResolvConf, type ResolvConf } from './resolv-conf.js';
import { parseServerAddress, type ServerAddress } from './server-address.js';
import type { DnsClientOptions } from './types.js';

/** Longest duration Node's timers hold: longer ones would be wrapped to 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;
/** More servers or search domains than any resolver uses (glibc: 3 and 6): a bound, not a limit felt. */
const MAX_LIST = 64;

/** The client's settings, checked. */
export interface ClientSettings {
  servers: ServerAddress[];
  search: string[];
  ndots: number;
  timeout: number;
  attempts: number;
  udpPayloadSize: number;
  tcpAlways: boolean;
  rotate: boolean;
  maxQueriesPerSocket: number;
  maxInflight: number;
  tcpIdleTimeout: number;
  maxTcpInflight: number;
  maxTcpConnections: number;
  failover: boolean;
  failoverRetryDelay: number;
  singleRequest: boolean;
  singleRequestReopen: boolean;
}

const KEYS = [
  'servers', 'timeout', 'attempts', 'udpPayloadSize', 'tcp', 'search', 'ndots', 'rotate', 'maxQueriesPerSocket',
  'maxInflight', 'tcpIdleTimeout', 'resolvConf', 'maxTcpInflight', 'maxTcpConnections', 'failover',
  'failoverRetryDelay', 'singleRequest', 'singleRequestReopen',
] as const satisfies readonly (keyof DnsClientOptions)[];

/** Options read once each (a getter runs once; one that throws is a bad option, not a crash). */
function snapshot(options: unknown): Partial<Record<(typeof KEYS)[number], unknown>> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidArgumentError('DnsClient options', options, 'an object');
  }
  const out: Partial<Record<(typeof KEYS)[number], unknown>> = {};
  for (const key of KEYS) {
    let value: unknown;
    try {
      value = (options as Record<string, unknown>)[key];
    } catch {
      throw new InvalidArgumentError(`option ${key}: reading it threw`);
    }
    // null is not "the default": a caller passing null for a number has a bug worth hearing about.
    if (value === null) throw new InvalidArgumentError(`option ${key}`, value, 'a value, or undefined for the default');
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function checkInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`option ${name}`, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function checkBool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`option ${name}`, value, 'true or false');
  return value;
}

function checkList(name: string, value: unknown, what: string): unknown[] {
  if (!Array.isArray(value) || value.length > MAX_LIST) {
    throw new InvalidArgumentError(`option ${name}`, value, `an array of at most ${MAX_LIST} ${what}`);
  }
  return Array.from(value);
}

function checkSearch(value: unknown): string[] {
  return checkList('search', value, 'domain names').map((d) => {
    if (typeof d !== 'string') throw new InvalidArgumentError('search domain', d, 'a domain name');
    try {
      return checkName(d);
    } catch (err) {
      if (err instanceof DnsError) throw new InvalidArgumentError('search domain', d, `a domain name (${err.message})`);
      throw err;
    }
  });
}

/** Checks `options` and fills what they leave out from resolv.conf (read only when needed). */
export function clientSettings(options: unknown): ClientSettings {
  const o = snapshot(options);
  if (o.resolvConf !== undefined && typeof o.resolvConf !== 'string') {
    throw new InvalidArgumentError('option resolvConf', o.resolvConf, 'a file path');
  }
  const fromConf = ['servers', 'search', 'ndots', 'timeout', 'attempts', 'rotate', 'tcp', 'singleRequest', 'singleRequestReopen'] as const;
  const conf: ResolvConf | null = fromConf.some((k) => o[k] === undefined) ? readResolvConf(o.resolvConf as string | undefined) : null;
  const servers = checkList('servers', o.servers ?? conf!.nameservers, 'server addresses').map((s) => parseServerAddress(s as string));
  if (servers.length === 0) throw new InvalidArgumentError('option servers', o.servers, 'a non-empty array of addresses');
  if (o.tcp !== undefined && o.tcp !== 'fallback' && o.tcp !== 'always') {
    throw new InvalidArgumentError('option tcp', o.tcp, "'fallback' or 'always'");
  }
  const maxInflight = checkInt('maxInflight', o.maxInflight ?? 128, 1, 65535);
  return {
    servers,
    search: checkSearch(o.search ?? conf!.search).filter((d) => d !== ''),
    ndots: checkInt('ndots', o.ndots ?? conf!.ndots, 0, 255),
    timeout: checkInt('timeout', o.timeout ?? conf!.timeout, 1, MAX_TIMER_MS),
    attempts: checkInt('attempts', o.attempts ?? conf!.attempts * servers.length, 1, 1000),
    udpPayloadSize: checkInt('udpPayloadSize', o.udpPayloadSize ?? 1232, PLAIN_DNS_PAYLOAD, 65535),
    tcpAlways: o.tcp === undefined ? conf!.useVc : o.tcp === 'always',
    rotate: checkBool('rotate', o.rotate, conf?.rotate ?? false),
    maxQueriesPerSocket: checkInt('maxQueriesPerSocket', o.maxQueriesPerSocket ?? 1000, 1, 1e9),
    maxInflight,
    tcpIdleTimeout: checkInt('tcpIdleTimeout', o.tcpIdleTimeout ?? 2000, 0, MAX_TIMER_MS),
    maxTcpInflight: checkInt('maxTcpInflight', o.maxTcpInflight ?? maxInflight, 1, 65535),
    maxTcpConnections: checkInt('maxTcpConnections', o.maxTcpConnections ?? 4, 1, 64),
    failover: checkBool('failover', o.failover, true),
    failoverRetryDelay: checkInt('failoverRetryDelay', o.failoverRetryDelay ?? 5000, 0, MAX_TIMER_MS),
    singleRequest: checkBool('singleRequest', o.singleRequest, conf?.singleRequest ?? false),
    singleRequestReopen: checkBool('singleRequestReopen', o.singleRequestReopen, conf?.singleRequestReopen ?? false),
  };
}
