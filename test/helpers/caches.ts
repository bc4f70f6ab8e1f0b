/**
 * Runs real DNS caches on loopback in front of a knotd (see knot.ts): Debian's `unbound` and
 * `dnsmasq`, as a pod meets them in a cluster (NodeLocal DNSCache, CoreDNS `cache`). No root
 * privileges are dropped, nothing is daemonized; config lives in a temp dir removed by `close()`.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDaemon } from './daemon.ts';
import { knotZoneFile, type KnotServer, type KnotZone } from './knot.ts';

/** The caches the tests start. */
export type CacheKind = 'unbound' | 'dnsmasq';

/** A running cache. */
export interface CacheServer {
  kind: CacheKind;
  /** `['127.0.0.1:PORT']`, ready for `new DnsClient({ servers })`. */
  servers: string[];
  port: number;
  /** Stops the cache and removes its temp dir. */
  close(): Promise<void>;
}

/** What {@link startCache} takes. */
export interface CacheOptions {
  /** The authoritative server behind the cache. */
  upstream: { host: string; port: number };
  /** Zones forwarded to the upstream (default `['cluster.local']`); the cache answers nothing else. */
  zones?: string[];
  startTimeout?: number;
}

/** Not loopback: unbound must never send a packet there (it would recurse to the root servers). */
const NOT_LOOPBACK = ['0.0.0.0/2', '64.0.0.0/3', '96.0.0.0/4', '112.0.0.0/5', '120.0.0.0/6', '124.0.0.0/7', '126.0.0.0/8', '128.0.0.0/1'];

function unboundConf(dir: string, port: number, o: CacheOptions): string {
  const zones = o.zones ?? ['cluster.local'];
  return `server:
    username: ""
    chroot: ""
    directory: "${dir}"
    pidfile: ""
    do-daemonize: no
    use-syslog: no
    logfile: ""
    verbosity: 0
    num-threads: 1
    interface: 127.0.0.1@${port}
    port: ${port}
    outgoing-interface: 127.0.0.1
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    qname-minimisation: no
    prefetch: no
    so-reuseport: no
    outgoing-range: 1024
    num-queries-per-thread: 512
    local-zone: "." static
${zones.map((z) => `    domain-insecure: "${z}"\n    local-zone: "${z}." transparent`).join('\n')}
${NOT_LOOPBACK.map((net) => `    do-not-query-address: ${net}`).join('\n')}
remote-control:
    control-enable: no
${zones.map((z) => `stub-zone:\n    name: "${z}"\n    stub-addr: ${o.upstream.host}@${o.upstream.port}`).join('\n')}
`;
}

function dnsmasqArgs(port: number, o: CacheOptions): string[] {
  return [
    '--no-daemon',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--pid-file=',
    ...(o.zones ?? ['cluster.local']).map((z) => `--server=/${z}/${o.upstream.host}#${o.upstream.port}`),
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--user=root',
    '--group=root',
    '--cache-size=10000',
  ];
}

/** Starts `kind` on a free loopback port in front of `options.upstream`; resolves once it answers. */
export async function startCache(kind: CacheKind, options: CacheOptions): Promise<CacheServer> {
  const daemon = await startDaemon({
    name: kind,
    debianPackage: kind,
    dirPrefix: `headless-sd-${kind}-`,
    async command(port, dir) {
      if (kind === 'dnsmasq') return ['dnsmasq', dnsmasqArgs(port, options)];
      const conf = join(dir, 'unbound.conf');
      await writeFile(conf, unboundConf(dir, port, options));
      return ['unbound', ['-d', '-c', conf]];
    },
    zone: options.zones?.[0] ?? 'cluster.local',
    recursionDesired: true,
    probeMs: 200,
    startTimeout: options.startTimeout ?? 15_000,
  });
  return { kind, servers: [`127.0.0.1:${daemon.port}`], port: daemon.port, close: () => daemon.close() };
}

/**
 * Replaces a zone knotd serves and waits until knotd serves the new one (`knotc zone-reload`
 * over its control socket). The caches in front keep what they hold until its TTL runs out.
 */
export async function setKnotZone(knot: KnotServer, zone: KnotZone): Promise<void> {
  await writeFile(join(knot.dir, `${zone.origin}.zone`), knotZoneFile(zone));
  await promisify(execFile)('knotc', ['-s', join(knot.dir, 'knot.sock'), '-b', '-t', '10', 'zone-reload', zone.origin]);
}
