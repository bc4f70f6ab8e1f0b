import { isIP } from 'node:net';
import { makePeer, mergePeerRuns, normalizeInPlace, ordinalOf } from '../peer/index.js';
import type { Peer, PeerInit, SelfIdentity } from '../peer/index.js';

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Conditions of an endpoint; the API says a missing `ready`/`serving` means ready, a missing `terminating` means not. */
export interface EndpointConditions {
  ready?: boolean | null;
  serving?: boolean | null;
  terminating?: boolean | null;
}

/** One endpoint of an EndpointSlice (the fields this package reads, and a few it shows). */
export interface SliceEndpoint {
  addresses: string[];
  conditions?: EndpointConditions | null;
  hostname?: string | null;
  targetRef?: { kind?: string; name?: string; namespace?: string; uid?: string } | null;
  nodeName?: string | null;
  zone?: string | null;
}

/** A port of an EndpointSlice. */
export interface SlicePort {
  name?: string | null;
  port?: number | null;
  protocol?: string | null;
  appProtocol?: string | null;
}

/** A discovery.k8s.io/v1 EndpointSlice. */
export interface EndpointSlice {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    [key: string]: unknown;
  };
  addressType: 'IPv4' | 'IPv6' | 'FQDN' | (string & {});
  endpoints?: SliceEndpoint[] | null;
  ports?: SlicePort[] | null;
}

/** Which peers a set of slices gives. */
export interface SlicePeerOptions {
  /** Service name (first label). */
  service: string;
  namespace: string;
  /** Default 'cluster.local'. */
  clusterDomain: string;
  /** A port name (matched in each slice's ports with `protocol`), a number (set on every peer), or null. */
  port: string | number | null;
  protocol: 'tcp' | 'udp' | 'sctp';
  family: 0 | 4 | 6;
  /** Take endpoints that are not ready too (all but those terminating and no longer serving). */
  includeNotReady: boolean;
}

/** True when an endpoint belongs in the set: ready, or (includeNotReady) anything but a terminated one. */
export function endpointIncluded(endpoint: SliceEndpoint, includeNotReady: boolean): boolean {
  const c = endpoint.conditions ?? {};
  if (c.ready !== false) return true;
  if (!includeNotReady) return false;
  return !(c.terminating === true && c.serving === false);
}

/** The port of a slice's peers: the named port's number (null when the slice has no such port: no peers), or the number given. */
export function slicePort(slice: EndpointSlice, options: Pick<SlicePeerOptions, 'port' | 'protocol'>): number | null | undefined {
  if (options.port === null || typeof options.port === 'number') return options.port;
  const name = options.port.toLowerCase();
  const protocol = options.protocol.toUpperCase();
  for (const p of slice.ports ?? []) {
    if ((p.name ?? '').toLowerCase() === name && (p.protocol ?? 'TCP').toUpperCase() === protocol && typeof p.port === 'number') return p.port;
  }
  return undefined;
}

/**
 * The peers one slice gives, before `makePeer`: its included endpoints' addresses of the
 * family asked, host `<hostname>.<service>.<namespace>.svc.<clusterDomain>` (null without
 * hostname), port per {@link slicePort}, priority/weight/ttl 0. FQDN slices give none.
 */
export function slicePeerInits(slice: EndpointSlice, options: SlicePeerOptions): PeerInit[] {
  const family = slice.addressType === 'IPv4' ? 4 : slice.addressType === 'IPv6' ? 6 : 0;
  if (family === 0 || (options.family !== 0 && options.family !== family)) return [];
  const port = slicePort(slice, options);
  if (port === undefined) return [];
  const base = `${options.service}.${options.namespace}.svc.${options.clusterDomain}`;
  const out: PeerInit[] = [];
  for (const endpoint of slice.endpoints ?? []) {
    if (!endpointIncluded(endpoint, options.includeNotReady)) continue;
    const host = endpoint.hostname ? `${endpoint.hostname}.${base}` : null;
    const details = endpointDetails(endpoint);
    for (const address of endpoint.addresses ?? []) {
      // An address that does not match the slice's type is malformed: left out, as kube-proxy does.
      if (typeof address !== 'string' || isIP(address) !== family) continue;
      out.push({ host, address, port, priority: 0, weight: 0, ttl: 0, ...details });
    }
  }
  return out;
}

/** What an endpoint says of its peers besides address and host: conditions, zone, node, pod. */
export function endpointDetails(endpoint: SliceEndpoint): Pick<PeerInit, 'ready' | 'serving' | 'terminating' | 'zone' | 'nodeName' | 'pod'> {
  const c = endpoint.conditions ?? {};
  const ready = c.ready !== false;
  const ref = endpoint.targetRef;
  return {
    ready,
    // The API: a missing `serving` takes the value of `ready`.
    serving: typeof c.serving === 'boolean' ? c.serving : ready,
    terminating: c.terminating === true,
    zone: typeof endpoint.zone === 'string' ? endpoint.zone : null,
    nodeName: typeof endpoint.nodeName === 'string' ? endpoint.nodeName : null,
    pod: ref && ref.kind === 'Pod' && typeof ref.name === 'string' ? { name: ref.name, uid: typeof ref.uid === 'string' ? ref.uid : '' } : null,
  };
}

/** Strings many endpoints repeat (node names, zones), kept once: JSON.parse makes a copy per endpoint. */
export type StringPool = Map<string, string>;

/** Most distinct strings a pool keeps; past it, strings are used as they come. */
const POOL_LIMIT = 10_000;

function pooled(pool: StringPool | undefined, value: string): string {
  if (pool === undefined) return value;
  const kept = pool.get(value);
  if (kept !== undefined) return kept;
  if (pool.size < POOL_LIMIT) pool.set(value, value);
  return value;
}

/**
 * The normalized peers of one slice. Built straight from the endpoints (what {@link makePeer}
 * would give from {@link slicePeerInits}, without the step between): a StatefulSet's
 * endpoints, lower-case DNS-label hostnames and IPv4 addresses, take the short way; anything
 * else goes through `makePeer`.
 */
export function slicePeers(slice: EndpointSlice, options: SlicePeerOptions, self: SelfIdentity, pool?: StringPool): Peer[] {
  const family = slice.addressType === 'IPv4' ? 4 : slice.addressType === 'IPv6' ? 6 : 0;
  if (family === 0 || (options.family !== 0 && options.family !== family)) return [];
  const port = slicePort(slice, options);
  if (port === undefined) return [];
  const suffix = `.${options.service}.${options.namespace}.svc.${options.clusterDomain}`.toLowerCase();
  const endpoints = slice.endpoints ?? [];
  const ctx: BuildContext = { suffix, port, self, selfAddresses: [...self.addresses], pool, lastNode: null, lastZone: null };
  const out: Peer[] = [];
  for (let e = 0; e < endpoints.length; e++) {
    const endpoint = endpoints[e]!;
    if (!endpointIncluded(endpoint, options.includeNotReady)) continue;
    const addresses = endpoint.addresses ?? [];
    for (let a = 0; a < addresses.length; a++) {
      const address = addresses[a];
      if (typeof address !== 'string') continue;
      const hostname = endpoint.hostname;
      if (family === 4 && isIPv4Text(address) && (hostname === undefined || hostname === null || isPlainLabel(hostname))) {
        out.push(endpointPeer(endpoint, hostname ?? null, address, ctx));
      } else if (isIP(address) === family) {
        // An address that does not match the slice's type is malformed: left out, as kube-proxy does.
        const host = hostname ? `${hostname}${suffix}` : null;
        out.push(makePeer({ host, address, port, priority: 0, weight: 0, ttl: 0, ...endpointDetails(endpoint) }, self));
      }
    }
  }
  return normalizeInPlace(out);
}

/** What every peer of one slice shares while it is built. */
interface BuildContext {
  /** `.<service>.<namespace>.svc.<cluster domain>`. */
  suffix: string;
  port: number | null;
  self: SelfIdentity;
  /** This machine's few addresses, compared one by one: cheaper than hashing every peer's address for a Set. */
  selfAddresses: string[];
  pool: StringPool | undefined;
  /** The last node name and zone pooled: neighbouring endpoints often share them. */
  lastNode: string | null;
  lastZone: string | null;
}

/** A Peer of an IPv4 endpoint whose hostname (if any) is a lower-case DNS label: name and pod name share one string. */
function endpointPeer(endpoint: SliceEndpoint, hostname: string | null, address: string, ctx: BuildContext): Peer {
  const c = endpoint.conditions;
  const ready = c?.ready !== false;
  const ref = endpoint.targetRef;
  let pod: Peer['pod'] = null;
  if (ref && ref.kind === 'Pod' && typeof ref.name === 'string') {
    pod = Object.freeze({ name: ref.name === hostname ? hostname : ref.name, uid: typeof ref.uid === 'string' ? ref.uid : '' });
  }
  let zone: string | null = null;
  if (typeof endpoint.zone === 'string') zone = endpoint.zone === ctx.lastZone ? ctx.lastZone : (ctx.lastZone = pooled(ctx.pool, endpoint.zone));
  let nodeName: string | null = null;
  if (typeof endpoint.nodeName === 'string') nodeName = endpoint.nodeName === ctx.lastNode ? ctx.lastNode : (ctx.lastNode = pooled(ctx.pool, endpoint.nodeName));
  return Object.freeze({
    host: hostname === null ? null : hostname + ctx.suffix,
    name: hostname,
    address,
    family: 4 as const,
    port: ctx.port,
    priority: 0,
    weight: 0,
    ordinal: ordinalOf(hostname),
    ttl: 0,
    self: ctx.selfAddresses.includes(address) || (hostname !== null && hostname === ctx.self.hostname),
    ready,
    serving: typeof c?.serving === 'boolean' ? c.serving : ready,
    terminating: c?.terminating === true,
    zone,
    nodeName,
    pod,
  });
}

/** True for a non-empty label of `a-z`, `0-9` and `-` only: nothing to lower-case, escape or strip. */
function isPlainLabel(label: string): boolean {
  if (label.length === 0 || label.length > 63) return false;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45)) return false;
  }
  return true;
}

/** `isIP(text) === 4` without the regular expression: four decimal octets, no leading zeros. */
export function isIPv4Text(text: string): boolean {
  const end = text.length;
  if (end < 7 || end > 15) return false;
  let parts = 0;
  let i = 0;
  while (i <= end) {
    let value = 0;
    let digits = 0;
    const first = i;
    for (; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      digits++;
    }
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && text.charCodeAt(first) === 48)) return false;
    parts++;
    if (i === end) return parts === 4;
    if (text.charCodeAt(i) !== 46 || parts === 4) return false;
    i++;
  }
  return false;
}

/**
 * The peers of slices that come a few at a time (the pages of a list): each slice becomes its
 * sorted run as it is added, with node names and zones kept once, and the runs are merged once.
 */
export class SlicePeerRuns {
  readonly #options: SlicePeerOptions;
  readonly #self: SelfIdentity;
  readonly #runs: Peer[][] = [];
  readonly #pool: StringPool = new Map();

  constructor(options: SlicePeerOptions, self: SelfIdentity) {
    this.#options = options;
    this.#self = self;
  }

  /** Takes slices: their peers are computed now, the slices are not kept. */
  add(slices: Iterable<EndpointSlice>): void {
    for (const slice of slices) this.#runs.push(slicePeers(slice, this.#options, this.#self, this.#pool));
  }

  /** The normalized union of the peers of every slice added. */
  peers(): Peer[] {
    return mergePeerRuns(this.#runs);
  }
}

/** The normalized union of the peers of `slices` (node names and zones kept once). */
export function peersFromSlices(slices: Iterable<EndpointSlice>, options: SlicePeerOptions, self: SelfIdentity): Peer[] {
  const runs = new SlicePeerRuns(options, self);
  runs.add(slices);
  return runs.peers();
}

export { endpointSliceProblem } from './slice-check.js';
