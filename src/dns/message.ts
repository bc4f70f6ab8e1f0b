/**
 * DNS messages on the wire: encoding queries and checking + decoding responses.
 * dns-packet encodes queries and decodes every record type but the common few. For untrusted
 * input a bounded structural scan runs first (wire-scan.ts: pointer chains, lengths, counts,
 * rdata sizes), so a hostile packet costs bounded work and fails with one error, `EBADRESP`; then
 * the record reader (record-reader.ts) reads A, AAAA, SRV, CNAME, PTR and NS itself with one name
 * cache per message, which makes a 1,000-record answer several times cheaper than decoding every
 * owner name again. Names come out in presentation form (wire-name.ts). resolve4/6 and resolveSrv
 * read a plain answer in one pass instead (fast-answer.ts) and fall back to this decoder.
 */
import dnsPacket from 'dns-packet';
import { DnsError, DnsErrorCode } from './errors.js';
import { RecordReader, fullRcode } from './record-reader.js';
import { scanMessage } from './wire-scan.js';
import { HEADER_LENGTH, OPCODE_MASK, QR, RD, TC, sameByte, u16 } from './wire.js';

export { scanMessage, scanName } from './wire-scan.js';

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

/** Smallest payload that carries an OPT record; 512 means plain DNS without EDNS. */
export const PLAIN_DNS_PAYLOAD = 512;

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
