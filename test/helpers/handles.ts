import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/** Counts of active resources by kind (TCPWRAP, UDPWRAP, Timeout, ...). */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/**
 * Asserts that no resource kind has more live handles than in `before`. Closing sockets
 * finishes on a later tick, so this waits (up to 2 s) for the count to come back first.
 */
export async function assertNoLeaks(before: Map<string, number>): Promise<void> {
  let extra: string[] = [];
  for (let i = 0; i < 200; i++) {
    const now = activeResources();
    extra = [...now].filter(([kind, n]) => n > (before.get(kind) ?? 0)).map(([kind, n]) => `${kind}: ${before.get(kind) ?? 0} -> ${n}`);
    if (extra.length === 0) return;
    await sleep(10);
  }
  assert.deepEqual(extra, [], `handles left behind: ${extra.join(', ')}`);
}

/** Waits until `predicate` is true, checking every 10 ms; fails with `what` after `limitMs`. */
export async function until(predicate: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Closes each in order, waiting for each (clients before the servers they use), as a test's `finally` does. */
export async function closeAll(...things: { close(): unknown }[]): Promise<void> {
  for (const thing of things) await thing.close();
}
