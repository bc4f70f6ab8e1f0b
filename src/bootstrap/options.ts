import { isIP } from 'node:net';
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import type { WatchPeersOptions } from '../discovery/watcher.js';
import type { Peer } from '../peer/index.js';
import type { BootstrapLatch } from './latch.js';

/**
 * Asks a peer for the members of the cluster it is in: the members (any non-empty list of
 * strings the app understands: addresses, `host:port`, node ids), or `null` when it is in
 * none. A rejection, a timeout or anything else means "unknown", never "no cluster".
 */
export type BootstrapProbeFunction = (peer: Peer, signal: AbortSignal) => Promise<readonly string[] | null>;

/** Which peer is this process: its pod name (`web-0`) or its address. */
export type BootstrapSelf = { readonly name: string } | { readonly address: string };

/** Options of {@link bootstrap}: the rules of the decision, plus those of `watchPeers`. */
export interface BootstrapOptions extends WatchPeersOptions {
  /** Contact points needed before a new cluster may be formed (required, >= 1). */
  min: number;
  /** How long the set must stay unchanged, with every DNS poll a success, ms (default 5000). */
  stableFor?: number;
  /** Asks a peer which cluster it is in (required). See {@link createBootstrapProbe} for an HTTP one. */
  probe: BootstrapProbeFunction;
  /** False: never form, only join (default true). */
  newCluster?: boolean;
  /** Which peer is this process (default: the peer with `self: true`). */
  self?: BootstrapSelf;
  /** Time between two probe rounds, ms (default 1000). */
  probeInterval?: number;
  /** How long one probe may take before its peer counts as unknown, ms (default 1000). */
  probeTimeout?: number;
  /** Give up after this many ms with BootstrapError `ETIMEOUT` (default: never; use this or `signal`). */
  waitTimeout?: number;
  /** Where this process records that it formed (default: one latch per process). */
  latch?: BootstrapLatch;
}

/** How this process enters its cluster: form a new one, or join the members a peer named. */
export type BootstrapDecision = { action: 'form' } | { action: 'join'; seeds: string[] };

/** The checked options. */
export interface CheckedBootstrapOptions {
  min: number;
  stableFor: number;
  probe: BootstrapProbeFunction;
  newCluster: boolean;
  isSelf: (peer: Peer) => boolean;
  selfText: string;
  probeInterval: number;
  probeTimeout: number;
  waitTimeout: number | undefined;
}

/** Timers longer than this wrap around in Node: reject them. */
const MAX_DELAY = 2 ** 31 - 1;

function duration(name: string, value: unknown, fallback: number, minimum = 0): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isFinite(value) && value >= minimum && value <= MAX_DELAY) return value;
  throw new InvalidArgumentError(name, value, `a number of milliseconds in ${minimum}..${MAX_DELAY}`);
}

/** Checks the options of {@link bootstrap}; throws {@link InvalidArgumentError}. */
export function checkBootstrapOptions(options: BootstrapOptions): CheckedBootstrapOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', options, 'an object with min and probe');
  const { min, probe, newCluster } = options;
  if (!(typeof min === 'number' && Number.isInteger(min) && min >= 1)) throw new InvalidArgumentError('min', min, 'an integer >= 1');
  if (typeof probe !== 'function') throw new InvalidArgumentError('probe', probe, 'a function (peer, signal) => Promise<string[] | null>');
  if (newCluster !== undefined && typeof newCluster !== 'boolean') throw new InvalidArgumentError('newCluster', newCluster, 'a boolean');
  const { isSelf, selfText } = checkSelf(options.self);
  return {
    min,
    stableFor: duration('stableFor', options.stableFor, 5000),
    probe,
    newCluster: newCluster ?? true,
    isSelf,
    selfText,
    probeInterval: duration('probeInterval', options.probeInterval, 1000, 1),
    probeTimeout: duration('probeTimeout', options.probeTimeout, 1000, 1),
    waitTimeout: options.waitTimeout === undefined ? undefined : duration('waitTimeout', options.waitTimeout, 0),
  };
}

function checkSelf(self: unknown): { isSelf: (peer: Peer) => boolean; selfText: string } {
  if (self === undefined) return { isSelf: (peer) => peer.self, selfText: 'the peer with self: true' };
  const bad = (): never => {
    throw new InvalidArgumentError('self', self, "{ name: 'web-0' } or { address: '10.1.2.3' }");
  };
  if (typeof self !== 'object' || self === null) return bad();
  const keys = Object.keys(self);
  if (keys.length !== 1) return bad();
  if ('name' in self) {
    const name = self.name;
    if (typeof name !== 'string' || name === '') return bad();
    const wanted = (name as string).toLowerCase();
    return { isSelf: (peer) => peer.name === wanted, selfText: `name ${JSON.stringify(wanted)}` };
  }
  if ('address' in self) {
    const address = self.address;
    if (typeof address !== 'string' || isIP(address) === 0) return bad();
    const wanted = (address as string).toLowerCase();
    return { isSelf: (peer) => peer.address === wanted, selfText: `address ${wanted}` };
  }
  return bad();
}

/** What the latch is keyed by: the cluster (service and how it is asked) and who this process is. */
export function latchKey(service: string, options: BootstrapOptions): string {
  return JSON.stringify([
    service,
    options.namespace ?? null,
    options.clusterDomain ?? null,
    options.source ?? 'dns',
    options.port ?? null,
    options.self ?? null,
  ]);
}
