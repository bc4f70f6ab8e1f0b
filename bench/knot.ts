/**
 * knotd for the benchmarks: the same zone files as the interop tests (test/helpers/knot.ts), but a
 * configuration of our own (workers) and an optional CPU pin (`taskset`, no root needed), so the
 * server and the client each get one of the machine's cores and never compete for one.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { knotZoneFile, type KnotZone } from '../test/helpers/knot.ts';

/** Options of {@link startBenchKnot}. */
export interface BenchKnotOptions {
  zones: KnotZone[];
  /** knotd `udp-workers` (threads answering UDP). */
  udpWorkers: number;
  /** knotd `tcp-workers`. */
  tcpWorkers: number;
  /** knotd `background-workers` (zone loading; idle while we measure). */
  backgroundWorkers: number;
  /** CPU list for `taskset -c` (e.g. `'1'`), or null to run unpinned. */
  cpus: string | null;
}

/** A running knotd. */
export interface BenchKnot {
  /** `['127.0.0.1:PORT']`. */
  servers: string[];
  host: string;
  port: number;
  pid: number;
  close(): Promise<void>;
}

/** True when `taskset` exists and may set this process's own affinity (no root needed). */
export function canPin(): boolean {
  const r = spawnSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' });
  return r.status === 0;
}

/** Pins every thread of process `pid` to `cpus` (`taskset -a -c -p`). Returns false when it cannot. */
export function pin(pid: number, cpus: string): boolean {
  const r = spawnSync('taskset', ['-a', '-c', '-p', cpus, String(pid)], { encoding: 'utf8' });
  return r.status === 0;
}

function conf(dir: string, port: number, o: BenchKnotOptions): string {
  const zones = o.zones.map((z) => `  - domain: ${z.origin}\n    file: "${join(dir, `${z.origin}.zone`)}"`);
  return `server:
    rundir: "${dir}"
    listen: 127.0.0.1@${port}
    udp-workers: ${o.udpWorkers}
    tcp-workers: ${o.tcpWorkers}
    background-workers: ${o.backgroundWorkers}
    udp-max-payload: 1232
    tcp-idle-timeout: 60
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
    sock.send(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'SOA', name: origin }] }), port, '127.0.0.1');
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Starts knotd on a free loopback port (pinned to `cpus` when given) and waits until it answers. */
export async function startBenchKnot(o: BenchKnotOptions): Promise<BenchKnot> {
  const dir = await mkdtemp(join(tmpdir(), 'headless-sd-bench-knot-'));
  for (const zone of o.zones) await writeFile(join(dir, `${zone.origin}.zone`), knotZoneFile(zone));
  const origin = o.zones[0]?.origin ?? '.';
  let lastErr = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const file = join(dir, 'knot.conf');
    await writeFile(file, conf(dir, port, o));
    const [cmd, args] = o.cpus === null ? ['knotd', ['-c', file]] : ['taskset', ['-c', o.cpus, 'knotd', '-c', file]];
    const child = spawn(cmd as string, args as string[], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (err) => (stderr += String(err)));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      if (await probe(port, origin, 100)) {
        return {
          servers: [`127.0.0.1:${port}`],
          host: '127.0.0.1',
          port,
          pid: child.pid!,
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
    lastErr = stderr;
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`knotd did not start: ${lastErr.trim() || 'no answer'}`);
}
