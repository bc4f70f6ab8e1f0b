/**
 * `npm run bench:ring`: PeerRing (rendezvous hashing) against the `hashring` package (ketama:
 * md5, 160 points per server, an LRU cache of 5,000 answers) in one run: owner() lookups per
 * second for 10 and 100 peers, the spread of keys (max/min keys per peer) and the share of
 * keys that move when a peer joins or leaves.
 *
 * Lookups cycle through 100,000 distinct keys, more than hashring's cache holds, so both
 * compute; each figure is the median of BENCH_ROUNDS (default 7) rounds of BENCH_ROUND_MS (500).
 */
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { PeerRing } from '../src/index.ts';
import type { Peer } from '../src/index.ts';
import { makePeer } from '../src/peer/index.ts';

interface HashRingLike {
  get(key: string): string;
  add(server: string): HashRingLike;
  remove(server: string): HashRingLike;
}
const HashRing = createRequire(import.meta.url)('hashring') as new (servers: string[]) => HashRingLike;

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const ROUNDS = env('BENCH_ROUNDS', 7);
const ROUND_MS = env('BENCH_ROUND_MS', 500);
const KEYS = Array.from({ length: 100_000 }, (_, i) => `user:${i}:${(i * 2654435761) >>> 0}`);
const NOBODY = { addresses: new Set<string>(), hostname: 'bench' };

const peerOf = (i: number): Peer =>
  makePeer({ host: `cache-${i}.cache.default.svc.cluster.local`, address: `10.0.${i >> 8}.${i & 255}`, port: 11211, ttl: 5 }, NOBODY);
const idOf = (p: Peer): string => `${p.host}:${p.port}`;

/** Lookups per second: the median of rounds, each as many lookups as fit in ROUND_MS. */
function lookupsPerSecond(lookup: (key: string) => unknown): number {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) if (lookup(KEYS[i % KEYS.length]!) !== undefined) sink++; // warm-up (JIT)
  const rates: number[] = [];
  let k = 0;
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const end = start + BigInt(ROUND_MS) * 1_000_000n;
    let now = start;
    while (now < end) {
      for (let i = 0; i < 1000; i++) {
        if (lookup(KEYS[k]!) !== undefined) sink++;
        k = k + 1 === KEYS.length ? 0 : k + 1;
      }
      n += 1000;
      now = process.hrtime.bigint();
    }
    rates.push(n / (Number(now - start) / 1e9));
  }
  if (sink < 0) console.log(sink); // keeps the lookups from being optimized away
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

function spread(assign: (key: string) => string): number {
  const counts = new Map<string, number>();
  for (const key of KEYS) {
    const owner = assign(key);
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  const per = [...counts.values()];
  return Math.max(...per) / Math.min(...per);
}

function moved(before: (key: string) => string, after: (key: string) => string): number {
  const owners = KEYS.map(before);
  return KEYS.filter((key, i) => after(key) !== owners[i]).length / KEYS.length;
}

const rows: string[][] = [];
for (const n of [10, 100]) {
  const peers = Array.from({ length: n }, (_, i) => peerOf(i));
  const ring = new PeerRing(peers);
  const ketama = new HashRing(peers.map(idOf));
  const ringOwner = (key: string): string => idOf(ring.owner(key)!);
  const ketamaOwner = (key: string): string => ketama.get(key);
  // Churn: a peer leaves (the last), then an extra one joins.
  const ringLess = new PeerRing(peers.slice(0, -1));
  const ringMore = new PeerRing([...peers, peerOf(n)]);
  const ketamaLess = new HashRing(peers.slice(0, -1).map(idOf));
  const ketamaMore = new HashRing([...peers, peerOf(n)].map(idOf));
  rows.push([
    `PeerRing, ${n} peers`,
    Math.round(lookupsPerSecond((k) => ring.owner(k))).toLocaleString('en'),
    spread(ringOwner).toFixed(3),
    `${(moved(ringOwner, (k) => idOf(ringLess.owner(k)!)) * 100).toFixed(1)}%`,
    `${(moved(ringOwner, (k) => idOf(ringMore.owner(k)!)) * 100).toFixed(1)}%`,
  ]);
  rows.push([
    `hashring (ketama), ${n} peers`,
    Math.round(lookupsPerSecond((k) => ketama.get(k))).toLocaleString('en'),
    spread(ketamaOwner).toFixed(3),
    `${(moved(ketamaOwner, (k) => ketamaLess.get(k)) * 100).toFixed(1)}%`,
    `${(moved(ketamaOwner, (k) => ketamaMore.get(k)) * 100).toFixed(1)}%`,
  ]);
}

const header = ['', 'owner() per second', 'max/min keys per peer', 'moved: one leaves', 'moved: one joins'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(`Node ${process.version}, ${cpus().length} cores; ${KEYS.length.toLocaleString('en')} keys, median of ${ROUNDS} rounds of ${ROUND_MS} ms`);
console.log(line(header));
for (const row of rows) console.log(line(row));
console.log('Ideal moves: 1/N of the keys when one of N leaves, 1/(N+1) when one joins.');
