/**
 * One member of the local example cluster: what an app in a StatefulSet pod does.
 *
 * It serves HTTP on its pod address (GET /id answers its name), finds its peers through
 * the cluster DNS with watchPeers (port 'http': SRV _http._tcp.app...), asks each other
 * peer who it is, and says so once it knows every other member.
 *
 * The runner (run.ts) starts it with the environment a pod would have:
 *   POD_NAME=app-0 POD_IP=127.1.0.1 POD_NAMESPACE=default
 *   SERVICE=app DNS_SERVER=127.0.0.1:40123 (in a pod: the nameserver of /etc/resolv.conf)
 *
 * Users import from 'headless-sd'; this file imports the sources to run from a checkout.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici/index.js';
import { watchPeers } from '../../src/index.ts';
import type { Peer } from '../../src/index.ts';
import { env, log } from '../shared/members.ts';

const POD_NAME = env('POD_NAME');
const POD_IP = env('POD_IP');
const SERVICE = env('SERVICE');
const NAMESPACE = env('POD_NAMESPACE');
const DNS_SERVER = env('DNS_SERVER');
const PORT = Number(process.env.HTTP_PORT ?? 8080);
/** How many other members there are (the StatefulSet's replicas - 1). */
const EXPECTED_OTHERS = Number(process.env.EXPECTED_OTHERS ?? 2);

// The app's own endpoint: peers call it to learn who is at an address.
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/id') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(POD_NAME);
  } else {
    res.writeHead(404).end();
  }
});
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, POD_IP, () => resolve());
});
log(`${POD_NAME}: serving http://${POD_IP}:${(server.address() as AddressInfo).port}/id`);

const agent = new Agent({ connect: { timeout: 1000 } });
/** Names learnt from /id answers, by address:port. */
const known = new Map<string, string>();
let announced = false;

const watcher = watchPeers(SERVICE, { port: 'http', namespace: NAMESPACE, servers: [DNS_SERVER], minInterval: 250 });
watcher.on('error', (err) => log(`${POD_NAME}: discovery error (retrying): ${err.message}`));
watcher.on('change', ({ added, removed }) => {
  for (const p of removed) known.delete(key(p));
  if (added.length > 0) log(`${POD_NAME}: DNS lists ${watcher.peers.map((p) => p.name).join(', ')}`);
  void greetAll();
});

// A peer may be listed before it listens: ask again until each answers.
const retry = setInterval(() => void greetAll(), 300);

function key(peer: Peer): string {
  return `${peer.address}:${peer.port}`;
}

/** Is this entry us? In a real pod `peer.self` says so; here all members share one machine (and host name), so compare the pod IP too. */
function isSelf(peer: Peer): boolean {
  return peer.self || peer.address === POD_IP;
}

async function greetAll(): Promise<void> {
  const others = watcher.peers.filter((p) => !isSelf(p));
  await Promise.all(others.filter((p) => !known.has(key(p))).map(greet));
  const names = others.map((p) => known.get(key(p))).filter((n): n is string => n !== undefined);
  if (!announced && names.length >= EXPECTED_OTHERS) {
    announced = true;
    log(`${POD_NAME}: knows ${names.sort().join(', ')}`);
  }
}

async function greet(peer: Peer): Promise<void> {
  try {
    const { statusCode, body } = await request(`http://${key(peer)}/id`, { dispatcher: agent, headersTimeout: 1000, bodyTimeout: 1000 });
    const text = await body.text();
    if (statusCode === 200) known.set(key(peer), text.trim());
  } catch {
    // Not listening yet: the next round asks again.
  }
}

// The runner stops members with SIGTERM, as the kubelet stops a pod.
process.once('SIGTERM', () => {
  clearInterval(retry);
  watcher.close();
  server.closeAllConnections();
  server.close();
  void agent.close();
});
