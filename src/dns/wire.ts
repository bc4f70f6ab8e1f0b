/**
 * Wire constants and small helpers shared by the message scanner, the record reader and the
 * answer fast path.
 */
import dnsPacket from 'dns-packet';
import { DnsError, DnsErrorCode } from './errors.js';
import type { DnsRecord } from './message.js';

/** QR: the message is a response (third byte of the header). */
export const QR = 0x80;
/** The opcode's bits in the third byte of the header. */
export const OPCODE_MASK = 0x78;
/** TC: truncated (third byte of the header). */
export const TC = 0x02;
/** RD: recursion desired (the flags as a 16-bit word). */
export const RD = 0x0100;
/** Bytes of the fixed header: the question starts here. */
export const HEADER_LENGTH = 12;
/** A real name has at most 127 labels, so no honest name needs more pointer hops. */
export const MAX_POINTER_HOPS = 127;
/** dns-packet's own bound on a decoded name (sum of label lengths + 1 each). */
export const MAX_NAME_WIRE = 254;
/** RFC 2181 8: a TTL is 31 bits; one with the most significant bit set is read as 0. */
export const MAX_TTL = 0x7fffffff;
/** `.` and `\\`, the two printable bytes a label shows escaped. */
export const DOT = 0x2e;
/** See {@link DOT}. */
export const BACKSLASH = 0x5c;

/** Throws the `EBADRESP` {@link DnsError} of a malformed message. */
export function bad(reason: string): never {
  throw new DnsError(DnsErrorCode.BADRESP, `bad DNS response: ${reason}`);
}

/** The big-endian 16-bit number at `off`. */
export function u16(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

/** The TTL at `off`: 31 bits, read as 0 when the most significant bit is set (RFC 2181 8). */
export function ttlAt(buf: Uint8Array, off: number): number {
  const raw = ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
  return raw > MAX_TTL ? 0 : raw;
}

/** The IPv4 address in the four bytes at `off`, as text. */
export function ipv4At(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** ASCII case-insensitive equality of two bytes (letters only fold). */
export function sameByte(a: number, b: number): boolean {
  if (a === b) return true;
  const la = a | 0x20;
  return la === (b | 0x20) && la >= 0x61 && la <= 0x7a;
}

/** dns-packet's per-record codecs, exported by the package but absent from its type definitions. */
interface DnsPacketCodecs {
  answer: { decode(buf: Buffer, offset: number): DnsRecord };
  aaaa: { decode(buf: Buffer, offset: number): string };
}
/** dns-packet's record and AAAA decoders. */
export const codecs = dnsPacket as unknown as DnsPacketCodecs;
