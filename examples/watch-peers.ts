/**
 * A small app that keeps its list of peers up to date with watchPeers().
 *
 * In your app: `import { watchPeers } from 'headless-sd';`. This file imports the sources
 * ('../src/index.ts') so that it runs from a checkout:
 *
 *   npx tsx src/cli.ts serve &                     # a test cluster's DNS: Service nginx, web-0..2
 *   DNS_SERVERS=127.0.0.1:5300 npx tsx examples/watch-peers.ts
 *
 * In a pod, leave DNS_SERVERS unset: the pod's /etc/resolv.conf names the cluster DNS.
 * Environment: SERVICE (default nginx), PORT_NAME (default web), POD_NAMESPACE (downward API),
 * DNS_SERVERS (comma-separated). Stops on SIGINT/SIGTERM.
 */
import { watchPeers } from '../src/index.ts';
import type { Peer } from '../src/index.ts';

const service = process.env.SERVICE ?? 'nginx';
const portName = process.env.PORT_NAME ?? 'web';
const namespace = process.env.POD_NAMESPACE || undefined;
const servers = process.env.DNS_SERVERS?.split(',').map((s) => s.trim()).filter(Boolean);

/** The app's view of the cluster: peer name -> where to reach it. Kept current by the watcher. */
const members = new Map<string, string>();

const watcher = watchPeers(service, {
  port: portName,
  ...(namespace ? { namespace } : {}),
  ...(servers?.length ? { servers } : {}),
});

// Without an 'error' listener errors are not emitted; with one, they are only news: the
// watcher keeps the last good set and retries with backoff.
watcher.on('error', (err) => console.warn(`discovery trouble (keeping ${members.size} peers): ${err.message}`));

// Stop cleanly on SIGINT/SIGTERM: close() ends the for-await loop below, and after it
// nothing (no socket, no timer) keeps the process alive.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => watcher.close());

const label = (p: Peer): string => p.name ?? p.address;
const where = (p: Peer): string => `${p.family === 6 ? `[${p.address}]` : p.address}:${p.port}`;

// The first item is the whole current set (all `added`), then each change.
for await (const { peers, added, removed } of watcher) {
  for (const p of removed) members.delete(label(p));
  for (const p of added) members.set(label(p), where(p));
  for (const p of removed) console.log(`left:   ${label(p)} ${where(p)}`);
  for (const p of added) console.log(`joined: ${label(p)} ${where(p)}${p.self ? ' (this pod)' : ''}`);
  const others = peers.filter((p) => !p.self).map(label);
  console.log(`now ${peers.length} peers; the others: ${others.join(', ') || 'none'}`);
}
console.log('stopped watching');
