import { networkInterfaces, hostname as osHostname } from 'node:os';

/** One member of a Service: a (host, address, port) triple with what DNS or the API said of it. */
export interface Peer {
  /** FQDN without the trailing dot: 'web-0.nginx.default.svc.cluster.local'; null if unknown. */
  host: string | null;
  /** First label of host: 'web-0'; null when host is null. */
  name: string | null;
  /** '10.1.2.3' or 'fd00::3'. */
  address: string;
  family: 4 | 6;
  port: number | null;
  /** SRV priority, 0 without SRV. */
  priority: number;
  /** SRV weight, 0 without SRV. */
  weight: number;
  /** StatefulSet ordinal from a trailing `-N` of name. */
  ordinal: number | null;
  /** Seconds, as received (0 for the Kubernetes API source, which has no TTL). */
  ttl: number;
  /** True for this process's own pod. */
  self: boolean;
}

/** A difference between two peer sets, with the set after it. */
export interface PeerChange {
  /** The whole set after the change. */
  peers: Peer[];
  added: Peer[];
  removed: Peer[];
}

// Peers are immutable once made, and a set's unchanged peers are the same objects from one
// change to the next: their keys are computed once (the diff of a 10,000-peer set is then cheap).
const keys = new WeakMap<object, string>();

/** What identifies a peer within a set: host, address and port. */
export function peerKey(peer: Pick<Peer, 'host' | 'address' | 'port'>): string {
  let key = keys.get(peer);
  if (key === undefined) {
    key = `${peer.host ?? ''}|${peer.address}|${peer.port ?? ''}`;
    keys.set(peer, key);
  }
  return key;
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

/** StatefulSet ordinal of a pod name: 'web-12' -> 12; null when the name has no `-N` suffix. */
export function ordinalOf(name: string | null): number | null {
  if (name === null) return null;
  const m = /-(\d{1,9})$/.exec(name);
  return m ? Number(m[1]) : null;
}

const DOT = 46;
const BACKSLASH = 92;

/**
 * First label of a host name. A label may hold an escaped dot (`we\.b-1`: DNS names are any
 * bytes, and the DNS layer escapes them as dig does), which does not end it.
 */
export function firstLabel(host: string | null): string | null {
  if (host === null) return null;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === BACKSLASH) i++; // `\.`, `\\`, `\DDD`: the next character belongs to the label
    else if (c === DOT) return host.slice(0, i);
  }
  return host;
}

/** `host` without its trailing dot; an escaped dot (`\.`) at the end is part of the last label and stays. */
export function withoutTrailingDot(host: string): string {
  if (!host.endsWith('.')) return host;
  let slashes = 0;
  for (let i = host.length - 2; i >= 0 && host.charCodeAt(i) === BACKSLASH; i--) slashes++;
  return slashes % 2 === 0 ? host.slice(0, -1) : host;
}

/** What tells whether a peer is this process's own pod. */
export interface SelfIdentity {
  /** This machine's interface addresses. */
  addresses: ReadonlySet<string>;
  /** os.hostname(), lower case. */
  hostname: string;
}

/** Reads this machine's interface addresses and host name (call once per resolution). */
export function localIdentity(): SelfIdentity {
  const addresses = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) addresses.add(info.address.toLowerCase());
  }
  return { addresses, hostname: osHostname().toLowerCase() };
}

/** Fields a source knows about one peer; the rest is derived by {@link makePeer}. */
export interface PeerInit {
  host: string | null;
  address: string;
  port: number | null;
  priority?: number;
  weight?: number;
  ttl: number;
}

/** Builds a {@link Peer}: strips the host's trailing dot, derives name, family, ordinal and self. */
export function makePeer(init: PeerInit, self: SelfIdentity): Peer {
  const host = init.host === null ? null : withoutTrailingDot(init.host).toLowerCase();
  const name = firstLabel(host);
  const address = init.address.toLowerCase();
  return {
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
  };
}

/** Sorts and removes duplicates (same host, address, port: the first wins). */
export function normalizePeers(peers: Iterable<Peer>): Peer[] {
  const seen = new Map<string, Peer>();
  for (const p of peers) {
    const k = peerKey(p);
    if (!seen.has(k)) seen.set(k, p);
  }
  return [...seen.values()].sort(comparePeers);
}

/**
 * The difference from `before` to `after` (both normalized). A peer whose key is in both
 * is unchanged even when its ttl differs: TTLs count down and are not membership.
 */
export function diffPeers(before: readonly Peer[], after: readonly Peer[]): PeerChange {
  const beforeKeys = new Set<string>();
  for (const p of before) beforeKeys.add(peerKey(p));
  const afterKeys = new Set<string>();
  const added: Peer[] = [];
  for (const p of after) {
    const key = peerKey(p);
    afterKeys.add(key);
    if (!beforeKeys.has(key)) added.push(p);
  }
  return { peers: [...after], added, removed: before.filter((p) => !afterKeys.has(peerKey(p))) };
}

/** True when a change has nothing added and nothing removed. */
export function isEmptyChange(change: PeerChange): boolean {
  return change.added.length === 0 && change.removed.length === 0;
}
