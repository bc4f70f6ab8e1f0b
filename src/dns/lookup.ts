/**
 * The query pipeline: one call of query()/resolve*() walks the search candidates, the tries and
 * the servers (in the order server health gives), and turns the answer into its result.
 */
import { resultOf } from './answers.js';
import { fastAnswer } from './fast-answer.js';
import type { ClientCore, LookupHandle, NamePlan } from './core.js';
import type { DeadlineNode } from './deadlines.js';
import { tracing } from './diagnostics.js';
import { DnsError, DnsErrorCode, type DnsErrorCodeValue } from './errors.js';
import type { Exchange, TransportFailure } from './exchange.js';
import { decodeResponse, isTruncated, questionEnd, type QueryType } from './message.js';
import { canonicalName } from './name.js';
import type { ServerAddress } from './server-address.js';
import { syscall, traceEnd, traceStart, type TracedTry, type TryFailure } from './trace.js';
import type { DnsResponse } from './types.js';

/** What a lookup resolves to: the raw response, addresses, or SRV records. */
export const Kind = { Query: 0, A: 1, Aaaa: 2, Srv: 3 } as const;
/** One of {@link Kind}. */
export type Kind = (typeof Kind)[keyof typeof Kind];

/** The wire type each {@link Kind} reads on the fast path (0: none, the raw response). */
const FAST_TYPE = [0, 1, 28, 33] as const;

/** Failures that say the server, not the name, is the problem: server health remembers them. */
const SERVER_FAILURES: ReadonlySet<string> = new Set([DnsErrorCode.TIMEOUT, DnsErrorCode.CONNREFUSED, DnsErrorCode.NETUNREACH, DnsErrorCode.CONNRESET]);

const noop = (): void => {};
/** The packet of a lookup before its first try (one shared empty buffer, not one per lookup). */
const NO_PACKET = Buffer.alloc(0);

/**
 * One call of query()/resolve*(): walks the search candidates, the tries and the servers.
 * It is also the {@link Exchange} the transports hold and the {@link DeadlineNode} of its try,
 * so a query in flight is this one object (no per-query closures on the hot path).
 */
export class Lookup implements Exchange, DeadlineNode, LookupHandle {
  // Exchange
  packet: Buffer = NO_PACKET;
  questionEnd = 0;
  server: ServerAddress;
  id = 0;
  slot: object | null = null;
  resent = false;
  /** The current try went on the wire (not still queued), and when. */
  private wasSent = false;
  /** Inside send(): a transport that writes at once needs no clock reading of its own. */
  private sending = false;
  private writtenAt = 0;
  /** When the try's query was handed to the transport (it may wait in a queue before it is written). */
  private askedAt = 0;
  sendBy = 0;
  /** Sends so far, to tell whether a transport call led to another send before it returned. */
  private sends = 0;
  // DeadlineNode
  deadline = 0;
  prevDeadline: DeadlineNode | null = null;
  nextDeadline: DeadlineNode | null = null;
  inDeadlines = false;
  // search state
  private candidate = 0;
  private order: readonly ServerAddress[];
  /** single-request: the key of this lookup's turn, while it holds or waits for one. */
  private turn: string | null = null;
  private name = '';
  private tries = 0;
  private via: 'udp' | 'tcp' = 'udp';
  private nodata: DnsResponse | null = null;
  private asIs: DnsResponse | null = null;
  private nxdomain: DnsResponse | null = null;
  private searchFailure: TryFailure | null = null;
  private sentAt = 0;
  /** The wire type of the fast path for this lookup's names, or 0 (see fast-answer.ts). */
  private readonly fastType: number;
  private readonly candidates: readonly string[];
  private traced = false;
  private settled = false;
  resolve: (value: unknown) => void = noop;
  reject: (err: DnsError) => void = noop;

  constructor(
    private readonly core: ClientCore,
    private readonly kind: Kind,
    readonly type: QueryType,
    private readonly given: string,
    plan: NamePlan,
    private readonly withTtl: boolean,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.candidates = plan.candidates;
    this.fastType = plan.plain ? FAST_TYPE[kind] : 0;
    this.order = core.settings.servers;
    this.server = this.order[0]!;
  }

  /** Starts the lookup, or (single-request) queues it behind the other address lookup of its name. */
  start(): void {
    if (this.signal !== undefined) this.core.watchSignal(this.signal, this);
    const s = this.core.settings;
    if ((s.singleRequest || s.singleRequestReopen) && (this.kind === Kind.A || this.kind === Kind.Aaaa)) {
      this.turn = canonicalName(this.given);
      this.core.takeTurn(this.turn, this);
      return;
    }
    this.begin();
  }

  /** Sends the first try (now, or when its single-request turn came). */
  begin(): void {
    if (!this.settled) this.startCandidate();
  }

  private startCandidate(): void {
    this.name = this.candidates[this.candidate]!;
    this.packet = this.core.encode(this.name, this.type);
    this.questionEnd = questionEnd(this.name);
    this.tries = 0;
    this.order = this.core.health.order(this.core.nextStart());
    this.sendTry();
  }

  private sendTry(): void {
    const order = this.order;
    this.server = order[this.tries % order.length]!;
    this.tries++;
    this.resent = false;
    this.send(this.core.settings.tcpAlways ? 'tcp' : 'udp');
  }

  /**
   * Arms the try's deadline `ms` from now (default: a whole timeout) and hands the query to the
   * transport on `via`; the deadline comes first, as a transport may fail the query at once.
   * Time spent in a transport's queue counts: a lookup ends within timeout x attempts.
   */
  private send(via: 'udp' | 'tcp', ms = this.core.settings.timeout): void {
    const core = this.core;
    this.via = via;
    this.wasSent = false;
    this.traced = false;
    const sends = ++this.sends;
    core.deadlines.add(this, Math.max(1, ms));
    this.askedAt = this.deadline - Math.max(1, ms);
    // Worth sending from a queue only with a tenth of the try left: an answer could still come.
    this.sendBy = this.deadline - Math.max(1, ms / 10);
    this.sending = true;
    if (via === 'tcp') core.tcp.send(this);
    else core.udp.send(this);
    this.sending = false;
    // Traced after the transport gave the ID, unless the transport failed it at once (and moved on).
    if (sends === this.sends && !this.settled && tracing()) {
      this.traced = true;
      this.traceStart();
    }
  }

  // ---- Exchange callbacks (from the transports) ----

  /** The transport wrote the query (stats count what went on the wire, resends included). */
  sent(at?: number): void {
    this.wasSent = true;
    // Written within send(): that is when it was asked; else the transport's time, or now.
    this.writtenAt = this.sending ? this.askedAt : (at ?? performance.now());
    this.core.counters.queries++;
    if (this.via === 'tcp') this.core.counters.tcpQueries++;
  }

  answered(msg: Buffer, via: 'udp' | 'tcp'): void {
    const core = this.core;
    core.deadlines.remove(this);
    core.counters.answers++;
    core.health.answered(this.server);
    if (via === 'udp' && isTruncated(msg)) {
      core.counters.truncated++;
      if (this.traced) this.traceEnd(null, null, true);
      // The retry over TCP is part of this try: it gets what is left of the try's time, so that a
      // lookup fails within timeout x attempts even when the UDP answer came late and truncated.
      this.send('tcp', this.deadline - performance.now());
      return;
    }
    // The common answer, read in one pass; anything else goes the full way below.
    if (this.fastType !== 0) {
      const value = fastAnswer(msg, this.fastType, this.withTtl, this.questionEnd);
      if (value !== null) {
        if (this.traced) this.traceEnd('NOERROR', null);
        this.settle(value);
        return;
      }
    }
    let decoded;
    try {
      decoded = decodeResponse(msg);
    } catch (err) {
      core.counters.badResponses++;
      const detail = `server ${this.server.label} sent a bad answer: ${(err as Error).message.replace(/^bad DNS response: /, '')}`;
      this.tryFailed({ code: DnsErrorCode.BADRESP, detail, cause: err });
      return;
    }
    if (this.traced) this.traceEnd(decoded.rcode, null);
    switch (decoded.rcode) {
      case 'NOERROR':
      case 'NXDOMAIN':
        this.gotAnswer({
          name: this.name,
          type: this.type,
          rcode: decoded.rcode,
          answers: decoded.answers,
          authorities: decoded.authorities,
          additionals: decoded.additionals,
          truncated: decoded.truncated,
          authoritative: decoded.authoritative,
          server: this.server.label,
          transport: via,
        });
        return;
      case 'SERVFAIL':
        this.tryFailed({ code: DnsErrorCode.SERVFAIL, detail: `server ${this.server.label} answered SERVFAIL` });
        return;
      case 'REFUSED':
        this.tryFailed({ code: DnsErrorCode.REFUSED, detail: `server ${this.server.label} answered REFUSED` });
        return;
      case 'FORMERR':
        this.finishError(DnsErrorCode.FORMERR, `server ${this.server.label} answered FORMERR: it could not read the query`);
        return;
      case 'NOTIMP':
        this.finishError(DnsErrorCode.NOTIMP, `server ${this.server.label} answered NOTIMP: it does not implement this query`);
        return;
      default:
        this.tryFailed({ code: DnsErrorCode.BADRESP, detail: `server ${this.server.label} answered ${decoded.rcode}` });
    }
  }

  failed(failure: TransportFailure): void {
    this.core.deadlines.remove(this);
    if (SERVER_FAILURES.has(failure.code)) this.core.health.failed(this.server);
    this.tryFailed({ code: failure.code, detail: `server ${this.server.label}: ${failure.reason}`, cause: failure.cause });
  }

  // ---- DeadlineNode ----

  expire(): void {
    const core = this.core;
    const { timeout, maxInflight, maxTcpInflight, maxTcpConnections } = core.settings;
    if (!this.wasSent) {
      // Never went on the wire: the server was not asked, so it is not to blame (no health mark).
      const queued = this.via === 'udp' ? core.udp.queued(this) : core.tcp.queued(this);
      this.cancelExchange();
      const why = !queued
        ? 'its socket was still connecting'
        : this.via === 'udp'
          ? `${maxInflight} UDP queries were in flight to it (maxInflight)`
          : `${maxTcpConnections} x ${maxTcpInflight} TCP queries were in flight to it (maxTcpConnections x maxTcpInflight)`;
      this.tryFailed({ code: DnsErrorCode.TIMEOUT, detail: `query not sent to ${this.server.label} within ${timeout} ms: ${why}` });
      return;
    }
    if (this.via === 'tcp' && this.slot !== null) core.tcp.expired(this, this.writtenAt);
    else this.cancelExchange();
    if (this.via === 'udp' && core.settings.singleRequestReopen) core.udp.reopen(this.server);
    core.counters.timeouts++;
    core.health.failed(this.server);
    const waited = this.writtenAt - this.askedAt;
    const queue = waited >= 1 ? ` (sent after ${Math.round(waited)} ms in the queue)` : '';
    this.tryFailed({
      code: DnsErrorCode.TIMEOUT,
      detail: `no answer from ${this.server.label} within ${timeout} ms${queue}`,
    });
  }

  /** The signal aborted (see ClientCore.watchSignal). */
  aborted(): void {
    if (this.settled) return;
    this.cancel('aborted', this.signal?.reason);
  }

  /** Stops the lookup now: frees its ID and timer, rejects ECANCELLED. */
  cancel(why: string, cause?: unknown): void {
    if (this.settled) return;
    this.core.deadlines.remove(this);
    this.cancelExchange();
    if (this.traced) this.traceEnd(null, { code: DnsErrorCode.CANCELLED, detail: why, cause });
    this.finishError(DnsErrorCode.CANCELLED, why, cause);
  }

  private cancelExchange(): void {
    if (this.slot === null) return;
    if (this.via === 'tcp') this.core.tcp.cancel(this);
    else this.core.udp.cancel(this);
  }

  // ---- outcomes ----

  private tryFailed(failure: TryFailure): void {
    if (this.traced) this.traceEnd(null, failure);
    if (this.settled) return;
    if (this.tries < this.core.settings.attempts) {
      this.sendTry();
      return;
    }
    const tries = this.tries > 1 ? `, ${this.tries} tries` : '';
    const final = { code: failure.code, detail: failure.detail + tries, cause: failure.cause };
    // SERVFAIL/REFUSED are about this name: go on with the search list and report the error only
    // if no name gave an answer. Timeouts and unreachable servers stop it (each name would wait again).
    const soft = failure.code === DnsErrorCode.SERVFAIL || failure.code === DnsErrorCode.REFUSED;
    if (soft && this.candidates.length > 1) {
      this.searchFailure ??= final;
      this.nextCandidate();
      return;
    }
    this.finishError(final.code, final.detail, final.cause);
  }

  /** NOERROR or NXDOMAIN: success, or go on with the search list (glibc's res_nsearch). */
  private gotAnswer(res: DnsResponse): void {
    if (res.rcode === 'NOERROR' && res.answers.length > 0) {
      this.succeed(res);
      return;
    }
    if (res.rcode === 'NOERROR') this.nodata ??= res;
    else this.nxdomain ??= res;
    if (this.name === this.given || this.candidates.length === 1) this.asIs = res;
    this.nextCandidate();
  }

  /** Next search candidate, or the end of the search: the best negative answer, or the error. */
  private nextCandidate(): void {
    if (++this.candidate < this.candidates.length) {
      this.startCandidate();
      return;
    }
    // Like glibc: a name that exists without this type (NODATA) beats NXDOMAIN elsewhere.
    const negative = this.nodata ?? this.asIs ?? this.nxdomain;
    if (negative !== null) this.succeed(negative);
    else if (this.searchFailure !== null) {
      const f = this.searchFailure;
      this.finishError(f.code, f.detail, f.cause);
    }
  }

  private succeed(res: DnsResponse): void {
    if (this.kind === Kind.Query) {
      this.settle(res);
      return;
    }
    const result = resultOf(res, this.type, this.kind === Kind.Srv, this.withTtl);
    if ('value' in result) {
      this.settle(result.value);
      return;
    }
    const tried = this.candidates.length > 1 ? `; searched ${this.candidates.join(', ')}` : '';
    this.finishError(result.code, `server ${res.server}: ${result.detail}${tried}`, undefined, res);
  }

  private settle(value: unknown): void {
    if (this.settled) return;
    this.done();
    this.resolve(value);
  }

  private finishError(code: DnsErrorCodeValue, detail: string, cause?: unknown, res?: DnsResponse): void {
    if (this.settled) return;
    this.done();
    this.core.counters.errors++;
    const hostname = res?.name ?? (this.name || this.given);
    const server = res?.server ?? (this.tries > 0 ? this.server.label : undefined);
    const err = new DnsError(code, `${syscall(this.type)} ${code} ${hostname} (${detail})`, {
      hostname,
      rrtype: this.type,
      server,
      cause,
    });
    this.reject(err);
  }

  private done(): void {
    this.settled = true;
    if (this.signal !== undefined) this.core.unwatchSignal(this.signal, this);
    if (this.turn !== null) {
      const key = this.turn;
      this.turn = null;
      this.core.endTurn(key, this);
    }
  }

  // ---- diagnostics ----

  private traceStart(): void {
    this.sentAt = performance.now();
    traceStart(this.tryView());
  }

  private traceEnd(rcode: string | null, failure: TryFailure | null, truncated = false): void {
    this.traced = false;
    traceEnd(this.tryView(), performance.now() - this.sentAt, rcode, failure, truncated);
  }

  private tryView(): TracedTry {
    return { name: this.name, type: this.type, server: this.server.label, transport: this.via, id: this.id };
  }
}
