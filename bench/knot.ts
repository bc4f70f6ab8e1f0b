/**
 * knotd for the benchmarks: test/helpers/knot.ts's launcher with benchmark workers and an optional
 * CPU pin (`taskset`, no root needed), so the server and the client each get one of the
 * machine's cores and never compete for one.
 */
import { spawnSync } from 'node:child_process';
import { startKnot } from '../test/helpers/knot.ts';
import type { KnotOptions, KnotServer } from '../test/helpers/knot.ts';

/** Options of {@link startBenchKnot}: workers and `cpus` are required so each run says them. */
export type BenchKnotOptions = KnotOptions & Required<Pick<KnotOptions, 'udpWorkers' | 'tcpWorkers' | 'backgroundWorkers'>> & { cpus: string | null };

/** A running benchmark knotd. */
export type BenchKnot = KnotServer;

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

/** Starts knotd on a free loopback port (pinned to `cpus` when given) and waits until it answers. */
export function startBenchKnot(options: BenchKnotOptions): Promise<BenchKnot> {
  return startKnot({ tcpIdleTimeout: 60, startTimeout: 15_000, ...options });
}
