/**
 * The Kubernetes API source under a profiler, one scenario at a time (fake API in a worker):
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/hot-api.ts list 100000
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/hot-api.ts change 100000
 *   npx tsx bench/profile.ts /tmp/prof/CPU.*.<pid>.0.*.cpuprofile   (thread 0: this one, not the worker)
 *
 * `list` runs peers() 5 times; `change` flips one pod's readiness 6 times under a watcher.
 */
import { peers, watchPeers } from '../src/index.ts';
import { startWorkerApi } from './api-host.ts';

async function main(): Promise<void> {
  const [scenario = 'list', podsText = '100000'] = process.argv.slice(2);
  const pods = Number(podsText);
  const service = `k${pods / 1000}`;
  const api = await startWorkerApi([{ name: service, pods }]);
  const options = { source: 'kubernetes' as const, namespace: 'default', port: 'web', kubernetes: { url: api.url, ca: api.ca! } };
  try {
    if (scenario === 'list') {
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const set = await peers(service, options);
        console.log(`list ${set.length} peers: ${(performance.now() - t0).toFixed(1)} ms`);
      }
    } else if (scenario === 'change') {
      const watcher = watchPeers(service, options);
      await watcher.ready;
      let ready = true;
      for (let i = 0; i < 6; i++) {
        const changed = new Promise<number>((resolve) => watcher.once('change', () => resolve(performance.now())));
        ready = !ready;
        const t0 = performance.now();
        await api.setReady(`${service}-${Math.floor(pods / 2)}`, ready);
        console.log(`change seen ${((await changed) - t0).toFixed(1)} ms after the flip was asked`);
      }
      watcher.close();
    } else throw new Error(`unknown scenario ${scenario}: list, change`);
  } finally {
    await api.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
