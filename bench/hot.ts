/**
 * One scenario, one client, for profiling:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/hot.ts srv64 headless-sd 4
 *   npx tsx bench/profile.ts /tmp/prof/CPU.*.cpuprofile
 *
 * Scenarios: srv1, srv64 (SRV of 3 pods), large (A of 1,000 pods), peers (peers() of 50 pods).
 * Clients: headless-sd, node:dns, dns-socket. knotd and this process are pinned as in run.ts.
 */
import { peers } from '../src/discovery/resolve.ts';
import { dnsSocket, nodeDns, ours, type BenchClient } from './clients.ts';
import { canPin, pin, startBenchKnot } from './knot.ts';
import { closedLoop } from './measure.ts';
import { benchZone, MEDIUM, NAMES } from './zone.ts';

async function main(): Promise<void> {
  const [scenario = 'srv64', clientName = 'headless-sd', secondsText = '4'] = process.argv.slice(2);
  const pinned = canPin() && pin(process.pid, '0');
  const knot = await startBenchKnot({ zones: [benchZone()], udpWorkers: 1, tcpWorkers: 1, backgroundWorkers: 1, cpus: pinned ? '1' : null });
  const make: Record<string, (s: string[]) => BenchClient> = { 'headless-sd': ours, 'node:dns': nodeDns, 'dns-socket': dnsSocket };
  const factory = make[clientName];
  if (factory === undefined) throw new Error(`unknown client ${clientName}: ${Object.keys(make).join(', ')}`);
  const client = factory(knot.servers);
  try {
    const ops: Record<string, [() => Promise<unknown>, number]> = {
      srv1: [() => client.srv(NAMES.smallSrv), 1],
      srv64: [() => client.srv(NAMES.smallSrv), 64],
      large: [() => (client.a ?? (() => Promise.reject(new Error(`${clientName} has no TCP`))))(NAMES.largeA), 1],
      peers: [() => peers(MEDIUM.name, { namespace: 'default', port: 'web', ...(client.name === 'headless-sd' ? { client: (client as ReturnType<typeof ours>).client } : { servers: knot.servers }) }), 1],
    };
    const picked = ops[scenario];
    if (picked === undefined) throw new Error(`unknown scenario ${scenario}: ${Object.keys(ops).join(', ')}`);
    const [op, concurrency] = picked;
    await closedLoop(op, concurrency, 500);
    const r = await closedLoop(op, concurrency, Number(secondsText) * 1000);
    console.log(`${scenario} ${clientName}: ${Math.round(r.rate)} ops/s, p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms, ${r.errors} errors`);
  } finally {
    client.close();
    await knot.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
