/**
 * TCP transport (RFC 7766): 2-byte length framing, a few connections per server reused for many
 * queries and pipelined (several in flight, matched by ID), closed after a short idle time.
 * Each connection holds at most `maxInflight` queries (so IDs never run out) and a server gets at
 * most `maxConnections`; more queries wait in a queue. A server that closes a connection after N
 * answers (CoreDNS closes after 128) gets what was in flight again on a new connection; a
 * connection that lets a query time out without sending anything is replaced.
 * Connections are unref'd: they never hold the process open.
 */
import { connect, type Socket } from 'node:net';
import { reportDrop } from './diagnostics.js';
import { IdSource, expiring, socketFailure, type Exchange, type TransportCounters, type TransportFailure } from './exchange.js';
import { messageId, responseMatches } from './message.js';
import type { ServerAddress } from './server-address.js';

/** Options of {@link TcpTransport}. */
export interface TcpTransportOptions {
  /** Milliseconds a connection with nothing in flight stays open for reuse. */
  idleTimeout: number;
  /** Queries in flight on one connection. */
  maxInflight: number;
  /** Connections open at once to one server. */
  maxConnections: number;
}

const HEADER_LENGTH = 12;

/** One connection and the exchanges pipelined on it. */
class TcpConnection {
  readonly pending = new Map<number, Exchange>();
  /** Received bytes not yet framed. */
  chunks: Buffer[] = [];
  buffered = 0;
  /** Length of the frame being read, or -1 while its 2-byte prefix is awaited. */
  need = -1;
  connected = false;
  closed = false;
  /** Answers received: a connection that answered and then closes was closed by a live server. */
  answers = 0;
  /** Queries written on it (against the server's learned per-connection limit). */
  written = 0;
  /** When bytes last came in (performance.now()), to tell a slow query from a wedged connection. */
  lastData = 0;
  idleTimer: NodeJS.Timeout | null = null;
  error: NodeJS.ErrnoException | null = null;

  constructor(
    readonly socket: Socket,
    readonly pool: TcpPool,
  ) {}
}

/** Per-server state: its connections and the queries waiting for room on one. */
class TcpPool {
  readonly conns = new Set<TcpConnection>();
  /** Exchanges waiting for room, in order (a Set deletes in O(1) on cancel). */
  readonly waiting = new Set<Exchange>();
  /**
   * Queries the server answers on one connection before it closes it, once seen (CoreDNS: 128):
   * no more are written on a connection, so that they need not be sent again on another.
   */
  perConnection = Infinity;

  constructor(readonly server: ServerAddress) {}
}

/** A server that closed after fewer answers than this is not taken to have a per-connection limit. */
const MIN_LEARNED_LIMIT = 16;

/** Sends queries over TCP and routes their answers back to their {@link Exchange}. */
export class TcpTransport {
  private readonly pools = new Map<string, TcpPool>();
  private closed = false;

  constructor(
    private readonly options: TcpTransportOptions,
    private readonly counters: TransportCounters,
    private readonly ids: IdSource,
  ) {}

  /** Number of open connections (for tests and stats). */
  get openConnections(): number {
    let n = 0;
    for (const pool of this.pools.values()) n += pool.conns.size;
    return n;
  }

  /** Sends `ex` on the least busy connection to its server, opening one if needed, or queues it. */
  send(ex: Exchange): void {
    const key = ex.server.label;
    let pool = this.pools.get(key);
    if (pool === undefined) this.pools.set(key, (pool = new TcpPool(ex.server)));
    const conn = this.pick(pool);
    if (conn === null) {
      ex.slot = pool;
      pool.waiting.add(ex);
      return;
    }
    this.write(conn, ex);
  }

  /** True while `ex` waits for room on a connection (not yet written). */
  queued(ex: Exchange): boolean {
    return ex.slot instanceof TcpPool;
  }

  /** Forgets `ex` (aborted, or moved on): a later answer for it is dropped. */
  cancel(ex: Exchange): void {
    const slot = ex.slot;
    ex.slot = null;
    if (slot instanceof TcpPool) slot.waiting.delete(ex);
    else if (slot instanceof TcpConnection) this.release(slot, ex);
  }

  /**
   * `ex` timed out. If its connection sent nothing since the query was written, the connection
   * is wedged (a half-dead load balancer, lost conntrack state): it is closed and what else was
   * in flight on it goes out again on a new one, so that retries do not wait on it too.
   */
  expired(ex: Exchange, writtenAt: number): void {
    const conn = ex.slot;
    this.cancel(ex);
    if (!(conn instanceof TcpConnection) || conn.closed || conn.lastData > writtenAt) return;
    const moved = [...conn.pending.values()];
    conn.pending.clear();
    this.destroy(conn);
    const now = performance.now();
    for (const other of moved) {
      other.slot = null;
      // One that times out now too is left to its own expiry.
      if (expiring(other, now)) continue;
      other.resent = true;
      this.send(other);
    }
    this.pump(conn.pool);
  }

  /** Closes every connection at once. Exchanges still waiting are forgotten (the client failed them). */
  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) {
      pool.waiting.clear();
      for (const conn of pool.conns) {
        conn.pending.clear();
        this.destroy(conn);
      }
    }
    this.pools.clear();
  }

  /** The open connection with room and the fewest in flight; a new one if none has room; else null. */
  private pick(pool: TcpPool): TcpConnection | null {
    let best: TcpConnection | null = null;
    for (const conn of pool.conns) {
      if (conn.pending.size >= this.options.maxInflight || conn.written >= pool.perConnection) continue;
      if (best === null || conn.pending.size < best.pending.size) best = conn;
    }
    if (best !== null) return best;
    if (pool.conns.size >= this.options.maxConnections || this.closed) return null;
    return this.open(pool);
  }

  private write(conn: TcpConnection, ex: Exchange): void {
    const id = this.ids.take(conn.pending);
    ex.id = id;
    ex.slot = conn;
    conn.pending.set(id, ex);
    conn.written++;
    if (conn.idleTimer !== null) clearTimeout(conn.idleTimer);
    conn.idleTimer = null;
    const frame = Buffer.allocUnsafe(ex.packet.length + 2);
    frame.writeUInt16BE(ex.packet.length, 0);
    ex.packet.copy(frame, 2);
    frame.writeUInt16BE(id, 2);
    conn.socket.write(frame);
    ex.sent();
  }

  /** Sends waiting exchanges while connections have room. */
  private pump(pool: TcpPool): void {
    if (pool.waiting.size === 0 || this.closed) return;
    const now = performance.now();
    for (const ex of pool.waiting) {
      // Its try is over: it times out as never sent, rather than going out as it gives up.
      if (expiring(ex, now)) continue;
      const conn = this.pick(pool);
      if (conn === null) return;
      pool.waiting.delete(ex);
      this.write(conn, ex);
    }
  }

  private open(pool: TcpPool): TcpConnection {
    const { server } = pool;
    const socket = connect({ host: server.host, port: server.port, noDelay: true });
    const conn = new TcpConnection(socket, pool);
    pool.conns.add(conn);
    socket.unref();
    socket.on('connect', () => (conn.connected = true));
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => (conn.error = err));
    socket.on('close', () => this.onClose(conn));
    return conn;
  }

  private release(conn: TcpConnection, ex: Exchange): void {
    if (conn.pending.get(ex.id) === ex) conn.pending.delete(ex.id);
    if (conn.pending.size > 0 || conn.closed) return;
    // At the server's limit the connection is spent: close it rather than wait for the server to.
    if (conn.written >= conn.pool.perConnection) this.destroy(conn);
    else this.armIdle(conn);
  }

  /** (Re)starts the idle timer; one timer object per connection, refreshed rather than re-created. */
  private armIdle(conn: TcpConnection): void {
    conn.idleTimer = setTimeout(() => this.onIdle(conn), this.options.idleTimeout);
    conn.idleTimer.unref();
  }

  private onIdle(conn: TcpConnection): void {
    conn.idleTimer = null;
    if (conn.pending.size === 0) this.destroy(conn);
  }

  /** Takes `n` buffered bytes (the caller checked they are there). */
  private take(conn: TcpConnection, n: number): Buffer {
    conn.buffered -= n;
    const first = conn.chunks[0]!;
    if (first.length > n) {
      conn.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      conn.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = conn.chunks[0]!;
      const part = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) conn.chunks.shift();
      else conn.chunks[0] = chunk.subarray(part);
    }
    return out;
  }

  private onData(conn: TcpConnection, chunk: Buffer): void {
    conn.lastData = performance.now();
    conn.chunks.push(chunk);
    conn.buffered += chunk.length;
    while (!conn.closed) {
      if (conn.need < 0) {
        if (conn.buffered < 2) return;
        const prefix = this.take(conn, 2);
        conn.need = (prefix[0]! << 8) | prefix[1]!;
        if (conn.need < HEADER_LENGTH) {
          this.fail(conn, { code: 'EBADRESP', reason: `TCP frame of ${conn.need} bytes is shorter than a DNS header` });
          return;
        }
      }
      if (conn.buffered < conn.need) return;
      const msg = this.take(conn, conn.need);
      conn.need = -1;
      this.deliver(conn, msg);
    }
  }

  private deliver(conn: TcpConnection, msg: Buffer): void {
    const id = messageId(msg);
    const ex = conn.pending.get(id);
    if (ex === undefined) return this.drop(conn, id, 'unknown id');
    if (!responseMatches(msg, ex.packet, ex.questionEnd)) return this.drop(conn, id, 'wrong question');
    conn.answers++;
    this.release(conn, ex);
    ex.slot = null;
    this.pump(conn.pool);
    ex.answered(msg, 'tcp');
  }

  /** Framing broke: nothing after it on this connection can be trusted. */
  private fail(conn: TcpConnection, failure: TransportFailure): void {
    const failed = [...conn.pending.values()];
    conn.pending.clear();
    this.destroy(conn);
    for (const ex of failed) {
      ex.slot = null;
      ex.failed(failure);
    }
    this.pump(conn.pool);
  }

  private onClose(conn: TcpConnection): void {
    const partial = conn.buffered > 0 || conn.need >= 0;
    this.forget(conn);
    const failed = [...conn.pending.values()];
    conn.pending.clear();
    if (!partial && failed.length > 0 && conn.answers >= MIN_LEARNED_LIMIT) conn.pool.perConnection = conn.answers;
    for (const ex of failed) {
      ex.slot = null;
      if (partial) {
        // A frame announced more bytes than came: a broken answer, not a dead server.
        ex.failed({ code: 'EBADRESP', reason: 'TCP connection closed in the middle of an answer' });
        continue;
      }
      // The server answered on this connection and then closed it (after N answers, or idle):
      // it is alive, so what was in flight goes out again on a new connection. An exchange moved
      // once off a connection that answered nothing fails (no endless reconnect loop).
      if (conn.answers > 0 || (!ex.resent && conn.connected)) {
        ex.resent = true;
        this.send(ex);
        continue;
      }
      ex.failed(this.closeFailure(conn));
    }
    this.pump(conn.pool);
  }

  /** Why a connection that never answered ended: refused, unreachable, or closed by the server. */
  private closeFailure(conn: TcpConnection): TransportFailure {
    if (!conn.connected) {
      const err = conn.error;
      if (err === null || err.code === 'ECONNREFUSED') return { code: 'ECONNREFUSED', reason: 'TCP connection refused', cause: err ?? undefined };
      return socketFailure(err, `TCP connect to ${conn.pool.server.label}`);
    }
    return {
      code: 'ECONNRESET',
      reason: 'the server closed the TCP connection before answering (tried on a new connection too)',
      cause: conn.error ?? undefined,
    };
  }

  private forget(conn: TcpConnection): void {
    conn.closed = true;
    if (conn.idleTimer !== null) clearTimeout(conn.idleTimer);
    conn.idleTimer = null;
    conn.chunks = [];
    conn.pool.conns.delete(conn);
  }

  private destroy(conn: TcpConnection): void {
    if (conn.closed) return;
    this.forget(conn);
    conn.socket.destroy();
  }

  private drop(conn: TcpConnection, id: number, reason: 'unknown id' | 'wrong question'): void {
    this.counters.dropped++;
    reportDrop({ transport: 'tcp', from: conn.pool.server.label, id, reason });
  }
}
