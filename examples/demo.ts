/**
 * `npm run demo`: headless-sd watching a StatefulSet scale, with no cluster.
 *
 * Starts the test cluster of the Kubernetes StatefulSet tutorial (headless Service `nginx`
 * with port `web`, StatefulSet `web` of 3) and its DNS server on loopback, watches the
 * peers through DNS, then scales 3 -> 5 -> 2 and fails a readiness probe, printing each
 * change as the watcher sees it. Exits 0 within seconds; non-zero with the error otherwise.
 *
 * Users import from 'headless-sd' and 'headless-sd/testing'; this file imports the
 * sources so that it runs from a checkout.
 */
import { watchPeers } from '../src/index.ts';
import type { Peer, PeerChange } from '../src/index.ts';
import { createDemoCluster, createTestServer } from '../src/testing/index.ts';
import { describePeers, formatChange, formatPeerTable, paint, useColor } from '../src/cli/format.ts';

/** The whole demo must end well before this (ms); past it, it fails. */
const DEADLINE = 20_000;

const color = useColor(process.stdout);
const say = (text: string): void => void process.stdout.write(`${paint(`> ${text}`, 'yellow', color)}\n`);
const print = (text: string): void => void process.stdout.write(text);

async function main(): Promise<void> {
  const deadline = AbortSignal.timeout(DEADLINE);
  // The cluster of the Kubernetes StatefulSet tutorial: headless Service nginx, StatefulSet web
  // of 3. TTL 1 s: the watcher polls about every second (the TTL less up to 20% jitter, at
  // least minInterval).
  const cluster = await createDemoCluster({ ttl: 1 });
  const web = cluster.getStatefulSet('web')!;
  const dns = await createTestServer({ cluster, port: 0 });
  const watcher = watchPeers('nginx', { port: 'web', namespace: 'default', servers: dns.servers, minInterval: 250 });
  const changes = watcher[Symbol.asyncIterator]();
  try {
    print(paint('headless-sd demo: the peers of a StatefulSet, as its pods see them through DNS\n', 'bold', color));
    say('test cluster: headless Service nginx (port web 80/TCP), StatefulSet web with 3 replicas');
    say(`cluster DNS on ${dns.servers[0]} (TTL 1 s); watching SRV _web._tcp.nginx.default.svc.cluster.local`);

    const first = await nextChange(changes, deadline);
    print(formatPeerTable(first.peers, { color }));

    const steps: { narration: string; act: () => void; expect: string[] }[] = [
      {
        narration: 'scaling web to 5 replicas (as kubectl scale statefulset web --replicas=5 would)',
        act: () => web.scale(5),
        expect: ['web-0', 'web-1', 'web-2', 'web-3', 'web-4'],
      },
      {
        narration: 'scaling web down to 2 (the highest ordinals go first)',
        act: () => web.scale(2),
        expect: ['web-0', 'web-1'],
      },
      {
        narration: 'web-1 fails its readiness probe: DNS stops publishing it',
        act: () => cluster.setReady('web-1', false),
        expect: ['web-0'],
      },
      {
        narration: 'web-1 is ready again',
        act: () => cluster.setReady('web-1', true),
        expect: ['web-0', 'web-1'],
      },
    ];
    for (const step of steps) {
      say(step.narration);
      const started = performance.now();
      step.act();
      let seen: Peer[] = [];
      // Changes arrive as the watcher's polls see them; wait for the whole expected set.
      while (!sameNames(seen, step.expect)) {
        const change = await nextChange(changes, deadline);
        print(formatChange(change, { color }));
        seen = change.peers;
      }
      print(paint(`  seen after ${((performance.now() - started) / 1000).toFixed(1)} s: ${describePeers(seen)}\n`, 'dim', color));
      print(formatPeerTable(seen, { color }));
    }
    say('done: closing the watcher and the DNS server');
  } finally {
    watcher.close();
    await dns.close();
  }
}

/** The watcher's next change, or a failure when the deadline passes or the watcher ends. */
async function nextChange(changes: AsyncIterator<PeerChange>, deadline: AbortSignal): Promise<PeerChange> {
  deadline.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error(`the demo did not see the expected change within ${DEADLINE / 1000} s`));
    deadline.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const result = await Promise.race([changes.next(), aborted]);
    if (result.done) throw new Error('the watcher ended before the demo did');
    return result.value;
  } finally {
    deadline.removeEventListener('abort', onAbort);
  }
}

function sameNames(peers: readonly Peer[], names: readonly string[]): boolean {
  return peers.length === names.length && peers.every((p, i) => p.name === names[i]);
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
