import { DnsClient } from '../dns/client.js';
import type { SrvRecordWithAddresses } from '../dns/client.js';
import { DnsError, DnsErrorCode, isDnsError } from '../dns/errors.js';
import type { KubernetesOptions, KubernetesSourceOptions } from '../kubernetes/source.js';
import { checkFamily, checkOptions, checkPort, checkProtocol } from './options.js';
import type { Family, PortProtocol } from './options.js';
import { localIdentity, makePeer, normalizePeers } from '../peer/index.js';
import type { Peer, PeerInit } from '../peer/index.js';
import { serviceDnsName, srvName } from './service-name.js';

/** Options of {@link peers} (and of {@link watchPeers}). */
export interface PeersOptions {
  /** A port name (SRV `_<port>._<protocol>.<service>`), a port number (A/AAAA, that port on each peer), or none (`port: null`). */
  port?: string | number | null;
  /** Default 'tcp'. */
  protocol?: PortProtocol;
  /** Makes the name absolute: `<service>.<namespace>.svc.<clusterDomain>.` */
  namespace?: string;
  /** Default: from the search list, else 'cluster.local'. */
  clusterDomain?: string;
  /** 4, 6, or 0 for both (default). */
  family?: Family;
  /** DNS servers, `'127.0.0.1:5300'`, `'[::1]:53'`; default: resolv.conf nameservers. */
  servers?: string[];
  /** ms per try. */
  timeout?: number;
  /** Tries per query. */
  attempts?: number;
  signal?: AbortSignal;
  /** A shared DnsClient (then servers, timeout, attempts and resolvConf are the client's). */
  client?: DnsClient;
  /** resolv.conf to read (default '/etc/resolv.conf'). */
  resolvConf?: string;
  /** Resolve `[]` instead of rejecting when the service has no ready endpoints. */
  allowEmpty?: boolean;
  /** 'dns' (default) or 'kubernetes' (the EndpointSlice API). */
  source?: 'dns' | 'kubernetes';
  /** Kubernetes API access for `source: 'kubernetes'` (default: in-cluster config). */
  kubernetes?: KubernetesOptions;
  /**
   * `source: 'kubernetes'` only: also include endpoints that are not ready, as
   * `publishNotReadyAddresses` does for DNS; terminating endpoints that stopped serving stay out.
   */
  includeNotReady?: boolean;
}

/** The set of a Service's peers after one resolution, with the TTL that bounds its freshness. */
export interface Resolution {
  peers: Peer[];
  /** Smallest TTL seen (seconds), or null when the answer carried none (empty set). */
  ttl: number | null;
}

/**
 * Every ready peer of a headless Service, in order (ordinal, host, address).
 *
 * ```ts
 * const members = await peers('nginx', { port: 'web' });
 * ```
 * Rejects with {@link DnsError}: `ENOTFOUND`/`ENODATA` when the Service has no ready
 * endpoints or does not exist (unless `allowEmpty`), and every code of the DNS layer.
 */
export async function peers(service: string, options: PeersOptions = {}): Promise<Peer[]> {
  checkOptions('peers', service, options);
  if (options.source === 'kubernetes') return kubernetesPeers(service, options);
  const client = options.client ?? createClient(options);
  try {
    const result = await resolvePeers(client, planResolution(client, service, options), options);
    return result.peers;
  } finally {
    if (client !== options.client) client.close();
  }
}

/** A DnsClient for the options' servers, timeout, attempts and resolv.conf. */
export function createClient(options: PeersOptions): DnsClient {
  return new DnsClient({
    ...(options.servers ? { servers: options.servers } : {}),
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
    ...(options.resolvConf !== undefined ? { resolvConf: options.resolvConf } : {}),
  });
}

async function kubernetesPeers(service: string, options: PeersOptions): Promise<Peer[]> {
  // Loaded on demand: DNS-only users never load the API client (undici).
  const { listKubernetesPeers } = await import('../kubernetes/source.js');
  const list = await listKubernetesPeers({
    ...kubernetesSourceOptions(service, options),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  if (list.length === 0 && !options.allowEmpty) {
    throw new DnsError(
      DnsErrorCode.NOTFOUND,
      `service ${service} has no ready endpoints in its EndpointSlices (pass allowEmpty: true to accept an empty set)`,
      { hostname: service },
    );
  }
  return list;
}

/** The options of the Kubernetes API source that peers() and watchPeers() options give. */
export function kubernetesSourceOptions(service: string, options: PeersOptions): KubernetesSourceOptions {
  return {
    service,
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    port: checkPort(options.port),
    protocol: checkProtocol(options.protocol),
    family: checkFamily(options.family),
    includeNotReady: options.includeNotReady ?? false,
    ...(options.clusterDomain !== undefined ? { clusterDomain: options.clusterDomain } : {}),
    ...(options.kubernetes !== undefined ? { kubernetes: options.kubernetes } : {}),
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
  };
}

/** What one DNS resolution of a Service asks: worked out once, then asked on every poll. */
export interface ResolutionPlan {
  service: string;
  /** The Service's DNS name (relative for the search list, or absolute). */
  name: string;
  port: string | number | null;
  protocol: PortProtocol;
  family: Family;
}

/** Checks the options and works out the name to ask (reads the pod's namespace once). */
export function planResolution(client: DnsClient, service: string, options: PeersOptions): ResolutionPlan {
  return {
    service,
    name: serviceDnsName(service, options, client.search),
    port: checkPort(options.port),
    protocol: checkProtocol(options.protocol),
    family: checkFamily(options.family),
  };
}

/**
 * One DNS resolution of a Service's peers with a given client. Empty sets reject
 * ENOTFOUND/ENODATA unless `allowEmpty`; the watcher calls this on every tick.
 */
export async function resolvePeers(
  client: DnsClient,
  plan: ResolutionPlan,
  options: Pick<PeersOptions, 'allowEmpty' | 'signal'>,
): Promise<Resolution> {
  const { service, name, port, protocol, family } = plan;
  const signal = options.signal;
  let inits: PeerInit[];
  try {
    inits =
      typeof port === 'string'
        ? await srvPeers(client, srvName(port, protocol, name), family, signal)
        : await addressPeers(client, name, port, family, signal);
  } catch (err) {
    if (!isDnsError(err, DnsErrorCode.NOTFOUND, DnsErrorCode.NODATA)) throw err;
    if (options.allowEmpty) return { peers: [], ttl: null };
    throw emptyServiceError(err, service, port, protocol);
  }
  const self = localIdentity();
  const list = normalizePeers(inits.map((init) => makePeer(init, self)));
  if (list.length === 0 && !options.allowEmpty) {
    // Records came back, but none with an address of the family asked.
    throw new DnsError(
      DnsErrorCode.NODATA,
      `service ${service} has endpoints, but none with an IPv${family === 6 ? 6 : 4} address` +
        ` (family: ${family}; pass allowEmpty: true to accept an empty set)`,
      { hostname: name, rrtype: family === 6 ? 'AAAA' : 'A' },
    );
  }
  let ttl = Number.POSITIVE_INFINITY;
  for (const p of list) ttl = Math.min(ttl, p.ttl);
  return { peers: list, ttl: list.length ? ttl : null };
}

function emptyServiceError(err: DnsError, service: string, port: string | number | null, protocol: string): DnsError {
  const asked = err.hostname ?? service;
  const what =
    typeof port === 'string'
      ? `service ${service} has no ready endpoints with a port named '${port}' (${protocol}), or does not exist`
      : `service ${service} has no ready endpoints, or does not exist`;
  const rcode = err.code === DnsErrorCode.NOTFOUND ? 'NXDOMAIN' : 'NODATA';
  return new DnsError(err.code, `${what} (${rcode} for ${asked}; pass allowEmpty: true to accept an empty set)`, {
    hostname: err.hostname ?? service,
    rrtype: err.rrtype,
    server: err.server,
    cause: err,
  });
}

async function srvPeers(client: DnsClient, name: string, family: Family, signal: AbortSignal | undefined): Promise<PeerInit[]> {
  // RFC 2782: a target of "." says the service is decidedly not available there: no peer, no lookup.
  const records = (await client.resolveSrv(name, signal ? { signal } : {})).filter((srv) => srv.name !== '.' && srv.name !== '');
  const perTarget = await Promise.all(records.map((srv) => targetAddresses(client, srv, family, signal)));
  const out: PeerInit[] = [];
  records.forEach((srv, i) => {
    for (const { address, ttl } of perTarget[i]!) {
      out.push({ host: srv.name, address, port: srv.port, priority: srv.priority, weight: srv.weight, ttl: Math.min(srv.ttl, ttl) });
    }
  });
  return out;
}

/** A target's addresses: from glue when the answer carried any of the wanted families, else looked up. */
async function targetAddresses(
  client: DnsClient,
  srv: SrvRecordWithAddresses,
  family: Family,
  signal: AbortSignal | undefined,
): Promise<{ address: string; ttl: number }[]> {
  const glue = srv.addresses.filter((a) => family === 0 || a.family === family);
  if (glue.length > 0) return glue;
  // No glue: ask, in parallel. A target without an address of that family is left out, not an error.
  return lookupAddresses(client, srv.name, family, signal, true);
}

async function addressPeers(
  client: DnsClient,
  name: string,
  port: number | null,
  family: Family,
  signal: AbortSignal | undefined,
): Promise<PeerInit[]> {
  const found = await lookupAddresses(client, name, family, signal, false);
  return found.map(({ address, ttl }) => ({ host: null, address, port, ttl }));
}

/**
 * A and/or AAAA of a name, in parallel. With both families, one family's NODATA is
 * not an error; when neither has records the first error stands (or [] when `lenient`).
 */
async function lookupAddresses(
  client: DnsClient,
  name: string,
  family: Family,
  signal: AbortSignal | undefined,
  lenient: boolean,
): Promise<{ address: string; ttl: number }[]> {
  const opts = signal ? { ttl: true as const, signal } : { ttl: true as const };
  const asks = [
    family !== 6 ? client.resolve4(name, opts) : null,
    family !== 4 ? client.resolve6(name, opts) : null,
  ].filter((p): p is Promise<{ address: string; ttl: number }[]> => p !== null);
  const settled = await Promise.allSettled(asks);
  const out: { address: string; ttl: number }[] = [];
  let firstEmpty: unknown = null;
  for (const s of settled) {
    if (s.status === 'fulfilled') out.push(...s.value);
    else if (isDnsError(s.reason, DnsErrorCode.NOTFOUND, DnsErrorCode.NODATA)) firstEmpty ??= s.reason;
    else throw s.reason;
  }
  if (out.length === 0 && firstEmpty !== null && !lenient) throw firstEmpty;
  return out;
}
