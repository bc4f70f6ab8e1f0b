/**
 * TCP transport (RFC 7766): 2-byte length framing, one connection per server reused for many
 * queries and pipelined (several in flight, matched by ID), closed after a short idle time.
 * Connections are unref'd: they never hold the process open.
 */
import { connect, type Socket } from 'node:net';
import { reportDrop } from './diagnostics.js';
import { IdSource, type Exchange, type TransportCounters } from './exchange.js';
import { messageId, responseMatches } from './message.js';
import type { ServerAddress } from './server-address.js';

/** Options of {@link TcpTransport}. */
export interface TcpTransportOptions {
  /** Milliseconds a connection with nothing in flight stays open for reuse. */
  idleTimeout: number;
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
  /** Answers received: a connection that answered before and then closes was idle-closed by the server. */
  answers = 0;
  idleTimer: NodeJS.Timeout | null = null;
  error: Error | null = null;

  constructor(
    readonly socket: Socket,
    readonly server: ServerAddress,
  ) {}
}

/** Sends queries over TCP and routes their answers back to their {@link Exchange}. */
export class TcpTransport {
  private readonly connections = new Map<string, TcpConnection>();
  private readonly all = new Set<TcpConnection>();

  constructor(
    private readonly options: TcpTransportOptions,
    private readonly counters: TransportCounters,
    private readonly ids: IdSource,
  ) {}

  /** Number of open connections (for tests and stats). */
  get openConnections(): number {
    return this.all.size;
  }

  /** Sends `ex` on the server's connection, opening one if needed. */
  send(ex: Exchange): void {
    let conn = this.connections.get(ex.server.label);
    if (conn === undefined || conn.closed) conn = this.open(ex.server);
    const id = this.ids.take(conn.pending);
    ex.id = id;
    ex.slot = conn;
    conn.pending.set(id, ex);
    const frame = Buffer.allocUnsafe(ex.packet.length + 2);
    frame.writeUInt16BE(ex.packet.length, 0);
    ex.packet.copy(frame, 2);
    frame.writeUInt16BE(id, 2);
    conn.socket.write(frame);
  }

  /** Forgets `ex` (timed out or aborted): a later answer for it is dropped. */
  cancel(ex: Exchange): void {
    const conn = ex.slot;
    if (conn instanceof TcpConnection) this.release(conn, ex);
    ex.slot = null;
  }

  /** Closes every connection at once. */
  close(): void {
    for (const conn of this.all) {
      conn.pending.clear();
      this.destroy(conn);
    }
    this.connections.clear();
  }

  private open(server: ServerAddress): TcpConnection {
    const socket = connect({ host: server.host, port: server.port, noDelay: true });
    const conn = new TcpConnection(socket, server);
    this.connections.set(server.label, conn);
    this.all.add(conn);
    socket.unref();
    socket.on('connect', () => (conn.connected = true));
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (err: Error) => (conn.error = err));
    socket.on('close', () => this.onClose(conn));
    return conn;
  }

  private release(conn: TcpConnection, ex: Exchange): void {
    if (conn.pending.get(ex.id) === ex) conn.pending.delete(ex.id);
    if (conn.pending.size === 0 && !conn.closed) this.armIdle(conn);
  }

  /** (Re)starts the idle timer; one timer object per connection, refreshed rather than re-created. */
  private armIdle(conn: TcpConnection): void {
    if (conn.idleTimer === null) {
      conn.idleTimer = setTimeout(() => this.onIdle(conn), this.options.idleTimeout);
      conn.idleTimer.unref();
    } else {
      conn.idleTimer.refresh();
    }
  }

  private onIdle(conn: TcpConnection): void {
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
    ex.answered(msg, 'tcp');
  }

  /** Framing broke: nothing after it on this connection can be trusted. */
  private fail(conn: TcpConnection, failure: { code: 'EBADRESP'; reason: string }): void {
    const failed = [...conn.pending.values()];
    conn.pending.clear();
    this.destroy(conn);
    for (const ex of failed) {
      ex.slot = null;
      ex.failed(failure);
    }
  }

  private onClose(conn: TcpConnection): void {
    const partial = conn.buffered > 0 || conn.need >= 0;
    this.forget(conn);
    const failed = [...conn.pending.values()];
    conn.pending.clear();
    for (const ex of failed) {
      ex.slot = null;
      if (partial) {
        // A frame announced more bytes than came: a broken answer, not a dead server.
        ex.failed({ code: 'EBADRESP', reason: 'TCP connection closed in the middle of an answer' });
        continue;
      }
      // A reused connection the server closed while idle: send again once on a new one.
      if (conn.answers > 0 && !ex.resent) {
        ex.resent = true;
        this.send(ex);
        continue;
      }
      const reason = conn.connected ? 'TCP connection closed before the answer' : 'TCP connection refused';
      ex.failed({ code: 'ECONNREFUSED', reason, cause: conn.error ?? undefined });
    }
  }

  private forget(conn: TcpConnection): void {
    conn.closed = true;
    if (conn.idleTimer !== null) clearTimeout(conn.idleTimer);
    conn.idleTimer = null;
    conn.chunks = [];
    this.all.delete(conn);
    if (this.connections.get(conn.server.label) === conn) this.connections.delete(conn.server.label);
  }

  private destroy(conn: TcpConnection): void {
    this.forget(conn);
    conn.socket.destroy();
  }

  private drop(conn: TcpConnection, id: number, reason: 'unknown id' | 'wrong question'): void {
    this.counters.dropped++;
    reportDrop({ transport: 'tcp', from: conn.server.label, id, reason });
  }
}
