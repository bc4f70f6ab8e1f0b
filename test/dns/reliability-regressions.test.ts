/**
 * Regressions found by the reliability suite (issue 10): in decodeResponse, TTLs with the high bit
 * set, names with odd bytes, and names inside rdata that dns-packet decodes (NSEC, RRSIG, RP); in
 * DnsClient, answers truncated even over TCP, and the TCP retry of a late truncated answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { DnsClient } from '../../src/dns/client.ts';
import { decodeResponse } from '../../src/dns/message.ts';
import { DnsError } from '../../src/dns/errors.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { frame, rawServerPair } from '../helpers/raw-servers.ts';
import { answerA, aRdata, buildResponse, pointer, RESPONSE_FLAGS, srvRdata } from '../helpers/wire-builder.ts';

const QNAME = 'x.example';

function assertBadResp(msg: Buffer): void {
  assert.throws(
    () => decodeResponse(msg),
    (err: unknown) => err instanceof DnsError && err.code === 'EBADRESP',
  );
}

/** A name as raw labels (any bytes). */
function rawName(labels: Buffer[]): Buffer {
  return Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0])]);
}

test('TTLs of 2^31 and above read as 0 (RFC 2181 8); 0 and 2^31-1 as received; in every record type', () => {
  const ttls = [0, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
  const msg = buildResponse({
    id: 1,
    qname: QNAME,
    qtype: 1,
    answers: [
      ...ttls.map((ttl) => ({ type: 1, ttl, rdata: aRdata('10.0.0.1') })),
      { type: 16, ttl: 2 ** 32 - 1, rdata: Buffer.from([2, 0x68, 0x69]) }, // TXT: dns-packet's decoder
    ],
  });
  assert.deepEqual(
    decodeResponse(msg).answers.map((r) => r.ttl),
    [0, 2 ** 31 - 1, 0, 0, 0],
  );
});

test('labels with dots, backslashes, NUL, spaces or bytes above 0x7e come out escaped (\\. \\\\ \\DDD), as dig prints them', () => {
  const owner = rawName([Buffer.from('we.b-1'), Buffer.from([0x61, 0x00, 0x20, 0xff, 0x5c]), Buffer.from('example')]);
  const msg = buildResponse({ id: 1, qname: QNAME, qtype: 1, answers: [{ name: owner, type: 1, rdata: aRdata('10.0.0.1') }] });
  assert.equal(decodeResponse(msg).answers[0]!.name, 'we\\.b-1.a\\000\\032\\255\\\\.example');
  // Plain names are untouched.
  const plain = buildResponse({ id: 1, qname: QNAME, qtype: 1, answers: [{ type: 1, rdata: aRdata('10.0.0.1') }] });
  assert.equal(decodeResponse(plain).answers[0]!.name, QNAME);
});

test('names inside NSEC, RRSIG and RP rdata are checked like the others: bad pointers and long chains are EBADRESP', () => {
  const start = 12 + QNAME.length + 2 + 4; // first record
  // An unknown-type record holding a chain of 130 backward pointers, then a record of `type` naming its end.
  const chainMsg = (type: number, rdataOf: (name: Buffer) => Buffer): Buffer => {
    const hops = 130;
    const rdataStart = start + 2 + 10;
    const rd = Buffer.alloc(hops * 2);
    for (let i = 0; i < hops; i++) rd.writeUInt16BE(0xc000 | (i === 0 ? 12 : rdataStart + (i - 1) * 2), i * 2);
    return buildResponse({
      id: 1,
      qname: QNAME,
      qtype: 1,
      answers: [
        { type: 65280, rdata: rd },
        { type, rdata: rdataOf(pointer(rdataStart + (hops - 1) * 2)) },
      ],
    });
  };
  const forward = pointer(4000);
  const shapes: [number, (name: Buffer) => Buffer][] = [
    [47, (name) => name], // NSEC: next name, no bitmap
    [46, (name) => Buffer.concat([Buffer.alloc(18), name, Buffer.alloc(8)])], // RRSIG: signer, signature
    [17, (name) => Buffer.concat([name, Buffer.from([0])])], // RP: mailbox, TXT name
    [17, (name) => Buffer.concat([Buffer.from([0]), name])],
  ];
  for (const [type, rdataOf] of shapes) {
    assertBadResp(chainMsg(type, rdataOf));
    assertBadResp(buildResponse({ id: 1, qname: QNAME, qtype: 1, answers: [{ type, rdata: rdataOf(forward) }] }));
  }
  assertBadResp(buildResponse({ id: 1, qname: QNAME, qtype: 1, answers: [{ type: 46, rdata: Buffer.alloc(10) }] })); // RRSIG too short

  // Well-formed ones still decode as dns-packet decodes them.
  const good = dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: RESPONSE_FLAGS,
    questions: [{ type: 'A', name: QNAME }],
    answers: [
      { type: 'NSEC', name: QNAME, ttl: 5, data: { nextDomain: 'z.example', rrtypes: ['A', 'RRSIG'] } },
      { type: 'RP', name: QNAME, ttl: 5, data: { mbox: 'admin.example', txt: 'txt.example' } },
      {
        type: 'RRSIG',
        name: QNAME,
        ttl: 5,
        data: { typeCovered: 'A', algorithm: 8, labels: 2, originalTTL: 5, expiration: 2, inception: 1, keyTag: 9, signersName: 'example', signature: Buffer.alloc(16, 1) },
      },
    ],
  });
  const strip = (rs: unknown[]): unknown[] => rs.map((r) => JSON.parse(JSON.stringify(r)));
  assert.deepEqual(strip(decodeResponse(good).answers), strip(dnsPacket.decode(good).answers!));
});

const TC = 0x0200;

test('an answer truncated even over TCP: query() shows it; resolve4 and resolveSrv reject EBADRESP instead of a partial set', async () => {
  const before = activeResources();
  const pair = await rawServerPair(
    (q, reply) => reply.send(answerA(q.msg, [], { flags: RESPONSE_FLAGS | TC })),
    (q, conn) => {
      const type = q.readUInt16BE(q.length - 4);
      const answers = type === 33 ? [{ type: 33, rdata: srvRdata(0, 0, 80, 'web-0.x.example') }] : [{ type: 1, rdata: aRdata('10.0.0.1') }];
      conn.socket.write(frame(answerA(q, [], { flags: RESPONSE_FLAGS | TC, answers })));
    },
  );
  const client = new DnsClient({ servers: pair.servers, timeout: 2000, attempts: 1, search: [], ndots: 1 });
  try {
    const res = await client.query('big.example', 'A');
    assert.equal(res.truncated, true);
    assert.equal(res.transport, 'tcp');
    assert.equal(res.answers.length, 1);
    for (const call of [() => client.resolve4('big.example'), () => client.resolveSrv('_web._tcp.big.example')]) {
      await assert.rejects(call(), (err: unknown) => err instanceof DnsError && err.code === 'EBADRESP' && /truncated even over TCP \(1 records kept\)/.test(err.message));
    }
  } finally {
    client.close();
    await pair.close();
  }
  await assertNoLeaks(before);
});

test('the TCP retry of a truncated UDP answer gets what is left of the try, not a new timeout', async () => {
  const before = activeResources();
  // UDP answers TC after 200 ms; TCP would answer 200 ms after its query, at ~400 ms: past the 300 ms try.
  // (Timers fire in order of their due time, so this holds however slow the machine.)
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, 200);
    timers.add(t);
  };
  const pair = await rawServerPair(
    (q, reply) => later(() => reply.send(answerA(q.msg, [], { flags: RESPONSE_FLAGS | TC }))),
    (q, conn) => later(() => conn.socket.write(frame(answerA(q, ['10.0.0.1'])))),
  );
  const client = new DnsClient({ servers: pair.servers, timeout: 300, attempts: 1, search: [], ndots: 1 });
  try {
    await assert.rejects(client.resolve4('late.example'), (err: unknown) => err instanceof DnsError && err.code === 'ETIMEOUT');
    assert.equal(client.stats.tcpQueries, 1, 'the TCP retry was sent');
  } finally {
    for (const t of timers) clearTimeout(t);
    client.close();
    await pair.close();
  }
  await assertNoLeaks(before);
});

test('a label holding a space or a backslash: its records are found (owners read escaped, the name asked is compared the same way)', async () => {
  const before = activeResources();
  const pair = await rawServerPair(
    (q, reply) => reply.send(answerA(q.msg, ['10.0.0.7'])),
    (q, conn) => conn.socket.write(frame(answerA(q, ['10.0.0.7']))),
  );
  const client = new DnsClient({ servers: pair.servers, timeout: 2000, attempts: 1, search: [], ndots: 1 });
  try {
    for (const name of ['a b.example', 'a\\b.example', 'plain.example']) {
      assert.deepEqual(await client.resolve4(name), ['10.0.0.7'], name);
      const res = await client.query(name, 'A');
      assert.equal(res.answers[0]!.name, name.replace(' ', '\\032').replace('\\b', '\\\\b'), 'owners as dig prints them');
    }
  } finally {
    client.close();
    await pair.close();
  }
  await assertNoLeaks(before);
});
