/**
 * The server's ceiling for a query, measured by dnsperf (Debian package dnsperf): one thread and
 * one socket with the same number of queries in flight as the clients' concurrency-64 run.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './measure.ts';

/** What dnsperf measured (median of its runs). */
export interface DnsperfResult {
  qps: number;
  runs: number[];
  lost: number;
  command: string;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out.trim()}`))));
  });
}

/**
 * Runs dnsperf `rounds` times for `seconds` each against host:port asking `name` `type`,
 * with `inflight` queries outstanding; `cpus` pins it like the Node process (or null).
 */
export async function runDnsperf(o: {
  host: string;
  port: number;
  name: string;
  type: string;
  inflight: number;
  seconds: number;
  rounds: number;
  cpus: string | null;
}): Promise<DnsperfResult> {
  const dir = await mkdtemp(join(tmpdir(), 'headless-sd-dnsperf-'));
  try {
    const file = join(dir, 'queries.txt');
    await writeFile(file, `${o.name} ${o.type}\n`);
    const args = ['-s', o.host, '-p', String(o.port), '-d', file, '-e', '-c', '1', '-T', '1', '-q', String(o.inflight), '-l', String(o.seconds)];
    const [cmd, argv] = o.cpus === null ? ['dnsperf', args] : ['taskset', ['-c', o.cpus, 'dnsperf', ...args]];
    const runs: number[] = [];
    let lost = 0;
    for (let i = 0; i < o.rounds; i++) {
      const out = await run(cmd as string, argv as string[]);
      const qps = /Queries per second:\s+([\d.]+)/.exec(out);
      if (!qps) throw new Error(`dnsperf printed no rate: ${out.trim()}`);
      runs.push(Number(qps[1]));
      lost += Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0);
    }
    return { qps: median(runs), runs: runs.map(Math.round), lost, command: `dnsperf ${args.join(' ')}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
