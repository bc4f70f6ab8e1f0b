import type { DnsClient, DnsResponse } from '../dns/client.js';
import { DnsError, DnsErrorCode, isDnsError } from '../dns/errors.js';
import type { QueryType } from '../dns/message.js';
import { searchNames } from '../dns/search.js';
import { hasRecords } from './answers.js';

/** What a walk of the search list found: the name that answered and its answer for each type. */
export interface SearchResult {
  /** The absolute name (no trailing dot) whose answers these are. */
  name: string;
  /** One answer per type asked, in the order asked. */
  responses: DnsResponse[];
  /** True when some type had records; else every answer is negative (NXDOMAIN or NODATA). */
  found: boolean;
}

/**
 * Asks `types` for `name` the way glibc's getaddrinfo does for AF_UNSPEC: every type of a
 * candidate at once, and the first candidate of the search list for which any type has records
 * ends the walk; the other types are asked for that same absolute name only, never down the
 * rest of the list. Every query carries an absolute name (trailing dot), so the client's own
 * search list never applies twice. When no candidate answers, the result is the best negative
 * one (like glibc: a name that exists without records beats NXDOMAIN elsewhere).
 */
export async function searchOnce(
  client: DnsClient,
  name: string,
  types: readonly QueryType[],
  signal: AbortSignal | undefined,
): Promise<SearchResult> {
  const candidates = searchNames(name, client.search, client.ndots);
  const opts = signal ? { signal } : {};
  let nodata: SearchResult | null = null;
  let asIs: SearchResult | null = null;
  let first: SearchResult | null = null;
  let soft: DnsError | null = null;
  for (const candidate of candidates) {
    let responses: DnsResponse[];
    try {
      responses = await Promise.all(types.map((type) => client.query(`${candidate}.`, type, opts)));
    } catch (err) {
      // SERVFAIL/REFUSED are about this name: go on, and report it only if no name answered.
      if (candidates.length > 1 && isDnsError(err, DnsErrorCode.SERVFAIL, DnsErrorCode.REFUSED)) {
        soft ??= err;
        continue;
      }
      throw err;
    }
    const result = { name: candidate, responses, found: responses.some(hasRecords) };
    if (result.found) return result;
    if (responses.some((r) => r.rcode === 'NOERROR')) nodata ??= result;
    if (candidate === name.replace(/\.$/, '')) asIs = result;
    first ??= result;
  }
  const negative = nodata ?? asIs ?? first;
  if (negative !== null) return negative;
  throw soft ?? new DnsError(DnsErrorCode.BADNAME, `no name to ask for ${name}`, { hostname: name });
}

/** The error of a negative result: ENODATA when the name exists without records, else ENOTFOUND. */
export function negativeError(result: SearchResult, what: string): DnsError {
  const res = result.responses.find((r) => r.rcode === 'NOERROR') ?? result.responses[0]!;
  const code = res.rcode === 'NOERROR' ? DnsErrorCode.NODATA : DnsErrorCode.NOTFOUND;
  const rcode = res.rcode === 'NOERROR' ? `no ${res.type} records` : 'the name does not exist';
  return new DnsError(code, `query${res.type} ${code} ${res.name} (server ${res.server}: ${rcode}; ${what})`, {
    hostname: res.name,
    rrtype: res.type,
    server: res.server,
  });
}
