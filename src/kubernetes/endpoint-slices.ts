import { isIP } from 'node:net';
import { makePeer, normalizePeers } from '../peer/index.js';
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

/** The normalized peers of one slice. */
export function slicePeers(slice: EndpointSlice, options: SlicePeerOptions, self: SelfIdentity): Peer[] {
  return normalizePeers(slicePeerInits(slice, options).map((init) => makePeer(init, self)));
}

/** The normalized union of the peers of `slices`. */
export function peersFromSlices(slices: Iterable<EndpointSlice>, options: SlicePeerOptions, self: SelfIdentity): Peer[] {
  const all: Peer[] = [];
  // One at a time: a spread of a slice's peers as arguments overflows the stack at ~100,000.
  for (const slice of slices) for (const peer of slicePeers(slice, options, self)) all.push(peer);
  return normalizePeers(all);
}

export { endpointSliceProblem } from './slice-check.js';
