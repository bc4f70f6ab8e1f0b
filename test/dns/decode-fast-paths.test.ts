/**
 * The shortcuts taken for speed give the same results as the long way: SRV glue paired by the
 * decoded string still pairs names that differ in case or compression, a pointer-only owner name
 * reads as its target, and the OPT record is read in place (extended rcode) and never surfaces.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsClient } from '../../src/dns/client.ts';
import { decodeResponse } from '../../src/dns/message.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { rawUdpServer } from '../helpers/raw-servers.ts';
import { aRdata, buildResponse, pointer, readQuestion, srvRdata, wireName, type WireRecord } from '../helpers/wire-builder.ts';

const SRV_NAME = '_web._tcp.nginx.default.svc.cluster.local';
/** Offset of the first answer's rdata in a response to SRV_NAME: header, question, owner pointer, fixed fields. */
const FIRST_RDATA = 12 + SRV_NAME.length + 2 + 4 + 2 + 10;

function opt(extendedRcode = 0): WireRecord {
  return { name: Buffer.from([0]), type: 41, class: 1232, ttl: extendedRcode * 0x1000000, rdata: Buffer.alloc(0) };
}

describe('decoding shortcuts', () => {
  test('an owner that is only a pointer reads as the name it points to', () => {
    const msg = buildResponse({
      id: 1,
      qname: SRV_NAME,
      qtype: 33,
      answers: [{ type: 33, rdata: srvRdata(0, 50, 80, 'web-0.nginx.default.svc.cluster.local') }],
      // The glue's owner is a pointer to the SRV target inside the first answer's rdata.
      additionals: [{ name: pointer(FIRST_RDATA + 6), type: 1, rdata: aRdata('10.0.0.1') }],
    });
    const res = decodeResponse(msg);
    assert.equal(res.answers[0]!.name, SRV_NAME);
    assert.equal(res.additionals[0]!.name, 'web-0.nginx.default.svc.cluster.local');
  });

  test('OPT gives its extended rcode and is left out of the additional section, wherever it sits', () => {
    const glue = { name: wireName('web-0.example'), type: 1, rdata: aRdata('10.0.0.1') };
    const msg = buildResponse({ id: 1, qname: 'example', qtype: 1, additionals: [glue, opt(1), glue] });
    const res = decodeResponse(msg);
    assert.equal(res.rcode, 'BADVERS'); // extended 1 << 4 | header 0
    assert.deepEqual(res.additionals.map((r) => r.type), ['A', 'A']);
  });

  test('an OPT record in the answer section is data, not signalling: it is kept', () => {
    const msg = buildResponse({ id: 1, qname: 'example', qtype: 1, answers: [opt(0)] });
    assert.deepEqual(decodeResponse(msg).answers.map((r) => r.type as string), ['OPT']);
  });
});

describe('resolveSrv glue pairing', () => {
  test('glue pairs with its target across case and compression; a shared target gets its own copy', async () => {
    const before = activeResources();
    const server = await rawUdpServer((q, reply) => {
      const { name, type } = readQuestion(q.msg);
      reply.send(
        buildResponse({
          id: q.id,
          qname: name,
          qtype: type,
          answers: [
            { type: 33, rdata: srvRdata(0, 50, 80, 'Web-0.Nginx.default.svc.cluster.local') },
            { type: 33, rdata: srvRdata(0, 50, 80, 'web-1.nginx.default.svc.cluster.local') },
            { type: 33, rdata: srvRdata(0, 50, 81, 'web-1.nginx.default.svc.cluster.local') },
          ],
          additionals: [
            // Uncompressed and lower case: a different string from the first target.
            { name: wireName('web-0.nginx.default.svc.cluster.local'), type: 1, rdata: aRdata('10.0.0.1') },
            { name: wireName('WEB-1.nginx.default.svc.cluster.local'), type: 1, rdata: aRdata('10.0.0.2') },
            opt(0),
          ],
        }),
      );
    });
    const c = new DnsClient({ servers: server.servers, search: [], ndots: 1, timeout: 2000, attempts: 1 });
    try {
      const srv = await c.resolveSrv(SRV_NAME);
      assert.deepEqual(
        srv.map((r) => [r.name, r.port, r.addresses.map((a) => a.address)]),
        [
          ['Web-0.Nginx.default.svc.cluster.local', 80, ['10.0.0.1']],
          ['web-1.nginx.default.svc.cluster.local', 80, ['10.0.0.2']],
          ['web-1.nginx.default.svc.cluster.local', 81, ['10.0.0.2']],
        ],
      );
      assert.notEqual(srv[1]!.addresses, srv[2]!.addresses, 'each record has its own array');
    } finally {
      c.close();
      await server.close();
    }
    await assertNoLeaks(before);
  });
});
