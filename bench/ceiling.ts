/**
 * The Node ceiling for a DNS client: a minimal loop in this process that sends prebuilt SRV
 * queries on one connected UDP socket and counts the replies by ID without decoding them. No
 * Node client can do more against the same server, so DnsClient is measured as a share of it.
 *
 * Two raw loops, the better one is the ceiling: `immediate` sends the next query from the reply's
 * callback; `batched` queues them and sends all of one event-loop turn in setImmediate (as
 * DnsClient does at high concurrency, so the server wakes once per batch).
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import dnsPacket from 'dns-packet';
import { DnsClient } from '../src/dns/client.ts';
import { closedLoop, median } from './measure.ts';

/** One measured round of a raw loop. */
interface RawRound {
  rate: number;
  p50: number;
}

/** What the ceiling part reports (medians of the rounds). */
export interface CeilingResults {
  /** Raw loop, 64 in flight, reply -> send at once: replies/s. */
  rawImmediateC64: number;
  /** Raw loop, 64 in flight, sends of one turn batched in setImmediate: replies/s. */
  rawBatchedC64: number;
  /** The better of the two: the ceiling. */
  rawC64: number;
  /** Raw ping-pong (one in flight): p50 round trip, ms, and replies/s. */
  rawC1P50: number;
  rawC1Rate: number;
  /** DnsClient.resolveSrv at 64 callers: q/s; at one caller: p50 ms and q/s. */
  clientC64: number;
  clientC1P50: number;
  clientC1Rate: number;
  /** clientC64 / rawC64 (target >= 0.8). */
  c64Share: number;
  /** clientC1P50 / rawC1P50 (target <= 1.2). */
  c1P50Ratio: number;
  rounds: { rawImmediate: number[]; rawBatched: number[]; client: number[] };
}

/** The query DnsClient sends for `name` SRV: RD, EDNS(0) with a 1232-byte payload. */
function srvQuery(name: string, id: number): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'SRV', name }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer],
  });
}

async function connectedSocket(host: string, port: number): Promise<Socket> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.connect(port, host);
  await once(socket, 'connect');
  return socket;
}

/** Runs `inflight` prebuilt queries round and round for `ms`: replies/s and, for one in flight, the p50. */
async function rawLoop(host: string, port: number, name: string, inflight: number, ms: number, batched: boolean): Promise<RawRound> {
  const socket = await connectedSocket(host, port);
  const slotOfId = new Int32Array(65536).fill(-1);
  const queries: Buffer[] = [];
  const sentAt = new Float64Array(inflight);
  for (let i = 0; i < inflight; i++) {
    const id = (i * 1021 + 7) & 0xffff; // distinct IDs
    slotOfId[id] = i;
    queries.push(srvQuery(name, id));
  }
  const latencies = inflight === 1 ? new Float64Array(1 << 20) : null;
  let replies = 0;
  let running = true;
  let outstanding = 0;
  let queue: number[] = [];
  let scheduled = false;
  const send = (slot: number): void => {
    outstanding++;
    if (latencies !== null) sentAt[slot] = performance.now();
    socket.send(queries[slot]!);
  };
  const flush = (): void => {
    scheduled = false;
    const q = queue;
    queue = [];
    for (const slot of q) send(slot);
  };
  let drained: (() => void) | null = null;
  socket.on('message', (msg: Buffer) => {
    const slot = msg.length >= 2 ? slotOfId[msg.readUInt16BE(0)]! : -1;
    if (slot < 0) return;
    outstanding--;
    if (!running) {
      if (outstanding === 0) drained?.();
      return;
    }
    if (latencies !== null && replies < latencies.length) latencies[replies] = performance.now() - sentAt[slot]!;
    replies++;
    if (!batched) send(slot);
    else {
      queue.push(slot);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    }
  });
  const start = performance.now();
  for (let i = 0; i < inflight; i++) send(i);
  await new Promise((resolve) => setTimeout(resolve, ms));
  running = false;
  const seconds = (performance.now() - start) / 1000;
  const counted = replies;
  // Let the last answers arrive (bounded: on loopback nothing is lost), then close.
  if (outstanding > queue.length) {
    await Promise.race([new Promise<void>((resolve) => (drained = resolve)), new Promise((resolve) => setTimeout(resolve, 500))]);
  }
  socket.close();
  let p50 = NaN;
  if (latencies !== null) {
    const sorted = latencies.subarray(0, Math.min(counted, latencies.length)).sort();
    p50 = sorted[sorted.length >> 1] ?? NaN;
  }
  return { rate: counted / seconds, p50 };
}

/**
 * Interleaved rounds of the raw loops and DnsClient.resolveSrv of `name` on `host:port`, at 64
 * in flight and at one.
 */
export async function runCeilingBench(o: { host: string; port: number; name: string; rounds: number; roundMs: number; warmupMs: number }): Promise<CeilingResults> {
  const client = new DnsClient({ servers: [`${o.host}:${o.port}`], search: [], ndots: 1, timeout: 2000, attempts: 2 });
  try {
    const records = await client.resolveSrv(o.name);
    if (records.length === 0) throw new Error(`no SRV records for ${o.name}`);
    const op = (): Promise<unknown> => client.resolveSrv(o.name);
    await rawLoop(o.host, o.port, o.name, 64, o.warmupMs, false);
    await rawLoop(o.host, o.port, o.name, 64, o.warmupMs, true);
    await rawLoop(o.host, o.port, o.name, 1, o.warmupMs, false);
    await closedLoop(op, 64, o.warmupMs);
    await closedLoop(op, 1, o.warmupMs);
    const immediate: number[] = [];
    const batched: number[] = [];
    const c64: number[] = [];
    const rawC1: RawRound[] = [];
    const c1P50: number[] = [];
    const c1Rate: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      immediate.push((await rawLoop(o.host, o.port, o.name, 64, o.roundMs, false)).rate);
      batched.push((await rawLoop(o.host, o.port, o.name, 64, o.roundMs, true)).rate);
      c64.push((await closedLoop(op, 64, o.roundMs)).rate);
      rawC1.push(await rawLoop(o.host, o.port, o.name, 1, o.roundMs / 2, false));
      const one = await closedLoop(op, 1, o.roundMs / 2);
      c1P50.push(one.p50);
      c1Rate.push(one.rate);
    }
    const rawImmediateC64 = median(immediate);
    const rawBatchedC64 = median(batched);
    const rawC64 = Math.max(rawImmediateC64, rawBatchedC64);
    const rawC1P50 = median(rawC1.map((x) => x.p50));
    const clientC64 = median(c64);
    const clientC1P50 = median(c1P50);
    return {
      rawImmediateC64,
      rawBatchedC64,
      rawC64,
      rawC1P50,
      rawC1Rate: median(rawC1.map((x) => x.rate)),
      clientC64,
      clientC1P50,
      clientC1Rate: median(c1Rate),
      c64Share: clientC64 / rawC64,
      c1P50Ratio: clientC1P50 / rawC1P50,
      rounds: { rawImmediate: immediate.map(Math.round), rawBatched: batched.map(Math.round), client: c64.map(Math.round) },
    };
  } finally {
    client.close();
  }
}
