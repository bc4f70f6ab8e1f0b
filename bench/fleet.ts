/**
 * The cost a fleet puts on its cluster: 1,000 watchers over 20 Services (every pod of a Service
 * watches it, as a StatefulSet that forms a cluster does), once with the DNS source against the
 * test DNS server, once with the Kubernetes API source against the fake API (in a worker thread,
 * plain HTTP). Each watcher stands for one process: its own DnsClient (own UDP socket and TCP
 * connection) or its own `kubernetes` options object (its own undici Agent and connection), so
 * no two of them share a resolution loop, as they would inside one process. What the servers
 * receive is counted in a steady window and in a window that starts with a scale (one Service
 * from 50 to 60 pods).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DnsClient } from '../src/dns/client.ts';
import { watchPeers, type PeerWatcher } from '../src/index.ts';
import { createTestCluster, createTestServer } from '../src/testing/index.ts';
import { startWorkerApi } from './api-host.ts';

/** Load seen by a server in one window. */
export interface FleetWindow {
  seconds: number;
  /** DNS: messages received (UDP and TCP), per second in all, and per watcher. */
  queriesPerSecond?: number;
  /** API: requests received (lists and new watches), per second. */
  requestsPerSecond?: number;
  /** API: watch streams open at the end of the window. */
  openWatches?: number;
  perWatcherPerSecond: number;
  /** Watchers of the scaled Service that saw the new size, and the time the last one took (ms). */
  converged?: { watchers: number; lastMs: number };
}

/** Figures of the fleet part. */
export interface FleetResults {
  watchers: number;
  services: number;
  podsPerService: number;
  ttl: number;
  dns: { startup: FleetWindow; steady: FleetWindow; scale: FleetWindow; udpShare: number };
  api: { startup: FleetWindow; steady: FleetWindow; scale: FleetWindow };
}

const SERVICES = 20;
const PODS = 50;
const SCALED = 60;

const serviceName = (i: number): string => `svc-${i}`;

/** Waits until every watcher of the first Service has `n` peers; the time of the last one. */
async function converge(watchers: PeerWatcher[], n: number, start: number, bound: number): Promise<{ watchers: number; lastMs: number }> {
  const seen = new Map<PeerWatcher, number>();
  await Promise.all(
    watchers.map(
      (w) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, bound);
          const check = (c: { peers: unknown[] }): void => {
            if (c.peers.length === n && !seen.has(w)) {
              seen.set(w, performance.now() - start);
              clearTimeout(timer);
              w.off('change', check);
              resolve();
            }
          };
          w.on('change', check);
        }),
    ),
  );
  return { watchers: seen.size, lastMs: Math.max(0, ...seen.values()) };
}

/** Runs the simulation: `watchers` in all, `windowMs` per window. */
export async function runFleetBench(o: { watchers: number; windowMs: number; log: (line: string) => void }): Promise<FleetResults> {
  const cluster = await createTestCluster();
  for (let i = 0; i < SERVICES; i++) {
    cluster.setService({ name: serviceName(i), ports: [{ name: 'web', port: 80 }] });
    cluster.statefulSet({ name: serviceName(i), serviceName: serviceName(i), replicas: PODS });
  }

  // DNS source.
  o.log(`   ${o.watchers} DNS watchers (each its own DnsClient) against the test DNS server, TTL ${cluster.ttl} s`);
  const server = await createTestServer({ cluster, queryLogLimit: 10_000_000 });
  const clients: DnsClient[] = [];
  const dnsWatchers: PeerWatcher[] = [];
  let dns: FleetResults['dns'];
  try {
    let t0 = performance.now();
    for (let i = 0; i < o.watchers; i++) {
      const client = new DnsClient({ servers: server.servers, search: [], ndots: 1, timeout: 5000, attempts: 3 });
      clients.push(client);
      const w = watchPeers(`${serviceName(i % SERVICES)}.default.svc.cluster.local`, { client, port: 'web' });
      w.on('error', () => {});
      dnsWatchers.push(w);
    }
    await Promise.all(dnsWatchers.map((w) => w.ready));
    const startup = { seconds: (performance.now() - t0) / 1000, queriesPerSecond: 0, perWatcherPerSecond: 0 };
    startup.queriesPerSecond = server.queries.length / startup.seconds;
    startup.perWatcherPerSecond = server.queries.length / o.watchers;
    server.queries.length = 0;
    t0 = performance.now();
    await sleep(o.windowMs);
    let seconds = (performance.now() - t0) / 1000;
    const steadyQueries = server.queries.length;
    const udp = server.queries.filter((q) => q.transport === 'udp').length;
    const steady = { seconds, queriesPerSecond: steadyQueries / seconds, perWatcherPerSecond: steadyQueries / seconds / o.watchers };
    server.queries.length = 0;
    const scaledWatchers = dnsWatchers.filter((_, i) => i % SERVICES === 0);
    t0 = performance.now();
    cluster.getStatefulSet(serviceName(0))!.scale(SCALED);
    const [converged] = await Promise.all([converge(scaledWatchers, SCALED, t0, o.windowMs), sleep(o.windowMs)]);
    seconds = (performance.now() - t0) / 1000;
    const scale = { seconds, queriesPerSecond: server.queries.length / seconds, perWatcherPerSecond: server.queries.length / seconds / o.watchers, converged };
    dns = { startup, steady, scale, udpShare: udp / steadyQueries };
  } finally {
    for (const w of dnsWatchers) w.close();
    for (const c of clients) c.close();
    await server.close();
  }

  // Kubernetes API source.
  o.log(`   ${o.watchers} API watchers (each its own connection) against the fake API`);
  const api = await startWorkerApi(
    Array.from({ length: SERVICES }, (_, i) => ({ name: serviceName(i), pods: PODS })),
    false,
  );
  const apiWatchers: PeerWatcher[] = [];
  let apiResults: FleetResults['api'];
  try {
    await api.takeRequests();
    let t0 = performance.now();
    for (let i = 0; i < o.watchers; i++) {
      const w = watchPeers(serviceName(i % SERVICES), { source: 'kubernetes', namespace: 'default', port: 'web', kubernetes: { url: api.url } });
      w.on('error', () => {});
      apiWatchers.push(w);
    }
    await Promise.all(apiWatchers.map((w) => w.ready));
    let startupRequests = 0;
    let open = 0;
    for (let i = 0; i < 500 && open < o.watchers; i++) {
      const taken = await api.takeRequests();
      startupRequests += taken.list.length;
      open = taken.openWatches;
      if (open < o.watchers) await sleep(20);
    }
    const startupSeconds = (performance.now() - t0) / 1000;
    const startup = { seconds: startupSeconds, requestsPerSecond: startupRequests / startupSeconds, perWatcherPerSecond: startupRequests / o.watchers, openWatches: open };
    t0 = performance.now();
    await sleep(o.windowMs);
    let seconds = (performance.now() - t0) / 1000;
    let r = await api.takeRequests();
    const steady = { seconds, requestsPerSecond: r.list.length / seconds, perWatcherPerSecond: r.list.length / seconds / o.watchers, openWatches: r.openWatches };
    const scaledWatchers = apiWatchers.filter((_, i) => i % SERVICES === 0);
    const start = performance.now();
    const converging = converge(scaledWatchers, SCALED, start, o.windowMs);
    await api.scale(serviceName(0), SCALED);
    const [converged] = await Promise.all([converging, sleep(o.windowMs)]);
    seconds = (performance.now() - start) / 1000;
    r = await api.takeRequests();
    const scale = { seconds, requestsPerSecond: r.list.length / seconds, perWatcherPerSecond: r.list.length / seconds / o.watchers, openWatches: r.openWatches, converged };
    apiResults = { startup, steady, scale };
  } finally {
    for (const w of apiWatchers) w.close();
    await api.close();
  }
  return { watchers: o.watchers, services: SERVICES, podsPerService: PODS, ttl: cluster.ttl, dns, api: apiResults };
}
