/**
 * What resolve4/resolve6/resolveSrv take from an answer: only records owned by the name asked,
 * or by a name a CNAME chain starting at it leads to (a server, or a forger that got past the
 * checks, cannot slip in `A unrelated.example 6.6.6.6`); SRV glue only for the SRV targets.
 */
import { DnsErrorCode, type DnsErrorCodeValue } from './errors.js';
import type { DnsRecord } from './message.js';
import { canonicalName, presentationName } from './name.js';
import type { DnsResponse, RecordWithTtl, SrvAddress, SrvRecordWithAddresses } from './types.js';

/** Longest CNAME chain followed (BIND follows 16, glibc's getaddrinfo a handful; 8 is plenty in a cluster). */
export const MAX_CNAME_CHAIN = 8;

/** The records of `type` for `name`, or why there are none usable. */
export type Selection<T> = { records: T[] } | { error: string };

/** Same name, case-insensitive; the decoder often hands back the very same string (compression). */
function owns(record: DnsRecord, name: string, canonical: string): boolean {
  return record.name === name || canonicalName(record.name) === canonical;
}

/**
 * The answer records of `type` owned by `name`, following CNAMEs from `name` up to
 * {@link MAX_CNAME_CHAIN} links. Records of other owners are ignored.
 */
export function selectRecords(answers: readonly DnsRecord[], name: string, type: string): Selection<DnsRecord> {
  let owner = name;
  let canonical = canonicalName(name);
  const seen = new Set<string>([canonical]);
  for (let links = 0; ; links++) {
    const out: DnsRecord[] = [];
    let cname: string | null = null;
    for (const rec of answers) {
      if (!owns(rec, owner, canonical)) continue;
      if (rec.type === type) out.push(rec);
      else if (rec.type === 'CNAME' && cname === null) cname = rec.data;
    }
    if (out.length > 0 || cname === null) return { records: out };
    if (links >= MAX_CNAME_CHAIN) return { error: `CNAME chain from ${name} longer than ${MAX_CNAME_CHAIN} links` };
    owner = cname;
    canonical = canonicalName(cname);
    if (seen.has(canonical)) return { error: `CNAME loop from ${name} through ${cname}` };
    seen.add(canonical);
  }
}

/** A/AAAA data as strings, or `{ address, ttl }` objects. */
export function addressesOf(records: readonly DnsRecord[], withTtl: boolean): (string | RecordWithTtl)[] {
  const out: (string | RecordWithTtl)[] = [];
  for (const rec of records) out.push(withTtl ? { address: rec.data as string, ttl: rec.ttl } : (rec.data as string));
  return out;
}

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

/**
 * SRV records with their targets' addresses from the additional section. Glue is looked up by
 * target name only: A/AAAA records of any other owner are never attached to a peer.
 */
export function srvWithGlue(records: readonly DnsRecord[], additionals: readonly DnsRecord[]): SrvRecordWithAddresses[] {
  // Index the glue once: one pass over the additional section, not one per target. Keys are the
  // names as decoded: with compression a glue owner is a pointer to its SRV target, so the decoder
  // hands back the same string and no case folding is needed; other spellings are folded on a miss.
  const glue = new Map<string, SrvAddress[]>();
  for (const rec of additionals) {
    if (rec.type !== 'A' && rec.type !== 'AAAA') continue;
    let list = glue.get(rec.name);
    if (list === undefined) glue.set(rec.name, (list = []));
    list.push({ address: rec.data, family: rec.type === 'A' ? 4 : 6, ttl: rec.ttl });
  }
  let folded: Map<string, SrvAddress[]> | null = null;
  const out: SrvRecordWithAddresses[] = [];
  for (const rec of records) {
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
  return out;
}

/** What resolve4/resolve6/resolveSrv resolve to, or the error to reject with. */
export type LookupResult = { value: (string | RecordWithTtl)[] | SrvRecordWithAddresses[] } | { code: DnsErrorCodeValue; detail: string };

/**
 * The result of an address or SRV lookup from its answer: ENOTFOUND for NXDOMAIN; EBADRESP for
 * an answer truncated even over TCP (a partial record set must not pass for the whole one: a
 * watcher would drop the peers cut off) or a CNAME chain too long; ENODATA without records.
 */
export function resultOf(res: DnsResponse, type: string, srv: boolean, withTtl: boolean): LookupResult {
  if (res.rcode === 'NXDOMAIN') return { code: DnsErrorCode.NOTFOUND, detail: 'the name does not exist' };
  if (res.truncated) {
    const detail = `the answer was truncated even over TCP (${res.answers.length} records kept): the record set is incomplete, more than a 65,535-byte message holds`;
    return { code: DnsErrorCode.BADRESP, detail };
  }
  // The answer's owners read in presentation form: the name asked is compared in that form too.
  const selection = selectRecords(res.answers, presentationName(res.name), type);
  if ('error' in selection) return { code: DnsErrorCode.BADRESP, detail: selection.error };
  const value = srv ? srvWithGlue(selection.records, res.additionals) : addressesOf(selection.records, withTtl);
  if (value.length === 0) return { code: DnsErrorCode.NODATA, detail: `no ${type} records` };
  return { value };
}
