import { DnsClient } from '../dns/client.js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import { checkName } from '../dns/name.js';
import { checkFamily, checkPort, checkProtocol } from '../peer/query.js';

export { checkFamily, checkPort, checkProtocol } from '../peer/query.js';
export type { Family, PortProtocol } from '../peer/query.js';

/** Longest delay a Node timer takes: longer ones are cut to 1 ms, so they are refused. */
export const MAX_DURATION = 2_147_483_647;

/** Checks a duration in ms (`minInterval`, `stableFor`, ...): 0..2^31-1. */
export function checkDuration(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_DURATION) return value;
  throw new InvalidArgumentError(name, value, `a number of milliseconds from 0 to ${MAX_DURATION} (about 24.8 days)`);
}

/** The keys of `peers()` options. */
const PEERS_KEYS = [
  'port',
  'protocol',
  'namespace',
  'clusterDomain',
  'family',
  'servers',
  'timeout',
  'attempts',
  'signal',
  'client',
  'resolvConf',
  'allowEmpty',
  'source',
  'kubernetes',
  'includeNotReady',
] as const;

/** The keys of `watchPeers()` options. */
const WATCH_KEYS = [...PEERS_KEYS, 'minInterval', 'maxInterval'] as const;

/** The keys of `waitForPeers()` options. */
const WAIT_KEYS = [...WATCH_KEYS, 'min', 'stableFor', 'waitTimeout'] as const;

const KEYS = { peers: PEERS_KEYS, watchPeers: WATCH_KEYS, waitForPeers: WAIT_KEYS } as const;

/** Which call's options {@link checkOptions} checks. */
export type OptionsOf = keyof typeof KEYS;

/** Options the DnsClient owns: with a shared `client`, they would be silently dropped. */
const CLIENT_OWNED = ['servers', 'timeout', 'attempts', 'resolvConf'] as const;

/**
 * Checks the options of `peers()`, `watchPeers()` or `waitForPeers()` before anything
 * runs: an object, no unknown key (a typo gets a suggestion), every value of its type and
 * range, no option that a shared `client` would ignore. Throws {@link InvalidArgumentError}.
 */
export function checkOptions(call: OptionsOf, service: unknown, options: unknown): void {
  if (typeof service !== 'string') throw new InvalidArgumentError('service', service, "a Service name such as 'nginx' or 'nginx.default'");
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidArgumentError(`${call}() options`, options, 'an object');
  }
  const known: readonly string[] = KEYS[call];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const near = suggest(key, known);
      throw new InvalidArgumentError(
        `unknown ${call}() option ${JSON.stringify(key)}${near ? `: did you mean ${JSON.stringify(near)}?` : ''} (options: ${known.join(', ')})`,
      );
    }
  }
  const o = options as Record<string, unknown>;
  checkPort(o.port);
  checkProtocol(o.protocol);
  checkFamily(o.family);
  if (o.namespace !== undefined) {
    checkLabel('namespace', o.namespace);
    if (service.includes('.')) {
      throw new InvalidArgumentError(
        `service ${JSON.stringify(service)} is already qualified: pass a bare Service name with the namespace option, or drop the option`,
      );
    }
  }
  if (o.clusterDomain !== undefined) checkDomain('clusterDomain', o.clusterDomain);
  if (o.servers !== undefined && (!Array.isArray(o.servers) || o.servers.length === 0 || o.servers.some((s) => typeof s !== 'string'))) {
    throw new InvalidArgumentError('servers', o.servers, "a non-empty array of addresses such as '10.96.0.10' or '127.0.0.1:5300'");
  }
  if (o.timeout !== undefined && !(typeof o.timeout === 'number' && Number.isInteger(o.timeout) && o.timeout >= 1 && o.timeout <= MAX_DURATION)) {
    throw new InvalidArgumentError('timeout', o.timeout, `an integer number of milliseconds from 1 to ${MAX_DURATION}`);
  }
  if (o.attempts !== undefined && !(typeof o.attempts === 'number' && Number.isInteger(o.attempts) && o.attempts >= 1 && o.attempts <= 1000)) {
    throw new InvalidArgumentError('attempts', o.attempts, 'an integer from 1 to 1000');
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new InvalidArgumentError('signal', o.signal, 'an AbortSignal');
  if (o.client !== undefined) {
    if (!(o.client instanceof DnsClient)) throw new InvalidArgumentError('client', o.client, 'a DnsClient');
    const dropped = CLIENT_OWNED.filter((k) => o[k] !== undefined);
    if (dropped.length > 0) {
      throw new InvalidArgumentError(
        `options ${dropped.join(', ')} are the client's: with a shared client, set them on new DnsClient({ ... }) instead`,
      );
    }
  }
  if (o.resolvConf !== undefined && (typeof o.resolvConf !== 'string' || o.resolvConf === '')) {
    throw new InvalidArgumentError('resolvConf', o.resolvConf, 'a file path');
  }
  for (const flag of ['allowEmpty', 'includeNotReady'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw new InvalidArgumentError(flag, o[flag], 'true or false');
  }
  if (o.source !== undefined && o.source !== 'dns' && o.source !== 'kubernetes' && o.source !== 'auto') {
    throw new InvalidArgumentError('source', o.source, "'dns', 'kubernetes' or 'auto'");
  }
  if (o.kubernetes !== undefined && (o.kubernetes === null || typeof o.kubernetes !== 'object' || Array.isArray(o.kubernetes))) {
    throw new InvalidArgumentError('kubernetes', o.kubernetes, 'an object ({ url, token, ca, ... })');
  }
  if (o.source !== 'kubernetes' && o.source !== 'auto' && (o.kubernetes !== undefined || o.includeNotReady === true)) {
    throw new InvalidArgumentError(
      `option ${o.kubernetes !== undefined ? 'kubernetes' : 'includeNotReady'} is for the Kubernetes API source: add source: 'kubernetes' (or 'auto')`,
    );
  }
  if (o.source === 'kubernetes') {
    const dnsOnly = ['client', 'servers', 'attempts', 'resolvConf'].filter((k) => o[k] !== undefined);
    if (dnsOnly.length > 0) {
      throw new InvalidArgumentError(`options ${dnsOnly.join(', ')} are for DNS: they do nothing with source: 'kubernetes' (use kubernetes: { url, ... })`);
    }
  }
  checkDuration('minInterval', o.minInterval, 0);
  checkDuration('maxInterval', o.maxInterval, 0);
  checkDuration('stableFor', o.stableFor, 0);
  checkDuration('waitTimeout', o.waitTimeout, 0);
  if (o.min !== undefined && !(typeof o.min === 'number' && Number.isInteger(o.min) && o.min >= 0 && o.min <= 1_000_000)) {
    throw new InvalidArgumentError('min', o.min, 'an integer from 0 to 1000000');
  }
}

/** A namespace: one DNS label (RFC 1123), as Kubernetes requires. */
function checkLabel(name: string, value: unknown): void {
  if (typeof value !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/i.test(value)) {
    throw new InvalidArgumentError(name, value, 'a Kubernetes namespace name (an RFC 1123 label: letters, digits, "-")');
  }
}

/** A cluster domain: a DNS name such as cluster.local. */
function checkDomain(name: string, value: unknown): void {
  let ok = typeof value === 'string' && value !== '' && value !== '.';
  if (ok) {
    try {
      checkName(value as string);
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new InvalidArgumentError(name, value, 'a DNS name such as cluster.local');
}

/** The known key nearest to `key` (case-insensitive edit distance <= 2, or a plural/prefix), or null. */
export function suggest(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, bounded work: option names are short. */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64 || b.length > 64) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
