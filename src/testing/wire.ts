import dnsPacket from 'dns-packet';
import type { ZoneRecord } from './zone.js';

/*
 * The DNS wire format on the server side. Queries are read here, not with dns-packet's
 * decode, because a server must see the question exactly as sent (raw labels, to echo
 * them and to refuse what is not a name) and must check every count and length, which
 * dns-packet's decoders do not (its A decoder ignores RDLENGTH). Responses are written
 * here because they need name compression (dns-packet writes none: 1,000 SRV records
 * would not fit in 65,535 bytes); record data without names is written by dns-packet.
 */

/** Size of the DNS header. */
export const HEADER_SIZE = 12;
/** Largest DNS message (the TCP length prefix is 16 bits). */
export const MAX_MESSAGE_SIZE = 65_535;
/** Largest UDP payload over IPv4 (65,535 - 20 - 8). */
export const MAX_UDP_SIZE = 65_507;
/** UDP limit without EDNS (RFC 1035). */
export const CLASSIC_UDP_SIZE = 512;

/** Record type numbers used here. */
export const TYPE = { A: 1, NS: 2, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, IXFR: 251, AXFR: 252, ANY: 255 } as const;
/** Class numbers used here. */
export const CLASS = { IN: 1, CH: 3, HS: 4, ANY: 255 } as const;
/** Response codes (the 4-bit header part). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_CD = 0x0010;
const EDNS_DO = 0x8000;

/** The question of a query, as sent. */
export interface WireQuestion {
  /** Raw labels (latin1: one char per byte), case as sent. */
  labels: string[];
  type: number;
  class: number;
}

/** The EDNS(0) OPT record of a query. */
export interface WireEdns {
  /** The requestor's UDP payload size. */
  udpPayloadSize: number;
  version: number;
  /** DNSSEC OK bit (copied back, RFC 3225). */
  dnssecOk: boolean;
}

/** What a server reads from a message: header fields always, the rest when it decodes. */
export interface WireQuery {
  id: number;
  /** 4-bit opcode (0 = QUERY). */
  opcode: number;
  /** QR bit: the message is a response. */
  response: boolean;
  recursionDesired: boolean;
  checkingDisabled: boolean;
  /** The question when the message has exactly one that decodes. */
  question: WireQuestion | null;
  edns: WireEdns | null;
  /** Why the message cannot be answered normally (FORMERR), or null. */
  malformed: string | null;
}

/**
 * Reads a query. Returns null when the message is shorter than a header (no ID to answer to).
 * Never throws: every defect is reported in `malformed`.
 */
export function readQuery(buf: Uint8Array): WireQuery | null {
  if (buf.length < HEADER_SIZE) return null;
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const flags = view.readUInt16BE(2);
  const query: WireQuery = {
    id: view.readUInt16BE(0),
    opcode: (flags >> 11) & 0xf,
    response: (flags & FLAG_QR) !== 0,
    recursionDesired: (flags & FLAG_RD) !== 0,
    checkingDisabled: (flags & FLAG_CD) !== 0,
    question: null,
    edns: null,
    malformed: null,
  };
  const counts = [view.readUInt16BE(4), view.readUInt16BE(6), view.readUInt16BE(8), view.readUInt16BE(10)] as const;
  const qdcount = counts[0];
  try {
    let offset = HEADER_SIZE;
    if (qdcount === 1) {
      const { labels, end } = readQuestionName(view, offset);
      if (end + 4 > view.length) throw new Error('question cut short');
      query.question = { labels, type: view.readUInt16BE(end), class: view.readUInt16BE(end + 2) };
      offset = end + 4;
    } else {
      for (let i = 0; i < qdcount; i++) offset = skipName(view, offset) + 4;
    }
    for (let section = 1; section <= 3; section++) {
      for (let i = 0; i < counts[section]!; i++) {
        const owner = offset;
        offset = skipName(view, offset);
        if (offset + 10 > view.length) throw new Error('record cut short');
        const type = view.readUInt16BE(offset);
        const rdlength = view.readUInt16BE(offset + 8);
        if (offset + 10 + rdlength > view.length) throw new Error('record data cut short');
        if (type === TYPE.OPT) {
          if (section !== 3) throw new Error('OPT outside the additional section');
          if (query.edns) throw new Error('more than one OPT record');
          if (view[owner] !== 0) throw new Error('OPT owner is not the root');
          query.edns = {
            udpPayloadSize: view.readUInt16BE(offset + 2),
            version: view[offset + 5]!,
            dnssecOk: (view.readUInt16BE(offset + 6) & EDNS_DO) !== 0,
          };
        }
        offset += 10 + rdlength;
      }
    }
    if (offset !== view.length) throw new Error(`${view.length - offset} bytes after the message`);
    if (qdcount !== 1) throw new Error(`${qdcount} questions`);
    if (query.response) throw new Error('QR set: a response, not a query');
  } catch (err) {
    query.malformed = err instanceof Error ? err.message : String(err);
  }
  return query;
}

/** A question name: labels only (a query has nothing earlier to point at), 255 octets at most. */
function readQuestionName(buf: Buffer, start: number): { labels: string[]; end: number } {
  const labels: string[] = [];
  let offset = start;
  for (;;) {
    if (offset >= buf.length) throw new Error('name cut short');
    const len = buf[offset]!;
    if (len === 0) break;
    if (len > 63) throw new Error('compressed or bad label in the question');
    if (offset + 1 + len > buf.length) throw new Error('label cut short');
    labels.push(buf.toString('latin1', offset + 1, offset + 1 + len));
    offset += 1 + len;
    if (offset - start + 1 > 255) throw new Error('name longer than 255 octets');
  }
  return { labels, end: offset + 1 };
}

/** Skips a name anywhere in a message: labels, then a root or a pointer (pointers are not followed, only bounded). */
function skipName(buf: Buffer, start: number): number {
  let offset = start;
  for (;;) {
    if (offset >= buf.length) throw new Error('name cut short');
    const len = buf[offset]!;
    if (len === 0) return offset + 1;
    if ((len & 0xc0) === 0xc0) {
      if (offset + 2 > buf.length) throw new Error('pointer cut short');
      // Only pointers backwards into names already read can be valid; anything else may loop.
      if ((buf.readUInt16BE(offset) & 0x3fff) >= start) throw new Error('compression pointer forward or looping');
      return offset + 2;
    }
    if (len > 63) throw new Error('bad label type');
    offset += 1 + len;
    if (offset - start > 255) throw new Error('name longer than 255 octets');
  }
}

/** A record to write: owner name as labels, TTL, and data. */
export interface WireRecord {
  owner: readonly string[];
  ttl: number;
  record: ZoneRecord;
}

/** What to write in a response. */
export interface WireResponse {
  rcode: number;
  authoritative: boolean;
  answers: readonly WireRecord[];
  authorities: readonly WireRecord[];
  additionals: readonly WireRecord[];
}

/** How a response is written. */
export interface WriteOptions {
  /** Size limit of the message. */
  limit: number;
  /**
   * What to do when the answer and authority sections do not fit: `'empty'` (UDP) sets TC
   * and leaves every section empty, so the client asks again over TCP; `'cut'` (TCP)
   * keeps the records that fit, up to a record boundary, and sets TC.
   * Additional records (glue) that do not fit are left out without TC (RFC 2181 9).
   */
  overflow: 'empty' | 'cut';
  /** Set TC and leave every section empty even when the answer fits (fault injection). */
  forceTruncate?: boolean;
  /** The EDNS payload size to advertise when the query had an OPT record. */
  ednsPayloadSize?: number;
}

/** Names of the label array, as a compression-map key: the wire form, which is unambiguous. */
const wireKey = (labels: readonly string[], from: number): string => {
  let key = '';
  for (let i = from; i < labels.length; i++) key += String.fromCharCode(labels[i]!.length) + labels[i];
  return key;
};

/** Raw record-data codecs of dns-packet (exported at run time, not in its type declarations). */
interface RdataCodec {
  encode: ((data: unknown, buf: Buffer, offset: number) => Buffer) & { bytes: number };
}
const codecs = dnsPacket as unknown as { a: RdataCodec; aaaa: RdataCodec; txt: RdataCodec };

/** Splits a text name (no escapes: the zone's own names) into labels. */
export function labelsOf(name: string): string[] {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return bare === '' ? [] : bare.split('.');
}

/**
 * Writes DNS responses with name compression and size limits, record by record, so that
 * a record that does not fit is rolled back whole.
 */
class MessageWriter {
  readonly buf: Buffer;
  offset = HEADER_SIZE;
  readonly #names = new Map<string, number>();
  readonly #added: string[] = [];

  constructor(capacity: number) {
    // Every byte of the returned message is written, so the buffer need not be zeroed.
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Writes a name; `compress` false writes every label (SRV targets, RFC 2782) but still lets later names point at it. */
  name(labels: readonly string[], compress = true): void {
    for (let i = 0; i < labels.length; i++) {
      const key = wireKey(labels, i);
      const pointer = compress ? this.#names.get(key) : undefined;
      if (pointer !== undefined) {
        this.buf.writeUInt16BE(0xc000 | pointer, this.offset);
        this.offset += 2;
        return;
      }
      if (this.offset < 0x3fff && !this.#names.has(key)) {
        this.#names.set(key, this.offset);
        this.#added.push(key);
      }
      const label = labels[i]!;
      this.buf[this.offset] = label.length;
      this.buf.write(label, this.offset + 1, 'latin1');
      this.offset += 1 + label.length;
    }
    this.buf[this.offset++] = 0;
  }

  /** Current state, to roll back to. */
  mark(): { offset: number; names: number } {
    return { offset: this.offset, names: this.#added.length };
  }

  /** Forgets everything written after `mark`, compression targets included. */
  rollback(mark: { offset: number; names: number }): void {
    this.offset = mark.offset;
    while (this.#added.length > mark.names) this.#names.delete(this.#added.pop()!);
  }

  record({ owner, ttl, record }: WireRecord): void {
    this.name(owner);
    this.buf.writeUInt16BE(TYPE[record.type], this.offset);
    this.buf.writeUInt16BE(CLASS.IN, this.offset + 2);
    this.buf.writeUInt32BE(ttl >>> 0, this.offset + 4);
    this.offset += 8;
    const rdlength = this.offset;
    this.offset += 2;
    switch (record.type) {
      case 'A':
      case 'AAAA':
      case 'TXT': {
        const codec = codecs[record.type === 'A' ? 'a' : record.type === 'AAAA' ? 'aaaa' : 'txt'];
        // dns-packet writes RDLENGTH itself, in front of the data.
        codec.encode(record.data, this.buf, rdlength);
        this.offset = rdlength + codec.encode.bytes;
        return;
      }
      case 'SRV':
        this.buf.writeUInt16BE(record.data.priority, this.offset);
        this.buf.writeUInt16BE(record.data.weight, this.offset + 2);
        this.buf.writeUInt16BE(record.data.port, this.offset + 4);
        this.offset += 6;
        this.name(labelsOf(record.data.target), false);
        break;
      case 'PTR':
        this.name(labelsOf(record.data));
        break;
      case 'SOA': {
        const d = record.data;
        this.name(labelsOf(d.mname));
        this.name(labelsOf(d.rname));
        for (const n of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) {
          this.buf.writeUInt32BE(n >>> 0, this.offset);
          this.offset += 4;
        }
        break;
      }
    }
    this.buf.writeUInt16BE(this.offset - rdlength - 2, rdlength);
  }
}

/** Bytes an OPT record takes (no options). */
const OPT_SIZE = 11;
/** Largest record this server writes beyond the limit before it checks (SOA with two 255-octet names). */
const RECORD_SLACK = 1024;

/**
 * Writes the response to `query`. The question is echoed as sent. When the query has an
 * OPT record, the response has one too (payload `ednsPayloadSize`, DO copied) and a
 * BADVERS answer is the caller's job (rcode > 15 is written as extended RCODE).
 */
export function writeResponse(query: WireQuery, response: WireResponse, options: WriteOptions): Buffer {
  const limit = Math.min(options.limit, MAX_MESSAGE_SIZE);
  const w = new MessageWriter(limit + RECORD_SLACK);
  const question = query.question;
  if (question) {
    w.name(question.labels);
    w.buf.writeUInt16BE(question.type, w.offset);
    w.buf.writeUInt16BE(question.class, w.offset + 2);
    w.offset += 4;
  }
  const optSize = query.edns ? OPT_SIZE : 0;
  const room = limit - optSize;
  const afterQuestion = w.mark();
  let truncated = options.forceTruncate === true;
  const counts = [0, 0, 0];
  if (!truncated) {
    sections: for (const [index, records] of [response.answers, response.authorities].entries()) {
      for (const r of records) {
        const mark = w.mark();
        w.record(r);
        if (w.offset > room) {
          w.rollback(mark);
          truncated = true;
          break sections;
        }
        counts[index]!++;
      }
    }
    if (truncated && options.overflow === 'empty') {
      w.rollback(afterQuestion);
      counts[0] = counts[1] = 0;
    }
    if (!truncated) {
      for (const r of response.additionals) {
        const mark = w.mark();
        w.record(r);
        if (w.offset > room) {
          w.rollback(mark);
          break;
        }
        counts[2]!++;
      }
    }
  }
  if (query.edns) {
    w.buf[w.offset] = 0;
    w.buf.writeUInt16BE(TYPE.OPT, w.offset + 1);
    w.buf.writeUInt16BE(options.ednsPayloadSize ?? 1232, w.offset + 3);
    w.buf[w.offset + 5] = (response.rcode >> 4) & 0xff;
    w.buf[w.offset + 6] = 0;
    w.buf.writeUInt16BE(query.edns.dnssecOk ? EDNS_DO : 0, w.offset + 7);
    w.buf.writeUInt16BE(0, w.offset + 9);
    w.offset += OPT_SIZE;
    counts[2]!++;
  }
  let flags = FLAG_QR | (query.opcode << 11) | (response.rcode & 0xf);
  if (response.authoritative) flags |= FLAG_AA;
  if (truncated) flags |= FLAG_TC;
  if (query.recursionDesired) flags |= FLAG_RD;
  if (query.checkingDisabled) flags |= FLAG_CD;
  w.buf.writeUInt16BE(query.id, 0);
  w.buf.writeUInt16BE(flags, 2);
  w.buf.writeUInt16BE(question ? 1 : 0, 4);
  w.buf.writeUInt16BE(counts[0]!, 6);
  w.buf.writeUInt16BE(counts[1]!, 8);
  w.buf.writeUInt16BE(counts[2]!, 10);
  return Buffer.from(w.buf.subarray(0, w.offset));
}
