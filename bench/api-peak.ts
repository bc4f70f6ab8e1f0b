/**
 * Peak heap while `peers()` lists a big Service, run in a child process under `--trace-gc`:
 * V8 prints the heap in use before and after every collection, and the heap only grows between
 * two of them, so the largest "before" figure during the list is its peak. Forced collections
 * (`gc()`, reason "testing") mark where the list starts and ends.
 *
 *   node --import tsx --trace-gc --expose-gc bench/api-peak.ts   (env: BENCH_API_URL, BENCH_API_CA, BENCH_SERVICE, BENCH_PODS)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { peers } from '../src/index.ts';

/** Peak and final heap of a list, bytes above the heap before it. */
export interface PeakHeap {
  peakBytes: number;
  finalBytes: number;
  /** peak / final (target <= 2). */
  ratio: number;
  gcsDuringList: number;
}

const GC_LINE = /: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact|Mark-Compact \(reduce\))[^\d]*([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB.*?(testing)?;/;

/** Parses --trace-gc output: begin marker = last forced GC before the list, end marker = the forced GC after it. */
export function parseTrace(out: string): PeakHeap {
  const gcs = out
    .split('\n')
    .map((l) => GC_LINE.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ before: Number(m[2]) * 2 ** 20, after: Number(m[4]) * 2 ** 20, forced: /testing/.test(m.input) }));
  const forced = gcs.map((g, i) => (g.forced ? i : -1)).filter((i) => i >= 0);
  // The child forces two collections before the list and one after it.
  const end = forced[forced.length - 1]!;
  const begin = forced[forced.length - 2]!;
  const base = gcs[begin]!.after;
  const during = gcs.slice(begin + 1, end + 1);
  const peak = Math.max(...during.map((g) => g.before)) - base;
  const final = gcs[end]!.after - base;
  return { peakBytes: peak, finalBytes: final, ratio: peak / final, gcsDuringList: during.length - 1 };
}

/** Runs this file as a child against the API at `url` and returns its peak and final heap. */
export function measurePeakHeap(o: { url: string; ca: string; service: string; pods: number }): Promise<PeakHeap> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--trace-gc', '--expose-gc', self], {
      env: { ...process.env, BENCH_API_URL: o.url, BENCH_API_CA: o.ca, BENCH_SERVICE: o.service, BENCH_PODS: String(o.pods) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`api-peak exited ${code}: ${err.trim()}`));
      else {
        try {
          resolvePromise(parseTrace(out));
        } catch (e) {
          reject(e as Error);
        }
      }
    });
  });
}

async function child(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const options = { source: 'kubernetes' as const, namespace: 'default', port: 'web', kubernetes: { url: process.env.BENCH_API_URL!, ca: process.env.BENCH_API_CA! } };
  const service = process.env.BENCH_SERVICE!;
  const pods = Number(process.env.BENCH_PODS);
  // Warm up: code loaded and compiled, undici's pools made, before the heap is taken.
  if ((await peers(service, options)).length !== pods) throw new Error('warm-up list is short');
  await new Promise((r) => setTimeout(r, 100));
  gc();
  gc();
  const set = await peers(service, options);
  gc();
  if (set.length !== pods) throw new Error(`listed ${set.length}, expected ${pods}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  child().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
