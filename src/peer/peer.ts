import { firstLabel, ordinalOf, withoutTrailingDot } from './names.js';
import type { SelfIdentity } from './self.js';

/** The Pod behind a peer, from the EndpointSlice endpoint's `targetRef` (kind Pod). */
export interface PeerPod {
  readonly name: string;
  readonly uid: string;
}

/**
 * One member of a Service: a (host, address, port) triple with what DNS or the API said of it.
 * Peers handed out are frozen: share them freely, never mutate them.
 */
export interface Peer {
  /** FQDN without the trailing dot: 'web-0.nginx.default.svc.cluster.local'; null if unknown. */
  readonly host: string | null;
  /** First label of host: 'web-0'; null when host is null. */
  readonly name: string | null;
  /** '10.1.2.3' or 'fd00::3'. */
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number | null;
  /** SRV priority, 0 without SRV. */
  readonly priority: number;
  /** SRV weight, 0 without SRV. */
  readonly weight: number;
  /** StatefulSet ordinal from a trailing `-N` of name. */
  readonly ordinal: number | null;
  /** Seconds, as received (0 for the Kubernetes API source, which has no TTL). */
  readonly ttl: number;
  /** True for this process's own pod. */
  readonly self: boolean;
  /** EndpointSlice `conditions.ready` (missing = true). DNS: true (DNS lists ready pods, or every pod with publishNotReadyAddresses). */
  readonly ready: boolean;
  /** EndpointSlice `conditions.serving` (missing = ready). DNS: true. */
  readonly serving: boolean;
  /** EndpointSlice `conditions.terminating` (missing = false): the pod is being deleted and drains. DNS: false. */
  readonly terminating: boolean;
  /** The endpoint's zone (API); DNS: null. */
  readonly zone: string | null;
  /** The node the endpoint runs on (API); DNS: null. */
  readonly nodeName: string | null;
  /** The Pod behind the endpoint (API, `targetRef` of kind Pod); DNS: null. */
  readonly pod: PeerPod | null;
}

/** A difference between two peer sets, with the set after it. */
export interface PeerChange {
  /** The whole set after the change. */
  peers: Peer[];
  /** Peers whose key (host, address, port) is new. */
  added: Peer[];
  /** Peers whose key is gone. */
  removed: Peer[];
  /** Peers whose key stayed but whose details changed (ready, serving, terminating, zone, nodeName, pod): the new objects. */
  updated: Peer[];
}

/** Fields a source knows about one peer; the rest is derived by {@link makePeer}. */
export interface PeerInit {
  host: string | null;
  address: string;
  port: number | null;
  priority?: number;
  weight?: number;
  ttl: number;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  zone?: string | null;
  nodeName?: string | null;
  pod?: PeerPod | null;
}

/** Builds a frozen {@link Peer}: strips the host's trailing dot, derives name, family, ordinal and self. */
export function makePeer(init: PeerInit, self: SelfIdentity): Peer {
  const host = init.host === null ? null : withoutTrailingDot(init.host).toLowerCase();
  const name = firstLabel(host);
  const address = init.address.toLowerCase();
  const ready = init.ready ?? true;
  return Object.freeze({
    host,
    name,
    address,
    family: address.includes(':') ? 6 : 4,
    port: init.port,
    priority: init.priority ?? 0,
    weight: init.weight ?? 0,
    ordinal: ordinalOf(name),
    ttl: init.ttl,
    self: self.addresses.has(address) || (name !== null && name === self.hostname),
    ready,
    serving: init.serving ?? ready,
    terminating: init.terminating ?? false,
    zone: init.zone ?? null,
    nodeName: init.nodeName ?? null,
    pod: init.pod ? Object.freeze({ name: init.pod.name, uid: init.pod.uid }) : null,
  });
}

/** What identifies a peer within a set: host, address and port. Computed on each call (sets compare with {@link comparePeers}). */
export function peerKey(peer: Pick<Peer, 'host' | 'address' | 'port'>): string {
  return `${peer.host ?? ''}|${peer.address}|${peer.port ?? ''}`;
}

/** Order of a peer set: ordinal (peers without one last), then host, then address, then port. */
export function comparePeers(a: Peer, b: Peer): number {
  const ao = a.ordinal ?? Number.MAX_SAFE_INTEGER;
  const bo = b.ordinal ?? Number.MAX_SAFE_INTEGER;
  if (ao !== bo) return ao - bo;
  const ah = a.host ?? '';
  const bh = b.host ?? '';
  if (ah !== bh) return ah < bh ? -1 : 1;
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return (a.port ?? -1) - (b.port ?? -1);
}

/**
 * True when two peers of the same key differ in what `updated` reports: the endpoint's
 * conditions, zone, node or pod. TTL (it counts down through a cache), SRV priority and
 * weight (CoreDNS derives the weight from the set's size) are not a change.
 */
export function peerDetailsDiffer(a: Peer, b: Peer): boolean {
  return (
    a.ready !== b.ready ||
    a.serving !== b.serving ||
    a.terminating !== b.terminating ||
    a.zone !== b.zone ||
    a.nodeName !== b.nodeName ||
    a.self !== b.self ||
    (a.pod?.name ?? null) !== (b.pod?.name ?? null) ||
    (a.pod?.uid ?? null) !== (b.pod?.uid ?? null)
  );
}

/**
 * `host:port` of a peer, to dial it: the address (in brackets when IPv6) and `port`, or the
 * peer's own port. Throws when neither gives a port.
 */
export function peerHostPort(peer: Pick<Peer, 'address' | 'port'>, port: number | null = peer.port): string {
  if (port === null) throw new TypeError(`peer ${peer.address} has no port: ask for a port (port: 'web' or a number)`);
  return peer.address.includes(':') ? `[${peer.address}]:${port}` : `${peer.address}:${port}`;
}
