/**
 * Runs a real authoritative server (Knot DNS, `knotd`) on loopback for interop tests and benchmarks.
 * No root needed: config, zones, rundir and storage all live in a temp dir removed by `close()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';

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

/** A port free on 127.0.0.1 for both TCP and UDP right now (the kernel picks it). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const sock = createSocket('udp4');
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** True once a SOA query for `origin` gets any answer on 127.0.0.1:port. */
function probe(port: number, origin: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    sock.once('error', () => done(false));
    sock.once('message', (msg) => done(msg.length >= 12 && (msg[3]! & 0x0f) === 0));
    const query = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'SOA', name: origin }] });
    sock.send(query, port, '127.0.0.1');
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/**
 * Starts knotd on a free loopback port serving `options.zones`, and resolves once it answers.
 * Rejects with knotd's stderr when it does not come up.
 */
export async function startKnot(options: KnotOptions): Promise<KnotServer> {
  const dir = await mkdtemp(join(tmpdir(), 'headless-sd-knot-'));
  try {
    for (const zone of options.zones) await writeFile(join(dir, `${zone.origin}.zone`), knotZoneFile(zone));
    const deadline = Date.now() + (options.startTimeout ?? 10_000);
    let lastErr = '';
    // The port can be taken between freePort() and knotd's bind: then try another.
    while (Date.now() < deadline) {
      const port = await freePort();
      const conf = join(dir, 'knot.conf');
      await writeFile(conf, knotConf(dir, port, options));
      const [cmd, args] = options.cpus ? ['taskset', ['-c', options.cpus, 'knotd', '-c', conf]] : ['knotd', ['-c', conf]];
      const child = spawn(cmd as string, args as string[], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let spawnError: Error | null = null;
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.once('error', (err) => (spawnError = err));
      const origin = options.zones[0]?.origin ?? '.';
      while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
        if (await probe(port, origin, 100)) {
          return {
            servers: [`127.0.0.1:${port}`],
            host: '127.0.0.1',
            port,
            pid: child.pid!,
            dir,
            async close() {
              if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
              await exited(child);
              child.stderr?.destroy();
              await rm(dir, { recursive: true, force: true });
            },
          };
        }
      }
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited(child);
      child.stderr?.destroy();
      if (spawnError !== null) throw new Error(`cannot run knotd (Debian package knot): ${String(spawnError)}`);
      lastErr = stderr;
    }
    throw new Error(`knotd did not start: ${lastErr.trim() || 'no answer'}`);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
