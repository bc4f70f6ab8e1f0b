/**
 * The plain answer of resolve4, resolve6 and resolveSrv read in one pass, straight from the
 * buffer into the result: no record objects, owner names compared as wire bytes (the owner of
 * nearly every answer record is a pointer to the question), a name decoded only for the SRV
 * targets returned. Anything else (another rcode, a CNAME, a record of another owner or type or
 * class, authority records, an odd glue spelling, malformed data) returns null, and the caller
 * takes the full path: the scanner, the record reader and answers.ts, which give every bad input
 * its typed error. Every name read here passes the same scanner checks first (wire-scan.ts).
 */
import type { RecordWithTtl, SrvAddress, SrvRecordWithAddresses } from './types.js';
import { NameMatch, compareNames, nameEnd, nameText } from './wire-name.js';
import { scanName, scanRdata } from './wire-scan.js';
import { HEADER_LENGTH, TC, codecs, ipv4At, ttlAt, u16 } from './wire.js';

/** What {@link fastAnswer} reads: addresses (as strings or with their TTL) or SRV records. */
export type FastAnswer = (string | RecordWithTtl)[] | SrvRecordWithAddresses[];

/** Wire type numbers the fast path reads. */
const A = 1;
const AAAA = 28;
const SRV = 33;
const OPT = 41;
/** Two-byte compression pointer to offset 12, where the question's name starts. */
const POINTER_TO_QUESTION_0 = 0xc0;
const POINTER_TO_QUESTION_1 = HEADER_LENGTH;

/**
 * The result of a NOERROR answer to a question of type `qtype` (1, 28 or 33) whose answer
 * records are all of that type, class IN, owned by the name asked; for SRV with the A/AAAA glue
 * of the additional section paired by exact target name. Null when the answer is anything else,
 * or in doubt: the caller then decodes it the full way, which gives the same result or the error.
 *
 * `questionEnd` is where the question of our query ends: the answer must have passed
 * `responseMatches` (one question, the same as ours: a valid uncompressed name), as the
 * transports check before they hand an answer over.
 */
export function fastAnswer(buf: Buffer, qtype: number, withTtl: boolean, questionEnd: number): FastAnswer | null {
  try {
    return read(buf, qtype, withTtl, questionEnd);
  } catch {
    // A scanner check failed: the full path throws the typed error for it.
    return null;
  }
}

function read(buf: Buffer, qtype: number, withTtl: boolean, questionEnd: number): FastAnswer | null {
  const len = buf.length;
  if (len < HEADER_LENGTH) return null;
  // NOERROR (the OPT record's extended bits are checked below), not truncated, one question,
  // some answers, no authority records.
  if ((buf[3]! & 0x0f) !== 0 || (buf[2]! & TC) !== 0 || u16(buf, 4) !== 1 || u16(buf, 8) !== 0) return null;
  const count = u16(buf, 6);
  if (count === 0) return null;
  if (questionEnd > len || u16(buf, questionEnd - 4) !== qtype || u16(buf, questionEnd - 2) !== 1) return null;
  let off = questionEnd;
  const srv = qtype === SRV;
  const out: (string | RecordWithTtl | SrvRecordWithAddresses)[] = [];
  /** Where each SRV record's target name starts, by index in `out`. */
  const targets: number[] = [];
  /** SRV targets without a pointer of their own: the scanner's walk from a pointer to one is one hop. */
  let flat = 0;
  for (let i = 0; i < count; i++) {
    if (off >= len) return null;
    let end: number;
    if (buf[off] === POINTER_TO_QUESTION_0 && buf[off + 1] === POINTER_TO_QUESTION_1) end = off + 2;
    else {
      end = scanName(buf, off, len);
      // A record of another owner (or a CNAME chain) is the full path's to sort out.
      if (compareNames(buf, off, HEADER_LENGTH) === NameMatch.Different) return null;
    }
    if (end + 10 > len) return null;
    const rd = end + 10;
    const rdEnd = rd + u16(buf, end + 8);
    if (rdEnd > len || u16(buf, end) !== qtype || u16(buf, end + 2) !== 1) return null;
    const ttl = ttlAt(buf, end + 4);
    if (qtype === A) {
      if (rdEnd - rd !== 4) return null;
      const address = ipv4At(buf, rd);
      out.push(withTtl ? { address, ttl } : address);
    } else if (qtype === AAAA) {
      if (rdEnd - rd !== 16) return null;
      const address = codecs.aaaa.decode(buf, end + 8);
      out.push(withTtl ? { address, ttl } : address);
    } else {
      if (rdEnd - rd < 7 || scanName(buf, rd + 6, rdEnd) !== rdEnd) return null;
      const target = nameText(buf, rd + 6);
      if (!nameEnd.compressed) flat++;
      out.push({ name: target === '' ? '.' : target, port: u16(buf, rd + 4), priority: u16(buf, rd), weight: u16(buf, rd + 2), ttl, addresses: [] });
      targets.push(rd + 6);
    }
    off = rdEnd;
  }
  const additional = u16(buf, 10);
  /** Made at the first glue record (see targetGroups). */
  let groups: number[] | null = null;
  let sawOpt = false;
  for (let i = 0; i < additional; i++) {
    if (off >= len) return null;
    const start = off;
    // Glue's owner is most often a pointer back to a target checked above: when no target has a
    // pointer, following it is one hop to a name already checked, so it is not walked again.
    const pointed = flat === targets.length && buf[off]! >= 0xc0 ? targetAt(targets, ((buf[off]! & 0x3f) << 8) | buf[off + 1]!, off) : -1;
    const end = pointed !== -1 ? off + 2 : scanName(buf, off, len);
    if (end + 10 > len) return null;
    const type = u16(buf, end);
    const rd = end + 10;
    const rdEnd = rd + u16(buf, end + 8);
    if (rdEnd > len) return null;
    if (type === OPT) {
      scanRdata(buf, OPT, rd, rdEnd);
      // The first OPT's extended rcode bits: any set means the rcode is not NOERROR.
      if (!sawOpt && buf[end + 4] !== 0) return null;
      sawOpt = true;
    } else if ((type === A || type === AAAA) && u16(buf, end + 2) === 1) {
      if (rdEnd - rd !== (type === A ? 4 : 16)) return null;
      if (srv) {
        groups ??= targetGroups(buf, targets);
        if (groups === null || !glue(buf, start, end, type, out as SrvRecordWithAddresses[], targets, groups, pointed)) return null;
      }
    } else {
      return null;
    }
    off = rdEnd;
  }
  return out as FastAnswer;
}

/** The index of the SRV target that starts at `offset`, before `before`; -1 if none. */
function targetAt(targets: number[], offset: number, before: number): number {
  if (offset >= before) return -1;
  for (let t = 0; t < targets.length; t++) if (targets[t] === offset) return t;
  return -1;
}

/** More SRV records than this: the full path pairs their glue (by a map, not pairwise). */
const MAX_FAST_TARGETS = 64;

/**
 * For each SRV target, the index of the first target with the same bytes (itself if none), so
 * glue that points at one target is paired with all its equals without comparing names again.
 * Null when two targets differ only in case (the full path folds them) or there are too many.
 */
function targetGroups(buf: Buffer, targets: number[]): number[] | null {
  const n = targets.length;
  if (n > MAX_FAST_TARGETS) return null;
  const groups = new Array<number>(n);
  for (let t = 0; t < n; t++) {
    groups[t] = t;
    for (let u = 0; u < t; u++) {
      if (groups[u] !== u) continue;
      const match = compareNames(buf, targets[t]!, targets[u]!);
      if (match === NameMatch.SameIgnoringCase) return null;
      if (match === NameMatch.Same) {
        groups[t] = u;
        break;
      }
    }
  }
  return groups;
}

/**
 * Adds the address of the glue record owned by the name at `owner` (fixed fields at `end`) to the
 * SRV records whose target is that name, byte for byte (`pointed`: the index of the target the
 * owner points at, or -1 to compare). False when it matches a target only
 * ignoring case: the full path pairs such spellings (exact names first, then folded).
 */
function glue(buf: Buffer, owner: number, end: number, type: number, records: SrvRecordWithAddresses[], targets: number[], groups: number[], pointed: number): boolean {
  // The common case: the owner is a pointer to one target's name in its SRV record.
  let group = pointed === -1 ? -1 : groups[pointed]!;
  if (group === -1) {
    for (let t = 0; t < targets.length; t++) {
      if (groups[t] !== t) continue;
      const match = compareNames(buf, owner, targets[t]!);
      if (match === NameMatch.SameIgnoringCase) return false;
      if (match === NameMatch.Same) {
        group = t;
        break;
      }
    }
    if (group === -1) return true; // glue of no target: ignored, as the full path does
  }
  const rd = end + 10;
  const ttl = ttlAt(buf, end + 4);
  const address: SrvAddress =
    type === A
      ? { address: ipv4At(buf, rd), family: 4, ttl }
      : { address: codecs.aaaa.decode(buf, end + 8), family: 6, ttl };
  for (let t = group; t < targets.length; t++) if (groups[t] === group) records[t]!.addresses.push(address);
  return true;
}
