/**
 * Runs a real authoritative server (Knot DNS, `knotd`) on loopback for interop tests and benchmarks.
 * No root needed: config, zones, rundir and storage all live in a temp dir removed by `close()`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon } from './daemon.ts';

/** One zone knotd serves. */
export interface KnotZone {
  /** Zone apex without trailing dot, e.g. `cluster.local`. */
  origin: string;
  /** Zone file body (records relative to the origin). An SOA and NS are added when it has no SOA. */
  records: string;
}

/** What {@link startKnot} takes. */
export interface KnotOptions {
  zones: KnotZone[];
  /** Largest UDP answer knotd sends (its `udp-max-payload`, default 1232). */
  udpMaxPayload?: number;
  /** How long to wait for knotd to answer (ms, default 10,000). */
  startTimeout?: number;
  /** knotd `udp-workers`, `tcp-workers`, `background-workers` (default 1 each). */
  udpWorkers?: number;
  tcpWorkers?: number;
  backgroundWorkers?: number;
  /** knotd `tcp-idle-timeout` in seconds (default 10). */
  tcpIdleTimeout?: number;
  /** CPU list for `taskset -c` (e.g. `'1'`, no root needed), so benchmarks give knotd a core of its own. */
  cpus?: string | null;
}

/** A running knotd. */
export interface KnotServer {
  /** `['127.0.0.1:PORT']`, ready for `new DnsClient({ servers })`. */
  servers: string[];
  host: string;
  port: number;
  /** knotd's pid (taskset's, which execs knotd, when pinned). */
  pid: number;
  /** Its temp dir: zone files `<origin>.zone` and the control socket `knot.sock`. */
  dir: string;
  /** Kills knotd and removes its temp dir. */
  close(): Promise<void>;
}

const DEFAULT_SOA_TTL = 5;

/** Zone file text for `zone`, with an SOA and NS added when the body has none. */
export function knotZoneFile(zone: KnotZone): string {
  const head = [`$ORIGIN ${zone.origin}.`, `$TTL ${DEFAULT_SOA_TTL}`];
  if (!/\sSOA\s/i.test(zone.records)) {
    head.push(
      `@ IN SOA ns.dns.${zone.origin}. hostmaster.${zone.origin}. 1 7200 1800 86400 ${DEFAULT_SOA_TTL}`,
      `@ IN NS ns.dns.${zone.origin}.`,
      `ns.dns IN A 127.0.0.1`,
    );
  }
  return `${head.join('\n')}\n${zone.records}\n`;
}

function knotConf(dir: string, port: number, options: KnotOptions): string {
  const zones = options.zones.map((z) => `  - domain: ${z.origin}\n    file: "${join(dir, `${z.origin}.zone`)}"`);
  return `server:
    rundir: "${dir}"
    listen: 127.0.0.1@${port}
    udp-workers: ${options.udpWorkers ?? 1}
    tcp-workers: ${options.tcpWorkers ?? 1}
    background-workers: ${options.backgroundWorkers ?? 1}
    udp-max-payload: ${options.udpMaxPayload ?? 1232}
    tcp-idle-timeout: ${options.tcpIdleTimeout ?? 10}
    tcp-max-clients: 1024
control:
    listen: "${join(dir, 'knot.sock')}"
database:
    storage: "${dir}"
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: "${dir}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
${zones.join('\n')}
`;
}

/**
 * Starts knotd on a free loopback port serving `options.zones`, and resolves once it answers.
 * Rejects with knotd's stderr when it does not come up.
 */
export async function startKnot(options: KnotOptions): Promise<KnotServer> {
  const daemon = await startDaemon({
    name: 'knotd',
    debianPackage: 'knot',
    dirPrefix: 'headless-sd-knot-',
    async setup(dir) {
      for (const zone of options.zones) await writeFile(join(dir, `${zone.origin}.zone`), knotZoneFile(zone));
    },
    async command(port, dir) {
      const conf = join(dir, 'knot.conf');
      await writeFile(conf, knotConf(dir, port, options));
      return options.cpus ? ['taskset', ['-c', options.cpus, 'knotd', '-c', conf]] : ['knotd', ['-c', conf]];
    },
    zone: options.zones[0]?.origin ?? '.',
    recursionDesired: false,
    probeMs: 100,
    startTimeout: options.startTimeout ?? 10_000,
  });
  return {
    servers: [`127.0.0.1:${daemon.port}`],
    host: '127.0.0.1',
    port: daemon.port,
    pid: daemon.pid,
    dir: daemon.dir,
    close: () => daemon.close(),
  };
}
