/**
 * Reads the records of a message the scanner accepted (see wire-scan.ts): A, AAAA, SRV, CNAME,
 * PTR and NS here, with one name cache per message, every other record by dns-packet's own
 * record decoder. A TTL with its high bit set reads as 0 (RFC 2181 8).
 */
import type { DnsRecord, Rcode } from './message.js';
import { nameEnd, nameText } from './wire-name.js';
import { scanName } from './wire-scan.js';
import { HEADER_LENGTH, MAX_TTL, codecs, ipv4At, ttlAt, u16 } from './wire.js';

/** Full rcode: the header's 4 bits plus the OPT record's extended bits (RFC 6891). */
export function fullRcode(header: number, extended: number): Rcode {
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

/**
 * Reads the records of a message that the scanner accepted. Names are decoded once per offset
 * (a 1,000-record answer names every record with the same pointer).
 */
export class RecordReader {
  /** Decoded names by the offset they start at ('' for the root). */
  private readonly names = new Map<number, string>();
  /** Offset just past the last name read, in the record that holds it. */
  private end = 0;
  /** Where the next record (or question) starts. */
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

  /** Decodes the name at `start` and caches it by offset; sets {@link end}. */
  private decodeName(start: number): string {
    const text = nameText(this.buf, start);
    this.end = nameEnd.offset;
    this.names.set(start, text);
    return text;
  }

  /** A name in dns-packet's form: the root is '.'. */
  private outName(start: number): string {
    const name = this.name(start);
    return name === '' ? '.' : name;
  }

  /** Steps over `count` questions. */
  skipQuestions(count: number): void {
    for (let i = 0; i < count; i++) this.off = scanName(this.buf, this.off, this.buf.length) + 4;
  }

  /** The next `count` records. */
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
      const ttl = ttlAt(buf, off + 4);
      switch (type) {
        case 1:
          return { name, type: 'A', ttl, class: 'IN', data: ipv4At(buf, rd) };
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
