/**
 * DnsClient: headless-sd's own stub resolver over UDP and TCP (see DESIGN.md section 4).
 * The pieces: options.ts (checking), core.ts (shared machinery), lookup.ts (the query
 * pipeline), answers.ts (what resolve* take from an answer), server-health.ts, udp.ts, tcp.ts.
 */
import { ClientCore, type NamePlan } from './core.js';
import { InvalidArgumentError } from './invalid-argument.js';
import { Kind, Lookup } from './lookup.js';
import { QUERY_TYPES, type QueryType } from './message.js';
import { clientSettings } from './options.js';
import type {
  DnsClientOptions,
  DnsClientStats,
  DnsResponse,
  QueryOptions,
  RecordWithTtl,
  ResolveOptions,
  SrvRecordWithAddresses,
} from './types.js';

// Every type of the client's options and answers (types.ts holds nothing else).
export type * from './types.js';

/** The signal of a call's options: an AbortSignal or nothing; anything else is a bad argument. */
function signalOf(options: unknown): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', options, 'an object');
  const { signal } = options as QueryOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('option signal', signal, 'an AbortSignal');
  return signal;
}

/** The lookup whose promise is being made: {@link capture} hands it its settle functions. */
let making: Lookup | null = null;

/** The one executor of every lookup's promise (a function, not a closure made per call). */
function capture(resolve: (value: unknown) => void, reject: (err: unknown) => void): void {
  making!.resolve = resolve;
  making!.reject = reject;
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

  /**
   * Throws {@link InvalidArgumentError} for any bad option (wrong type, NaN, Infinity, out of
   * range, durations above 2^31-1 ms, a getter that throws).
   */
  constructor(options: DnsClientOptions = {}) {
    const settings = clientSettings(options);
    this.servers = settings.servers.map((s) => s.label);
    this.search = settings.search;
    this.ndots = settings.ndots;
    this.timeout = settings.timeout;
    this.attempts = settings.attempts;
    this.core = new ClientCore(settings);
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
  query(name: string, type: QueryType, options?: QueryOptions): Promise<DnsResponse> {
    return this.lookup(Kind.Query, name, type, options) as Promise<DnsResponse>;
  }

  /** IPv4 addresses of `name` like node:dns's resolve4: rejects ENOTFOUND (NXDOMAIN) or ENODATA (no A). */
  resolve4(name: string, options?: ResolveOptions & { ttl?: false }): Promise<string[]>;
  resolve4(name: string, options: ResolveOptions & { ttl: true }): Promise<RecordWithTtl[]>;
  resolve4(name: string, options?: ResolveOptions): Promise<string[] | RecordWithTtl[]>;
  resolve4(name: string, options?: ResolveOptions): Promise<string[] | RecordWithTtl[]> {
    return this.lookup(Kind.A, name, 'A', options) as Promise<string[]>;
  }

  /** IPv6 addresses of `name`, like {@link DnsClient.resolve4} for AAAA. */
  resolve6(name: string, options?: ResolveOptions & { ttl?: false }): Promise<string[]>;
  resolve6(name: string, options: ResolveOptions & { ttl: true }): Promise<RecordWithTtl[]>;
  resolve6(name: string, options?: ResolveOptions): Promise<string[] | RecordWithTtl[]>;
  resolve6(name: string, options?: ResolveOptions): Promise<string[] | RecordWithTtl[]> {
    return this.lookup(Kind.Aaaa, name, 'AAAA', options) as Promise<string[]>;
  }

  /**
   * SRV records of `name` with their TTL and, for each target, the addresses the server sent in
   * the additional section (no extra lookups). Rejects ENOTFOUND / ENODATA like node:dns.
   */
  resolveSrv(name: string, options?: QueryOptions): Promise<SrvRecordWithAddresses[]> {
    return this.lookup(Kind.Srv, name, 'SRV', options) as Promise<SrvRecordWithAddresses[]>;
  }

  /** Rejects every query in flight with ECANCELLED and frees sockets, connections and timers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Lookups waiting for their single-request turn have no deadline yet. Last first, so that
    // ending one never starts the next.
    for (const lookup of this.core.turnHolders().reverse()) lookup.cancel('client closed');
    for (const node of this.core.deadlines.nodes()) (node as Lookup).cancel('client closed');
    this.core.udp.close();
    this.core.tcp.close();
    this.core.clearCache();
  }

  private lookup(kind: Kind, name: string, type: string, options: ResolveOptions | undefined): Promise<unknown> {
    const core = this.core;
    core.counters.lookups++;
    let rrtype = type as QueryType;
    let plan: NamePlan;
    let signal: AbortSignal | undefined;
    try {
      // resolve4/resolve6/resolveSrv pass their own type; only query() takes one from the caller.
      if (kind === Kind.Query) {
        const qtype = typeof type === 'string' ? type.toUpperCase() : type;
        if (!Object.hasOwn(QUERY_TYPES, qtype)) {
          throw new InvalidArgumentError('record type', type, Object.keys(QUERY_TYPES).join(', '));
        }
        rrtype = qtype as QueryType;
      }
      plan = core.plan(name, rrtype);
      signal = options === undefined ? undefined : signalOf(options);
    } catch (err) {
      core.counters.errors++;
      return Promise.reject(err);
    }
    const lookup = new Lookup(core, kind, rrtype, name, plan, options?.ttl === true, signal);
    making = lookup;
    const promise = new Promise<unknown>(capture);
    making = null;
    if (this.closed) lookup.cancel('client closed');
    else if (signal?.aborted) lookup.cancel('aborted', signal.reason);
    else lookup.start();
    return promise;
  }
}
