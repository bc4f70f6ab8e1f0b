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

/**
 * Whether a record's owner is the name asked or on the CNAME chain from it. The names of a
 * decoded answer are mostly pointers to the question, so they come out as the same string:
 * the plain comparison settles almost every record; case folding is for the rest.
 */
function ownerTest(res: DnsResponse): (owner: string) => boolean {
  const asked = res.name;
  if (!res.answers.some((rec) => rec.type === 'CNAME')) {
    const folded = canonicalName(asked);
    return (owner) => owner === asked || canonicalName(owner) === folded;
  }
  const names = new Set([canonicalName(asked)]);
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
  return (owner) => names.has(canonicalName(owner));
}

/**
 * A whole record set or an error: an answer still truncated over TCP lost records, and a
 * partial set must not pass for the whole one (the peers cut off would be dropped).
 */
export function checkComplete(res: DnsResponse): void {
  if (!res.truncated) return;
  throw new DnsError(
    DnsErrorCode.BADRESP,
    `query${res.type} EBADRESP ${res.name} (server ${res.server}: the answer was truncated even over TCP ` +
      `(${res.answers.length} records kept): the record set is incomplete, more than a 65,535-byte message holds)`,
    { hostname: res.name, rrtype: res.type, server: res.server },
  );
}

/** The A or AAAA records an answer gives for the name asked (through CNAMEs). */
export function addressesOf(res: DnsResponse): TimedAddress[] {
  if (res.rcode !== 'NOERROR' || (res.type !== 'A' && res.type !== 'AAAA')) return [];
  checkComplete(res);
  const isOwner = ownerTest(res);
  const out: TimedAddress[] = [];
  for (const rec of res.answers) {
    if (rec.type !== res.type || !isOwner(rec.name)) continue;
    out.push({ address: rec.data, family: rec.type === 'A' ? 4 : 6, ttl: rec.ttl });
  }
  return out;
}

/** The SRV records of an answer, each with the glue whose owner is its target. */
export function srvTargetsOf(res: DnsResponse): SrvTarget[] {
  if (res.rcode !== 'NOERROR') return [];
  checkComplete(res);
  // Keyed by the owner as decoded: with compression a glue owner is a pointer to its SRV target,
  // so the decoder hands back the same string; other spellings are folded on a miss.
  const glue = new Map<string, TimedAddress[]>();
  for (const rec of res.additionals) {
    if (rec.type !== 'A' && rec.type !== 'AAAA') continue;
    let list = glue.get(rec.name);
    if (list === undefined) glue.set(rec.name, (list = []));
    list.push({ address: rec.data, family: rec.type === 'A' ? 4 : 6, ttl: rec.ttl });
  }
  let folded: Map<string, TimedAddress[]> | null = null;
  const isOwner = ownerTest(res);
  const out: SrvTarget[] = [];
  for (const rec of res.answers) {
    if (rec.type !== 'SRV' || !isOwner(rec.name)) continue;
    const { target, port, priority, weight } = rec.data;
    let addresses = glue.get(target);
    if (addresses === undefined && glue.size > 0) {
      folded ??= foldKeys(glue);
      addresses = folded.get(canonicalName(target));
    }
    out.push({ name: target, port, priority: priority ?? 0, weight: weight ?? 0, ttl: rec.ttl, glue: addresses?.slice() ?? [] });
  }
  return out;
}

function foldKeys(glue: Map<string, TimedAddress[]>): Map<string, TimedAddress[]> {
  const out = new Map<string, TimedAddress[]>();
  for (const [name, list] of glue) {
    const key = canonicalName(name);
    out.set(key, [...(out.get(key) ?? []), ...list]);
  }
  return out;
}

/** True when the answer holds records of the type asked (an SRV set, or addresses). */
export function hasRecords(res: DnsResponse): boolean {
  if (res.rcode !== 'NOERROR') return false;
  const isOwner = ownerTest(res);
  return res.answers.some((rec) => rec.type === res.type && isOwner(rec.name));
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
