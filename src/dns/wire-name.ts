/**
 * Names of a message that the scanner accepted (see wire-scan.ts), read in place: as text in
 * presentation form (`\.`, `\\`, `\DDD` for odd bytes, as dig prints them), or compared as
 * wire bytes without making a string.
 */
import { BACKSLASH, DOT, sameByte } from './wire.js';

/** 1 for the bytes a name cannot show as themselves: outside printable ASCII, `.` and `\`. */
const NEEDS_ESCAPE = new Uint8Array(256).map((_, c) => (c <= 0x20 || c >= 0x7f || c === DOT || c === BACKSLASH ? 1 : 0));

/**
 * Scratch for the text of one name while it is decoded. The scanner bounds a name to 254 octets
 * on the wire, so its text fits. It holds nothing between calls (decoding is synchronous).
 */
const nameScratch = Buffer.allocUnsafe(256);

/**
 * Where the last {@link nameText} call's name ended in the record that holds it, and whether it
 * followed a pointer (fields, not an allocation per call).
 */
export const nameEnd = { offset: 0, compressed: false };

/** Node's and Bun's Buffer have `latin1Slice`, which skips toString's argument handling; else toString. */
type Latin1 = (buf: Buffer, start: number, end: number) => string;
const latin1: Latin1 =
  typeof (Buffer.prototype as { latin1Slice?: unknown }).latin1Slice === 'function'
    ? (buf, start, end) => (buf as Buffer & { latin1Slice(start: number, end: number): string }).latin1Slice(start, end)
    : (buf, start, end) => buf.toString('latin1', start, end);

/**
 * The text of the name at `start` ('' for the root); sets {@link nameEnd}. The labels are copied,
 * pointers followed, into a scratch buffer that becomes one string: one string per name instead
 * of one per label plus the joins (the cost that dominated decoding).
 */
export function nameText(buf: Buffer, start: number): string {
  const out = nameScratch;
  let off = start;
  let n = 0;
  let end = -1;
  let odd = 0;
  let jumped = false;
  for (;;) {
    const len = buf[off]!;
    if (len === 0) {
      if (end === -1) end = off + 1;
      break;
    }
    if (len >= 0xc0) {
      if (end === -1) end = off + 2;
      off = ((len & 0x3f) << 8) | buf[off + 1]!;
      jumped = true;
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
  nameEnd.offset = end;
  nameEnd.compressed = jumped;
  // Printable ASCII is its own text; a name with other bytes is escaped label by label.
  return odd !== 0 ? escapedName(buf, start) : latin1(out, 0, n);
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

/**
 * The name at `start` in presentation form (RFC 1035 5.1, as dig and node:dns's c-ares print it):
 * `.` and `\` escaped, bytes outside printable ASCII as `\DDD`. A label `a.b` never reads as two.
 */
function escapedName(buf: Buffer, start: number): string {
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

/** How two names compare: see {@link compareNames}. */
export const NameMatch = { Different: 0, Same: 1, SameIgnoringCase: 2 } as const;
/** One of {@link NameMatch}. */
export type NameMatch = (typeof NameMatch)[keyof typeof NameMatch];

/**
 * Compares the names at `a` and `b` of one message label by label, following pointers: the
 * same bytes (their texts are the same string), the same but for ASCII case (the same DNS name),
 * or different. Both names must have passed the scanner (bounded pointer chains).
 */
export function compareNames(buf: Uint8Array, a: number, b: number): NameMatch {
  let exact = true;
  for (;;) {
    let la = buf[a]!;
    while (la >= 0xc0) {
      a = ((la & 0x3f) << 8) | buf[a + 1]!;
      la = buf[a]!;
    }
    let lb = buf[b]!;
    while (lb >= 0xc0) {
      b = ((lb & 0x3f) << 8) | buf[b + 1]!;
      lb = buf[b]!;
    }
    // The same place in the message: the rest of both names is the same bytes.
    if (a === b) return exact ? NameMatch.Same : NameMatch.SameIgnoringCase;
    if (la !== lb) return NameMatch.Different;
    if (la === 0) return exact ? NameMatch.Same : NameMatch.SameIgnoringCase;
    for (let i = 1; i <= la; i++) {
      const ca = buf[a + i]!;
      const cb = buf[b + i]!;
      if (ca === cb) continue;
      if (!sameByte(ca, cb)) return NameMatch.Different;
      exact = false;
    }
    a += 1 + la;
    b += 1 + lb;
  }
}
