/**
 * DNS messages on the wire: encoding queries and checking + decoding responses.
 * dns-packet encodes queries and decodes every record type but the common few. For untrusted
 * input this module first runs a bounded structural scan (pointer chains, lengths, counts, rdata
 * sizes), so a hostile packet costs bounded work and fails with one error, `EBADRESP`; then it
 * reads A, AAAA, SRV, CNAME, PTR and NS itself with one name cache per message, which makes a
 * 1,000-record answer several times cheaper than decoding every owner name again.
 * Names come out in presentation form (`\.`, `\\`, `\DDD` for odd bytes, as dig prints them), and a
 * TTL with its high bit set reads as 0 (RFC 2181 8).
 */
import dnsPacket from 'dns-packet';
import { DnsError, DnsErrorCode } from './errors.js';

/** Record types {@link DnsClient.query} asks for, with their wire numbers. */
export const QUERY_TYPES = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  DNAME: 39,
  CAA: 257,
  ANY: 255,
} as const;

/** A record type {@link DnsClient.query} can ask for. */
export type QueryType = keyof typeof QUERY_TYPES;

/** Response codes (RFC 1035 and RFC 6891 extended ones), as dns-packet names them. */
export type Rcode =
  | 'NOERROR'
  | 'FORMERR'
  | 'SERVFAIL'
  | 'NXDOMAIN'
  | 'NOTIMP'
  | 'REFUSED'
  | 'YXDOMAIN'
  | 'YXRRSET'
  | 'NXRRSET'
  | 'NOTAUTH'
  | 'NOTZONE'
  | 'BADVERS'
  | `RCODE_${number}`;

/** Fields every resource record has. */
export interface DnsRecordBase {
  /** Owner name, without trailing dot. */
  name: string;
  /** Time to live in seconds, as received. */
  ttl: number;
  /** `'IN'` in practice. */
  class: string;
}
/** An A (`data`: `'10.1.2.3'`) or AAAA (`data`: `'fd00::3'`) record. */
export interface AddressRecord extends DnsRecordBase {
  type: 'A' | 'AAAA';
  data: string;
}
/** A record whose data is one name: CNAME, PTR, NS, DNAME (`data` without trailing dot). */
export interface NameRecord extends DnsRecordBase {
  type: 'CNAME' | 'PTR' | 'NS' | 'DNAME';
  data: string;
}
/** An SRV record. */
export interface SrvRecord extends DnsRecordBase {
  type: 'SRV';
  data: { priority: number; weight: number; port: number; target: string };
}
/** An SOA record (negative answers carry one in the authority section). */
export interface SoaRecord extends DnsRecordBase {
  type: 'SOA';
  data: { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };
}
/** An MX record. */
export interface MxRecord extends DnsRecordBase {
  type: 'MX';
  data: { preference: number; exchange: string };
}
/** A TXT record: its character-strings as bytes. */
export interface TxtRecord extends DnsRecordBase {
  type: 'TXT';
  data: Buffer[];
}
/** Record types decoded without a specific shape here. */
export type OtherRecordType =
  | 'CAA'
  | 'NAPTR'
  | 'HINFO'
  | 'DNSKEY'
  | 'DS'
  | 'RRSIG'
  | 'NSEC'
  | 'NSEC3'
  | 'NSEC3PARAM'
  | 'TLSA'
  | 'SSHFP'
  | 'RP'
  | 'NULL'
  | 'AFSDB'
  | 'APL'
  | 'CDNSKEY'
  | 'CDS'
  | 'CERT'
  | 'DHCID'
  | 'DLV'
  | 'HIP'
  | 'IPSECKEY'
  | 'KEY'
  | 'KX'
  | 'LOC'
  | 'SIG'
  | 'TA'
  | 'TKEY'
  | 'TSIG'
  | 'URI'
  | 'IXFR'
  | 'AXFR'
  | 'ANY'
  | `UNKNOWN_${number}`;
/** Any other record, with dns-packet's decoding of its data. */
export interface OtherRecord extends DnsRecordBase {
  type: OtherRecordType;
  data: unknown;
}
/** A decoded resource record. Narrow on `type`. */
export type DnsRecord = AddressRecord | NameRecord | SrvRecord | SoaRecord | MxRecord | TxtRecord | OtherRecord;

/** A response after {@link decodeResponse}. */
export interface DecodedResponse {
  id: number;
  rcode: Rcode;
  /** TC: the server cut the answer to fit UDP. */
  truncated: boolean;
  /** AA: the server is authoritative for the name. */
  authoritative: boolean;
  answers: DnsRecord[];
  authorities: DnsRecord[];
  /** Additional records, without the EDNS OPT pseudo-record. */
  additionals: DnsRecord[];
}

/** Header flag bits (second and third bytes of the header). */
const QR = 0x80;
const OPCODE_MASK = 0x78;
const TC = 0x02;
const RD = 0x0100;
const HEADER_LENGTH = 12;
/** A real name has at most 127 labels, so no honest name needs more pointer hops. */
const MAX_POINTER_HOPS = 127;
/** dns-packet's own bound on a decoded name (sum of label lengths + 1 each). */
const MAX_NAME_WIRE = 254;
/** RFC 2181 8: a TTL is 31 bits; one with the most significant bit set is read as 0. */
const MAX_TTL = 0x7fffffff;
const DOT = 0x2e;
const BACKSLASH = 0x5c;

/** Smallest payload that carries an OPT record; 512 means plain DNS without EDNS. */
export const PLAIN_DNS_PAYLOAD = 512;

function bad(reason: string): never {
  throw new DnsError(DnsErrorCode.BADRESP, `bad DNS response: ${reason}`);
}

/**
 * Encodes a query for `name` (checked, without trailing dot) with ID 0 and RD set; the transport
 * writes the ID. Adds an EDNS(0) OPT record advertising `udpPayloadSize` when it is above 512.
 */
export function encodeQuery(name: string, type: QueryType, udpPayloadSize: number): Buffer {
  // dns-packet's types lack ANY and make every OPT field required; the encoder needs neither.
  const packet = {
    type: 'query',
    id: 0,
    flags: RD,
    questions: [{ type, name: name === '' ? '.' : name, class: 'IN' }],
    additionals: udpPayloadSize > PLAIN_DNS_PAYLOAD ? [{ type: 'OPT', name: '.', udpPayloadSize }] : [],
  } as unknown as dnsPacket.Packet;
  return dnsPacket.encode(packet);
}

/** Offset just past the question section of a query made by {@link encodeQuery} for `name`. */
export function questionEnd(name: string): number {
  return HEADER_LENGTH + (name === '' ? 1 : name.length + 2) + 4;
}

/** The ID of a message of at least 12 bytes. */
export function messageId(msg: Uint8Array): number {
  return (msg[0]! << 8) | msg[1]!;
}

/** True when the TC bit is set. */
export function isTruncated(msg: Uint8Array): boolean {
  return (msg[2]! & TC) !== 0;
}

/** ASCII case-insensitive equality of two bytes (letters only fold). */
function sameByte(a: number, b: number): boolean {
  if (a === b) return true;
  const la = a | 0x20;
  return la === (b | 0x20) && la >= 0x61 && la <= 0x7a;
}

/**
 * RFC 5452 acceptance test of a response to `query` (whose question ends at `qEnd`):
 * QR set, opcode QUERY, and the same single question (name case-insensitive, same type and class).
 * An error answer (not NOERROR/NXDOMAIN) may omit the question, as servers do for FORMERR:
 * it cannot carry records, so accepting it cannot poison anything.
 * The caller has already matched the ID and the source address.
 */
export function responseMatches(msg: Uint8Array, query: Uint8Array, qEnd: number): boolean {
  if (msg.length < HEADER_LENGTH) return false;
  if ((msg[2]! & QR) === 0 || (msg[2]! & OPCODE_MASK) !== 0) return false;
  const qdcount = (msg[4]! << 8) | msg[5]!;
  if (qdcount === 0) {
    const rcode = msg[3]! & 0x0f;
    return rcode !== 0 && rcode !== 3;
  }
  if (qdcount !== 1 || msg.length < qEnd) return false;
  const typeClass = qEnd - 4;
  for (let i = HEADER_LENGTH; i < typeClass; i++) if (!sameByte(msg[i]!, query[i]!)) return false;
  for (let i = typeClass; i < qEnd; i++) if (msg[i] !== query[i]) return false;
  return true;
}

function u16(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

/**
 * Walks one (possibly compressed) name at `off` and returns the offset just past it.
 * Its uncompressed part must end by `end`. Pointers must go strictly backward (as dns-packet
 * requires) and at most {@link MAX_POINTER_HOPS} times, so a pointer chain costs bounded work.
 */
export function scanName(buf: Uint8Array, off: number, end: number): number {
  let pos = off;
  let floor = off; // a pointer must point before the start of the segment it ends
  let after = -1; // offset past the name in the record, fixed at the first pointer
  let hops = 0;
  let wire = 0;
  let limit = end; // after the first pointer, labels may be anywhere before it
  for (;;) {
    if (pos >= limit) bad('name runs past the end');
    const len = buf[pos]!;
    if (len === 0) {
      pos += 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0) {
      if (pos + 1 + len > limit) bad('label runs past the end');
      wire += len + 1;
      if (wire > MAX_NAME_WIRE) bad('name longer than 255 octets');
      pos += 1 + len;
    } else if (kind === 0xc0) {
      if (pos + 2 > limit) bad('compression pointer runs past the end');
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= floor) bad('compression pointer does not point backward');
      if (++hops > MAX_POINTER_HOPS) bad('too many compression pointers');
      if (after === -1) {
        after = pos + 2;
        limit = buf.length;
      }
      pos = target;
      floor = target;
    } else {
      bad('unknown label type');
    }
  }
  return after === -1 ? pos : after;
}

/** Checks the rdata of one record of `type` in [off, end). */
function scanRdata(buf: Uint8Array, type: number, off: number, end: number): void {
  const rdlen = end - off;
  switch (type) {
    case 1: // A
      if (rdlen !== 4) bad(`A record of ${rdlen} bytes`);
      return;
    case 28: // AAAA
      if (rdlen !== 16) bad(`AAAA record of ${rdlen} bytes`);
      return;
    case 2: // NS
    case 5: // CNAME
    case 12: // PTR
    case 39: // DNAME
      if (scanName(buf, off, end) !== end) bad('name record with trailing bytes');
      return;
    case 15: // MX
      if (rdlen < 3 || scanName(buf, off + 2, end) !== end) bad('bad MX record');
      return;
    case 33: // SRV
      if (rdlen < 7 || scanName(buf, off + 6, end) !== end) bad('bad SRV record');
      return;
    // dns-packet decodes the names in these three itself, following pointers without a hop limit:
    // unchecked, one 64 KB answer naming the end of a long pointer chain 2,000 times costs quadratic work.
    case 17: // RP: mailbox and TXT domain names
      if (scanName(buf, scanName(buf, off, end), end) !== end) bad('bad RP record');
      return;
    case 46: // RRSIG: 18 fixed bytes, the signer's name, the signature
      if (rdlen < 19) bad('bad RRSIG record');
      scanName(buf, off + 18, end);
      return;
    case 47: // NSEC: the next name, then the type bitmap
      scanName(buf, off, end);
      return;
    case 6: {
      // SOA
      const o = scanName(buf, scanName(buf, off, end), end);
      if (o + 20 !== end) bad('bad SOA record');
      return;
    }
    case 16: {
      // TXT
      let o = off;
      while (o < end) o += 1 + buf[o]!;
      if (o !== end) bad('bad TXT record');
      return;
    }
    case 41: {
      // OPT: option code, length, data
      let o = off;
      while (o + 4 <= end) o += 4 + u16(buf, o + 2);
      if (o !== end) bad('bad OPT record');
      return;
    }
    case 35: {
      // NAPTR: order, preference, three character-strings, a name
      let o = off + 4;
      for (let i = 0; i < 3; i++) {
        if (o >= end) bad('bad NAPTR record');
        o += 1 + buf[o]!;
      }
      if (o > end || scanName(buf, o, end) !== end) bad('bad NAPTR record');
      return;
    }
    default:
      return;
  }
}

/**
 * Structural check of a whole message in bounded work: header, every name (bounded pointer
 * chains), every record inside the buffer with consistent rdata lengths, and counts that do not
 * claim more records than are there. Throws {@link DnsError} `EBADRESP`.
 */
export function scanMessage(buf: Uint8Array): void {
  if (buf.length < HEADER_LENGTH) bad(`${buf.length} bytes is shorter than a DNS header`);
  const qd = u16(buf, 4);
  let off = HEADER_LENGTH;
  for (let i = 0; i < qd; i++) {
    if (off >= buf.length) bad(`question count says ${qd} but the message ends after ${i}`);
    off = scanName(buf, off, buf.length) + 4;
    if (off > buf.length) bad('question runs past the end');
  }
  const records = u16(buf, 6) + u16(buf, 8) + u16(buf, 10);
  for (let i = 0; i < records; i++) {
    if (off >= buf.length) bad(`record count says ${records} but the message ends after ${i}`);
    off = scanName(buf, off, buf.length);
    if (off + 10 > buf.length) bad('record runs past the end');
    const type = u16(buf, off);
    const end = off + 10 + u16(buf, off + 8);
    if (end > buf.length) bad('record data runs past the end');
    scanRdata(buf, type, off + 10, end);
    off = end;
  }
}

/** Full rcode: the header's 4 bits plus the OPT record's extended bits (RFC 6891). */
function fullRcode(header: number, extended: number): Rcode {
  const code = (extended << 4) | header;
  switch (code) {
    case 0:
      return 'NOERROR';
    case 1:
      return 'FORMERR';
    case 2:
      return 'SERVFAIL';
    case 3:
      return 'NXDOMAIN';
    case 4:
      return 'NOTIMP';
    case 5:
      return 'REFUSED';
    case 6:
      return 'YXDOMAIN';
    case 7:
      return 'YXRRSET';
    case 8:
      return 'NXRRSET';
    case 9:
      return 'NOTAUTH';
    case 10:
      return 'NOTZONE';
    case 16:
      return 'BADVERS';
    default:
      return `RCODE_${code}`;
  }
}

/** One label with `.` and `\` escaped and bytes outside printable ASCII as `\DDD`. */
function escapedLabel(buf: Buffer, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c <= 0x20 || c >= 0x7f) out += `\\${String(c).padStart(3, '0')}`;
    else if (c === DOT || c === BACKSLASH) out += `\\${String.fromCharCode(c)}`;
    else out += String.fromCharCode(c);
  }
  return out;
}

/** dns-packet's per-record codecs, exported by the package but absent from its type definitions. */
interface DnsPacketCodecs {
  answer: { decode(buf: Buffer, offset: number): DnsRecord };
  aaaa: { decode(buf: Buffer, offset: number): string };
}
const codecs = dnsPacket as unknown as DnsPacketCodecs;

/** 1 for the bytes a name cannot show as themselves: outside printable ASCII, `.` and `\`. */
const NEEDS_ESCAPE = new Uint8Array(256).map((_, c) => (c <= 0x20 || c >= 0x7f || c === DOT || c === BACKSLASH ? 1 : 0));

/**
 * Scratch for the text of one name while it is decoded. {@link scanMessage} bounds a name to
 * 254 octets on the wire, so its text fits. It holds nothing between calls (decoding is synchronous).
 */
const nameScratch = Buffer.allocUnsafe(256);

/**
 * Reads the records of a message that {@link scanMessage} accepted. Names are decoded once per
 * offset (a 1,000-record answer names every record with the same pointer); A, AAAA, SRV and the
 * one-name types are read here, every other record by dns-packet's own record decoder.
 */
class RecordReader {
  /** Decoded names by the offset they start at ('' for the root). */
  private readonly names = new Map<number, string>();
  /** Offset just past the last name read, in the record that holds it. */
  private end = 0;
  off = HEADER_LENGTH;
  /** High bits of the rcode from the first OPT record of the additional section (RFC 6891), or -1. */
  extendedRcode = -1;

  constructor(private readonly buf: Buffer) {}

  /**
   * The name at `start` (labels, then a root or a pointer); sets {@link end}. A name that is
   * only a pointer (the owner of every record of a big answer) returns the string decoded before.
   */
  private name(start: number): string {
    const buf = this.buf;
    const first = buf[start]!;
    if (first >= 0xc0) {
      const target = ((first & 0x3f) << 8) | buf[start + 1]!;
      const text = this.names.get(target) ?? this.decodeName(target);
      this.end = start + 2;
      return text;
    }
    return this.decodeName(start);
  }

  /**
   * Decodes the name at `start` into one flat string and caches it by offset; sets {@link end}.
   * The labels are copied, pointers followed, into a scratch buffer that becomes one string: one
   * string made per name instead of one per label plus the joins (the cost that dominated decoding).
   */
  private decodeName(start: number): string {
    const buf = this.buf;
    const out = nameScratch;
    let off = start;
    let n = 0;
    let end = -1;
    let odd = 0;
    for (;;) {
      const len = buf[off]!;
      if (len === 0) {
        if (end === -1) end = off + 1;
        break;
      }
      if (len >= 0xc0) {
        if (end === -1) end = off + 2;
        off = ((len & 0x3f) << 8) | buf[off + 1]!;
        continue;
      }
      if (n > 0) out[n++] = 0x2e;
      for (let i = off + 1, last = off + 1 + len; i < last; i++) {
        const c = buf[i]!;
        odd |= NEEDS_ESCAPE[c]!; // a table load, not four compares per byte (this loop is the hot one)
        out[n++] = c;
      }
      off += 1 + len;
    }
    this.end = end;
    // Printable ASCII is its own text; a name with other bytes is escaped label by label.
    const text = odd !== 0 ? this.escapedName(start) : out.toString('latin1', 0, n);
    this.names.set(start, text);
    return text;
  }

  /**
   * The name at `start` in presentation form (RFC 1035 5.1, as dig and node:dns's c-ares print it):
   * `.` and `\` escaped, bytes outside printable ASCII as `\DDD`. A label `a.b` never reads as two.
   */
  private escapedName(start: number): string {
    const buf = this.buf;
    const labels: string[] = [];
    let off = start;
    for (;;) {
      const len = buf[off]!;
      if (len === 0) break;
      if (len >= 0xc0) {
        off = ((len & 0x3f) << 8) | buf[off + 1]!;
        continue;
      }
      labels.push(escapedLabel(buf, off + 1, off + 1 + len));
      off += 1 + len;
    }
    return labels.join('.');
  }

  /** A name in dns-packet's form: the root is '.'. */
  private outName(start: number): string {
    const name = this.name(start);
    return name === '' ? '.' : name;
  }

  skipQuestions(count: number): void {
    for (let i = 0; i < count; i++) this.off = scanName(this.buf, this.off, this.buf.length) + 4;
  }

  records(count: number): DnsRecord[] {
    const out = new Array<DnsRecord>(count);
    for (let i = 0; i < count; i++) out[i] = this.record(false)!;
    return out;
  }

  /**
   * Records of the additional section without the OPT pseudo-record: EDNS signalling, not data.
   * The first OPT's extended rcode goes to {@link extendedRcode}.
   */
  additionals(count: number): DnsRecord[] {
    const out: DnsRecord[] = [];
    for (let i = 0; i < count; i++) {
      const rec = this.record(true);
      if (rec !== null) out.push(rec);
    }
    return out;
  }

  /** The next record; null for an OPT record when `skipOpt` (read without dns-packet). */
  private record(skipOpt: boolean): DnsRecord | null {
    const buf = this.buf;
    const start = this.off;
    const name = this.outName(start);
    const off = this.end;
    const type = u16(buf, off);
    const klass = u16(buf, off + 2);
    const rd = off + 10;
    this.off = rd + u16(buf, off + 8);
    if (type === 41 && skipOpt) {
      // OPT's TTL field: extended rcode, version, flags.
      if (this.extendedRcode === -1) this.extendedRcode = buf[off + 4]!;
      return null;
    }
    if (klass === 1) {
      const raw = buf.readUInt32BE(off + 4);
      const ttl = raw > MAX_TTL ? 0 : raw;
      switch (type) {
        case 1:
          return { name, type: 'A', ttl, class: 'IN', data: `${buf[rd]}.${buf[rd + 1]}.${buf[rd + 2]}.${buf[rd + 3]}` };
        case 28:
          return { name, type: 'AAAA', ttl, class: 'IN', data: codecs.aaaa.decode(buf, off + 8) };
        case 33: {
          const data = { priority: u16(buf, rd), weight: u16(buf, rd + 2), port: u16(buf, rd + 4), target: this.outName(rd + 6) };
          return { name, type: 'SRV', ttl, class: 'IN', data };
        }
        case 5:
          return { name, type: 'CNAME', ttl, class: 'IN', data: this.outName(rd) };
        case 12:
          return { name, type: 'PTR', ttl, class: 'IN', data: this.outName(rd) };
        case 2:
          return { name, type: 'NS', ttl, class: 'IN', data: this.outName(rd) };
        default:
          break;
      }
    }
    const rec = codecs.answer.decode(buf, start);
    if (rec.ttl > MAX_TTL) rec.ttl = 0;
    return rec;
  }
}

/**
 * Checks (see {@link scanMessage}) and decodes a response, once. Throws only
 * {@link DnsError} `EBADRESP`, whatever the bytes.
 */
export function decodeResponse(buf: Buffer): DecodedResponse {
  scanMessage(buf);
  let answers: DnsRecord[];
  let authorities: DnsRecord[];
  let additionals: DnsRecord[];
  let extended: number;
  try {
    const reader = new RecordReader(buf);
    reader.skipQuestions(u16(buf, 4));
    answers = reader.records(u16(buf, 6));
    authorities = reader.records(u16(buf, 8));
    additionals = reader.additionals(u16(buf, 10));
    extended = Math.max(0, reader.extendedRcode);
  } catch (err) {
    throw new DnsError(DnsErrorCode.BADRESP, `bad DNS response: ${(err as Error).message}`, { cause: err });
  }
  return {
    id: u16(buf, 0),
    rcode: fullRcode(buf[3]! & 0x0f, extended),
    truncated: (buf[2]! & TC) !== 0,
    authoritative: (buf[2]! & 0x04) !== 0,
    answers,
    authorities,
    additionals,
  };
}
