/**
 * DnsClient: headless-sd's own stub resolver over UDP and TCP (see DESIGN.md section 4).
 */
import { canonicalName, checkName } from './name.js';
import { DeadlineList, type DeadlineNode } from './deadlines.js';
import { debug, queryEndChannel, queryStartChannel, tracing } from './diagnostics.js';
import { DnsError, DnsErrorCode, type DnsErrorCodeValue } from './errors.js';
import { IdSource, type Exchange, type TransportFailure } from './exchange.js';
import { InvalidArgumentError } from './invalid-argument.js';
import {
  PLAIN_DNS_PAYLOAD,
  QUERY_TYPES,
  decodeResponse,
  encodeQuery,
  isTruncated,
  questionEnd,
  type DnsRecord,
  type QueryType,
  type Rcode,
} from './message.js';
import { readResolvConf, type ResolvConf } from './resolv-conf.js';
import { searchNames } from './search.js';
import { parseServerAddress, type ServerAddress } from './server-address.js';
import { TcpTransport } from './tcp.js';
import { UdpTransport } from './udp.js';

/** Options of {@link DnsClient}. Each one not given comes from resolv.conf (or its defaults). */
export interface DnsClientOptions {
  /** `['10.96.0.10', '127.0.0.1:5300', '[::1]:53']`; default: resolv.conf's nameservers. */
  servers?: string[];
  /** Milliseconds to wait for each try (default: resolv.conf's timeout, 5000). */
  timeout?: number;
  /** Total tries per name, across servers (default: resolv.conf's attempts x number of servers). */
  attempts?: number;
  /** EDNS(0) UDP payload size advertised (default 1232; 512 sends no OPT record). */
  udpPayloadSize?: number;
  /** `'fallback'` (default): UDP, and TCP when the answer is truncated. `'always'`: TCP only. */
  tcp?: 'fallback' | 'always';
  /** Search domains for relative names (default: resolv.conf's `search`). */
  search?: string[];
  /** Names with at least this many dots are tried as-is first (default: resolv.conf's, 1). */
  ndots?: number;
  /** Spread queries over the servers instead of always starting with the first (resolv.conf `rotate`). */
  rotate?: boolean;
  /** Queries sent from one UDP socket (one random source port) before it is replaced (default 1000). */
  maxQueriesPerSocket?: number;
  /** UDP queries in flight per server; more wait their turn (default 128). */
  maxInflight?: number;
  /** Milliseconds an idle TCP connection is kept for reuse (default 2000). */
  tcpIdleTimeout?: number;
  /** Path of the resolv.conf read for the defaults (default `/etc/resolv.conf`). */
  resolvConf?: string;
}

/** Options of {@link DnsClient.query}. */
export interface QueryOptions {
  /** Aborting rejects the query with `ECANCELLED` at once. */
  signal?: AbortSignal;
}

/** Options of {@link DnsClient.resolve4} and friends. */
export interface ResolveOptions extends QueryOptions {
  /** Return `{ address, ttl }` objects instead of address strings (A and AAAA only). */
  ttl?: boolean;
}

/** What {@link DnsClient.query} resolves to: a NOERROR or NXDOMAIN answer. */
export interface DnsResponse {
  /** The absolute name that gave this answer, after the search list (no trailing dot). */
  name: string;
  type: QueryType;
  /** `'NOERROR'` or `'NXDOMAIN'` (other rcodes reject). */
  rcode: Rcode;
  answers: DnsRecord[];
  authorities: DnsRecord[];
  /** Additional records (glue), without the EDNS OPT record. */
  additionals: DnsRecord[];
  /** TC was set on the answer kept (only possible when even TCP gave a truncated answer). */
  truncated: boolean;
  /** AA: the server is authoritative for the name. */
  authoritative: boolean;
  /** `host:port` of the server that answered. */
  server: string;
  /** How the answer came: `'udp'`, or `'tcp'` (after truncation, or with `tcp: 'always'`). */
  transport: 'udp' | 'tcp';
}

/** An address with its TTL, as `resolve4(name, { ttl: true })` gives it (like node:dns). */
export interface RecordWithTtl {
  address: string;
  /** Seconds, as received. */
  ttl: number;
}

/** An address of an SRV target, from the answer's additional section. */
export interface SrvAddress {
  address: string;
  family: 4 | 6;
  ttl: number;
}

/** One SRV record with the target's addresses that came with it (glue). */
export interface SrvRecordWithAddresses {
  /** The target host (no trailing dot). */
  name: string;
  port: number;
  priority: number;
  weight: number;
  /** The SRV record's TTL in seconds. */
  ttl: number;
  /** A/AAAA records of `name` in the additional section; empty when the server sent none. */
  addresses: SrvAddress[];
}

/** Counters since the client was made. */
export interface DnsClientStats {
  /** Calls to query() / resolve*(). */
  lookups: number;
  /** Messages sent, UDP and TCP (each try, each TCP retry of a truncated answer). */
  queries: number;
  /** Messages sent over TCP. */
  tcpQueries: number;
  /** Answers accepted (after the RFC 5452 checks). */
  answers: number;
  /** Answers ignored by the checks: unknown ID, wrong source, wrong question, too short. */
  dropped: number;
  /** Tries that got no answer in time. */
  timeouts: number;
  /** UDP answers with TC set (each asked again over TCP). */
  truncated: number;
  /** Answers that matched a query but could not be decoded (EBADRESP). */
  badResponses: number;
  /** Lookups that rejected. */
  errors: number;
  /** Open UDP sockets right now. */
  udpSockets: number;
  /** Open TCP connections right now. */
  tcpConnections: number;
}

const DEFAULT_UDP_PAYLOAD = 1232;
const DEFAULT_MAX_QUERIES_PER_SOCKET = 1000;
const DEFAULT_MAX_INFLIGHT = 128;
const DEFAULT_TCP_IDLE = 2000;
/** Query templates kept per client; the cache starts over when full. */
const MAX_TEMPLATES = 512;

/** What a lookup resolves to: the raw response, addresses, or SRV records. */
const Kind = { Query: 0, A: 1, Aaaa: 2, Srv: 3 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

/** The glue index keyed by canonical names, lists of names that differ only in case merged. */
function foldGlue(glue: Map<string, SrvAddress[]>): Map<string, SrvAddress[]> {
  const folded = new Map<string, SrvAddress[]>();
  for (const [name, list] of glue) {
    const key = canonicalName(name);
    const seen = folded.get(key);
    folded.set(key, seen === undefined ? list : [...seen, ...list]);
  }
  return folded;
}

/** node:dns names its calls queryA, queryAaaa, querySrv: errors say which call failed the same way. */
function syscall(type: string): string {
  return `query${type.charAt(0)}${type.slice(1).toLowerCase()}`;
}

function checkInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`option ${name}`, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

/** Mutable counters behind {@link DnsClient.stats}. */
class Counters {
  lookups = 0;
  queries = 0;
  tcpQueries = 0;
  answers = 0;
  dropped = 0;
  timeouts = 0;
  truncated = 0;
  badResponses = 0;
  errors = 0;
}

/** What a failed try left, to report if it was the last one. */
interface TryFailure {
  code: DnsErrorCodeValue;
  detail: string;
  cause?: unknown;
}

const noop = (): void => {};

/**
 * One call of query()/resolve*(): walks the search candidates, the tries and the servers.
 * It is also the {@link Exchange} the transports hold and the {@link DeadlineNode} of its try,
 * so a query in flight is this one object (no per-query closures on the hot path).
 */
class Lookup implements Exchange, DeadlineNode {
  // Exchange
  packet: Buffer = Buffer.alloc(0);
  questionEnd = 0;
  server: ServerAddress;
  id = 0;
  slot: object | null = null;
  resent = false;
  // DeadlineNode
  deadline = 0;
  prevDeadline: DeadlineNode | null = null;
  nextDeadline: DeadlineNode | null = null;
  inDeadlines = false;
  // search state
  private candidate = 0;
  private name = '';
  private start = 0;
  private tries = 0;
  private via: 'udp' | 'tcp' = 'udp';
  private nodata: DnsResponse | null = null;
  private asIs: DnsResponse | null = null;
  private nxdomain: DnsResponse | null = null;
  private searchFailure: TryFailure | null = null;
  private sentAt = 0;
  private traced = false;
  private settled = false;
  resolve: (value: unknown) => void = noop;
  reject: (err: DnsError) => void = noop;

  constructor(
    private readonly core: ClientCore,
    private readonly kind: Kind,
    readonly type: QueryType,
    private readonly given: string,
    private readonly candidates: string[],
    private readonly withTtl: boolean,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.server = core.servers[0]!;
  }

  begin(): void {
    if (this.signal !== undefined) this.core.watchSignal(this.signal, this);
    this.startCandidate();
  }

  private startCandidate(): void {
    this.name = this.candidates[this.candidate]!;
    this.packet = this.core.encode(this.name, this.type);
    this.questionEnd = questionEnd(this.name);
    this.tries = 0;
    this.start = this.core.rotate ? this.core.nextStart() : 0;
    this.sendTry();
  }

  private sendTry(): void {
    const { servers } = this.core;
    this.server = servers[(this.start + this.tries) % servers.length]!;
    this.tries++;
    this.resent = false;
    this.send(this.core.tcpAlways ? 'tcp' : 'udp');
  }

  /** Sends on `via` and arms the try's deadline `ms` from now (default: a whole timeout). */
  private send(via: 'udp' | 'tcp', ms = this.core.timeout): void {
    const core = this.core;
    this.via = via;
    core.counters.queries++;
    if (via === 'tcp') {
      core.counters.tcpQueries++;
      core.tcp.send(this);
    } else {
      core.udp.send(this);
    }
    core.deadlines.add(this, Math.max(1, ms));
    this.traced = tracing();
    if (this.traced) this.traceStart();
  }

  // ---- Exchange callbacks (from the transports) ----

  answered(msg: Buffer, via: 'udp' | 'tcp'): void {
    const core = this.core;
    core.deadlines.remove(this);
    core.counters.answers++;
    if (via === 'udp' && isTruncated(msg)) {
      core.counters.truncated++;
      if (this.traced) this.traceEnd(null, null, true);
      // The retry over TCP is part of this try: it gets what is left of the try's time, so that a
      // lookup fails within timeout x attempts even when the UDP answer came late and truncated.
      this.send('tcp', this.deadline - performance.now());
      return;
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
    this.tryFailed({ code: failure.code, detail: `server ${this.server.label}: ${failure.reason}`, cause: failure.cause });
  }

  // ---- DeadlineNode ----

  expire(): void {
    this.cancelExchange();
    this.core.counters.timeouts++;
    this.tryFailed({
      code: DnsErrorCode.TIMEOUT,
      detail: `no answer from ${this.server.label} within ${this.core.timeout} ms`,
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
    if (this.tries < this.core.attempts) {
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
    switch (this.kind) {
      case Kind.Query:
        return this.settle(res);
      case Kind.A:
      case Kind.Aaaa:
        return this.settleAddresses(res);
      case Kind.Srv:
        return this.settleSrv(res);
    }
  }

  private negative(res: DnsResponse): boolean {
    if (res.rcode === 'NXDOMAIN') {
      this.finishError(DnsErrorCode.NOTFOUND, this.negativeDetail(res, 'the name does not exist'), undefined, res);
      return true;
    }
    return false;
  }

  private negativeDetail(res: DnsResponse, what: string): string {
    const tried = this.candidates.length > 1 ? `; searched ${this.candidates.join(', ')}` : '';
    return `server ${res.server}: ${what}${tried}`;
  }

  /**
   * resolve4/6/Srv give whole record sets: an answer still truncated over TCP lost records, and a
   * partial set must not pass for the whole one (a watcher would drop the peers cut off).
   */
  private incomplete(res: DnsResponse): boolean {
    if (!res.truncated) return false;
    const detail = `the answer was truncated even over TCP (${res.answers.length} records kept): the record set is incomplete, more than a 65,535-byte message holds`;
    this.finishError(DnsErrorCode.BADRESP, this.negativeDetail(res, detail), undefined, res);
    return true;
  }

  private settleAddresses(res: DnsResponse): void {
    if (this.negative(res) || this.incomplete(res)) return;
    const want = this.type;
    const out: (string | RecordWithTtl)[] = [];
    for (const rec of res.answers) {
      if (rec.type !== want) continue;
      out.push(this.withTtl ? { address: rec.data as string, ttl: rec.ttl } : (rec.data as string));
    }
    if (out.length === 0) {
      this.finishError(DnsErrorCode.NODATA, this.negativeDetail(res, `no ${want} records`), undefined, res);
      return;
    }
    this.settle(out);
  }

  private settleSrv(res: DnsResponse): void {
    if (this.negative(res) || this.incomplete(res)) return;
    // Index the glue once: one pass over the additional section, not one per target. Keys are the
    // names as decoded: with compression a glue owner is a pointer to its SRV target, so the decoder
    // hands back the same string and no case folding is needed; other spellings are folded on a miss.
    const glue = new Map<string, SrvAddress[]>();
    for (const rec of res.additionals) {
      if (rec.type !== 'A' && rec.type !== 'AAAA') continue;
      let list = glue.get(rec.name);
      if (list === undefined) glue.set(rec.name, (list = []));
      list.push({ address: rec.data, family: rec.type === 'A' ? 4 : 6, ttl: rec.ttl });
    }
    let folded: Map<string, SrvAddress[]> | null = null;
    const out: SrvRecordWithAddresses[] = [];
    for (const rec of res.answers) {
      if (rec.type !== 'SRV') continue;
      const { target, port, priority, weight } = rec.data;
      let addresses = glue.get(target);
      if (addresses === undefined && glue.size > 0) {
        folded ??= foldGlue(glue);
        addresses = folded.get(canonicalName(target));
      }
      out.push({
        name: target,
        port,
        priority: priority ?? 0,
        weight: weight ?? 0,
        ttl: rec.ttl,
        addresses: addresses === undefined ? [] : addresses.slice(),
      });
    }
    if (out.length === 0) {
      this.finishError(DnsErrorCode.NODATA, this.negativeDetail(res, 'no SRV records'), undefined, res);
      return;
    }
    this.settle(out);
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
  }

  // ---- diagnostics ----

  private traceStart(): void {
    this.sentAt = performance.now();
    const message = { name: this.name, type: this.type, server: this.server.label, transport: this.via, id: this.id };
    if (debug.enabled) debug('query %s %s -> %s %s id=%d', this.type, this.name, message.server, this.via, this.id);
    if (queryStartChannel.hasSubscribers) queryStartChannel.publish(message);
  }

  private traceEnd(rcode: string | null, failure: TryFailure | null, truncated = false): void {
    this.traced = false;
    const duration = performance.now() - this.sentAt;
    const error =
      failure === null
        ? null
        : new DnsError(failure.code, `${syscall(this.type)} ${failure.code} ${this.name} (${failure.detail})`, {
            hostname: this.name,
            rrtype: this.type,
            server: this.server.label,
            cause: failure.cause,
          });
    if (debug.enabled) {
      debug('answer %s %s <- %s %s id=%d: %s in %s ms', this.type, this.name, this.server.label, this.via, this.id,
        rcode ?? failure?.code ?? 'truncated, retrying over TCP', duration.toFixed(1));
    }
    if (queryEndChannel.hasSubscribers) {
      queryEndChannel.publish({
        name: this.name,
        type: this.type,
        server: this.server.label,
        transport: this.via,
        id: this.id,
        rcode,
        error,
        truncated,
        duration,
      });
    }
  }
}

/** Settings and shared machinery of one client, as its lookups use them. */
class ClientCore {
  readonly counters = new Counters();
  readonly deadlines = new DeadlineList();
  readonly udp: UdpTransport;
  readonly tcp: TcpTransport;
  private rotation = 0;
  /** Encoded queries by type, then name: a cache (bounded, cleared on close), not state. */
  private readonly templates = new Map<QueryType, Map<string, Buffer>>();
  private templateCount = 0;
  /** Signals of lookups in flight, each with its one listener. */
  private readonly signals = new Map<AbortSignal, { lookups: Set<Lookup>; listener: () => void }>();

  constructor(
    readonly servers: ServerAddress[],
    readonly timeout: number,
    readonly attempts: number,
    readonly udpPayloadSize: number,
    readonly tcpAlways: boolean,
    readonly rotate: boolean,
    maxQueriesPerSocket: number,
    maxInflight: number,
    tcpIdleTimeout: number,
  ) {
    const ids = new IdSource();
    this.udp = new UdpTransport({ maxQueriesPerSocket, maxInflight }, this.counters, ids);
    this.tcp = new TcpTransport({ idleTimeout: tcpIdleTimeout }, this.counters, ids);
  }

  /** A fresh copy of the query for (name, type): encoded once, then copied (IDs differ per copy). */
  encode(name: string, type: QueryType): Buffer {
    // Two levels, not a `${type} ${name}` key: no string is built and hashed per query.
    let byName = this.templates.get(type);
    if (byName === undefined) this.templates.set(type, (byName = new Map()));
    let template = byName.get(name);
    if (template === undefined) {
      if (this.templateCount >= MAX_TEMPLATES) {
        this.clearCache();
        this.templates.set(type, (byName = new Map()));
      }
      template = encodeQuery(name, type, this.udpPayloadSize);
      byName.set(name, template);
      this.templateCount++;
    }
    return Buffer.from(template);
  }

  /** Forgets the encoded query templates. */
  clearCache(): void {
    this.templates.clear();
    this.templateCount = 0;
  }

  /**
   * One 'abort' listener per signal, however many lookups share it (a watcher resolving 100 SRV
   * targets with one signal would otherwise trip Node's listener-leak warning).
   */
  watchSignal(signal: AbortSignal, lookup: Lookup): void {
    let watched = this.signals.get(signal);
    if (watched === undefined) {
      const lookups = new Set<Lookup>();
      const listener = (): void => {
        this.signals.delete(signal);
        for (const l of lookups) l.aborted();
      };
      watched = { lookups, listener };
      this.signals.set(signal, watched);
      signal.addEventListener('abort', listener, { once: true });
    }
    watched.lookups.add(lookup);
  }

  unwatchSignal(signal: AbortSignal, lookup: Lookup): void {
    const watched = this.signals.get(signal);
    if (watched === undefined || !watched.lookups.delete(lookup) || watched.lookups.size > 0) return;
    this.signals.delete(signal);
    signal.removeEventListener('abort', watched.listener);
  }

  nextStart(): number {
    const start = this.rotation % this.servers.length;
    this.rotation = (this.rotation + 1) % this.servers.length;
    return start;
  }
}

/**
 * headless-sd's stub resolver: UDP with EDNS(0) and TCP fallback, RFC 5452 anti-spoofing,
 * per-try timeouts over several servers, the search list and ndots of resolv.conf, AbortSignal.
 * No answer cache: every call sends a query.
 *
 * ```ts
 * const client = new DnsClient({ servers: ['127.0.0.1:5300'] });
 * const srv = await client.resolveSrv('_web._tcp.nginx.default.svc.cluster.local');
 * client.close();
 * ```
 *
 * Every failure is a {@link DnsError} with a node:dns `code`, and `hostname`, `rrtype`, `server`.
 */
export class DnsClient {
  /** The servers asked, as `host:port`, in order. */
  readonly servers: readonly string[];
  /** Search domains applied to relative names. */
  readonly search: readonly string[];
  readonly ndots: number;
  readonly timeout: number;
  readonly attempts: number;
  private readonly core: ClientCore;
  private closed = false;

  constructor(options: DnsClientOptions = {}) {
    const o = options;
    const needsConf =
      o.servers === undefined ||
      o.search === undefined ||
      o.ndots === undefined ||
      o.timeout === undefined ||
      o.attempts === undefined ||
      o.rotate === undefined;
    const conf: ResolvConf | null = needsConf ? readResolvConf(o.resolvConf) : null;
    const serverList = o.servers ?? conf!.nameservers;
    if (!Array.isArray(serverList) || serverList.length === 0) {
      throw new InvalidArgumentError('option servers', serverList, 'a non-empty array of addresses');
    }
    const servers = serverList.map((s) => parseServerAddress(s));
    const search = (o.search ?? conf!.search).map((d) => {
      if (typeof d !== 'string') throw new InvalidArgumentError('search domain', d, 'a domain name');
      return checkName(d);
    });
    if (o.tcp !== undefined && o.tcp !== 'fallback' && o.tcp !== 'always') {
      throw new InvalidArgumentError('option tcp', o.tcp, "'fallback' or 'always'");
    }
    const ndots = checkInt('ndots', o.ndots ?? conf!.ndots, 0, 255);
    const timeout = checkInt('timeout', o.timeout ?? conf!.timeout, 1, 2_147_483_647);
    const attempts = checkInt('attempts', o.attempts ?? conf!.attempts * servers.length, 1, 1000);
    const payload = checkInt('udpPayloadSize', o.udpPayloadSize ?? DEFAULT_UDP_PAYLOAD, PLAIN_DNS_PAYLOAD, 65535);
    const maxPerSocket = checkInt('maxQueriesPerSocket', o.maxQueriesPerSocket ?? DEFAULT_MAX_QUERIES_PER_SOCKET, 1, 1e9);
    const maxInflight = checkInt('maxInflight', o.maxInflight ?? DEFAULT_MAX_INFLIGHT, 1, 65535);
    const tcpIdle = checkInt('tcpIdleTimeout', o.tcpIdleTimeout ?? DEFAULT_TCP_IDLE, 0, 2_147_483_647);
    this.servers = servers.map((s) => s.label);
    this.search = search.filter((d) => d !== '');
    this.ndots = ndots;
    this.timeout = timeout;
    this.attempts = attempts;
    this.core = new ClientCore(
      servers,
      timeout,
      attempts,
      payload,
      o.tcp === 'always',
      o.rotate ?? conf!.rotate,
      maxPerSocket,
      maxInflight,
      tcpIdle,
    );
  }

  /** Counters since the client was made (a snapshot). */
  get stats(): DnsClientStats {
    const c = this.core.counters;
    return {
      lookups: c.lookups,
      queries: c.queries,
      tcpQueries: c.tcpQueries,
      answers: c.answers,
      dropped: c.dropped,
      timeouts: c.timeouts,
      truncated: c.truncated,
      badResponses: c.badResponses,
      errors: c.errors,
      udpSockets: this.core.udp.sockets,
      tcpConnections: this.core.tcp.openConnections,
    };
  }

  /**
   * Asks for `type` records of `name` (relative names go through the search list) and resolves
   * with the answer when it is NOERROR or NXDOMAIN: read `rcode`. SERVFAIL, REFUSED, timeouts
   * and unreachable servers move on to the next server while `attempts` allow, then reject
   * (`ESERVFAIL`, `EREFUSED`, `ETIMEOUT`, `ECONNREFUSED`); FORMERR and NOTIMP reject at once
   * (`EFORMERR`, `ENOTIMP`); an undecodable answer is `EBADRESP`; a bad name `EBADNAME`.
   */
  query(name: string, type: QueryType, options: QueryOptions = {}): Promise<DnsResponse> {
    return this.lookup(Kind.Query, name, type, false, options.signal) as Promise<DnsResponse>;
  }

  /** IPv4 addresses of `name` like node:dns's resolve4: rejects ENOTFOUND (NXDOMAIN) or ENODATA (no A). */
  resolve4(name: string, options?: ResolveOptions & { ttl?: false }): Promise<string[]>;
  resolve4(name: string, options: ResolveOptions & { ttl: true }): Promise<RecordWithTtl[]>;
  resolve4(name: string, options?: ResolveOptions): Promise<string[] | RecordWithTtl[]>;
  resolve4(name: string, options: ResolveOptions = {}): Promise<string[] | RecordWithTtl[]> {
    return this.lookup(Kind.A, name, 'A', options.ttl === true, options.signal) as Promise<string[]>;
  }

  /** IPv6 addresses of `name`, like {@link DnsClient.resolve4} for AAAA. */
  resolve6(name: string, options?: ResolveOptions & { ttl?: false }): Promise<string[]>;
  resolve6(name: string, options: ResolveOptions & { ttl: true }): Promise<RecordWithTtl[]>;
  resolve6(name: string, options?: ResolveOptions): Promise<string[] | RecordWithTtl[]>;
  resolve6(name: string, options: ResolveOptions = {}): Promise<string[] | RecordWithTtl[]> {
    return this.lookup(Kind.Aaaa, name, 'AAAA', options.ttl === true, options.signal) as Promise<string[]>;
  }

  /**
   * SRV records of `name` with their TTL and, for each target, the addresses the server sent in
   * the additional section (no extra lookups). Rejects ENOTFOUND / ENODATA like node:dns.
   */
  resolveSrv(name: string, options: QueryOptions = {}): Promise<SrvRecordWithAddresses[]> {
    return this.lookup(Kind.Srv, name, 'SRV', false, options.signal) as Promise<SrvRecordWithAddresses[]>;
  }

  /** Rejects every query in flight with ECANCELLED and frees sockets, connections and timers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const node of this.core.deadlines.nodes()) (node as Lookup).cancel('client closed');
    this.core.udp.close();
    this.core.tcp.close();
    this.core.clearCache();
  }

  private lookup(kind: Kind, name: string, type: string, ttl: boolean, signal: AbortSignal | undefined): Promise<unknown> {
    const core = this.core;
    core.counters.lookups++;
    const qtype = typeof type === 'string' ? type.toUpperCase() : type;
    try {
      if (!Object.hasOwn(QUERY_TYPES, qtype)) {
        throw new InvalidArgumentError('record type', type, Object.keys(QUERY_TYPES).join(', '));
      }
      checkName(name, qtype);
    } catch (err) {
      core.counters.errors++;
      return Promise.reject(err);
    }
    const rrtype = qtype as QueryType;
    const candidates = searchNames(name, this.search, this.ndots);
    const lookup = new Lookup(core, kind, rrtype, name, candidates, ttl, signal);
    const promise = new Promise<unknown>((resolve, reject) => {
      lookup.resolve = resolve;
      lookup.reject = reject;
    });
    if (this.closed) lookup.cancel('client closed');
    else if (signal?.aborted) lookup.cancel('aborted', signal.reason);
    else lookup.begin();
    return promise;
  }
}
