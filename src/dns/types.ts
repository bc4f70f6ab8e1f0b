/**
 * The public shapes of `DnsClient`: its options, what its calls resolve to, its counters.
 */
import type { DnsRecord, QueryType, Rcode } from './message.js';

/** Options of `DnsClient`. Each one not given comes from resolv.conf (or its defaults). */
export interface DnsClientOptions {
  /** `['10.96.0.10', '127.0.0.1:5300', '[::1]:53']`; default: resolv.conf's nameservers. */
  servers?: string[];
  /** Milliseconds to wait for each try (default: resolv.conf's timeout, 5000). */
  timeout?: number;
  /** Total tries per name, across servers (default: resolv.conf's attempts x number of servers). */
  attempts?: number;
  /** EDNS(0) UDP payload size advertised (default 1232; 512 sends no OPT record). */
  udpPayloadSize?: number;
  /**
   * `'fallback'` (default): UDP, and TCP when the answer is truncated. `'always'`: TCP only
   * (the default when resolv.conf or `RES_OPTIONS` says `use-vc`).
   */
  tcp?: 'fallback' | 'always';
  /** Search domains for relative names (default: resolv.conf's `search`, or `LOCALDOMAIN`). */
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
  /**
   * TCP queries in flight on one connection; more go on another connection (up to
   * `maxTcpConnections`) or wait their turn (default: `maxInflight`, 128).
   */
  maxTcpInflight?: number;
  /** TCP connections open at once to one server (default 4). */
  maxTcpConnections?: number;
  /**
   * Server health memory, like c-ares' `ARES_OPT_SERVER_FAILOVER` (default true): a server that
   * timed out or could not be reached goes to the end of the order for later lookups, so a dead
   * first nameserver costs one timeout, not one per lookup. It is tried again (one lookup probes
   * it) once `failoverRetryDelay` has passed; an answer makes it healthy again. `false` keeps
   * the configured order for every lookup.
   */
  failover?: boolean;
  /** Milliseconds before a failed server is probed again (default 5000). */
  failoverRetryDelay?: number;
  /**
   * Do not ask A and AAAA of one name at the same time: the second waits for the first
   * (resolv.conf `options single-request`; default from resolv.conf, false).
   */
  singleRequest?: boolean;
  /**
   * As `singleRequest`, and a UDP query that timed out moves the server to a new socket (a new
   * source port) before the retry (resolv.conf `options single-request-reopen`; default from
   * resolv.conf, false). For middleboxes that track and drop by 5-tuple.
   */
  singleRequestReopen?: boolean;
}

/** Options of `DnsClient.query`. */
export interface QueryOptions {
  /** Aborting rejects the query with `ECANCELLED` at once. */
  signal?: AbortSignal;
}

/** Options of `DnsClient.resolve4` and friends. */
export interface ResolveOptions extends QueryOptions {
  /** Return `{ address, ttl }` objects instead of address strings (A and AAAA only). */
  ttl?: boolean;
}

/** What `DnsClient.query` resolves to: a NOERROR or NXDOMAIN answer. */
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
  /**
   * Messages put on the wire, UDP and TCP (each try, each TCP retry of a truncated answer, each
   * resend after a TCP connection closed). Queries still waiting in a queue are not counted.
   */
  queries: number;
  /** Messages sent over TCP. */
  tcpQueries: number;
  /** Answers accepted (after the RFC 5452 checks). */
  answers: number;
  /** Answers ignored by the checks: unknown ID, wrong source, wrong question, too short. */
  dropped: number;
  /** Tries sent that got no answer in time (a try that expired while queued is not one). */
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

