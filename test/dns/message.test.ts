import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import dnsPacket from 'dns-packet';
import {
  decodeResponse,
  encodeQuery,
  isTruncated,
  messageId,
  questionEnd,
  responseMatches,
  scanMessage,
} from '../../src/dns/message.ts';
import { DnsError } from '../../src/dns/errors.ts';
import { aRdata, buildResponse, pointer, srvRdata, wireName, RESPONSE_FLAGS } from '../helpers/wire-builder.ts';

const NAME = 'nginx.default.svc.cluster.local';

function assertBadResp(fn: () => unknown, why?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DnsError, `not a DnsError: ${String(err)}`);
    assert.equal(err.code, 'EBADRESP');
    if (why) assert.match(err.message, why);
    return true;
  });
}

/** A realistic compressed answer: 3 A records, an SRV with glue. */
function goodResponse(id = 0x1234): Buffer {
  return buildResponse({
    id,
    qname: NAME,
    qtype: 1,
    answers: [
      { type: 1, rdata: aRdata('10.1.0.1') },
      { type: 1, rdata: aRdata('10.1.0.2') },
      { type: 33, rdata: srvRdata(0, 50, 80, `web-0.${NAME}`) },
    ],
    additionals: [{ name: wireName(`web-0.${NAME}`), type: 1, rdata: aRdata('10.1.0.1') }],
  });
}

describe('encodeQuery', () => {
  test('a query with RD, one question and an EDNS OPT of the payload size', () => {
    const q = encodeQuery(NAME, 'SRV', 1232);
    const d = dnsPacket.decode(q);
    assert.equal(d.type, 'query');
    assert.equal(d.flag_rd, true);
    assert.deepEqual(d.questions, [{ name: NAME, type: 'SRV', class: 'IN' }]);
    const opt = d.additionals?.[0] as unknown as { type: string; udpPayloadSize: number };
    assert.equal(opt.type, 'OPT');
    assert.equal(opt.udpPayloadSize, 1232);
    assert.equal(questionEnd(NAME), 12 + NAME.length + 2 + 4);
    assert.equal(q.readUInt16BE(questionEnd(NAME) - 4), 33);
  });

  test('512 means plain DNS: no OPT record', () => {
    const d = dnsPacket.decode(encodeQuery(NAME, 'A', 512));
    assert.equal(d.additionals?.length, 0);
  });

  test('the root name', () => {
    const q = encodeQuery('', 'NS', 1232);
    assert.equal(questionEnd(''), 17);
    assert.equal(q[12], 0);
  });
});

describe('responseMatches (RFC 5452 question check)', () => {
  const query = encodeQuery(NAME, 'A', 1232);
  const qEnd = questionEnd(NAME);

  test('accepts the same question in another letter case', () => {
    const res = buildResponse({ id: 0, qname: NAME.toUpperCase(), qtype: 1 });
    assert.equal(responseMatches(res, query, qEnd), true);
  });

  test('rejects another name, type or class, a query, another opcode, two questions', () => {
    assert.equal(responseMatches(buildResponse({ id: 0, qname: 'nginx.default.svc.cluster.locak', qtype: 1 }), query, qEnd), false);
    assert.equal(responseMatches(buildResponse({ id: 0, qname: NAME, qtype: 28 }), query, qEnd), false);
    assert.equal(responseMatches(buildResponse({ id: 0, qname: NAME, qtype: 1, qclass: 3 }), query, qEnd), false);
    assert.equal(responseMatches(buildResponse({ id: 0, qname: NAME, qtype: 1, flags: 0x0100 }), query, qEnd), false);
    assert.equal(responseMatches(buildResponse({ id: 0, qname: NAME, qtype: 1, flags: RESPONSE_FLAGS | 0x1000 }), query, qEnd), false);
    assert.equal(responseMatches(buildResponse({ id: 0, qname: NAME, qtype: 1, counts: [2, 0, 0, 0] }), query, qEnd), false);
    assert.equal(responseMatches(Buffer.alloc(5), query, qEnd), false);
  });

  test('a length byte never matches a letter by case folding', () => {
    // 'a' (0x61) vs label length 0x41 would fold together if lengths were folded.
    const q = encodeQuery('a.b', 'A', 512);
    const r = Buffer.from(buildResponse({ id: 0, qname: 'a.b', qtype: 1 }));
    r[12] = 0x21;
    assert.equal(responseMatches(r, q, questionEnd('a.b')), false);
  });

  test('an error answer without a question is accepted; a NOERROR one is not', () => {
    const formerr = buildResponse({ id: 0, qname: NAME, qtype: 1, rcode: 1, counts: [0, 0, 0, 0] }).subarray(0, 12);
    assert.equal(responseMatches(formerr, query, qEnd), true);
    const noerror = buildResponse({ id: 0, qname: NAME, qtype: 1, counts: [0, 0, 0, 0] }).subarray(0, 12);
    assert.equal(responseMatches(noerror, query, qEnd), false);
    const nxdomain = buildResponse({ id: 0, qname: NAME, qtype: 1, rcode: 3, counts: [0, 0, 0, 0] }).subarray(0, 12);
    assert.equal(responseMatches(nxdomain, query, qEnd), false);
  });
});

describe('decodeResponse', () => {
  test('decodes a compressed answer once, without the OPT record', () => {
    const withOpt = Buffer.concat([goodResponse(), Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0])]);
    withOpt.writeUInt16BE(2, 10);
    const d = decodeResponse(withOpt);
    assert.equal(d.id, 0x1234);
    assert.equal(d.rcode, 'NOERROR');
    assert.equal(d.truncated, false);
    assert.equal(d.authoritative, true);
    assert.deepEqual(
      d.answers.map((r) => [r.name, r.type, r.ttl, r.data]),
      [
        [NAME, 'A', 5, '10.1.0.1'],
        [NAME, 'A', 5, '10.1.0.2'],
        [NAME, 'SRV', 5, { priority: 0, weight: 50, port: 80, target: `web-0.${NAME}` }],
      ],
    );
    assert.deepEqual(d.additionals.map((r) => r.type), ['A']);
    assert.equal(messageId(withOpt), 0x1234);
    assert.equal(isTruncated(withOpt), false);
  });

  test('extended rcode from the OPT record (BADVERS)', () => {
    const res = buildResponse({ id: 1, qname: NAME, qtype: 1 });
    const opt = Buffer.from([0, 0, 41, 4, 0xd0, 1, 0, 0, 0, 0, 0]); // extended rcode 1 -> 16
    const msg = Buffer.concat([res, opt]);
    msg.writeUInt16BE(1, 10);
    assert.equal(decodeResponse(msg).rcode, 'BADVERS');
  });

  test('malformed answers are EBADRESP, never another throw', () => {
    const q = (extra: Partial<Parameters<typeof buildResponse>[0]>): Buffer =>
      buildResponse({ id: 1, qname: NAME, qtype: 1, ...extra });
    // shorter than a header
    assertBadResp(() => decodeResponse(Buffer.alloc(11)), /shorter than a DNS header/);
    // counts that lie
    assertBadResp(() => decodeResponse(q({ counts: [1, 5, 0, 0], answers: [{ type: 1, rdata: aRdata('1.2.3.4') }] })), /count/);
    assertBadResp(() => decodeResponse(q({ counts: [3, 0, 0, 0] })), /question count/);
    // a pointer to itself (a loop), forward, and into nowhere
    const self = q({ answers: [{ name: pointer(12 + NAME.length + 2 + 4), type: 1, rdata: aRdata('1.2.3.4') }] });
    assertBadResp(() => decodeResponse(self), /backward/);
    assertBadResp(() => decodeResponse(q({ answers: [{ name: pointer(4000), type: 1, rdata: aRdata('1.2.3.4') }] })), /backward/);
    // rdata longer than the message
    const long = q({ answers: [{ type: 1, rdata: aRdata('1.2.3.4') }] });
    long.writeUInt16BE(60, long.length - 6);
    assertBadResp(() => decodeResponse(long), /past the end/);
    // A of 5 bytes, AAAA of 4, SRV whose target leaves its rdata
    assertBadResp(() => decodeResponse(q({ answers: [{ type: 1, rdata: Buffer.alloc(5) }] })), /A record of 5/);
    assertBadResp(() => decodeResponse(q({ answers: [{ type: 28, rdata: Buffer.alloc(4) }] })), /AAAA/);
    const srv = srvRdata(0, 0, 80, 'web-0.x');
    assertBadResp(() => decodeResponse(q({ answers: [{ type: 33, rdata: srv.subarray(0, srv.length - 2) }] })), /past the end/);
    // a label type 0x40 and a label past the end
    const badLabel = q({});
    badLabel[12] = 0x45;
    assertBadResp(() => decodeResponse(badLabel), /label/);
    const cut = q({});
    assertBadResp(() => decodeResponse(cut.subarray(0, 20)), /past the end/);
    // an owner name of four 63-octet labels: over 255 octets
    const label = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]);
    const tooLong = Buffer.concat([q({ counts: [1, 1, 0, 0] }), label, label, label, label, Buffer.from([0]), Buffer.alloc(10)]);
    assertBadResp(() => decodeResponse(tooLong), /longer than 255/);
  });

  test('a long chain of pointers is cut after 127 hops (bounded work per name)', () => {
    assertBadResp(() => decodeResponse(pointerChain(200)), /too many compression pointers/);
    const ok = decodeResponse(pointerChain(100));
    assert.deepEqual(ok.answers.map((r) => [r.name, r.type]), [['a', 'NULL'], ['a', 'A']]);
  });

  test('decodes exactly what dns-packet decodes, compressed or not', () => {
    const label = fc.stringMatching(/^[a-z0-9_-]{1,12}$/);
    const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'));
    const ipv4 = fc.ipV4();
    const ipv6 = fc.ipV6().map((ip) => (dnsPacket.decode(dnsPacket.encode({ type: 'response', answers: [{ type: 'AAAA', name: 'x', data: ip }] })).answers![0] as { data: string }).data);
    const record = fc.oneof(
      fc.record({ type: fc.constant('A' as const), data: ipv4 }),
      fc.record({ type: fc.constant('AAAA' as const), data: ipv6 }),
      fc.record({ type: fc.constant('SRV' as const), data: fc.record({ priority: fc.nat(65535), weight: fc.nat(65535), port: fc.nat(65535), target: name }) }),
      fc.record({ type: fc.constantFrom('CNAME' as const, 'PTR' as const, 'NS' as const), data: name }),
      fc.record({ type: fc.constant('TXT' as const), data: fc.array(fc.string({ maxLength: 20 }).map((t) => Buffer.from(t)), { minLength: 1, maxLength: 3 }) }),
      fc.record({ type: fc.constant('MX' as const), data: fc.record({ preference: fc.nat(65535), exchange: name }) }),
    );
    fc.assert(
      fc.property(name, fc.array(fc.tuple(fc.boolean(), name, fc.nat(86400), record), { maxLength: 12 }), (qname, recs) => {
        const answers = recs.map(([own, other, ttl, r]) => ({ name: own ? qname : other, ttl, class: 'IN' as const, ...r }));
        const plain = dnsPacket.encode({
          type: 'response',
          id: 7,
          flags: RESPONSE_FLAGS,
          questions: [{ type: 'A', name: qname }],
          answers: answers as dnsPacket.Answer[],
        });
        assert.deepEqual(strip(decodeResponse(plain).answers), strip(dnsPacket.decode(plain).answers!));
        // The same records with owner names compressed to the question (0xc00c), as servers write them.
        const compressed = buildResponse({
          id: 7,
          qname,
          qtype: 1,
          answers: answers.map((a, i) => {
            const enc = dnsPacket.encode({ type: 'response', answers: [a as dnsPacket.Answer] });
            const at = 12 + wireName(a.name).length;
            const rdlen = enc.readUInt16BE(at + 8);
            return {
              name: recs[i]![0] ? pointer(12) : wireName(a.name),
              type: enc.readUInt16BE(at),
              ttl: a.ttl,
              rdata: enc.subarray(at + 10, at + 10 + rdlen),
            };
          }),
        });
        assert.deepEqual(strip(decodeResponse(compressed).answers), strip(dnsPacket.decode(compressed).answers!));
      }),
      { numRuns: 500 },
    );
  });

  test('mutated and random packets only ever give EBADRESP', () => {
    const base = goodResponse();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(base.length),
        (flips, cut) => {
          const msg = Buffer.from(base);
          for (const [at, value] of flips) msg[at] = value;
          tryDecode(msg.subarray(0, Math.max(cut, 12)));
          tryDecode(msg);
        },
      ),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 700 }), (bytes) => tryDecode(Buffer.from(bytes))),
      { numRuns: 3000 },
    );
    // Random headers with big counts over random bodies of pointers and labels.
    const piece = fc.oneof(
      fc.constant(Buffer.from([0xc0, 0x0c])),
      fc.nat(80).map((n) => pointer(n)),
      fc.constantFrom(Buffer.from([1, 0x61]), Buffer.from([0]), Buffer.from([0, 1, 0, 1, 0, 0, 0, 5, 0, 4])),
      fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(fc.array(fc.nat(0xffff), { minLength: 4, maxLength: 4 }), fc.array(piece, { maxLength: 60 }), (counts, body) => {
        const head = Buffer.alloc(12);
        head.writeUInt16BE(0x8180, 2);
        counts.forEach((n, i) => head.writeUInt16BE(n, 4 + 2 * i));
        tryDecode(Buffer.concat([head, ...body]));
      }),
      { numRuns: 3000 },
    );
  });
});

/** Records without dns-packet's mDNS `flush` flag, as plain objects. */
function strip(records: readonly unknown[]): unknown[] {
  return records.map((r) => {
    const { flush: _flush, ...rest } = r as { flush?: boolean };
    return rest;
  });
}

/** decodeResponse either returns or throws DnsError EBADRESP. */
function tryDecode(msg: Buffer): void {
  try {
    const d = decodeResponse(msg);
    assert.ok(Array.isArray(d.answers));
  } catch (err) {
    assert.ok(err instanceof DnsError, `threw ${String(err)}`);
    assert.equal(err.code, 'EBADRESP');
  }
}

/**
 * header | question 'a' | NULL record whose rdata is `n` pointers, each to the one before
 * (the first to 'a') | an A record named by the last pointer: its name takes n + 1 hops.
 */
function pointerChain(n: number): Buffer {
  const chainAt = 12 + 3 + 4 + 2 + 10;
  const chain = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) pointer(i === 0 ? 12 : chainAt + 2 * (i - 1)).copy(chain, 2 * i);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0x8180, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(2, 6);
  const nullFixed = Buffer.from([0, 10, 0, 1, 0, 0, 0, 5, (2 * n) >> 8, (2 * n) & 0xff]);
  const answer = Buffer.concat([pointer(chainAt + 2 * (n - 1)), Buffer.from([0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4])]);
  return Buffer.concat([head, Buffer.from([1, 0x61, 0, 0, 1, 0, 1]), pointer(12), nullFixed, chain, answer]);
}
