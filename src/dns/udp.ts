/**
 * UDP transport: few sockets serve many concurrent queries through an ID -> exchange table.
 * Each socket is connected to one server (so ICMP port unreachable surfaces as ECONNREFUSED),
 * bound to a random ephemeral port chosen by the kernel, and retired after a bounded number of
 * queries (RFC 5452). Answers are accepted only from the server's address and port, for an
 * outstanding ID, repeating the question; anything else is dropped and counted.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { reportDrop } from './diagnostics.js';
import { IdSource, expiring, socketFailure, type Exchange, type TransportCounters } from './exchange.js';
import { messageId, responseMatches } from './message.js';
import { sameAddress, type ServerAddress } from './server-address.js';

/** Options of {@link UdpTransport}. */
export interface UdpTransportOptions {
  /** Queries sent on one socket before it is replaced by one on a new random port. */
  maxQueriesPerSocket: number;
  /**
   * Queries in flight per server; more wait in a queue. Bounds bursts so the answers fit the
   * socket's receive buffer (and the server's), instead of being dropped by the kernel.
   */
  maxInflight: number;
}

/** Asked of the kernel for each socket; Linux caps it at net.core.rmem_max. */
const RECV_BUFFER_SIZE = 1 << 20;

/**
 * With this few queries in flight a query is sent at once (latency); with more, sends made in
 * one turn of the event loop go out together in setImmediate: the server wakes up once for a
 * batch instead of once per packet, which roughly doubles throughput on loopback.
 */
const IMMEDIATE_SEND_BELOW = 4;

/** One connected socket and the exchanges waiting on it. */
class UdpSlot {
  readonly pending = new Map<number, Exchange>();
  /** Exchanges with an ID, not yet sent: the socket is still connecting, or a batch waits for setImmediate. */
  queue: Exchange[] = [];
  sent = 0;
  ready = false;
  retired = false;
  closed = false;
  flushing = false;
  /** The callback of every send (one per socket, not one per packet). */
  onSent: (err: Error | null) => void = () => {};

  constructor(
    readonly socket: Socket,
    readonly pool: ServerPool,
  ) {}
}

/**
 * Sends a slot's queued exchanges (those still pending: a cancelled one is skipped). Only the
 * last send of the batch asks for a callback: node reports a send's error only to its callback,
 * through a process.nextTick per send (about 7% of a raw loop's throughput), and an error fails
 * every exchange of the socket anyway (see onError), so one callback per batch reports it.
 */
function flushSlot(slot: UdpSlot): void {
  slot.flushing = false;
  if (slot.closed) return;
  const queue = slot.queue;
  slot.queue = [];
  const now = performance.now();
  let last = queue.length - 1;
  while (last >= 0 && slot.pending.get(queue[last]!.id) !== queue[last]) last--;
  for (let i = 0; i <= last; i++) {
    const ex = queue[i]!;
    if (slot.pending.get(ex.id) === ex) slot.pool.transport.write(slot, ex, now, i === last);
  }
}

/** Per-server state: the current socket, retired ones draining, and the wait queue. */
class ServerPool {
  current: UdpSlot | null = null;
  inflight = 0;
  /** Exchanges waiting for a free in-flight slot, in order (a Set deletes in O(1) on cancel). */
  readonly waiting = new Set<Exchange>();
  readonly slots = new Set<UdpSlot>();

  constructor(
    readonly server: ServerAddress,
    readonly transport: UdpTransport,
  ) {}
}

/** Sends queries over UDP and routes their answers back to their {@link Exchange}. */
export class UdpTransport {
  private readonly pools = new Map<string, ServerPool>();
  private closed = false;

  constructor(
    private readonly options: UdpTransportOptions,
    private readonly counters: TransportCounters,
    private readonly ids: IdSource,
  ) {}

  /** Number of open sockets (for tests and stats). */
  get sockets(): number {
    let n = 0;
    for (const pool of this.pools.values()) n += pool.slots.size;
    return n;
  }

  /** Sends `ex` to `ex.server` (or queues it while the server has too many in flight). */
  send(ex: Exchange): void {
    const key = ex.server.label;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new ServerPool(ex.server, this);
      this.pools.set(key, pool);
    }
    if (pool.inflight >= this.options.maxInflight) {
      ex.slot = pool;
      pool.waiting.add(ex);
      return;
    }
    this.dispatch(pool, ex);
  }

  /** Forgets `ex` (timed out or aborted): a later answer for it is dropped. */
  cancel(ex: Exchange): void {
    const slot = ex.slot;
    if (slot instanceof ServerPool) {
      slot.waiting.delete(ex);
      ex.slot = null;
    } else if (slot instanceof UdpSlot) {
      this.release(slot, ex);
      this.pump(slot.pool);
    }
  }

  /** True while `ex` waits for room behind `maxInflight` (not yet given an ID and a socket). */
  queued(ex: Exchange): boolean {
    return ex.slot instanceof ServerPool;
  }

  /** Moves `server` to a new socket (a new source port): single-request-reopen after a timeout. */
  reopen(server: ServerAddress): void {
    const current = this.pools.get(server.label)?.current;
    if (current != null) this.retire(current);
  }

  /** Closes every socket. Exchanges still waiting are forgotten (the client failed them already). */
  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) {
      pool.waiting.clear();
      for (const slot of pool.slots) this.closeSlot(slot);
    }
    this.pools.clear();
  }

  private dispatch(pool: ServerPool, ex: Exchange): void {
    let slot = pool.current;
    if (slot === null || slot.sent >= this.options.maxQueriesPerSocket) {
      if (slot !== null) this.retire(slot);
      slot = this.open(pool);
    }
    const id = this.ids.take(slot.pending);
    ex.id = id;
    ex.packet[0] = id >> 8;
    ex.packet[1] = id & 0xff;
    ex.slot = slot;
    slot.pending.set(id, ex);
    slot.sent++;
    pool.inflight++;
    if (slot.ready && slot.pending.size <= IMMEDIATE_SEND_BELOW && !slot.flushing) {
      this.write(slot, ex);
      return;
    }
    slot.queue.push(ex);
    if (slot.ready && !slot.flushing) {
      slot.flushing = true;
      setImmediate(flushSlot, slot);
    }
  }

  /** Sends waiting exchanges while the server has room. */
  private pump(pool: ServerPool): void {
    if (pool.waiting.size === 0 || this.closed) return;
    const now = performance.now();
    for (const ex of pool.waiting) {
      if (pool.inflight >= this.options.maxInflight) return;
      // Its try is over: it times out as never sent, rather than going out as it gives up.
      if (expiring(ex, now)) continue;
      pool.waiting.delete(ex);
      this.dispatch(pool, ex);
    }
  }

  private open(pool: ServerPool): UdpSlot {
    const { server } = pool;
    const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    const slot = new UdpSlot(socket, pool);
    pool.current = slot;
    pool.slots.add(slot);
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.onMessage(slot, msg, rinfo));
    socket.on('error', (err: NodeJS.ErrnoException) => this.onError(slot, err));
    // Deno reports a failed send only to its callback (no 'error' event); node to either.
    slot.onSent = (err) => {
      if (err && !slot.closed) this.onError(slot, err as NodeJS.ErrnoException);
    };
    // connect() binds to port 0 first: the kernel picks a random ephemeral source port.
    // A connect the kernel refuses (EINVAL, EACCES, ENETUNREACH...) comes back here, not as 'error'.
    socket.connect(server.port, server.host, (err?: Error) => this.onConnect(slot, err));
    socket.unref();
    return slot;
  }

  /**
   * Sends one exchange's packet (`now`: the batch's clock reading, if any); a send that throws
   * fails the socket's exchanges, never the process.
   */
  write(slot: UdpSlot, ex: Exchange, now?: number, callback = true): void {
    try {
      if (callback) slot.socket.send(ex.packet, slot.onSent);
      else slot.socket.send(ex.packet);
    } catch (err) {
      this.onError(slot, err as NodeJS.ErrnoException);
      return;
    }
    ex.sent(now);
  }

  private onConnect(slot: UdpSlot, err: Error | undefined): void {
    if (slot.closed) return;
    if (err !== undefined) {
      this.onError(slot, err as NodeJS.ErrnoException, 'connect');
      return;
    }
    slot.ready = true;
    try {
      slot.socket.setRecvBufferSize(RECV_BUFFER_SIZE);
    } catch {
      // the kernel's default buffer still works; maxInflight keeps bursts small
    }
    const queue = slot.queue;
    slot.queue = [];
    for (const ex of queue) if (slot.pending.get(ex.id) === ex && !slot.closed) this.write(slot, ex);
  }

  private onMessage(slot: UdpSlot, msg: Buffer, rinfo: RemoteInfo): void {
    const { server } = slot.pool;
    if (msg.length < 12) return this.drop(rinfo, -1, 'short');
    const id = messageId(msg);
    const ex = slot.pending.get(id);
    if (ex === undefined) return this.drop(rinfo, id, 'unknown id');
    // Checked even on a connected socket: the address is what RFC 5452 asks to verify.
    if (rinfo.port !== server.port || !sameAddress(rinfo.address, server.host)) return this.drop(rinfo, id, 'wrong source');
    if (!responseMatches(msg, ex.packet, ex.questionEnd)) return this.drop(rinfo, id, 'wrong question');
    this.release(slot, ex);
    this.pump(slot.pool);
    ex.answered(msg, 'udp');
  }

  /**
   * ICMP errors and socket failures: every exchange on this socket fails now. A socket that never
   * connected, or whose send threw, is closed (the next query opens a new one).
   */
  private onError(slot: UdpSlot, err: NodeJS.ErrnoException, what = 'send'): void {
    const where = `UDP ${what} to ${slot.pool.server.label}`;
    // A UDP connect() sends nothing, so its failure means the kernel will not send there;
    // Bun reports it without an errno ("Failed to connect socket").
    const failure =
      what === 'connect' && !err.code
        ? { code: 'ENETUNREACH' as const, reason: `${where} failed (${err.message}): the server cannot be reached from this host`, cause: err }
        : socketFailure(err, where);
    const failed = [...slot.pending.values()];
    slot.queue = [];
    for (const ex of failed) this.release(slot, ex);
    if (!slot.ready || failure.code === 'ENETUNREACH') this.retire(slot);
    for (const ex of failed) ex.failed(failure);
    this.pump(slot.pool);
  }

  private release(slot: UdpSlot, ex: Exchange): void {
    if (slot.pending.get(ex.id) === ex) {
      slot.pending.delete(ex.id);
      slot.pool.inflight--;
    }
    ex.slot = null;
    if (slot.retired && slot.pending.size === 0) this.closeSlot(slot);
  }

  /** No new queries on this socket; it closes once its pending answers arrived or timed out. */
  private retire(slot: UdpSlot): void {
    slot.retired = true;
    if (slot.pool.current === slot) slot.pool.current = null;
    if (slot.pending.size === 0) this.closeSlot(slot);
  }

  private closeSlot(slot: UdpSlot): void {
    if (slot.closed) return;
    slot.closed = true;
    slot.pool.slots.delete(slot);
    if (slot.pool.current === slot) slot.pool.current = null;
    slot.socket.close();
  }

  private drop(rinfo: RemoteInfo, id: number, reason: 'short' | 'unknown id' | 'wrong source' | 'wrong question'): void {
    this.counters.dropped++;
    const from = rinfo.family === 'IPv6' ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}`;
    reportDrop({ transport: 'udp', from, id, reason });
  }
}
