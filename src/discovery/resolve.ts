import { DnsClient } from '../dns/client.js';
import { DnsError, DnsErrorCode } from '../dns/errors.js';
import { PeerResolver } from './dns-resolver.js';
import type { KubernetesOptions, KubernetesSourceOptions } from '../kubernetes/source.js';
import { checkFamily, checkOptions, checkPort, checkProtocol } from './options.js';
import type { Family, PortProtocol } from './options.js';
import { localIdentity, makePeer, normalizePeers } from '../peer/index.js';
import type { Peer } from '../peer/index.js';
import { serviceDnsName } from './service-name.js';
import { loadKubernetesSource } from './kubernetes-module.js';

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
  /** 'dns' (default), 'kubernetes' (the EndpointSlice API), or 'auto' (the API when this process may list EndpointSlices, else DNS). */
  source?: 'dns' | 'kubernetes' | 'auto';
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
  /** Empty set: how long caches keep that negative answer (seconds, from its SOA), or null. */
  negativeTtl: number | null;
  /** Seconds until a listed SRV target whose lookup said NXDOMAIN (a stale cache) is asked again, or null. */
  retryIn: number | null;
  /** The answer was authoritative (AA): no cache on the way counts its TTL down. */
  authoritative: boolean;
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
  if (options.source === 'auto') return (await import('./auto-source.js')).autoPeers(service, options);
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
  const { listKubernetesPeers } = await loadKubernetesSource();
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
    ...(options.kubernetes?.dispatcher !== undefined ? { dispatcher: options.kubernetes.dispatcher } : {}),
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
 * ENOTFOUND/ENODATA unless `allowEmpty`. A watcher passes its own {@link PeerResolver}, which
 * remembers what earlier polls learnt; without one, a fresh one is used.
 */
export async function resolvePeers(
  client: DnsClient,
  plan: ResolutionPlan,
  options: Pick<PeersOptions, 'allowEmpty' | 'signal'>,
  resolver: PeerResolver = new PeerResolver(client, plan, true),
): Promise<Resolution> {
  const { service, name, port, protocol, family } = plan;
  const outcome = await resolver.resolve(options.signal);
  if (outcome.empty !== null) {
    if (options.allowEmpty) return { peers: [], ttl: null, negativeTtl: outcome.negativeTtl, retryIn: null, authoritative: outcome.authoritative };
    throw emptyServiceError(outcome.empty, service, port, protocol, outcome.negativeTtl);
  }
  const self = localIdentity();
  const list = normalizePeers(outcome.inits.map((init) => makePeer(init, self)));
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
  return { peers: list, ttl: list.length ? ttl : null, negativeTtl: null, retryIn: outcome.retryIn, authoritative: outcome.authoritative };
}

/** The error of an empty Service; `negativeTtl` (seconds) says how long caches keep that answer. */
export class EmptyServiceError extends DnsError {
  /** How long caches keep the negative answer (seconds, from its SOA), or null. */
  readonly negativeTtl: number | null;
  constructor(code: DnsError['code'], message: string, details: ConstructorParameters<typeof DnsError>[2], negativeTtl: number | null) {
    super(code, message, details);
    this.negativeTtl = negativeTtl;
  }
}

function emptyServiceError(
  err: DnsError,
  service: string,
  port: string | number | null,
  protocol: string,
  negativeTtl: number | null,
): DnsError {
  const asked = err.hostname ?? service;
  const what =
    typeof port === 'string'
      ? `service ${service} has no ready endpoints with a port named '${port}' (${protocol}), or does not exist`
      : `service ${service} has no ready endpoints, or does not exist`;
  const rcode = err.code === DnsErrorCode.NOTFOUND ? 'NXDOMAIN' : 'NODATA';
  return new EmptyServiceError(
    err.code,
    `${what} (${rcode} for ${asked}; pass allowEmpty: true to accept an empty set)`,
    { hostname: err.hostname ?? service, rrtype: err.rrtype, server: err.server, cause: err },
    negativeTtl,
  );
}
