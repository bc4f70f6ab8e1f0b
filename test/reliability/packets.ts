/**
 * Hand-made DNS responses for the reliability suite: raw records, pointer chains, and the
 * pathological packets (quadratic name chains, 65,535-byte messages) the hostile-answer and fuzz
 * tests send.
 */
import assert from 'node:assert/strict';
import { aRdata, pointer, readQuestion, RESPONSE_FLAGS } from '../helpers/wire-builder.ts';

/** Wire bytes of a name given as raw labels (any bytes, dots included). */
export function rawName(labels: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = typeof l === 'string' ? Buffer.from(l, 'latin1') : l;
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** One resource record: owner bytes, type, TTL, rdata. */
export function rr(owner: Buffer, type: number, ttl: number, rdata: Buffer, klass = 1): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(klass, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

/** A response to `query` with raw record bytes; `counts` are [an, ns, ar]. */
export function response(query: Buffer, records: Buffer[], counts: [number, number, number], flags = RESPONSE_FLAGS): Buffer {
  const q = readQuestion(query);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(counts[0], 6);
  header.writeUInt16BE(counts[1], 8);
  header.writeUInt16BE(counts[2], 10);
  return Buffer.concat([header, query.subarray(12, q.end), ...records]);
}

/** Offset of the first record in a response to `query`. */
export const recordsStart = (query: Buffer): number => readQuestion(query).end;

/** A response with an unknown-type record holding a chain of `hops` pointers, and an A record whose owner is its end. */
export function chain(q: Buffer, hops: number): Buffer {
  const s = recordsStart(q);
  const rdataStart = s + 2 + 10;
  const rd = Buffer.alloc(hops * 2);
  for (let i = 0; i < hops; i++) rd.writeUInt16BE(0xc000 | (i === 0 ? 12 : rdataStart + (i - 1) * 2), i * 2);
  const blob = rr(pointer(12), 65280, 5, rd);
  // The A record's owner points at the chain's last pointer: `hops` + 1 pointers in all.
  const a = rr(pointer(rdataStart + (hops - 1) * 2), 1, 5, aRdata('10.0.0.9'));
  return response(q, [blob, a], [2, 0, 0]);
}

/**
 * About 64 KB: an unknown-type record holding a chain of 16,000 pointers, then ~2,000 records of
 * `type` (NSEC, RRSIG, RP) whose rdata names point at the chain's end. Unchecked, each of those
 * names costs 16,000 hops: quadratic work for one packet.
 */
export function quadratic(q: Buffer, type: number, hops = 16_000): Buffer {
  const s = recordsStart(q);
  const rdataStart = s + 2 + 10;
  const rd = Buffer.alloc(hops * 2);
  for (let i = 0; i < hops; i++) rd.writeUInt16BE(0xc000 | (i === 0 ? 12 : rdataStart + (i - 1) * 2), i * 2);
  const end = pointer(rdataStart + (hops - 1) * 2);
  const rdata =
    type === 46
      ? Buffer.concat([Buffer.alloc(18), end]) // RRSIG: 18 fixed bytes, then the signer's name
      : type === 17
        ? Buffer.concat([end, end]) // RP: mailbox and TXT names
        : end; // NSEC: the next name, no type bitmap
  const records = [rr(pointer(12), 65280, 5, rd), rr(pointer(12), 1, 5, aRdata('10.0.0.1'))];
  let size = s + records.reduce((n, r) => n + r.length, 0);
  const one = rr(pointer(12), type, 5, rdata);
  while (size + one.length <= 65_535) {
    records.push(one);
    size += one.length;
  }
  return response(q, records, [records.length, 0, 0]);
}

/** A message of exactly 65,535 bytes: A records of the question (filling `ips`), padded by an unknown-type record. */
export function fullMessage(q: Buffer, ips: string[]): Buffer {
  const s = recordsStart(q);
  const records: Buffer[] = [];
  let size = s;
  ips.length = 0;
  for (let i = 0; size + 16 + 12 <= 65_535; i++) {
    const ip = `10.${9 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    ips.push(ip);
    records.push(rr(pointer(12), 1, 5, aRdata(ip)));
    size += 16;
  }
  records.push(rr(pointer(12), 65280, 5, Buffer.alloc(65_535 - size - 12)));
  const msg = response(q, records, [records.length, 0, 0]);
  assert.equal(msg.length, 65_535);
  return msg;
}
