import { randomFillSync } from 'node:crypto';
import type { ServerAddress } from './server-address.js';

/** A transport failure of one exchange: the server could not be reached, or broke framing. */
export interface TransportFailure {
  code: 'ECONNREFUSED' | 'ENETUNREACH' | 'ECONNRESET' | 'EBADRESP';
  /** A short human reason: `'port unreachable'`, `'TCP connection closed by the server before the answer'`. */
  reason: string;
  cause?: unknown;
}

/**
 * One query waiting for its answer, as the UDP and TCP transports see it. The client's
 * lookup object implements it, so a query in flight is one object with fields, not closures.
 */
export interface Exchange {
  /** The query message; transports put their ID in its first two bytes. */
  readonly packet: Buffer;
  /** Offset just past the question in `packet` (what the answer must repeat). */
  readonly questionEnd: number;
  readonly server: ServerAddress;
  /** ID the transport gave this exchange (unique among those pending on its socket or connection). */
  id: number;
  /**
   * performance.now() after which a queued exchange is not sent any more: its try is (nearly)
   * over, and it times out as never sent rather than going out as it gives up.
   */
  readonly sendBy: number;
  /** The transport's handle of where it waits (socket, connection, queue); null when not waiting. */
  slot: object | null;
  /** Set by the TCP transport once it re-sent the exchange after its connection closed or wedged. */
  resent: boolean;
  /**
   * The transport put the query on the wire (a queued exchange has not been sent yet), at
   * `at` (performance.now() time; a batch of sends shares one reading) or now.
   */
  sent(at?: number): void;
  /** An answer that passed the RFC 5452 checks (ID, source, question). */
  answered(msg: Buffer, transport: 'udp' | 'tcp'): void;
  /** The transport gave up on this exchange. */
  failed(failure: TransportFailure): void;
}

/** True when a queued `ex` is past its {@link Exchange.sendBy}: do not send it. */
export function expiring(ex: Exchange, now: number): boolean {
  return ex.sendBy <= now;
}

/**
 * Socket errors that mean the kernel will not send to this server from here: no route, a family
 * this host lacks, a link-local address without a scope, a broadcast address (EACCES).
 */
const UNREACHABLE = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'EINVAL', 'EACCES', 'EPERM', 'EADDRNOTAVAIL', 'EAFNOSUPPORT', 'ENETDOWN']);

/** The typed failure of a socket error. */
export function socketFailure(err: NodeJS.ErrnoException, what: string): TransportFailure {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return { code: 'ECONNREFUSED', reason: 'port unreachable', cause: err };
  if (UNREACHABLE.has(code)) return { code: 'ENETUNREACH', reason: `${what} failed with ${code}: the server cannot be reached from this host`, cause: err };
  return { code: 'ECONNREFUSED', reason: `${what} failed with ${code || err.message}`, cause: err };
}

/** Counters the transports update. */
export interface TransportCounters {
  /** Answers ignored by the anti-spoofing checks. */
  dropped: number;
}

/** How many IDs one crypto call yields: randomness is fetched in chunks, not per query. */
const IDS_PER_FILL = 2048;

/** Random 16-bit message IDs from node:crypto, drawn from a buffer refilled in chunks. */
export class IdSource {
  private readonly pool = Buffer.allocUnsafe(IDS_PER_FILL * 2);
  private next = IDS_PER_FILL * 2;

  /** A random ID not in `taken`. */
  take(taken: { has(id: number): boolean }): number {
    for (;;) {
      if (this.next >= this.pool.length) {
        randomFillSync(this.pool);
        this.next = 0;
      }
      const id = (this.pool[this.next]! << 8) | this.pool[this.next + 1]!;
      this.next += 2;
      if (!taken.has(id)) return id;
    }
  }
}
