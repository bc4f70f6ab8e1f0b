/**
 * resolve4/resolve6/resolveSrv take only records owned by the name asked, or reached from it
 * through a CNAME chain (bounded): an extra `A unrelated.example 6.6.6.6` is ignored, glue is
 * only taken for SRV targets.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsClient } from '../../src/dns/client.ts';
import { rawUdpServer, type RawUdpServer } from '../helpers/raw-servers.ts';
import { aRdata, buildResponse, readQuestion, srvRdata, wireName, type WireRecord } from '../helpers/wire-builder.ts';
import { rejectsWithDnsError as rejects } from '../helpers/dns-assert.ts';

const NAME = 'web-0.web.default.svc.cluster.local';
const SRV_NAME = '_http._tcp.web.default.svc.cluster.local';

const a = (owner: string, ip: string): WireRecord => ({ name: wireName(owner), type: 1, rdata: aRdata(ip) });
const cname = (owner: string, target: string): WireRecord => ({ name: wireName(owner), type: 5, rdata: wireName(target) });

/** A server answering every query with `answers` (and `additionals`) for the question asked. */
function serving(answers: WireRecord[], additionals: WireRecord[] = []): Promise<RawUdpServer> {
  return rawUdpServer((q, reply) => {
    const { name, type } = readQuestion(q.msg);
    reply.send(buildResponse({ id: q.id, qname: name, qtype: type, answers, additionals }));
  });
}

async function withClient(server: RawUdpServer, fn: (c: DnsClient) => Promise<void>): Promise<void> {
  const c = new DnsClient({ servers: server.servers, search: [], ndots: 1, timeout: 2000, attempts: 1 });
  try {
    await fn(c);
  } finally {
    c.close();
    await server.close();
  }
}

describe('answer owners', () => {
  test('A unrelated.example 6.6.6.6 does not satisfy resolve4 of another name: ENODATA', async () => {
    await withClient(await serving([a('unrelated.example', '6.6.6.6')]), async (c) => {
      await rejects(c.resolve4(NAME), 'ENODATA');
      // query() is the raw answer: the record is there for who wants to look.
      assert.equal((await c.query(NAME, 'A')).answers.length, 1);
    });
  });

  test('mixed with the real records, the unrelated ones are dropped', async () => {
    await withClient(await serving([a(NAME, '10.0.0.1'), a('unrelated.example', '6.6.6.6'), a(NAME.toUpperCase(), '10.0.0.2')]), async (c) => {
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.1', '10.0.0.2']);
    });
  });

  test('a CNAME chain from the name is followed; records of names off the chain are not', async () => {
    const answers = [
      cname(NAME, 'one.example'),
      cname('one.example', 'two.example'),
      a('two.example', '10.0.0.9'),
      a('other.example', '6.6.6.6'),
    ];
    await withClient(await serving(answers), async (c) => {
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.9']);
    });
  });

  test('a CNAME that does not start at the name asked leads nowhere', async () => {
    await withClient(await serving([cname('other.example', 'two.example'), a('two.example', '6.6.6.6')]), async (c) => {
      await rejects(c.resolve4(NAME), 'ENODATA');
    });
  });

  test('a chain of 8 CNAMEs is followed; 9 is EBADRESP; a loop is EBADRESP', async () => {
    const chain = (links: number): WireRecord[] => {
      const names = [NAME, ...Array.from({ length: links }, (_, i) => `c${i}.example`)];
      return [...names.slice(1).map((n, i) => cname(names[i]!, n)), a(names[links]!, '10.0.0.5')];
    };
    await withClient(await serving(chain(8)), async (c) => assert.deepEqual(await c.resolve4(NAME), ['10.0.0.5']));
    await withClient(await serving(chain(9)), async (c) => {
      await rejects(c.resolve4(NAME), 'EBADRESP', /CNAME chain .* longer than 8/);
    });
    await withClient(await serving([cname(NAME, 'x.example'), cname('x.example', NAME)]), async (c) => {
      await rejects(c.resolve4(NAME), 'EBADRESP', /CNAME loop/);
    });
  });

  test('SRV: records of another owner are ignored; glue only for the targets', async () => {
    const srv = (owner: string, target: string): WireRecord => ({ name: wireName(owner), type: 33, rdata: srvRdata(0, 0, 80, target) });
    const answers = [srv(SRV_NAME, 'web-0.web.default.svc.cluster.local'), srv('_x._tcp.evil.example', 'kubernetes.default.svc.cluster.local')];
    const additionals = [a('web-0.web.default.svc.cluster.local', '10.0.0.1'), a('kubernetes.default.svc.cluster.local', '10.96.0.1'), a('evil.example', '6.6.6.6')];
    await withClient(await serving(answers, additionals), async (c) => {
      const records = await c.resolveSrv(SRV_NAME);
      assert.deepEqual(records.map((r) => [r.name, r.addresses.map((x) => x.address)]), [['web-0.web.default.svc.cluster.local', ['10.0.0.1']]]);
    });
  });
});
