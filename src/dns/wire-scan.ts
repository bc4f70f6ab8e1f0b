/**
 * The bounded structural scan of an untrusted message: pointer chains, lengths, counts, rdata
 * sizes. A hostile packet costs bounded work and fails with one error, `EBADRESP`.
 */
import { HEADER_LENGTH, MAX_NAME_WIRE, MAX_POINTER_HOPS, bad, u16 } from './wire.js';

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
export function scanRdata(buf: Uint8Array, type: number, off: number, end: number): void {
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
