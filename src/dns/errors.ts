/**
 * Error codes, as node:dns names them, so code written for `dns.promises` keeps working.
 */
export const DnsErrorCode = {
  /** NXDOMAIN: the name does not exist. */
  NOTFOUND: 'ENOTFOUND',
  /** The name exists but has no records of the type asked (NODATA). */
  NODATA: 'ENODATA',
  /** The server answered SERVFAIL. */
  SERVFAIL: 'ESERVFAIL',
  /** The server answered REFUSED. */
  REFUSED: 'EREFUSED',
  /** No answer within `timeout` x `attempts`. */
  TIMEOUT: 'ETIMEOUT',
  /** The server's port is closed (ICMP port unreachable, TCP RST). */
  CONNREFUSED: 'ECONNREFUSED',
  /**
   * The server cannot be reached from here: the kernel refused to connect or send (no route, an
   * address family this host lacks, a link-local address without scope, a broadcast address).
   * Not a node:dns code: node:dns would fail these with a system error.
   */
  NETUNREACH: 'ENETUNREACH',
  /**
   * The server closed the TCP connection before answering, even on a fresh connection (after a
   * close, what was in flight is sent again once on a new one). Not a node:dns code.
   */
  CONNRESET: 'ECONNRESET',
  /** The answer could not be decoded or breaks the protocol (also: a CNAME chain longer than 8). */
  BADRESP: 'EBADRESP',
  /** The server answered FORMERR: it could not read our query. */
  FORMERR: 'EFORMERR',
  /** The server answered NOTIMP. */
  NOTIMP: 'ENOTIMP',
  /** The name is not a valid DNS name (empty label, label > 63, name > 253 octets). */
  BADNAME: 'EBADNAME',
  /** The query was aborted through its AbortSignal, or the client was closed. */
  CANCELLED: 'ECANCELLED',
} as const;

/** One of the node:dns error codes headless-sd uses. */
export type DnsErrorCodeValue = (typeof DnsErrorCode)[keyof typeof DnsErrorCode];

/** Where a {@link DnsError} happened. */
export interface DnsErrorDetails {
  /** The name asked, as given (after search-list expansion when one was tried). */
  hostname?: string | undefined;
  /** The record type asked: 'A', 'AAAA', 'SRV', ... */
  rrtype?: string | undefined;
  /** The server (`host:port`) that gave the last answer or failure. */
  server?: string | undefined;
  /** node:dns's name of the call: `querySrv`, `queryA`, ... (default: from `rrtype`). */
  syscall?: string | undefined;
  /** The underlying error, when there is one (socket error, decode error). */
  cause?: unknown;
}

/**
 * Every failure of headless-sd's DNS layer. `code` is one of node:dns's codes
 * ({@link DnsErrorCode}); `hostname`, `rrtype` and `server` say what was asked where.
 */
export class DnsError extends Error {
  override readonly name = 'DnsError';
  readonly code: DnsErrorCodeValue;
  readonly hostname: string | undefined;
  readonly rrtype: string | undefined;
  readonly server: string | undefined;
  /** As node:dns sets it: `queryA`, `queryAaaa`, `querySrv`, ... (undefined when no query was made). */
  readonly syscall: string | undefined;

  constructor(code: DnsErrorCodeValue, message: string, details: DnsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.hostname = details.hostname;
    this.rrtype = details.rrtype;
    this.server = details.server;
    const type = details.rrtype;
    this.syscall = details.syscall ?? (type ? `query${type.charAt(0).toUpperCase()}${type.slice(1).toLowerCase()}` : undefined);
  }
}

/** True when `err` is a {@link DnsError}, optionally with one of `codes`. */
export function isDnsError(err: unknown, ...codes: DnsErrorCodeValue[]): err is DnsError {
  return err instanceof DnsError && (codes.length === 0 || codes.includes(err.code));
}
