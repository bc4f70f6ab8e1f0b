import type { DnsResponse } from '../dns/client.js';
import { DnsError, DnsErrorCode } from '../dns/errors.js';
import { canonicalName } from '../dns/name.js';

/** An address with its family and TTL (seconds, as received). */
export interface TimedAddress {
  address: string;
  family: 4 | 6;
  ttl: number;
}

/** An SRV record with the addresses of its target that came as glue. */
export interface SrvTarget {
  /** The target host, without trailing dot. */
  name: string;
  port: number;
  priority: number;
  weight: number;
  ttl: number;
  glue: TimedAddress[];
}

/** The names an answer speaks for: the name asked and the CNAME chain from it. */
function ownerNames(res: DnsResponse): Set<string> {
  const names = new Set([canonicalName(res.name)]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const rec of res.answers) {
      if (rec.type !== 'CNAME' || !names.has(canonicalName(rec.name))) continue;
      const next = canonicalName(rec.data);
      if (!names.has(next)) {
        names.add(next);
        grew = true;
      }
    }
  }
  return names;
}

/**
 * A whole record set or an error: an answer still truncated over TCP lost records, and a
 * partial set must not pass for the whole one (the peers cut off would be dropped).
 */
export function checkComplete(res: DnsResponse): void {
  if (!res.truncated) return;
  throw new DnsError(
    DnsErrorCode.BADRESP,
    `query${res.type} EBADRESP ${res.name} (server ${res.server}: the answer was truncated even over TCP, ` +
      `${res.answers.length} records kept: the record set is incomplete)`,
    { hostname: res.name, rrtype: res.type, server: res.server },
  );
}

/** The A or AAAA records an answer gives for the name asked (through CNAMEs). */
export function addressesOf(res: DnsResponse): TimedAddress[] {
  if (res.rcode !== 'NOERROR' || (res.type !== 'A' && res.type !== 'AAAA')) return [];
  checkComplete(res);
  const owners = ownerNames(res);
  const out: TimedAddress[] = [];
  for (const rec of res.answers) {
    if (rec.type !== res.type || !owners.has(canonicalName(rec.name))) continue;
    out.push({ address: rec.data, family: rec.type === 'A' ? 4 : 6, ttl: rec.ttl });
  }
  return out;
}

/** The SRV records of an answer, each with the glue whose owner is its target. */
export function srvTargetsOf(res: DnsResponse): SrvTarget[] {
  if (res.rcode !== 'NOERROR') return [];
  checkComplete(res);
  const glue = new Map<string, TimedAddress[]>();
  for (const rec of res.additionals) {
    if (rec.type !== 'A' && rec.type !== 'AAAA') continue;
    const key = canonicalName(rec.name);
    let list = glue.get(key);
    if (list === undefined) glue.set(key, (list = []));
    list.push({ address: rec.data, family: rec.type === 'A' ? 4 : 6, ttl: rec.ttl });
  }
  const owners = ownerNames(res);
  const out: SrvTarget[] = [];
  for (const rec of res.answers) {
    if (rec.type !== 'SRV' || !owners.has(canonicalName(rec.name))) continue;
    const { target, port, priority, weight } = rec.data;
    const name = target.replace(/\.$/, '');
    out.push({ name, port, priority: priority ?? 0, weight: weight ?? 0, ttl: rec.ttl, glue: glue.get(canonicalName(name))?.slice() ?? [] });
  }
  return out;
}

/** True when the answer holds records of the type asked (an SRV set, or addresses). */
export function hasRecords(res: DnsResponse): boolean {
  if (res.rcode !== 'NOERROR') return false;
  const owners = ownerNames(res);
  return res.answers.some((rec) => rec.type === res.type && owners.has(canonicalName(rec.name)));
}

/**
 * How long a cache keeps this negative answer (RFC 2308: the smaller of the SOA's TTL and its
 * MINIMUM field), in seconds; null when the answer carried no SOA.
 */
export function negativeTtlOf(res: DnsResponse): number | null {
  for (const rec of res.authorities) {
    if (rec.type === 'SOA') return Math.min(rec.ttl, rec.data.minimum);
  }
  return null;
}
