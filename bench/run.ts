/**
 * `npm run bench`: headless-sd's DnsClient against node:dns and dns-socket on one knotd, in one
 * run; dnsperf for the server's ceiling; the Node ceiling (a raw UDP loop) beside DnsClient; then
 * the Kubernetes API source (replayed, then against its floor and client-node at 10,000 and
 * 100,000 endpoints); then a fleet of 1,000 watchers. Prints a table and writes
 * bench/results.json (figures, ratios, targets, Node version, cores, date).
 *
 * Environment: BENCH_ROUNDS (default 7), BENCH_ROUND_MS (1000), BENCH_WARMUP_MS (300),
 * BENCH_NO_PIN=1 to run without CPU pinning; BENCH_API_ROUNDS (5; 3 at 100,000),
 * BENCH_API_CHANGES (12; 5 at 100,000), BENCH_FLEET_WATCHERS (1000), BENCH_FLEET_WINDOW_MS (12000).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, arch } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runApiBench } from './api.ts';
import { cacheTable, runCacheBench } from './caches.ts';
import { runApiSize, type ApiSizeResults } from './api-limits.ts';
import { runCeilingBench, type CeilingResults } from './ceiling.ts';
import { runFleetBench } from './fleet.ts';
import { apiLimitsTable, ceilingTable, fleetTable, limitTargets, OTHERS } from './limits-report.ts';
import { runDnsBench } from './dns.ts';
import { runDnsperf, type DnsperfResult } from './dnsperf.ts';
import { canPin, pin, startBenchKnot } from './knot.ts';
import type { Summary } from './measure.ts';
import { apiTable, dnsTable, ratios, targetLines, targets } from './report.ts';
import { benchZone, NAMES } from './zone.ts';

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

const settings = {
  rounds: env('BENCH_ROUNDS', 7),
  roundMs: env('BENCH_ROUND_MS', 1000),
  warmupMs: env('BENCH_WARMUP_MS', 300),
};
/** knotd's threads: one answers UDP, one TCP; zone loading is done before we measure. */
const KNOT_WORKERS = { udpWorkers: 1, tcpWorkers: 1, backgroundWorkers: 1 };

function knotVersion(): string {
  const r = spawnSync('knotd', ['--version'], { encoding: 'utf8' });
  return /version\s+(\S+)/.exec(r.stdout ?? '')?.[1] ?? 'unknown';
}

const loadAverage = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const started = Date.now();
  const cores = cpus().length;
  // Two cores or more: the server gets core 1, this process (all three clients) and dnsperf core 0.
  const pinned = process.env.BENCH_NO_PIN !== '1' && cores >= 2 && canPin() && pin(process.pid, '0');
  const log = (line: string): void => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`);
  log(`Node ${process.version}, ${cores} cores, ${pinned ? 'knotd pinned to CPU 1, clients to CPU 0' : 'no CPU pinning'}; load average ${loadAverage()}`);

  const knot = await startBenchKnot({ zones: [benchZone()], ...KNOT_WORKERS, cpus: pinned ? '1' : null });
  let dns;
  let perf: DnsperfResult | null = null;
  let ceiling: CeilingResults | null = null;
  try {
    dns = await runDnsBench(knot.servers, settings, log);
    log('5. dnsperf on the same SRV query');
    try {
      perf = await runDnsperf({
        host: knot.host,
        port: knot.port,
        name: NAMES.smallSrv,
        type: 'SRV',
        inflight: 64,
        seconds: 3,
        rounds: 3,
        cpus: pinned ? '0' : null,
      });
    } catch (err) {
      log(`dnsperf failed, no ceiling: ${(err as Error).message}`);
    }
    log('7. the Node ceiling: raw UDP loop vs DnsClient.resolveSrv');
    ceiling = await runCeilingBench({ host: knot.host, port: knot.port, name: NAMES.smallSrv, ...settings });
  } finally {
    await knot.close();
  }
  // The API and fleet parts run threads (the fake API's worker) that need the other core too.
  if (pinned) pin(process.pid, `0-${cores - 1}`);
  log('6. Kubernetes API source (replayed answers)');
  const api = await runApiBench({ rounds: settings.rounds, changes: 24 });
  log('7. through DNS caches (unbound, dnsmasq)');
  const caches = await runCacheBench(log);
  log('8. Kubernetes API source vs its floor and client-node');
  const apiSizes: ApiSizeResults[] = [];
  // 21 rounds at 10,000 (a ~40 ms list scatters by 10-20% on a loaded machine) and 11 changes at
  // 100,000 (4 were too few for a p50): medians need them.
  apiSizes.push(await runApiSize({ pods: 10_000, rounds: env('BENCH_API_ROUNDS', 21), changes: env('BENCH_API_CHANGES', 12), peak: false, log }));
  apiSizes.push(await runApiSize({ pods: 100_000, rounds: env('BENCH_API_ROUNDS', 3), changes: env('BENCH_API_CHANGES', 11), peak: true, log }));
  log('9. a fleet of watchers: the load on DNS and on the API');
  const fleet = await runFleetBench({ watchers: env('BENCH_FLEET_WATCHERS', 1000), windowMs: env('BENCH_FLEET_WINDOW_MS', 12_000), log });

  const r = ratios(dns, perf);
  const ts = [...targets(r), ...limitTargets(ceiling, apiSizes)];
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${arch()}`,
    cores,
    cpu: cpus()[0]?.model ?? 'unknown',
    setup: {
      server: `knotd ${knotVersion()} on 127.0.0.1`,
      knot: { ...KNOT_WORKERS, udpMaxPayload: 1232 },
      pinning: pinned ? { server: 'CPU 1 (taskset -c 1 knotd)', clients: 'CPU 0 (taskset -a -p 0 <bench pid>; dnsperf with taskset -c 0)' } : null,
      ...settings,
      timing: 'closed loop: `concurrency` callers each await one call after another; the median of the rounds is reported',
    },
    dns,
    dnsperf: perf,
    api,
    caches,
    ceiling,
    apiLimits: apiSizes,
    fleet: { ...fleet, others: OTHERS },
    load: loadAverage(),
    ratios: r,
    targets: ts,
    seconds: (Date.now() - started) / 1000,
  };
  const file = fileURLToPath(new URL('./results.json', import.meta.url));
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);

  console.log(`\nheadless-sd benchmarks, ${results.date}`);
  console.log(`Node ${results.node}, ${results.platform}, ${cores} cores (${results.cpu}); ${results.setup.server}, ${pinned ? 'server on CPU 1, clients on CPU 0' : 'unpinned'}`);
  console.log(`load average at the end: ${results.load} (other work on the machine slows every figure; ratios taken in the same run hold better)`);
  console.log(`${settings.rounds} rounds of ${settings.roundMs} ms per client after ${settings.warmupMs} ms warm-up, interleaved; medians\n`);
  console.log(dnsTable(dns, perf));
  console.log('');
  console.log(apiTable(api));
  console.log('');
  console.log(cacheTable(caches));
  if (ceiling !== null) console.log(`\n${ceilingTable(ceiling)}`);
  console.log(`\n${apiLimitsTable(apiSizes)}`);
  console.log(`\n${fleetTable(fleet)}`);
  console.log('\nTargets');
  console.log(targetLines(ts));
  console.log(`\nwrote ${file} in ${results.seconds.toFixed(0)} s`);
  for (const [scenario, byClient] of Object.entries(dns) as [string, Record<string, Summary>][]) {
    for (const [name, s] of Object.entries(byClient)) {
      if (s.errors > 0) console.log(`warning: ${scenario}: ${name} had ${s.errors} errors (${s.firstError})`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
