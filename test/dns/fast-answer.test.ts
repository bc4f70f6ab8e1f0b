/**
 * The one-pass answer reader of resolve4/resolve6/resolveSrv (src/dns/fast-answer.ts) against
 * the full path (the scanner, the record reader, answers.ts): the same answers read both ways
 * give the same result; whatever the fast path is unsure of, it leaves to the full path (null);
 * and it never accepts bytes the full path rejects. Through DnsClient, the same answers give the
 * same result as `query()` + the full decoder.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { resultOf, type LookupResult } from '../../src/dns/answers.ts';
import { DnsClient } from '../../src/dns/client.ts';
import { DnsError } from '../../src/dns/errors.ts';
import { fastAnswer } from '../../src/dns/fast-answer.ts';
import { decodeResponse, encodeQuery, questionEnd, responseMatches, type QueryType } from '../../src/dns/message.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { rawUdpServer } from '../helpers/raw-servers.ts';
import { aRdata, buildResponse, pointer, readQuestion, srvRdata, wireName, type WireRecord } from '../helpers/wire-builder.ts';

const SRV_NAME = '_web._tcp.small.default.svc.cluster.local';
const TYPES = { 1: 'A', 28: 'AAAA', 33: 'SRV' } as const;
type FastType = keyof typeof TYPES;

/** knotd 3.2's answer to `SRV _web._tcp.small.default.svc.cluster.local` (3 pods, glue, EDNS), recorded. */
const KNOT_SRV = Buffer.from(
  '000185000001000300000004045f776562045f74637005736d616c6c0764656661756c740373766307636c7573746572056c6f63616c0000210001' +
    'c00c0021000100000005002f00000021005007736d616c6c2d3005736d616c6c0764656661756c740373766307636c7573746572056c6f63616c00' +
    'c00c0021000100000005002f00000021005007736d616c6c2d3105736d616c6c0764656661756c740373766307636c7573746572056c6f63616c00' +
    'c00c0021000100000005002f00000021005007736d616c6c2d3205736d616c6c0764656661756c740373766307636c7573746572056c6f63616c00' +
    'c04d000100010000000500040a010000c088000100010000000500040a010001c0c3000100010000000500040a01000200002904d0000000000000',
  'hex',
);

/** The full path's outcome for `msg`: its result, a negative/odd answer (not the fast path's), or its error. */
function fullPath(msg: Buffer, qname: string, qtype: FastType, withTtl: boolean): LookupResult | { other: string } | { threw: unknown } {
  const type = TYPES[qtype];
  try {
    const d = decodeResponse(msg);
    if (d.rcode !== 'NOERROR' || d.answers.length === 0) return { other: d.rcode };
    const res = { name: qname, type: type as QueryType, rcode: d.rcode, answers: d.answers, authorities: d.authorities, additionals: d.additionals };
    return resultOf({ ...res, truncated: d.truncated, authoritative: d.authoritative, server: 'test', transport: 'udp' }, type, qtype === 33, withTtl);
  } catch (err) {
    return { threw: err };
  }
}

function fastPath(msg: Buffer, qname: string, qtype: FastType, withTtl: boolean): ReturnType<typeof fastAnswer> {
  return fastAnswer(msg, qtype, withTtl, questionEnd(qname));
}

/** Both paths read `msg` and give the same value. */
function assertSame(msg: Buffer, qname: string, qtype: FastType, withTtl = false): unknown {
  const fast = fastPath(msg, qname, qtype, withTtl);
  const full = fullPath(msg, qname, qtype, withTtl);
  assert.ok('value' in full, `the full path gives a value: ${JSON.stringify(full)}`);
  assert.notEqual(fast, null, 'the fast path reads it');
  assert.deepStrictEqual(fast, full.value);
  return fast;
}

/** The fast path leaves `msg` to the full path. */
function assertFallsBack(msg: Buffer, qname: string, qtype: FastType, withTtl = false): void {
  assert.equal(fastPath(msg, qname, qtype, withTtl), null);
}

/** Whenever the fast path reads `msg`, the full path gives the same value (never an error). */
function assertConsistent(msg: Buffer, qname: string, qtype: FastType, withTtl: boolean): void {
  const fast = fastPath(msg, qname, qtype, withTtl);
  if (fast === null) return;
  const full = fullPath(msg, qname, qtype, withTtl);
  assert.ok('value' in full, `fast path read bytes the full path does not: ${msg.toString('hex')} -> ${JSON.stringify(full)}`);
  assert.deepStrictEqual(fast, full.value);
}

function opt(extendedRcode = 0): WireRecord {
  return { name: Buffer.from([0]), type: 41, class: 1232, ttl: extendedRcode * 0x1000000, rdata: Buffer.alloc(0) };
}

function aaaaRdata(bytes: number[]): Buffer {
  return Buffer.from(bytes);
}

const V6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3];
/** Offset of the first answer's rdata in a response to `qname`: header, question, owner pointer, fixed fields. */
const firstRdata = (qname: string): number => questionEnd(qname) + 2 + 10;

/** An SRV answer with targets `web-<i>.example` and their glue (owners: pointers into the SRV rdata). */
function srvAnswer(targets: string[], glue: (offsets: number[]) => WireRecord[], extra: Partial<Parameters<typeof buildResponse>[0]> = {}): Buffer {
  const answers = targets.map((t, i) => ({ type: 33, rdata: srvRdata(i, 10 * i, 8080 + i, t) }));
  const offsets: number[] = [];
  let off = firstRdata(SRV_NAME);
  for (const a of answers) {
    offsets.push(off + 6);
    off += a.rdata.length + 12;
  }
  return buildResponse({ id: 1, qname: SRV_NAME, qtype: 33, answers, additionals: glue(offsets), ...extra });
}

describe('fast answer path: same results as the full path', () => {
  test('the recorded knotd SRV answer: targets, ports, weights, TTLs and glue', () => {
    const value = assertSame(KNOT_SRV, SRV_NAME, 33) as { name: string; addresses: { address: string }[] }[];
    assert.deepEqual(
      value.map((r) => [r.name, r.addresses.map((a) => a.address)]),
      [0, 1, 2].map((i) => [`small-${i}.small.default.svc.cluster.local`, [`10.1.0.${i}`]]),
    );
  });

  test('A and AAAA answers, as strings and with TTLs; a TTL with its high bit set reads as 0', () => {
    const a = buildResponse({ id: 1, qname: 'web.example', qtype: 1, answers: [{ type: 1, rdata: aRdata('10.0.0.1') }, { type: 1, ttl: 0x80000001, rdata: aRdata('10.0.0.2') }], additionals: [opt()] });
    assert.deepEqual(assertSame(a, 'web.example', 1), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(assertSame(a, 'web.example', 1, true), [{ address: '10.0.0.1', ttl: 5 }, { address: '10.0.0.2', ttl: 0 }]);
    const aaaa = buildResponse({ id: 1, qname: 'web.example', qtype: 28, answers: [{ type: 28, rdata: aaaaRdata(V6) }] });
    assert.deepEqual(assertSame(aaaa, 'web.example', 28), ['fd00::3']);
    assert.deepEqual(assertSame(aaaa, 'web.example', 28, true), [{ address: 'fd00::3', ttl: 5 }]);
  });

  test('owners spelled out, in another case, or through a pointer to a pointer', () => {
    const answers = [
      { name: wireName('WEB.Example'), type: 1, rdata: aRdata('10.0.0.1') },
      { type: 1, rdata: aRdata('10.0.0.2') },
    ];
    const msg = buildResponse({ id: 1, qname: 'web.example', qtype: 1, answers });
    assert.deepEqual(assertSame(msg, 'web.example', 1), ['10.0.0.1', '10.0.0.2']);
    // The second answer's owner points at the first one's (spelled-out) owner.
    const chained = buildResponse({ id: 1, qname: 'web.example', qtype: 1, answers: [answers[0]!, { name: pointer(questionEnd('web.example')), type: 1, rdata: aRdata('10.0.0.3') }] });
    assert.deepEqual(assertSame(chained, 'web.example', 1), ['10.0.0.1', '10.0.0.3']);
  });

  test('SRV glue: A and AAAA, several per target, spelled out, shared targets, glue of no target, a root target', () => {
    const msg = srvAnswer(['web-0.example', 'web-1.example', 'web-0.example', '.'], (o) => [
      { name: pointer(o[0]!), type: 1, rdata: aRdata('10.0.0.1') },
      { name: pointer(o[0]!), type: 28, rdata: aaaaRdata(V6) },
      { name: wireName('web-1.example'), type: 1, ttl: 7, rdata: aRdata('10.0.0.2') },
      { name: wireName('other.example'), type: 1, rdata: aRdata('6.6.6.6') },
      { name: pointer(o[2]!), type: 1, rdata: aRdata('10.0.0.3') },
      opt(),
    ]);
    const value = assertSame(msg, SRV_NAME, 33) as { name: string; addresses: { address: string }[] }[];
    assert.deepEqual(
      value.map((r) => [r.name, r.addresses.map((a) => a.address)]),
      [
        ['web-0.example', ['10.0.0.1', 'fd00::3', '10.0.0.3']],
        ['web-1.example', ['10.0.0.2']],
        ['web-0.example', ['10.0.0.1', 'fd00::3', '10.0.0.3']],
        ['.', []],
      ],
    );
    assert.notEqual(value[0]!.addresses, value[2]!.addresses, 'a shared target gets its own list');
  });

  test('targets with odd bytes read escaped, as the full path writes them', () => {
    const target = Buffer.concat([Buffer.from([5]), Buffer.from('a.b\\c'), Buffer.from([2, 0x20, 0xff]), wireName('example')]);
    const rdata = Buffer.concat([srvRdata(0, 0, 80, '').subarray(0, 6), target]);
    const msg = buildResponse({ id: 1, qname: SRV_NAME, qtype: 33, answers: [{ type: 33, rdata }], additionals: [{ name: pointer(firstRdata(SRV_NAME) + 6), type: 1, rdata: aRdata('10.0.0.9') }] });
    const value = assertSame(msg, SRV_NAME, 33) as { name: string; addresses: unknown[] }[];
    assert.equal(value[0]!.name, 'a\\.b\\\\c.\\032\\255.example');
    assert.equal(value[0]!.addresses.length, 1);
  });
});

describe('fast answer path: what it leaves to the full path', () => {
  const a = (over: Partial<Parameters<typeof buildResponse>[0]> = {}): Buffer =>
    buildResponse({ id: 1, qname: 'web.example', qtype: 1, answers: [{ type: 1, rdata: aRdata('10.0.0.1') }], ...over });

  test('negative and odd answers: NXDOMAIN, SERVFAIL, NODATA, truncated, an extended rcode, authority records', () => {
    assertFallsBack(a({ rcode: 3 }), 'web.example', 1);
    assertFallsBack(a({ rcode: 2 }), 'web.example', 1);
    assertFallsBack(a({ answers: [] }), 'web.example', 1);
    assertFallsBack(a({ flags: 0x8000 | 0x0200 }), 'web.example', 1);
    assertFallsBack(a({ additionals: [opt(1)] }), 'web.example', 1);
    assertFallsBack(a({ authorities: [{ type: 2, rdata: wireName('ns.example') }] }), 'web.example', 1);
  });

  test('a CNAME, a record of another owner or type or class, an unknown additional record', () => {
    assertFallsBack(a({ answers: [{ type: 5, rdata: wireName('web2.example') }, { name: wireName('web2.example'), type: 1, rdata: aRdata('10.0.0.1') }] }), 'web.example', 1);
    assertFallsBack(a({ answers: [{ type: 1, rdata: aRdata('10.0.0.1') }, { name: wireName('unrelated.example'), type: 1, rdata: aRdata('6.6.6.6') }] }), 'web.example', 1);
    assertFallsBack(a({ answers: [{ type: 1, rdata: aRdata('10.0.0.1') }, { type: 28, rdata: aaaaRdata(V6) }] }), 'web.example', 1);
    assertFallsBack(a({ answers: [{ type: 1, class: 3, rdata: aRdata('10.0.0.1') }] }), 'web.example', 1);
    assertFallsBack(a({ additionals: [{ name: wireName('x.example'), type: 16, rdata: Buffer.from([1, 0x41]) }] }), 'web.example', 1);
    // Each still gets its answer the full way.
    assert.ok('value' in fullPath(a({ answers: [{ type: 1, rdata: aRdata('10.0.0.1') }, { name: wireName('unrelated.example'), type: 1, rdata: aRdata('6.6.6.6') }] }), 'web.example', 1, false));
  });

  test('glue that matches a target only ignoring case, and targets that differ only in case', () => {
    const glueCase = srvAnswer(['web-0.example'], () => [{ name: wireName('WEB-0.example'), type: 1, rdata: aRdata('10.0.0.1') }]);
    assertFallsBack(glueCase, SRV_NAME, 33);
    assert.deepEqual((fullPath(glueCase, SRV_NAME, 33, false) as { value: { addresses: { address: string }[] }[] }).value[0]!.addresses.map((x) => x.address), ['10.0.0.1']);
    const targetsCase = srvAnswer(['web-0.example', 'Web-0.example'], (o) => [{ name: pointer(o[0]!), type: 1, rdata: aRdata('10.0.0.1') }]);
    assertFallsBack(targetsCase, SRV_NAME, 33);
  });

  test('more SRV records than it pairs glue for', () => {
    const targets = Array.from({ length: 65 }, (_, i) => `web-${i}.example`);
    const many = srvAnswer(targets, (o) => [{ name: pointer(o[0]!), type: 1, rdata: aRdata('10.0.0.1') }]);
    assertFallsBack(many, SRV_NAME, 33);
    // Without glue, nothing is paired: read in one pass.
    assertSame(srvAnswer(targets, () => []), SRV_NAME, 33);
  });
});

describe('fast answer path: malformed answers', () => {
  test('every break the full path rejects with EBADRESP, the fast path leaves to it', () => {
    const good = buildResponse({ id: 1, qname: 'web.example', qtype: 1, answers: [{ type: 1, rdata: aRdata('10.0.0.1') }] });
    const end = questionEnd('web.example');
    const broken: Buffer[] = [
      buildResponse({ id: 1, qname: 'web.example', qtype: 1, answers: [{ type: 1, rdata: Buffer.from([10, 0, 0, 1, 5]) }] }), // A of 5 bytes
      buildResponse({ id: 1, qname: 'web.example', qtype: 1, answers: [{ type: 1, rdata: aRdata('10.0.0.1') }], counts: [1, 2, 0, 0] }), // count lies
      good.subarray(0, good.length - 2), // rdata cut short
      buildResponse({ id: 1, qname: 'web.example', qtype: 1, answers: [{ name: pointer(end + 40), type: 1, rdata: aRdata('10.0.0.1') }] }), // forward pointer
      buildResponse({ id: 1, qname: 'web.example', qtype: 1, answers: [{ name: Buffer.from([0x40, 0]), type: 1, rdata: aRdata('10.0.0.1') }] }), // unknown label type
      buildResponse({ id: 1, qname: SRV_NAME, qtype: 33, answers: [{ type: 33, rdata: Buffer.concat([srvRdata(0, 0, 80, 'web.example'), Buffer.from([0])]) }] }), // SRV with trailing bytes
      buildResponse({ id: 1, qname: SRV_NAME, qtype: 33, answers: [{ type: 33, rdata: Buffer.from([0, 0, 0, 0, 0, 80]) }] }), // SRV without a target
      buildResponse({ id: 1, qname: 'web.example', qtype: 1, answers: [{ type: 1, rdata: aRdata('10.0.0.1') }], additionals: [{ name: Buffer.from([0]), type: 41, rdata: Buffer.from([0, 1, 0, 9, 1]) }] }), // OPT option overruns
      buildResponse({ id: 1, qname: 'web.example', qtype: 1, answers: [{ type: 1, rdata: aRdata('10.0.0.1') }], additionals: [{ name: pointer(2000), type: 1, rdata: aRdata('10.0.0.2') }] }), // glue owner off the end
    ];
    for (const msg of broken) {
      const qname = readQuestion(msg).name;
      const qtype = readQuestion(msg).type as FastType;
      assert.equal(fastPath(msg, qname, qtype, false), null, msg.toString('hex'));
      const full = fullPath(msg, qname, qtype, false);
      assert.ok('threw' in full && full.threw instanceof DnsError && full.threw.code === 'EBADRESP', `${msg.toString('hex')}: ${JSON.stringify(full)}`);
    }
  });

  test('random damage to real answers: whenever the fast path reads one, the full path gives the same value', () => {
    const samples: [Buffer, string, FastType][] = [
      [KNOT_SRV, SRV_NAME, 33],
      [srvAnswer(['web-0.example', 'web-1.example'], (o) => [{ name: pointer(o[1]!), type: 1, rdata: aRdata('10.0.0.2') }, { name: wireName('web-0.example'), type: 28, rdata: aaaaRdata(V6) }, opt()]), SRV_NAME, 33],
      [buildResponse({ id: 1, qname: 'web.example', qtype: 1, answers: [{ type: 1, rdata: aRdata('10.0.0.1') }, { name: wireName('web.EXAMPLE'), type: 1, rdata: aRdata('10.0.0.2') }], additionals: [opt()] }), 'web.example', 1],
      [buildResponse({ id: 1, qname: 'web.example', qtype: 28, answers: [{ type: 28, rdata: aaaaRdata(V6) }] }), 'web.example', 28],
    ];
    const damage = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: samples.length - 1 }), damage, fc.boolean(), fc.nat(), (which, edits, withTtl, cut) => {
        const [good, qname, qtype] = samples[which]!;
        const msg = Buffer.from(good);
        for (const [at, byte] of edits) msg[at % msg.length] = byte;
        const bytes = cut % 5 === 0 ? msg.subarray(0, cut % msg.length) : msg;
        // The transports hand over only answers to our question (RFC 5452 checks).
        if (!responseMatches(bytes, encodeQuery(qname, TYPES[qtype], 1232), questionEnd(qname))) return;
        assertConsistent(bytes, qname, qtype, withTtl);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('fast answer path through DnsClient', () => {
  test('resolveSrv, resolve4 and resolve6 give what query() and the full decoder give', async () => {
    const before = activeResources();
    const server = await rawUdpServer((q, reply) => {
      const { name, type } = readQuestion(q.msg);
      if (type === 33) {
        const msg = Buffer.from(KNOT_SRV);
        msg.writeUInt16BE(q.id, 0);
        reply.send(msg);
        return;
      }
      const answers = type === 1 ? [{ type: 1, rdata: aRdata('10.0.0.1') }] : [{ type: 28, rdata: aaaaRdata(V6) }];
      reply.send(buildResponse({ id: q.id, qname: name, qtype: type, answers, additionals: [opt()] }));
    });
    const client = new DnsClient({ servers: server.servers, search: [], timeout: 2000 });
    try {
      const srv = await client.resolveSrv(SRV_NAME);
      const full = fullPath(KNOT_SRV, SRV_NAME, 33, false);
      assert.ok('value' in full);
      assert.deepStrictEqual(srv, full.value);
      assert.deepStrictEqual(await client.resolve4('web.example', { ttl: true }), [{ address: '10.0.0.1', ttl: 5 }]);
      assert.deepStrictEqual(await client.resolve6('web.example'), ['fd00::3']);
      const raw = await client.query(SRV_NAME, 'SRV');
      assert.equal(raw.answers.length, 3);
    } finally {
      client.close();
      await server.close();
    }
    await assertNoLeaks(before);
  });
});
