/**
 * Lines and targets of the limit benchmarks: the Node ceiling for DNS, the Kubernetes API source
 * against its floor and client-node, and the fleet's cost to its cluster (with grpc-js's and
 * Pekko's defaults computed beside it).
 */
import type { ApiSizeResults } from './api-limits.ts';
import type { CeilingResults } from './ceiling.ts';
import type { FleetResults } from './fleet.ts';
import type { Target } from './report.ts';

const n0 = (v: number): string => Math.round(v).toLocaleString('en-US');
const ms = (v: number): string => (v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(0));
const pods = (v: number): string => v.toLocaleString('en-US');

/** The targets of the limit benchmarks. */
export function limitTargets(c: CeilingResults | null, sizes: ApiSizeResults[]): Target[] {
  const t = (name: string, required: string, value: number, met: boolean): Target => ({ name, required, value, met });
  const out: Target[] = [];
  if (c !== null) {
    out.push(t('DnsClient.resolveSrv c=64 share of the raw loop (q/s)', '>= 0.80x', c.c64Share, c.c64Share >= 0.8));
    out.push(t('DnsClient.resolveSrv c=1 p50 vs raw ping-pong p50', '<= 1.20x', c.c1P50Ratio, c.c1P50Ratio <= 1.2));
  }
  for (const s of sizes) {
    const at = `${pods(s.pods)} endpoints`;
    out.push(t(`API list, ${at}: peers() time above the floor (share of the floor)`, '<= 0.10x', s.aboveFloorPct / 100, s.aboveFloorPct <= 10));
    out.push(t(`API list, ${at}: peers() vs client-node list+flatten`, '< 1.00x', s.oursListMs / s.clientNodeListMs, s.oursListMs < s.clientNodeListMs));
    out.push(t(`API list, ${at}: peers() vs client-node informer`, '< 1.00x', s.oursListMs / s.informerListMs, s.oursListMs < s.informerListMs));
    out.push(t(`API one-pod change, ${at}: change p50 vs one-event floor`, '<= 2.00x', s.changeRatio, s.changeRatio <= 2));
    out.push(t(`API heap per endpoint, ${at}: watcher vs client-node informer`, '<= 0.60x', s.heapRatio, s.heapRatio <= 0.6));
    if (s.peak !== null) out.push(t(`API peak heap during the ${at} list vs the final set`, '<= 2.00x', s.peak.ratio, s.peak.ratio <= 2));
  }
  return out;
}

/** The ceiling lines. */
export function ceilingTable(c: CeilingResults): string {
  return [
    '7. The Node ceiling for a DNS client (same knotd, SRV of 3 pods, one connected UDP socket)',
    `   raw loop, 64 in flight, replies counted by ID:  ${n0(c.rawC64)} q/s  (send from the reply callback ${n0(c.rawImmediateC64)}, batched in setImmediate ${n0(c.rawBatchedC64)})`,
    `   DnsClient.resolveSrv, concurrency 64:           ${n0(c.clientC64)} q/s  = ${c.c64Share.toFixed(2)}x of the raw loop (target >= 0.80x: ${c.c64Share >= 0.8 ? 'met' : 'NOT met'})`,
    `   raw ping-pong, one in flight: p50              ${ms(c.rawC1P50)} ms  (${n0(c.rawC1Rate)} q/s)`,
    `   DnsClient.resolveSrv, concurrency 1: p50       ${ms(c.clientC1P50)} ms  (${n0(c.clientC1Rate)} q/s) = ${c.c1P50Ratio.toFixed(2)}x the raw p50 (target <= 1.20x: ${c.c1P50Ratio <= 1.2 ? 'met' : 'NOT met'})`,
  ].join('\n');
}

const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');

/** The API source lines, one block per size. */
export function apiLimitsTable(sizes: ApiSizeResults[]): string {
  const lines = ['8. Kubernetes API source vs its floor and @kubernetes/client-node (fake API over TLS in a worker thread)'];
  for (const s of sizes) {
    lines.push(`   ${pods(s.pods)} endpoints in ${s.slices} slices`);
    lines.push(`     list floor (undici request + JSON.parse):  ${ms(s.floorListMs)} ms`);
    lines.push(
      `     peers() list:                              ${ms(s.oursListMs)} ms, ${s.aboveFloorPct.toFixed(0)}% above the floor (target <= 10%: ${met(s.aboveFloorPct <= 10)}); ${s.listRequests} request(s)${s.listLimit === null ? ', not paged' : `, limit=${s.listLimit}`}`,
    );
    lines.push(`     client-node list + flatten:                ${ms(s.clientNodeListMs)} ms (peers() ${(s.oursListMs / s.clientNodeListMs).toFixed(2)}x of it: ${met(s.oursListMs < s.clientNodeListMs)})`);
    lines.push(`     client-node informer, start to full cache: ${ms(s.informerListMs)} ms (peers() ${(s.oursListMs / s.informerListMs).toFixed(2)}x of it: ${met(s.oursListMs < s.informerListMs)})`);
    lines.push(`     one-pod change, floor (receive + parse):   ${ms(s.changeFloorMs)} ms p50`);
    lines.push(`     one-pod change -> our 'change':            ${ms(s.changeOursMs)} ms p50 = ${s.changeRatio.toFixed(2)}x the floor (target <= 2x: ${met(s.changeRatio <= 2)}); ${s.changeSamples} changes`);
    lines.push(`     one-pod change -> informer 'update':       ${ms(s.informerUpdateMs)} ms p50`);
    lines.push(
      `     heap per endpoint: watcher ${n0(s.heapOursPerEndpoint)} B, informer cache ${n0(s.heapInformerPerEndpoint)} B = ${s.heapRatio.toFixed(2)}x (target <= 0.6x: ${met(s.heapRatio <= 0.6)})`,
    );
    if (s.peak !== null) {
      lines.push(
        `     peak heap during the list ${(s.peak.peakBytes / 2 ** 20).toFixed(1)} MiB vs final set ${(s.peak.finalBytes / 2 ** 20).toFixed(1)} MiB = ${s.peak.ratio.toFixed(2)}x (target <= 2x: ${met(s.peak.ratio <= 2)})`,
      );
    }
  }
  return lines.join('\n');
}

/** Queries (or requests) per second per watcher of the other ways, computed from their defaults. */
export const OTHERS = {
  /** grpc-js's DNS resolver: one resolution per 30 s (A, AAAA by getaddrinfo, TXT for the service config). */
  grpcJs: { queriesPerResolution: 3, intervalSeconds: 30 },
  /** Pekko Management's bootstrap, DNS: one SRV lookup a second (UDP, then TCP when truncated as here). */
  pekkoDns: { queriesPerResolution: 2, intervalSeconds: 1 },
  /** Pekko Management's bootstrap, kubernetes-api: one pod list a second. */
  pekkoApi: { requestsPerResolution: 1, intervalSeconds: 1 },
  /** Our watch requests end at a random 300..599 s timeoutSeconds and are renewed: one request per 450 s on average. */
  watchRenewalSeconds: 450,
} as const;

/** The fleet lines. */
export function fleetTable(f: FleetResults): string {
  const per = (v: number): string => v.toFixed(3);
  const grpc = OTHERS.grpcJs.queriesPerResolution / OTHERS.grpcJs.intervalSeconds;
  const pekko = OTHERS.pekkoDns.queriesPerResolution / OTHERS.pekkoDns.intervalSeconds;
  const pekkoApi = OTHERS.pekkoApi.requestsPerResolution / OTHERS.pekkoApi.intervalSeconds;
  const x5000 = (v: number): string => n0(v * 5000);
  return [
    `9. A fleet's cost to its cluster: ${f.watchers} watchers over ${f.services} Services of ${f.podsPerService} pods (each watcher its own process: own DnsClient / own API connection)`,
    `   DNS source (test DNS server, TTL ${f.ttl} s):`,
    `     startup: ${per(f.dns.startup.perWatcherPerSecond)} queries per watcher in ${f.dns.startup.seconds.toFixed(1)} s`,
    `     steady:  ${n0(f.dns.steady.queriesPerSecond!)} q/s = ${per(f.dns.steady.perWatcherPerSecond)} q/s per watcher (${(100 * f.dns.udpShare).toFixed(0)}% UDP, the rest TCP after TC)`,
    `     scale ${f.podsPerService}->60: ${n0(f.dns.scale.queriesPerSecond!)} q/s = ${per(f.dns.scale.perWatcherPerSecond)} per watcher; ${f.dns.scale.converged!.watchers} watchers saw it, the last after ${n0(f.dns.scale.converged!.lastMs)} ms`,
    `   API source (fake API, HTTP):`,
    `     startup: ${per(f.api.startup.perWatcherPerSecond)} requests per watcher (list + watch) in ${f.api.startup.seconds.toFixed(1)} s; ${f.api.startup.openWatches} watch connections`,
    `     steady:  ${per(f.api.steady.requestsPerSecond!)} requests/s = ${per(f.api.steady.perWatcherPerSecond)} per watcher in ${f.api.steady.seconds.toFixed(0)} s; ${f.api.steady.openWatches} watch connections (renewals: 1 per ~${OTHERS.watchRenewalSeconds} s each)`,
    `     scale ${f.podsPerService}->60: ${per(f.api.scale.requestsPerSecond!)} requests/s; ${f.api.scale.converged!.watchers} watchers saw it, the last after ${n0(f.api.scale.converged!.lastMs)} ms`,
    `   per watcher, computed from defaults: grpc-js re-resolution every 30 s ${per(grpc)} q/s; Pekko bootstrap 1 s polling ${per(pekko)} q/s (DNS) or ${per(pekkoApi)} req/s (API)`,
    `   a 5,000-pod cluster would carry: ours DNS ${x5000(f.dns.steady.perWatcherPerSecond)} q/s, ours API ${n0(5000 / OTHERS.watchRenewalSeconds)} req/s + 5,000 watches; grpc-js ${x5000(grpc)} q/s; Pekko ${x5000(pekko)} q/s or ${x5000(pekkoApi)} req/s`,
  ].join('\n');
}
