import { isIP } from 'node:net';
import { makePeer, normalizePeers, peerDetailsDiffer, peerKey } from '../peer/index.js';
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

/** True when two normalized peer lists hold the same peers with the same details. */
function samePeers(a: readonly Peer[], b: readonly Peer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (peerKey(a[i]!) !== peerKey(b[i]!) || peerDetailsDiffer(a[i]!, b[i]!)) return false;
  }
  return true;
}

/** The normalized peers of one slice. */
export function slicePeers(slice: EndpointSlice, options: SlicePeerOptions, self: SelfIdentity): Peer[] {
  return normalizePeers(slicePeerInits(slice, options).map((init) => makePeer(init, self)));
}

/** The normalized union of the peers of `slices`. */
export function peersFromSlices(slices: Iterable<EndpointSlice>, options: SlicePeerOptions, self: SelfIdentity): Peer[] {
  const all: Peer[] = [];
  for (const slice of slices) all.push(...slicePeers(slice, options, self));
  return normalizePeers(all);
}

interface IndexedSlice {
  resourceVersion: string | undefined;
  peers: Peer[];
}

/**
 * The peers of a Service's slices, kept per slice: a watch event for one slice recomputes
 * that slice only, and unchanged slices keep their Peer objects. The union is rebuilt
 * (merged and sorted) only after a change.
 */
export class EndpointSliceIndex {
  readonly #options: SlicePeerOptions;
  readonly #self: SelfIdentity;
  readonly #slices = new Map<string, IndexedSlice>();
  #union: Peer[] | null = [];
  #recomputed = 0;

  constructor(options: SlicePeerOptions, self: SelfIdentity) {
    this.#options = options;
    this.#self = self;
  }

  /** How many times a slice's peers were computed (for tests and diagnostics). */
  get recomputed(): number {
    return this.#recomputed;
  }

  /** Number of slices held. */
  get size(): number {
    return this.#slices.size;
  }

  /** Names of the slices held. */
  get names(): string[] {
    return [...this.#slices.keys()];
  }

  /** The peers of one slice, or undefined. */
  peersOf(name: string): readonly Peer[] | undefined {
    return this.#slices.get(name)?.peers;
  }

  /** Adds or replaces a slice (ADDED, MODIFIED). Returns true when its peers changed. */
  set(slice: EndpointSlice): boolean {
    const name = slice.metadata.name;
    const rv = slice.metadata.resourceVersion;
    const before = this.#slices.get(name);
    // A relist repeats slices the watch already delivered: same version, nothing to compute.
    if (before && rv !== undefined && before.resourceVersion === rv) return false;
    this.#recomputed++;
    const peers = slicePeers(slice, this.#options, this.#self);
    if (before && samePeers(before.peers, peers)) {
      before.resourceVersion = rv;
      return false;
    }
    this.#slices.set(name, { resourceVersion: rv, peers });
    this.#union = null;
    return true;
  }

  /** Removes a slice (DELETED). Returns true when that removed peers. */
  delete(name: string): boolean {
    const before = this.#slices.get(name);
    if (!before) return false;
    this.#slices.delete(name);
    if (before.peers.length === 0) return false;
    this.#union = null;
    return true;
  }

  /** Replaces every slice with a fresh list (after a relist). Returns true when any slice's peers changed. */
  replace(slices: Iterable<EndpointSlice>): boolean {
    let changed = false;
    const listed = new Set<string>();
    for (const slice of slices) {
      listed.add(slice.metadata.name);
      if (this.set(slice)) changed = true;
    }
    for (const name of [...this.#slices.keys()]) {
      if (!listed.has(name) && this.delete(name)) changed = true;
    }
    return changed;
  }

  /** The normalized union of every slice's peers. */
  get peers(): Peer[] {
    if (this.#union === null) {
      const all: Peer[] = [];
      for (const s of this.#slices.values()) for (const p of s.peers) all.push(p);
      this.#union = normalizePeers(all);
    }
    return this.#union;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Why `value` is not an EndpointSlice this package can read (null when it is): metadata.name,
 * addressType, and endpoints/ports as arrays of objects (null or missing is allowed).
 */
export function endpointSliceProblem(value: unknown): string | null {
  if (!isObject(value)) return 'not an object';
  const metadata = value.metadata;
  if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') return 'no metadata.name';
  if (typeof value.addressType !== 'string') return `slice ${metadata.name} has no addressType`;
  for (const field of ['endpoints', 'ports'] as const) {
    const list = value[field];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list) || !list.every(isObject)) return `slice ${metadata.name}: ${field} is not a list of objects`;
  }
  for (const endpoint of (value.endpoints ?? []) as Record<string, unknown>[]) {
    if (!Array.isArray(endpoint.addresses)) return `slice ${metadata.name}: an endpoint has no addresses list`;
  }
  return null;
}
