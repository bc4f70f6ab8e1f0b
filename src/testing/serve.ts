import { isIP } from 'node:net';
import type { IpFamilies, TestCluster } from './cluster.js';
import { createDemoCluster, createPodsCluster, parsePodsSpec, type PodsItem } from './demo.js';
import { createTestServer, formatHostPort, type TestDnsServer } from './dns-server.js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';

/** What {@link serve} takes (the `headless-sd serve` options). */
export interface ServeOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default {@link DEFAULT_SERVE_PORT} (5300); 0 picks a free port. */
  port?: number;
  /** The demo cluster ({@link createDemoCluster}); the default when `pods` is not given. */
  demo?: boolean;
  /** `nginx=3,web=5` or items: per item a headless Service and a StatefulSet of that name ({@link createPodsCluster}). */
  pods?: string | readonly PodsItem[];
  /** TTL of answers, seconds (default 5). */
  ttl?: number;
  /** Default `cluster.local`. */
  clusterDomain?: string;
  /** Address families of the pods (default IPv4). */
  ipFamilies?: IpFamilies;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  /** Where the banner lines go (default: nowhere). */
  write?: (line: string) => void;
}

/** A running {@link serve}. */
export interface ServeHandle {
  readonly cluster: TestCluster;
  readonly server: TestDnsServer;
  /** Settles when the server has been closed (by `close()` or the signal). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * The port `serve` listens on when none is given: 5300. Not 5353, the mDNS port that
 * macOS and Linux with avahi hold; not 1053, which CoreDNS's own docs use for a local
 * CoreDNS; below every system's ephemeral range (Linux 32768+, macOS/Windows 49152+), so
 * no outgoing connection holds it; and no common service listens on it on a laptop.
 */
export const DEFAULT_SERVE_PORT = 5300;

/** Longest list of pods the banner prints per Service. */
const BANNER_PODS = 5;

/**
 * Starts a test cluster (the demo, or `pods`) and its DNS server, and writes what it
 * serves and a `dig` line to try. Runs until `close()` or `signal` aborts.
 */
export async function serve(options: ServeOptions = {}): Promise<ServeHandle> {
  if (options.demo && options.pods !== undefined) {
    throw new InvalidArgumentError('serve takes either demo or pods, not both');
  }
  if (options.host !== undefined && isIP(options.host) === 0) {
    throw new InvalidArgumentError('host', options.host, 'an IP address such as 127.0.0.1 or ::1');
  }
  const write = options.write ?? ((): void => {});
  const clusterOptions = {
    ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
    ...(options.clusterDomain !== undefined ? { clusterDomain: options.clusterDomain } : {}),
    ...(options.ipFamilies !== undefined ? { ipFamilies: options.ipFamilies } : {}),
  };
  const items = typeof options.pods === 'string' ? parsePodsSpec(options.pods) : options.pods;
  const cluster = items ? await createPodsCluster(items, clusterOptions) : await createDemoCluster(clusterOptions);
  const server = await createTestServer({
    cluster,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? DEFAULT_SERVE_PORT,
  });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | null = null;
  const onAbort = (): void => void handle.close();
  const handle: ServeHandle = {
    cluster,
    server,
    closed,
    close: () => {
      closing ??= server.close().finally(() => {
        options.signal?.removeEventListener('abort', onAbort);
        resolveClosed();
      });
      return closing;
    },
  };
  if (options.signal?.aborted) {
    await handle.close();
    return handle;
  }
  options.signal?.addEventListener('abort', onAbort, { once: true });
  for (const line of banner(cluster, server)) write(line);
  return handle;
}

/** The lines {@link serve} writes: address, Services and pods, a `dig` line. */
export function banner(cluster: TestCluster, server: TestDnsServer): string[] {
  const zone = cluster.clusterDomain;
  const lines = [
    `headless-sd test DNS listening on ${formatHostPort(server.host, server.port)} (UDP and TCP), zone ${zone}, TTL ${cluster.ttl} s`,
  ];
  let example: string | null = null;
  for (const service of cluster.services) {
    const ports = service.ports.map((p) => `${p.name ?? '(unnamed)'} ${p.port}/${p.protocol}`).join(', ');
    const endpoints = cluster.endpoints(service.name, service.namespace).filter((e) => e.published);
    const shown = endpoints.slice(0, BANNER_PODS).map((e) => `${e.hostname ?? e.pod.name} ${e.addresses.join(' ')}`);
    if (endpoints.length > BANNER_PODS) shown.push(`... ${endpoints.length} pods`);
    lines.push(
      `  ${service.name}.${service.namespace}.svc.${zone} (${service.headless ? 'headless' : `ClusterIP ${service.clusterIP}`}; ports ${ports || 'none'}): ${shown.join(', ') || 'no ready pods'}`,
    );
    const named = service.ports.find((p) => p.name);
    if (!example && named) example = `SRV _${named.name}._${named.protocol.toLowerCase()}.${service.name}.${service.namespace}.svc.${zone}`;
  }
  const first = cluster.services[0];
  example ??= first ? `${first.name}.${first.namespace}.svc.${zone}` : `dns-version.${zone} TXT`;
  lines.push(`try: dig @${server.host} -p ${server.port} ${example}`);
  return lines;
}
