/**
 * Closed-loop measurement: `concurrency` callers each await one operation after another for a
 * fixed time; queries/s and latency percentiles come from that. Rounds of several clients are
 * interleaved (A, B, C, A, B, C, ...) so drift of the machine hits every client alike, and the
 * median round is reported.
 */
import { performance } from 'node:perf_hooks';

/** One round of one client. */
export interface Round {
  ops: number;
  errors: number;
  seconds: number;
  /** Operations per second. */
  rate: number;
  /** Latency percentiles, milliseconds. */
  p50: number;
  p99: number;
}

/** Median of the rounds of one client. */
export interface Summary {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  rounds: number[];
  /** First error message seen, if any. */
  firstError: string | null;
}

/** Settings of {@link compare}. */
export interface CompareSettings {
  concurrency: number;
  /** Milliseconds of each measured round. */
  roundMs: number;
  rounds: number;
  /** Milliseconds of warm-up per client (JIT, sockets, connections) before the first round. */
  warmupMs: number;
}

/** Median of `values` (NaN when empty). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Room for latencies of one round; grows by doubling (the hot loop only writes a typed array). */
class Samples {
  data = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

let firstError: string | null = null;

/** Runs `op` with `concurrency` callers for `ms` milliseconds. */
export async function closedLoop(op: () => Promise<unknown>, concurrency: number, ms: number): Promise<Round> {
  const samples = new Samples();
  let errors = 0;
  const start = performance.now();
  const end = start + ms;
  const caller = async (): Promise<void> => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      try {
        await op();
      } catch (err) {
        errors++;
        firstError ??= String((err as Error).message ?? err);
      }
      samples.push(performance.now() - t0);
    }
  };
  const callers: Promise<void>[] = [];
  for (let i = 0; i < concurrency; i++) callers.push(caller());
  await Promise.all(callers);
  const seconds = (performance.now() - start) / 1000;
  const sorted = samples.data.subarray(0, samples.length).sort();
  return {
    ops: samples.length,
    errors,
    seconds,
    rate: samples.length / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
  };
}

/** Interleaved rounds of each named operation; the median round of each. */
export async function compare(ops: Record<string, () => Promise<unknown>>, s: CompareSettings): Promise<Record<string, Summary>> {
  const names = Object.keys(ops);
  const rounds = new Map<string, Round[]>(names.map((n) => [n, []]));
  const errors = new Map<string, string | null>();
  for (const n of names) await closedLoop(ops[n]!, s.concurrency, s.warmupMs);
  for (let r = 0; r < s.rounds; r++) {
    // Rotate who goes first, so no client always runs right after the same other one.
    for (let i = 0; i < names.length; i++) {
      const n = names[(i + r) % names.length]!;
      firstError = null;
      rounds.get(n)!.push(await closedLoop(ops[n]!, s.concurrency, s.roundMs));
      if (firstError !== null) errors.set(n, firstError);
    }
  }
  const out: Record<string, Summary> = {};
  for (const n of names) {
    const rs = rounds.get(n)!;
    out[n] = {
      rate: median(rs.map((x) => x.rate)),
      p50: median(rs.map((x) => x.p50)),
      p99: median(rs.map((x) => x.p99)),
      errors: rs.reduce((a, x) => a + x.errors, 0),
      rounds: rs.map((x) => Math.round(x.rate)),
      firstError: errors.get(n) ?? null,
    };
  }
  return out;
}
