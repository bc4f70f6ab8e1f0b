/**
 * Starts a real DNS daemon (knotd, unbound, dnsmasq) on a free loopback port and waits until it
 * answers: the launch/probe/retry loop the knot.ts and caches.ts helpers share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';

/** A port free on 127.0.0.1 for both TCP and UDP right now (the kernel picks it). */
export async function freePort(): Promise<number> {
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

/** True once a SOA query for `zone` on 127.0.0.1:port gets a NOERROR answer within `ms`. */
export function probeSoa(port: number, zone: string, ms: number, recursionDesired: boolean): Promise<boolean> {
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
    const flags = recursionDesired ? dnsPacket.RECURSION_DESIRED : 0;
    const query = dnsPacket.encode({ type: 'query', id: 7, flags, questions: [{ type: 'SOA', name: zone }] });
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
 * Removes a daemon's temp dir. A daemon may still be writing there as it goes (knotd saves its
 * timers at shutdown; Deno may report the exit a moment before the process is gone), so a
 * directory that filled up again under the recursive removal is tried again.
 */
async function removeDir(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rm(dir, { recursive: true, force: true });
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (attempt >= 20 || (code !== 'ENOTEMPTY' && code !== 'EBUSY')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  await exited(child);
  child.stderr?.destroy();
}

/** What {@link startDaemon} takes. */
export interface DaemonOptions {
  /** Its name in errors, e.g. `knotd`. */
  name: string;
  /** The Debian package that has it, named when it cannot run. */
  debianPackage: string;
  /** Prefix of its temp dir (config, zones, sockets), removed when it stops or fails to start. */
  dirPrefix: string;
  /** Writes what does not depend on the port (zone files) into `dir`, once. */
  setup?(dir: string): Promise<void>;
  /** Writes its config for `port` into `dir` and returns the command line. */
  command(port: number, dir: string): Promise<[string, string[]]>;
  /** The zone whose SOA the readiness probe asks for. */
  zone: string;
  /** Set RD on the probe (a cache answers only recursive queries). */
  recursionDesired: boolean;
  /** How long one probe waits (ms). */
  probeMs: number;
  /** How long to keep trying (ms). */
  startTimeout: number;
}

/** A daemon that answered its probe. */
export interface Daemon {
  port: number;
  /** The spawned process's pid. */
  pid: number;
  /** Its temp dir. */
  dir: string;
  /** SIGTERM, waits for it to exit, removes its temp dir. */
  close(): Promise<void>;
}

/**
 * Spawns the daemon on a free port and resolves once it answers; tries another port when it
 * exits (the port can be taken between freePort() and its bind). Rejects with its stderr.
 */
export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const dir = await mkdtemp(join(tmpdir(), o.dirPrefix));
  try {
    await o.setup?.(dir);
    return await launch(o, dir);
  } catch (err) {
    await removeDir(dir);
    throw err;
  }
}

async function launch(o: DaemonOptions, dir: string): Promise<Daemon> {
  const deadline = Date.now() + o.startTimeout;
  let lastErr = '';
  while (Date.now() < deadline) {
    const port = await freePort();
    const [cmd, args] = await o.command(port, dir);
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let spawnError: Error | null = null;
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (err) => (spawnError = err));
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null && spawnError === null) {
      if (await probeSoa(port, o.zone, o.probeMs, o.recursionDesired)) {
        return {
          port,
          pid: child.pid!,
          dir,
          async close() {
            await stop(child, 'SIGTERM');
            await removeDir(dir);
          },
        };
      }
    }
    await stop(child, 'SIGKILL');
    if (spawnError !== null) throw new Error(`cannot run ${o.name} (Debian package ${o.debianPackage}): ${String(spawnError)}`);
    lastErr = stderr;
  }
  throw new Error(`${o.name} did not start: ${lastErr.trim() || 'no answer'}`);
}
