/**
 * Hand-built DNS responses for client tests: compressed like real servers write them, and easy
 * to break on purpose (lying counts, bad pointers, short rdata).
 */

/** One resource record to write. */
export interface WireRecord {
  /** Owner name as wire bytes; default a pointer to the question name (0xc00c). */
  name?: Buffer;
  type: number;
  class?: number;
  ttl?: number;
  rdata: Buffer;
}

/** What {@link buildResponse} writes. */
export interface WireResponse {
  id: number;
  /** Header flags (16 bits); default QR + RD + RA + AA. */
  flags?: number;
  rcode?: number;
  qname: string;
  qtype: number;
  qclass?: number;
  answers?: WireRecord[];
  authorities?: WireRecord[];
  additionals?: WireRecord[];
  /** Override the header counts (to lie). */
  counts?: [number, number, number, number];
}

/** QR | AA | RD | RA. */
export const RESPONSE_FLAGS = 0x8000 | 0x0400 | 0x0100 | 0x0080;

/** A name in uncompressed wire form. */
export function wireName(name: string): Buffer {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  const parts = bare === '' ? [] : bare.split('.');
  const out: number[] = [];
  for (const label of parts) out.push(label.length, ...Buffer.from(label, 'ascii'));
  out.push(0);
  return Buffer.from(out);
}

/** A 2-byte compression pointer to `offset`. */
export function pointer(offset: number): Buffer {
  return Buffer.from([0xc0 | (offset >> 8), offset & 0xff]);
}

/** rdata of an A record. */
export function aRdata(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

/** rdata of an SRV record with an uncompressed target. */
export function srvRdata(priority: number, weight: number, port: number, target: string): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt16BE(priority, 0);
  head.writeUInt16BE(weight, 2);
  head.writeUInt16BE(port, 4);
  return Buffer.concat([head, wireName(target)]);
}

function record(r: WireRecord): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(r.type, 0);
  fixed.writeUInt16BE(r.class ?? 1, 2);
  fixed.writeUInt32BE(r.ttl ?? 5, 4);
  fixed.writeUInt16BE(r.rdata.length, 8);
  return Buffer.concat([r.name ?? pointer(12), fixed, r.rdata]);
}

/** A response message with the question at offset 12 (so 0xc00c points to its name). */
export function buildResponse(spec: WireResponse): Buffer {
  const answers = spec.answers ?? [];
  const authorities = spec.authorities ?? [];
  const additionals = spec.additionals ?? [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(spec.id, 0);
  header.writeUInt16BE(((spec.flags ?? RESPONSE_FLAGS) & 0xfff0) | (spec.rcode ?? 0), 2);
  const counts = spec.counts ?? [1, answers.length, authorities.length, additionals.length];
  counts.forEach((n, i) => header.writeUInt16BE(n, 4 + 2 * i));
  const question = Buffer.alloc(4);
  question.writeUInt16BE(spec.qtype, 0);
  question.writeUInt16BE(spec.qclass ?? 1, 2);
  return Buffer.concat([
    header,
    wireName(spec.qname),
    question,
    ...answers.map(record),
    ...authorities.map(record),
    ...additionals.map(record),
  ]);
}

/** A response to a raw `query` (its ID and question copied), with A records for `ips`. */
export function answerA(query: Buffer, ips: string[], overrides: Partial<WireResponse> = {}): Buffer {
  const { name, type } = readQuestion(query);
  return buildResponse({
    id: query.readUInt16BE(0),
    qname: name,
    qtype: type,
    answers: ips.map((ip) => ({ type: 1, rdata: aRdata(ip) })),
    ...overrides,
  });
}

/** The question of a query message (uncompressed, at offset 12). */
export function readQuestion(query: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let off = 12;
  while (query[off]! !== 0) {
    const len = query[off]!;
    labels.push(query.toString('ascii', off + 1, off + 1 + len));
    off += 1 + len;
  }
  off += 1;
  return { name: labels.join('.'), type: query.readUInt16BE(off), end: off + 4 };
}
