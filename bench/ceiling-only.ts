/**
 * The Node ceiling for a DNS client, alone (part 7 of `npm run bench`): `npm run bench:dns`.
 * knotd is pinned to CPU 1 and this process to CPU 0, as in run.ts. Prints the ceiling table and
 * its targets, met or NOT met.
 *
 * Environment: BENCH_ROUNDS (7), BENCH_ROUND_MS (1000), BENCH_WARMUP_MS (300), BENCH_NO_PIN=1.
 */
import { cpus, loadavg } from 'node:os';
import { runCeilingBench } from './ceiling.ts';
import { canPin, pin, startBenchKnot } from './knot.ts';
import { ceilingTable, limitTargets } from './limits-report.ts';
import { targetLines } from './report.ts';
import { benchZone, NAMES } from './zone.ts';

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const settings = { rounds: env('BENCH_ROUNDS', 7), roundMs: env('BENCH_ROUND_MS', 1000), warmupMs: env('BENCH_WARMUP_MS', 300) };
const loadAverage = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');

const cores = cpus().length;
const pinned = process.env.BENCH_NO_PIN !== '1' && cores >= 2 && canPin() && pin(process.pid, '0');
console.error(`Node ${process.version}, ${cores} cores, ${pinned ? 'knotd pinned to CPU 1, this process to CPU 0' : 'no CPU pinning'}; load average ${loadAverage()}`);
const knot = await startBenchKnot({ zones: [benchZone()], udpWorkers: 1, tcpWorkers: 1, backgroundWorkers: 1, cpus: pinned ? '1' : null });
try {
  const ceiling = await runCeilingBench({ host: knot.host, port: knot.port, name: NAMES.smallSrv, ...settings });
  console.log(ceilingTable(ceiling));
  console.log(`   rounds, q/s: raw from the callback ${ceiling.rounds.rawImmediate.join(' ')}; raw batched ${ceiling.rounds.rawBatched.join(' ')}; DnsClient ${ceiling.rounds.client.join(' ')}`);
  console.log(`   load average at the end: ${loadAverage()}`);
  console.log(targetLines(limitTargets(ceiling, [])));
} finally {
  await knot.close();
}
