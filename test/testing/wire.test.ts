import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { answerPacket, questionText, Responder } from '../../src/testing/answer.ts';
import { createTestCluster } from '../../src/testing/index.ts';
import { readQuery, writeResponse, type WireRecord } from '../../src/testing/wire.ts';
import { dashedAddress, reverseName, srvWeight } from '../../src/testing/zone.ts';
import { makeQuery } from '../helpers/raw-dns.ts';

describe('zone helpers', () => {
  test('reverse names of IPv4 and IPv6 addresses', () => {
    assert.equal(reverseName('127.1.0.5'), '5.0.1.127.in-addr.arpa');
    assert.equal(
      reverseName('fd00:10:244::5'),
      '5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa',
    );
    assert.equal(reverseName('::1'), `1${'.0'.repeat(31)}.ip6.arpa`);
    assert.equal(reverseName('::ffff:1.2.3.4'), reverseName('::ffff:102:304'));
  });

  test('CoreDNS names and weights', () => {
    assert.equal(dashedAddress('10.244.1.5'), '10-244-1-5');
    assert.equal(dashedAddress('fd00:10:244::5'), 'fd00-10-244--5');
    assert.deepEqual([1, 2, 3, 4, 7, 100, 101, 1000].map(srvWeight), [100, 50, 33, 25, 14, 1, 1, 1]);
  });
});

describe('reading queries', () => {
  const header = (qd: number, an = 0, ns = 0, ar = 0): Buffer => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(0x1234, 0);
    h.writeUInt16BE(0x0100, 2);
    h.writeUInt16BE(qd, 4);
    h.writeUInt16BE(an, 6);
    h.writeUInt16BE(ns, 8);
    h.writeUInt16BE(ar, 10);
    return h;
  };
  const opt = Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0x80, 0, 0, 0]);

  test('a query with EDNS', () => {
    const q = readQuery(makeQuery('Web.Example', 'SRV', { id: 3, edns: 1232 }))!;
    assert.equal(q.malformed, null);
    assert.deepEqual(q.question, { labels: ['Web', 'Example'], type: 33, class: 1 });
    assert.deepEqual(q.edns, { udpPayloadSize: 1232, version: 0, dnssecOk: false });
    assert.equal(q.id, 3);
  });

  test('defects are reported, never thrown', () => {
    const name = Buffer.from([1, 0x61, 0]);
    const question = Buffer.concat([name, Buffer.from([0, 1, 0, 1])]);
    const cases: [string, Buffer][] = [
      ['pointer in the question', Buffer.concat([header(1), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])])],
      ['OPT owner not root', Buffer.concat([header(1, 0, 0, 1), question, Buffer.from([1, 0x61]), opt])],
      ['two OPT', Buffer.concat([header(1, 0, 0, 2), question, opt, opt])],
      ['OPT in the answer section', Buffer.concat([header(1, 1), question, opt])],
      ['record data cut short', Buffer.concat([header(1, 0, 0, 1), question, opt.subarray(0, 10), Buffer.from([5])])],
      ['name over 255 octets', Buffer.concat([header(1), Buffer.from(Array(5).fill([63, ...Array(63).fill(0x61)]).flat()), Buffer.from([0, 0, 1, 0, 1])])],
      ['forward pointer', Buffer.concat([header(1, 0, 0, 1), question, Buffer.from([0xc0, 0xff]), opt.subarray(1)])],
    ];
    for (const [why, packet] of cases) {
      const q = readQuery(packet);
      assert.ok(q, why);
      assert.notEqual(q.malformed, null, why);
    }
    assert.equal(readQuery(Buffer.alloc(11)), null);
    assert.equal(readQuery(Buffer.concat([header(1, 0, 0, 1), question, opt]))!.edns!.dnssecOk, true);
  });

  test('names with odd bytes are escaped for logs and never match a zone name', () => {
    const q = readQuery(
      Buffer.concat([
        Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        Buffer.from([3, 0x61, 0x2e, 0x00, 5, ...Buffer.from('local'), 0, 0, 1, 0, 1]),
      ]),
    )!;
    assert.equal(questionText(q.question!).name, 'a\\046\\000.local');
  });
});

describe('writing responses', () => {
  const soa = (i: number): WireRecord => ({
    owner: ['x'],
    ttl: 1,
    record: { type: 'A', data: `10.0.0.${i}` },
  });

  test('overflow: "empty" empties every section, "cut" keeps what fits; both set TC', () => {
    const q = readQuery(makeQuery('x', 'A'))!;
    const answers = Array.from({ length: 100 }, (_, i) => soa(i));
    const response = { rcode: 0, authoritative: true, answers, authorities: [], additionals: [] };
    const empty = dnsPacket.decode(writeResponse(q, response, { limit: 512, overflow: 'empty' }));
    assert.equal(empty.flag_tc, true);
    assert.equal(empty.answers!.length, 0);
    const cutBytes = writeResponse(q, response, { limit: 512, overflow: 'cut' });
    const cut = dnsPacket.decode(cutBytes);
    assert.equal(cut.flag_tc, true);
    assert.ok(cutBytes.length <= 512);
    // 12 header + 5 question + 16 per compressed A record
    assert.equal(cut.answers!.length, Math.floor((512 - 17) / 16));
  });

  test('names are compressed: 1,000 SRV with glue fit in one TCP message', async () => {
    const cluster = await createTestCluster();
    cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
    cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 1000 });
    const a = answerPacket(makeQuery('nginx.default.svc.cluster.local', 'A'), cluster, 'tcp')!;
    // 16 bytes per A record: a 2-byte pointer for the owner name.
    assert.ok(a.response.length < 1000 * 16 + 100, String(a.response.length));
    const srv = answerPacket(makeQuery('_web._tcp.nginx.default.svc.cluster.local', 'SRV'), cluster, 'tcp')!;
    assert.equal(dnsPacket.decode(srv.response).answers!.length, 1000);
  });
});

describe('Responder cache', () => {
  test('answers follow cluster.version; the same question costs a copy', async () => {
    const cluster = await createTestCluster();
    cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
    const set = cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 2 });
    const responder = new Responder(cluster);
    const ask = (id: number) => dnsPacket.decode(responder.answerPacket(makeQuery('nginx.default.svc.cluster.local', 'A', { id }), 'udp')!.response);
    const first = ask(1);
    const second = ask(2);
    assert.equal(second.id, 2);
    assert.deepEqual(second.answers, first.answers);
    const zone = responder.zone;
    set.scale(3);
    assert.equal(ask(3).answers!.length, 3);
    assert.notEqual(responder.zone, zone);
  });
});
