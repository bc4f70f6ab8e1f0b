import { isIP } from 'node:net';
import type { Endpoint, Service, TestCluster } from './cluster.js';

/**
 * Record data of the types the test DNS server publishes, in dns-packet's shapes
 * (owner name and TTL are added when a response is written).
 */
export type ZoneRecord =
  | { type: 'A'; data: string }
  | { type: 'AAAA'; data: string }
  | { type: 'PTR'; data: string }
  | { type: 'TXT'; data: string[] }
  | { type: 'SRV'; data: { priority: number; weight: number; port: number; target: string } }
  | {
      type: 'SOA';
      data: { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };
    };

/** The record types of {@link ZoneRecord}. */
export type ZoneRecordType = ZoneRecord['type'];

/** A name of the zone: its records by type. A name with no records is an empty non-terminal (it exists: NODATA, not NXDOMAIN). */
export type ZoneNode = ReadonlyMap<ZoneRecordType, readonly ZoneRecord[]>;

/** Where a name falls: one of the zones the server is authoritative for, or none of them (REFUSED). */
export interface ZoneMatch {
  /** The apex: the cluster domain, `in-addr.arpa` or `ip6.arpa`. */
  apex: string;
  /** The name's node, or undefined when the name does not exist (NXDOMAIN). */
  node: ZoneNode | undefined;
}

/** Schema version of the Kubernetes DNS specification the server follows (`dns-version.<zone>` TXT). */
export const DNS_SCHEMA_VERSION = '1.1.0';

/** Reverse zones the server answers PTR queries in, for the addresses the cluster holds. */
export const REVERSE_ZONES = ['in-addr.arpa', 'ip6.arpa'] as const;

type MutableNode = Map<ZoneRecordType, ZoneRecord[]>;

/**
 * A snapshot of the DNS names a {@link TestCluster} publishes, as the Kubernetes DNS-based
 * service discovery specification (and CoreDNS where it is silent) defines them.
 * Built from one `cluster.version`; names are lower case, without the trailing dot.
 * The reverse zones are built on first use only (most tests never ask PTR).
 */
export class Zone {
  /** The cluster domain, e.g. `cluster.local`. */
  readonly domain: string;
  /** The `cluster.version` this snapshot was built from. */
  readonly version: number;
  readonly #forward = new Map<string, MutableNode>();
  #reverse: Map<string, MutableNode> | null = null;
  readonly #services: { service: Service; published: Endpoint[] }[] = [];
  readonly #seen = new Set<string>();

  constructor(cluster: TestCluster) {
    this.domain = cluster.clusterDomain;
    this.version = cluster.version;
    this.#buildForward(cluster);
  }

  /** Finds a name (lower case, no trailing dot): which zone it is in, and its node if it exists. */
  find(name: string): ZoneMatch | undefined {
    if (name === this.domain || name.endsWith(`.${this.domain}`)) {
      return { apex: this.domain, node: this.#forward.get(name) };
    }
    for (const apex of REVERSE_ZONES) {
      if (name === apex || name.endsWith(`.${apex}`)) {
        this.#reverse ??= this.#buildReverse();
        return { apex, node: this.#reverse.get(name) ?? (name === apex ? new Map() : undefined) };
      }
    }
    return undefined;
  }

  /** The A and AAAA records of a name of the cluster domain (SRV glue). */
  addressesOf(name: string): ZoneRecord[] {
    const node = this.#forward.get(name);
    if (!node) return [];
    return [...(node.get('A') ?? []), ...(node.get('AAAA') ?? [])];
  }

  /** Every name of the cluster domain (lower case, no trailing dot), for tests and tools. */
  get names(): string[] {
    return [...this.#forward.keys()].sort();
  }

  #buildForward(cluster: TestCluster): void {
    const z = this.domain;
    this.#node(this.#forward, z);
    this.#add(this.#forward, `dns-version.${z}`, { type: 'TXT', data: [DNS_SCHEMA_VERSION] });
    this.#node(this.#forward, `svc.${z}`);
    for (const ns of cluster.namespaces) this.#node(this.#forward, `${ns}.svc.${z}`);
    for (const service of cluster.services) {
      const published = service.headless
        ? cluster.endpoints(service.name, service.namespace).filter((e) => e.published)
        : [];
      this.#services.push({ service, published });
      if (service.headless) this.#addHeadless(service, published);
      else this.#addClusterIP(service);
    }
  }

  /** A headless Service: its name holds every published endpoint's addresses; SRV point at each endpoint's name. */
  #addHeadless(service: Service, published: Endpoint[]): void {
    // The spec: no ready endpoint, no name at all (NXDOMAIN), SRV and endpoint names included.
    if (published.length === 0) return;
    const base = serviceName(service, this.domain);
    const targets = endpointTargets(published, base);
    for (const target of targets) {
      for (const address of target.addresses) this.#add(this.#forward, base, addressRecord(address));
      for (const address of target.addresses) this.#add(this.#forward, target.name, addressRecord(address));
    }
    this.#addPorts(service, base, targets.map((t) => t.name));
  }

  /** A ClusterIP Service: its name holds the cluster IP; SRV point at the Service name. */
  #addClusterIP(service: Service): void {
    const base = serviceName(service, this.domain);
    if (service.clusterIP) this.#add(this.#forward, base, addressRecord(service.clusterIP));
    else this.#node(this.#forward, base);
    this.#addPorts(service, base, [base]);
  }

  /** SRV per named port at `_<port>._<proto>.<svc>`, and for every port at the Service name (as CoreDNS answers). */
  #addPorts(service: Service, base: string, targets: string[]): void {
    const named = service.ports.filter((p) => p.name);
    for (const port of named) {
      const owner = `_${port.name!.toLowerCase()}._${port.protocol.toLowerCase()}.${base}`;
      for (const target of targets) {
        this.#add(this.#forward, owner, srv(port.port, target, targets.length));
      }
      this.#node(this.#forward, `_${port.protocol.toLowerCase()}.${base}`);
    }
    const all = service.ports.length * targets.length;
    for (const port of service.ports) {
      for (const target of targets) this.#add(this.#forward, base, srv(port.port, target, all));
    }
  }

  #buildReverse(): Map<string, MutableNode> {
    const reverse = new Map<string, MutableNode>();
    for (const { service, published } of this.#services) {
      const base = serviceName(service, this.domain);
      const owners: { name: string; addresses: readonly string[] }[] = service.headless
        ? endpointTargets(published, base)
        : service.clusterIP
          ? [{ name: base, addresses: [service.clusterIP] }]
          : [];
      for (const { name, addresses } of owners) {
        for (const address of addresses) {
          const ptr = reverseName(address);
          this.#add(reverse, ptr, { type: 'PTR', data: name });
          // Ancestors of a held address exist (NODATA), so that only unknown names get NXDOMAIN.
          for (let dot = ptr.indexOf('.'); dot !== -1; dot = ptr.indexOf('.', dot + 1)) {
            const ancestor = ptr.slice(dot + 1);
            if (reverse.has(ancestor)) break;
            reverse.set(ancestor, new Map());
          }
        }
      }
    }
    return reverse;
  }

  #node(nodes: Map<string, MutableNode>, name: string): MutableNode {
    let node = nodes.get(name);
    if (!node) {
      node = new Map();
      nodes.set(name, node);
    }
    return node;
  }

  #add(nodes: Map<string, MutableNode>, name: string, record: ZoneRecord): void {
    // A pod selected by a Service twice, or two names for one address, must not repeat a record.
    const id = `${name} ${recordKey(record)}`;
    if (this.#seen.has(id)) return;
    this.#seen.add(id);
    const node = this.#node(nodes, name);
    const list = node.get(record.type);
    if (list) list.push(record);
    else node.set(record.type, [record]);
  }
}

/** `<svc>.<ns>.svc.<zone>` */
function serviceName(service: Service, domain: string): string {
  return `${service.name}.${service.namespace}.svc.${domain}`.toLowerCase();
}

/**
 * The names published endpoints get under their Service: `<hostname>.<svc>...` with all
 * their addresses, or (no hostname) one name per address made of the address with
 * dashes, as CoreDNS does (`127-1-0-5`, `fd00-10-244--5`).
 */
export function endpointTargets(published: readonly Endpoint[], base: string): { name: string; addresses: readonly string[] }[] {
  const out: { name: string; addresses: string[] }[] = [];
  const byName = new Map<string, { name: string; addresses: string[] }>();
  const put = (name: string, addresses: readonly string[]): void => {
    const existing = byName.get(name);
    if (existing) {
      for (const a of addresses) if (!existing.addresses.includes(a)) existing.addresses.push(a);
      return;
    }
    const target = { name, addresses: [...addresses] };
    byName.set(name, target);
    out.push(target);
  };
  for (const endpoint of published) {
    if (endpoint.hostname) put(`${endpoint.hostname.toLowerCase()}.${base}`, endpoint.addresses);
    else for (const address of endpoint.addresses) put(`${dashedAddress(address)}.${base}`, [address]);
  }
  return out;
}

/** An address as a DNS label, as CoreDNS names endpoints without hostname: dots and colons become dashes. */
export function dashedAddress(address: string): string {
  return address.toLowerCase().replace(/[.:]/g, '-');
}

/** SRV weight as CoreDNS computes it: 100 split across the `count` records of one priority, at least 1. */
export function srvWeight(count: number): number {
  return Math.max(1, Math.floor((100 / (100 * count)) * 100));
}

function srv(port: number, target: string, count: number): ZoneRecord {
  return { type: 'SRV', data: { priority: 0, weight: srvWeight(count), port, target } };
}

function addressRecord(address: string): ZoneRecord {
  return isIP(address) === 6 ? { type: 'AAAA', data: address } : { type: 'A', data: address };
}

/** The reverse-lookup name of an address: `d.c.b.a.in-addr.arpa` or the 32 nibbles of `ip6.arpa`. */
export function reverseName(address: string): string {
  if (isIP(address) === 4) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const nibbles = expandIPv6(address).replace(/:/g, '').split('').reverse();
  return `${nibbles.join('.')}.ip6.arpa`;
}

/** The eight 4-digit groups of an IPv6 address (an embedded IPv4 tail is converted). */
function expandIPv6(address: string): string {
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((g) => g.padStart(4, '0')).join(':');
}

function recordKey(record: ZoneRecord): string {
  switch (record.type) {
    case 'SRV':
      return `SRV ${record.data.port} ${record.data.target}`;
    case 'A':
    case 'AAAA':
    case 'PTR':
      return `${record.type} ${record.data}`;
    default:
      return `${record.type} ${JSON.stringify(record.data)}`;
  }
}
