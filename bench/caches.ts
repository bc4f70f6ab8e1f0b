/**
 * Discovery through real DNS caches (unbound, dnsmasq) in front of knotd, as a pod meets them
 * (NodeLocal DNSCache, CoreDNS `cache`): the queries a steady poll costs for 3, 50 and 1,000 pods
 * through unbound (which sends no SRV glue), and how long a change takes to be seen through each
 * cache (p50 and max over random change times). `tsx bench/caches.ts` runs it alone.
 *
 * Environment: BENCH_CACHE_TRIALS (changes per cache, default 12), BENCH_CACHE_TTL (s, default 5).
 */
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DnsClient, watchPeers } from '../src/index.ts';
import { MutableZone, recordWire } from '../test/helpers/cache-fixture.ts';
import { startCache, type CacheKind } from '../test/helpers/caches.ts';
import type { ZoneServiceSpec } from '../test/helpers/cluster-zone.ts';
import { startKnot } from '../test/helpers/knot.ts';

/** Queries one steady poll costs, by number of pods. */
export interface PollCost {
  pods: number;
  /** Queries of the first poll (every target looked up: what each poll cost before 0.2). */
  firstPoll: number;
  /** Mean queries per poll once the watcher knows the targets. */
  steadyPoll: number;
  polls: number;
}

/** Change-detection delay through one path, ms. */
export interface Detection {
  path: string;
  trials: number;
  p50: number;
  max: number;
  /** TTL + 1 s: the bound docs/how-it-works.md states. */
  bound: number;
}

/** Results of {@link runCacheBench}. */
export interface CacheBenchResults {
  ttl: number;
  cost: PollCost[];
  detection: Detection[];
}

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

const spec = (name: string, pods: number, ttl: number): ZoneServiceSpec => ({
  name,
  pods,
  ttl,
  ports: [{ name: 'web', port: 80 }],
  ipv4: (i) => `10.${pods % 250}.${i >> 8}.${i & 255}`,
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Runs both measurements; `log` gets progress lines. */
export async function runCacheBench(log: (line: string) => void = console.error): Promise<CacheBenchResults> {
  const ttl = env('BENCH_CACHE_TTL', 5);
  const trials = env('BENCH_CACHE_TRIALS', 12);
  const sizes = [3, 50, 1000];
  const knot = await startKnot({ zones: [{ origin: 'cluster.local', records: 'placeholder 1 IN A 127.0.0.1' }] });
  const zone = new MutableZone(knot);
  const cost: PollCost[] = [];
  const detection: Detection[] = [];
  try {
    for (const n of sizes) zone.services.set(`size${n}`, spec(`size${n}`, n, 2));
    zone.services.set('det', spec('det', 3, ttl));
    await zone.set(null, '-');

    const unbound = await startCache('unbound', { upstream: knot });
    try {
      for (const n of sizes) {
        log(`caches: queries per poll through unbound, ${n} pods`);
        cost.push(await pollCost(unbound.servers[0]!, `size${n}`, n));
      }
    } finally {
      await unbound.close();
    }

    for (const path of ['knotd', 'unbound', 'dnsmasq'] as const) {
      log(`caches: change detection through ${path}, ${trials} changes, TTL ${ttl} s`);
      const cache = path === 'knotd' ? null : await startCache(path as CacheKind, { upstream: knot });
      try {
        detection.push(await detect(path, cache?.servers ?? knot.servers, zone, trials, ttl));
      } finally {
        await cache?.close();
      }
    }
  } finally {
    await knot.close();
  }
  return { ttl, cost, detection };
}

async function pollCost(server: string, service: string, pods: number): Promise<PollCost> {
  const client = new DnsClient({ servers: [server], timeout: 5000, attempts: 2, search: [], ndots: 1 });
  const wire = recordWire(server);
  const w = watchPeers(service, { port: 'web', namespace: 'default', client });
  let lastError: Error | null = null;
  w.on('error', (err) => (lastError = err));
  const limit = setTimeout(() => w.close(), 120_000);
  try {
    await w.ready.catch((err: unknown) => {
      throw new Error(`${service}: no set within 120 s (${String(lastError ?? err)})`);
    });
    if (w.peers.length !== pods) throw new Error(`${service}: ${w.peers.length} peers, not ${pods}`);
    // Each lookup starts over UDP; a TCP retry of a truncated answer is the same query.
    const firstPoll = wire.log.filter((e) => e.transport === 'udp').length;
    const mark = wire.log.length;
    const srvCount = (): number => wire.log.slice(mark).filter((e) => e.type === 'SRV' && e.transport === 'udp').length;
    while (srvCount() < 4) {
      if (w.closed) throw new Error(`${service}: fewer than 4 polls within 120 s (${String(lastError)})`);
      await sleep(50);
    }
    // Three whole polls: from the 1st SRV query to the 4th (a poll sends the Service's A/AAAA
    // query before its SRV query, so each window holds one of each).
    const srvAt = wire.log.flatMap((e, i) => (i >= mark && e.type === 'SRV' && e.transport === 'udp' ? [i] : []));
    const steady = wire.log.slice(srvAt[0], srvAt[3]).filter((e) => e.transport === 'udp').length;
    return { pods, firstPoll, steadyPoll: steady / 3, polls: 3 };
  } finally {
    clearTimeout(limit);
    w.close();
    wire.stop();
    client.close();
  }
}

async function detect(path: string, servers: string[], zone: MutableZone, trials: number, ttl: number): Promise<Detection> {
  const client = new DnsClient({ servers, timeout: 5000, attempts: 2, search: [], ndots: 1 });
  const w = watchPeers('det', { port: 'web', namespace: 'default', client, family: 4 });
  const delays: number[] = [];
  try {
    await w.ready;
    for (let i = 0; i < trials; i++) {
      await sleep(Math.random() * (ttl + 1) * 1000);
      const pods = w.peers.length === 3 ? 4 : 3;
      await zone.set(spec('det', pods, ttl));
      const t0 = performance.now();
      while (w.peers.length !== pods) await sleep(5);
      delays.push(performance.now() - t0);
    }
  } finally {
    w.close();
    client.close();
  }
  delays.sort((a, b) => a - b);
  return { path, trials, p50: Math.round(percentile(delays, 0.5)), max: Math.round(delays.at(-1)!), bound: ttl * 1000 + 1000 };
}

/** The results as lines of text. */
export function cacheTable(r: CacheBenchResults): string {
  const lines = ['Queries per poll through unbound (no SRV glue), family 0', 'pods   first poll   steady poll'];
  for (const c of r.cost) lines.push(`${String(c.pods).padStart(4)}   ${String(c.firstPoll).padStart(10)}   ${c.steadyPoll.toFixed(1).padStart(11)}`);
  lines.push('', `Change seen after (TTL ${r.ttl} s, minInterval 1 s; bound TTL + 1 s = ${r.ttl + 1} s)`, 'path      trials     p50 ms     max ms');
  for (const d of r.detection) lines.push(`${d.path.padEnd(8)}  ${String(d.trials).padStart(6)}  ${String(d.p50).padStart(9)}  ${String(d.max).padStart(9)}`);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runCacheBench()
    .then((r) => console.log(`${cacheTable(r)}\n\n${JSON.stringify(r)}`))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
