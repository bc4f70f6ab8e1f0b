/**
 * Interop with a real authoritative server: knotd on loopback serving a cluster.local zone.
 * The client's answers must equal dig's for the same names.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsClient } from '../../src/dns/client.ts';
import { dig, type DigRecord } from '../helpers/dig.ts';
import { clusterZone, serviceName, zonePods, type ZoneServiceSpec } from '../helpers/cluster-zone.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { startKnot, type KnotServer } from '../helpers/knot.ts';

const NGINX: ZoneServiceSpec = {
  name: 'nginx',
  pods: 3,
  ports: [{ name: 'web', port: 80 }],
  ipv6: true,
  omitPodRecords: [2], // web-2 is an SRV target without glue
};
const BIG: ZoneServiceSpec = { name: 'big', pods: 1000, podPrefix: 'big', noPodRecords: true };
const SERVICES = [NGINX, BIG];
const NGINX_NAME = serviceName(NGINX);
const BIG_NAME = serviceName(BIG);
const SRV_NAME = `_web._tcp.${NGINX_NAME}`;

let knot: KnotServer;
let target: { host: string; port: number };
let handlesBefore: Map<string, number>;

const noDot = (name: string): string => name.replace(/\.$/, '');
const dataOf = (records: DigRecord[], type: string): string[] => records.filter((r) => r.type === type).map((r) => r.data).sort();

before(async () => {
  handlesBefore = activeResources();
  knot = await startKnot({ zones: [{ origin: 'cluster.local', records: clusterZone(SERVICES) }] });
  target = { host: '127.0.0.1', port: knot.port };
});

after(async () => {
  await knot.close();
  await assertNoLeaks(handlesBefore);
});

function client(options: { tcp?: 'always' } = {}): DnsClient {
  return new DnsClient({ servers: knot.servers, search: [], ndots: 1, timeout: 2000, attempts: 2, ...options });
}

describe('interop with knotd', () => {
  test('A and AAAA of a headless service equal dig, with TTLs', async () => {
    const c = client();
    try {
      const expected = await dig(target, [NGINX_NAME, 'A']);
      const got = await c.resolve4(NGINX_NAME, { ttl: true });
      assert.deepEqual(got.map((r) => r.address).sort(), dataOf(expected.answer, 'A'));
      assert.deepEqual(got.map((r) => r.ttl), expected.answer.map((r) => r.ttl));
      const expected6 = await dig(target, [NGINX_NAME, 'AAAA']);
      assert.deepEqual((await c.resolve6(NGINX_NAME)).sort(), dataOf(expected6.answer, 'AAAA'));
      assert.deepEqual(
        (await c.resolve4(NGINX_NAME)).sort(),
        zonePods(NGINX).map((p) => p.ipv4).sort(),
      );
    } finally {
      c.close();
    }
  });

  test('SRV with glue from the additional section equals dig', async () => {
    const c = client();
    try {
      const expected = await dig(target, [SRV_NAME, 'SRV']);
      const srv = await c.resolveSrv(SRV_NAME);
      assert.deepEqual(
        srv.map((r) => `${r.priority} ${r.weight} ${r.port} ${r.name}.`).sort(),
        dataOf(expected.answer, 'SRV'),
      );
      for (const r of srv) {
        const glue = expected.additional.filter((a) => noDot(a.name) === r.name);
        assert.deepEqual(
          r.addresses.map((a) => `${a.family === 4 ? 'A' : 'AAAA'} ${a.address} ${a.ttl}`).sort(),
          glue.map((a) => `${a.type} ${a.data} ${a.ttl}`).sort(),
          r.name,
        );
      }
      // web-2 has no A/AAAA records: no glue for it.
      assert.deepEqual(srv.find((r) => r.name.startsWith('web-2.'))?.addresses, []);
      assert.equal(srv.find((r) => r.name.startsWith('web-0.'))?.addresses.length, 2);
    } finally {
      c.close();
    }
  });

  test('1,000 A records: truncated over UDP, whole over TCP, equal to dig', async () => {
    const c = client();
    try {
      const expected = await dig(target, [BIG_NAME, 'A', '+bufsize=1232']);
      assert.equal(expected.retriedOverTcp, true);
      const res = await c.query(BIG_NAME, 'A');
      assert.equal(res.transport, 'tcp');
      assert.equal(res.truncated, false);
      assert.equal(res.answers.length, 1000);
      assert.equal(c.stats.truncated, 1);
      assert.deepEqual((await c.resolve4(BIG_NAME)).sort(), dataOf(expected.answer, 'A'));
    } finally {
      c.close();
    }
  });

  test("tcp: 'always' gives the same answers", async () => {
    const udp = client();
    const tcp = client({ tcp: 'always' });
    try {
      for (const [name, type] of [[NGINX_NAME, 'A'], [SRV_NAME, 'SRV'], [BIG_NAME, 'A']] as const) {
        const a = await udp.query(name, type);
        const b = await tcp.query(name, type);
        assert.equal(b.transport, 'tcp');
        assert.deepEqual(b.answers, a.answers);
        assert.deepEqual(b.additionals, a.additionals);
      }
      assert.equal(tcp.stats.queries, tcp.stats.tcpQueries);
    } finally {
      udp.close();
      tcp.close();
    }
  });

  test('NXDOMAIN and NODATA carry the SOA dig shows; resolve* reject ENOTFOUND / ENODATA', async () => {
    const c = client();
    try {
      const missing = `ghost.default.svc.cluster.local`;
      const expected = await dig(target, [missing, 'A']);
      assert.equal(expected.status, 'NXDOMAIN');
      const res = await c.query(missing, 'A');
      assert.equal(res.rcode, 'NXDOMAIN');
      assert.deepEqual(res.authorities.map((r) => r.type), expected.authority.map((r) => r.type));
      await assert.rejects(c.resolveSrv(`_web._tcp.${missing}`), {
        code: 'ENOTFOUND',
        message: `querySrv ENOTFOUND _web._tcp.${missing} (server ${knot.servers[0]}: the name does not exist)`,
      });
      const nodata = await dig(target, [`web-0.${NGINX_NAME}`, 'SRV']);
      assert.equal(nodata.status, 'NOERROR');
      assert.equal(nodata.answer.length, 0);
      await assert.rejects(c.resolveSrv(`web-0.${NGINX_NAME}`), { code: 'ENODATA' });
    } finally {
      c.close();
    }
  });

  test('names are matched case-insensitively', async () => {
    const c = client();
    try {
      assert.deepEqual((await c.resolve4(NGINX_NAME.toUpperCase())).sort(), (await c.resolve4(NGINX_NAME)).sort());
      assert.equal(c.stats.dropped, 0);
    } finally {
      c.close();
    }
  });

  test('500 concurrent mixed queries all succeed', async () => {
    const c = client();
    try {
      const jobs = Array.from({ length: 500 }, (_, i) =>
        i % 3 === 0 ? c.resolveSrv(SRV_NAME) : i % 3 === 1 ? c.resolve4(`web-${i % 2}.${NGINX_NAME}`) : c.resolve6(NGINX_NAME),
      );
      const results = await Promise.all(jobs);
      assert.equal(results.length, 500);
      assert.equal(c.stats.timeouts, 0);
    } finally {
      c.close();
    }
  });
});
