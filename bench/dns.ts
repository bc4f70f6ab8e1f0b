/**
 * The DNS benchmarks against knotd: SRV at concurrency 1 and 64, the 1,000-pod A answer (TC, then
 * TCP), and peers() of the 50-pod Service against the node:dns way of doing the same.
 */
import type { promises as dnsPromises } from 'node:dns';
import { peers } from '../src/discovery/resolve.ts';
import { localIdentity, makePeer, normalizePeers, peerKey, type Peer } from '../src/peer/index.ts';
import { dnsSocket, nodeDns, ours } from './clients.ts';
import { compare, type CompareSettings, type Summary } from './measure.ts';
import { MEDIUM, NAMES } from './zone.ts';

/** Figures of the DNS part, each client's median round. */
export interface DnsResults {
  srvC1: Record<string, Summary>;
  srvC64: Record<string, Summary>;
  largeA: Record<string, Summary>;
  peers50: Record<string, Summary>;
}

/** The node:dns way to a Service's peers: resolveSrv, then resolve4 of every target, into the same Peer[]. */
async function nodeWayPeers(resolver: dnsPromises.Resolver, name: string): Promise<Peer[]> {
  const srv = await resolver.resolveSrv(name);
  const addresses = await Promise.all(srv.map((r) => resolver.resolve4(r.name, { ttl: true })));
  const self = localIdentity();
  const out: Peer[] = [];
  srv.forEach((r, i) => {
    for (const a of addresses[i]!) {
      out.push(makePeer({ host: r.name, address: a.address, port: r.port, priority: r.priority, weight: r.weight, ttl: a.ttl }, self));
    }
  });
  return normalizePeers(out);
}

function count(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  const packet = value as { answers?: unknown[] };
  return packet.answers?.length ?? -1;
}

/** Every client gives the expected answer once before anything is timed. */
async function check(what: string, expected: number, asks: Record<string, () => Promise<unknown>>): Promise<void> {
  for (const [name, ask] of Object.entries(asks)) {
    const n = count(await ask());
    if (n !== expected) throw new Error(`${what}: ${name} got ${n} records, expected ${expected}`);
  }
}

/** Runs the DNS benchmarks against `servers`; `settings` gives rounds, round length and warm-up. */
export async function runDnsBench(servers: string[], settings: Omit<CompareSettings, 'concurrency'>, log: (line: string) => void): Promise<DnsResults> {
  const hsd = ours(servers);
  const node = nodeDns(servers);
  const sock = dnsSocket(servers);
  try {
    const srv = NAMES.smallSrv;
    const srvOps = { [hsd.name]: () => hsd.srv(srv), [node.name]: () => node.srv(srv), [sock.name]: () => sock.srv(srv) };
    await check('SRV of 3 pods', 3, srvOps);
    log('1. SRV, 3 pods, concurrency 1');
    const srvC1 = await compare(srvOps, { ...settings, concurrency: 1 });
    log('2. SRV, 3 pods, concurrency 64');
    const srvC64 = await compare(srvOps, { ...settings, concurrency: 64 });

    const big = NAMES.largeA;
    const aOps = { [hsd.name]: () => hsd.a!(big), [node.name]: () => node.a!(big) };
    await check('A of 1,000 pods', 1000, aOps);
    log('3. A, 1,000 pods (TC, then TCP), concurrency 1');
    const largeA = await compare(aOps, { ...settings, concurrency: 1 });

    const service = MEDIUM.name;
    const peerOps = {
      [hsd.name]: () => peers(service, { namespace: 'default', port: 'web', client: hsd.client }),
      [node.name]: () => nodeWayPeers(node.resolver, NAMES.mediumSrv),
    };
    const a = (await peerOps[hsd.name]!()).map(peerKey);
    const b = (await peerOps[node.name]!()).map(peerKey);
    if (a.length !== 50 || a.join() !== b.join()) throw new Error(`peers() and the node:dns way differ: ${a.length} vs ${b.length} peers`);
    log('4. peers() of 50 pods vs resolveSrv + resolve4 per target');
    const peers50 = await compare(peerOps, { ...settings, concurrency: 1 });
    return { srvC1, srvC64, largeA, peers50 };
  } finally {
    hsd.close();
    node.close();
    sock.close();
  }
}
