/** The benchmark's table on stdout and its targets, from the figures of one run. */
import type { ApiResults } from './api.ts';
import type { DnsResults } from './dns.ts';
import type { DnsperfResult } from './dnsperf.ts';

/** One target, checked against this run. */
export interface Target {
  name: string;
  /** What is required, in words. */
  required: string;
  /** The figure reached. */
  value: number;
  met: boolean;
}

const HSD = 'headless-sd';
const NODE = 'node:dns';
const SOCK = 'dns-socket';

/** Ratios between the clients that the targets and the table use. */
export function ratios(d: DnsResults, perf: DnsperfResult | null): Record<string, number> {
  const out: Record<string, number> = {
    srvC64VsNode: d.srvC64[HSD]!.rate / d.srvC64[NODE]!.rate,
    srvC64VsDnsSocket: d.srvC64[HSD]!.rate / d.srvC64[SOCK]!.rate,
    srvC1P50VsNode: d.srvC1[HSD]!.p50 / d.srvC1[NODE]!.p50,
    srvC1P50VsDnsSocket: d.srvC1[HSD]!.p50 / d.srvC1[SOCK]!.p50,
    srvC1RateVsNode: d.srvC1[HSD]!.rate / d.srvC1[NODE]!.rate,
    largeAP50VsNode: d.largeA[HSD]!.p50 / d.largeA[NODE]!.p50,
    largeARateVsNode: d.largeA[HSD]!.rate / d.largeA[NODE]!.rate,
    peers50SpeedupVsNodeWay: d.peers50[NODE]!.p50 / d.peers50[HSD]!.p50,
  };
  if (perf !== null) {
    out.srvC64ShareOfDnsperf = d.srvC64[HSD]!.rate / perf.qps;
    out.srvC64NodeShareOfDnsperf = d.srvC64[NODE]!.rate / perf.qps;
    out.srvC64DnsSocketShareOfDnsperf = d.srvC64[SOCK]!.rate / perf.qps;
  }
  return out;
}

/** The targets of the DNS comparison. */
export function targets(r: Record<string, number>): Target[] {
  const t = (name: string, required: string, value: number, met: boolean): Target => ({ name, required, value, met });
  return [
    t('SRV concurrency 64 vs node:dns (q/s)', '>= 2.0x', r.srvC64VsNode!, r.srvC64VsNode! >= 2),
    t('SRV concurrency 64 vs dns-socket (q/s)', '>= 1.5x', r.srvC64VsDnsSocket!, r.srvC64VsDnsSocket! >= 1.5),
    t('SRV concurrency 1 p50 vs node:dns', '<= 1.0x', r.srvC1P50VsNode!, r.srvC1P50VsNode! <= 1),
    t('A of 1,000 pods p50 vs node:dns', '<= 0.5x', r.largeAP50VsNode!, r.largeAP50VsNode! <= 0.5),
    t('peers() of 50 pods vs the node:dns way (p50 speed-up)', '>= 3.0x', r.peers50SpeedupVsNodeWay!, r.peers50SpeedupVsNodeWay! >= 3),
  ];
}

const ms = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? 'n/a' : v < 1 ? v.toFixed(3) : v.toFixed(2));
const qps = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? 'n/a' : Math.round(v).toLocaleString('en-US'));
const x = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '' : `${v.toFixed(2)}x`);

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

/** The table of the DNS figures, one line per measure, one column per client. */
export function dnsTable(d: DnsResults, perf: DnsperfResult | null): string {
  const widths = [42, 12, 10, 11, 9, 11];
  const lines = [row(['measure', HSD, NODE, SOCK, 'vs node', 'vs socket'], widths), '-'.repeat(widths.reduce((a, b) => a + b + 2, -2))];
  const add = (label: string, s: Record<string, { rate: number; p50: number; p99: number }>, pick: 'rate' | 'p50' | 'p99'): void => {
    const fmt = pick === 'rate' ? qps : ms;
    const v = (k: string): number | undefined => s[k]?.[pick];
    const ratio = (k: string): string => (s[k] === undefined ? '' : x(v(HSD)! / v(k)!));
    lines.push(row([label, fmt(v(HSD)), fmt(v(NODE)), fmt(v(SOCK)), ratio(NODE), ratio(SOCK)], widths));
  };
  add('1. SRV 3 pods, c=1: p50 latency (ms)', d.srvC1, 'p50');
  add('   p99 latency (ms)', d.srvC1, 'p99');
  add('   queries/s', d.srvC1, 'rate');
  add('2. SRV 3 pods, c=64: queries/s', d.srvC64, 'rate');
  add('3. A 1,000 pods (TC->TCP), c=1: p50 (ms)', d.largeA, 'p50');
  add('   queries/s', d.largeA, 'rate');
  add('4. peers() 50 pods vs node way: p50 (ms)', d.peers50, 'p50');
  add('   resolutions/s', d.peers50, 'rate');
  if (perf !== null) {
    const share = (k: string): string => `${((100 * d.srvC64[k]!.rate) / perf.qps).toFixed(0)}%`;
    lines.push(row(['5. dnsperf ceiling, same SRV, 64 in flight', qps(perf.qps), '', '', '', ''], widths));
    lines.push(row(['   share of the ceiling reached at c=64', share(HSD), share(NODE), share(SOCK), '', ''], widths));
  }
  return lines.join('\n');
}

/** The API source's lines. */
export function apiTable(a: ApiResults): string {
  return [
    `6. Kubernetes API source (${a.pods.toLocaleString('en-US')} pods)`,
    `   list -> Peer[] (client, replayed API):    ${ms(a.listMs)} ms   (from the fake API, its rendering included: ${ms(a.listFakeApiMs)} ms)`,
    `   one pod changes -> 'change' with diff:    ${ms(a.changeMs.p50)} ms p50, ${ms(a.changeMs.max)} ms max (${a.changeMs.samples} changes)`,
    `   watcher heap per 1,000 peers:             ${a.heapPer1000PeersKiB.toFixed(0)} KiB   (1,000 peers: ${a.heap1000PeersKiB.toFixed(0)} KiB, 10,000 peers: ${a.heap10000PeersMiB.toFixed(1)} MiB)`,
  ].join('\n');
}

/** The targets, one line each. */
export function targetLines(ts: Target[]): string {
  return ts.map((t) => `${t.met ? 'met    ' : 'NOT met'}  ${t.name}: ${t.value.toFixed(2)}x (target ${t.required})`).join('\n');
}
