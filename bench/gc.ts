import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** `gc()` without starting node with --expose-gc. */
export function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Heap used after a few rounds of GC with a pause between (`pauseMs`), so finalizers have run. */
export async function settledHeap(gc: () => void, pauseMs = 20): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await sleep(pauseMs);
    gc();
  }
  return process.memoryUsage().heapUsed;
}
