/**
 * Shared pieces of the reliability suite: the summary rows each file records (printed by
 * zz-summary.test.ts at the end), the time bound of a failing lookup, and a forced GC.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { PeerChange, PeerWatcher } from '../../src/index.ts';
import type { StatefulSet } from '../../src/testing/index.ts';
import { until } from '../helpers/handles.ts';

/** One line of the summary table. */
export interface SummaryRow {
  /** 'faults (DNS)', 'spoofing', 'fuzz', 'hostile answers', 'soak', ... */
  section: string;
  /** What was tried: 'drop 30% / peers()'. */
  item: string;
  /** What happened: 'ok 27, ETIMEOUT 3, slowest 312 ms (bound 645 ms)'. */
  result: string;
}

/**
 * Where the rows of one run go. `npm run test:reliability` runs each file in its own child of one
 * test runner (--test-concurrency=1), so the runner's pid (our ppid) names the run.
 */
export function summaryFile(): string {
  return join(tmpdir(), `headless-sd-reliability-${process.ppid}.jsonl`);
}

/** Appends a row to this run's summary (and prints it, for a file run alone). */
export function record(section: string, item: string, result: string): void {
  const row: SummaryRow = { section, item, result };
  appendFileSync(summaryFile(), `${JSON.stringify(row)}\n`);
}

/** The rows recorded so far in this run. */
export function readSummary(): SummaryRow[] {
  let text = '';
  try {
    text = readFileSync(summaryFile(), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as SummaryRow);
}

/** Removes this run's summary file. */
export function clearSummary(): void {
  rmSync(summaryFile(), { force: true });
}

/** Slack for CI scheduling on top of the 10% the issue allows: timers and the event loop on 2 busy cores. */
export const SCHEDULING_SLACK_MS = 150;

/** Longest a lookup may take to give its answer or its error: timeout x attempts, +10%, + slack. */
export function lookupBound(timeout: number, attempts: number): number {
  return Math.ceil(timeout * attempts * 1.1 + SCHEDULING_SLACK_MS);
}

/** Asserts `elapsed` is within {@link lookupBound}; returns a short text for the summary. */
export function assertWithinBound(elapsed: number, timeout: number, attempts: number, what: string): string {
  const bound = lookupBound(timeout, attempts);
  assert.ok(elapsed <= bound, `${what} took ${elapsed.toFixed(0)} ms, more than ${bound} ms (${timeout} ms x ${attempts} + 10% + ${SCHEDULING_SLACK_MS} ms)`);
  return `${elapsed.toFixed(0)} ms <= ${bound} ms`;
}

let gcFunction: (() => void) | null = null;

/** A full garbage collection (node runs test files without --expose-gc: the flag is set at run time). */
export function collectGarbage(): void {
  if (gcFunction === null) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
}

/** Counts per key, as text: 'ok 27, ETIMEOUT 3'. */
export function tally(values: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
}

/** A small fast PRNG (xorshift32): fuzzing needs millions of cheap numbers, not secrecy. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9;
  }
  /** 32 random bits. */
  u32(): number {
    let x = this.#s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x >>> 0;
    return this.#s;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return this.u32() % n;
  }
}

/**
 * Open sockets of this process, counted from /proc/self/fd (Linux): unlike
 * process.getActiveResourcesInfo(), this sees unref'd sockets too. null where /proc is missing.
 */
export function openSockets(): number | null {
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return null;
  }
  let n = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

/**
 * Wraps a test body so that a failure also lands in the summary table (as `FAILED: <message>`),
 * not only in the runner's output far above it.
 */
export function recorded<A extends unknown[]>(section: string, item: string, fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      record(section, item, `FAILED: ${message.split('\n')[0]}`);
      throw err;
    }
  };
}

/** What a watcher emitted, as the fault tests check it. */
export interface WatcherLog {
  changes: PeerChange[];
  errors: Error[];
}

/** Records a watcher's `change` and `error` events. */
export function logWatcher(watcher: PeerWatcher): WatcherLog {
  const log: WatcherLog = { changes: [], errors: [] };
  watcher.on('change', (change) => log.changes.push(change));
  watcher.on('error', (error) => log.errors.push(error));
  return log;
}

/**
 * After a fault is cleared: scales the StatefulSet from 3 to 4 and asserts the watcher sees
 * exactly one more change, adding `newPod` and removing nothing.
 */
export async function assertRecoversWithScaleUp(set: StatefulSet, watcher: PeerWatcher, log: WatcherLog, newPod: string): Promise<void> {
  set.scale(4);
  await until(() => watcher.peers.length === 4, 'the watcher sees the 4th pod after the fault');
  assert.equal(log.changes.length, 2);
  assert.deepEqual(log.changes[1]!.added.map((p) => p.name), [newPod]);
  assert.deepEqual(log.changes[1]!.removed, []);
}
