import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { createTestCluster, createTestServer, type TestCluster, type TestDnsServer } from '../../src/testing/index.ts';
import { ask, dataOf, decode, makeQuery, rcodeOf, udpExchange } from '../helpers/raw-dns.ts';

const Z = 'cluster.local';
const svc = (name: string, ns = 'default'): string => `${name}.${ns}.svc.${Z}`;

let cluster: TestCluster;
let dns: TestDnsServer;

before(async () => {
  cluster = await createTestCluster({ ttl: 5 });
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80, protocol: 'TCP' }, { port: 9100 }] });
  cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 3 });
  cluster.setService({ name: 'empty', ports: [{ name: 'web', port: 80 }] });
  cluster.setService({ name: 'api', headless: false, ports: [{ name: 'http', port: 8080 }] });
  cluster.setService({ name: 'loose', ports: [{ name: 'grpc', port: 9000 }] });
  cluster.addPod({ name: 'loose-a', labels: { app: 'loose' } });
  cluster.setService({ name: 'v6', namespace: 'ipv6', ports: [{ name: 'web', port: 80 }] });
  cluster.statefulSet({ name: 'six', serviceName: 'v6', namespace: 'ipv6', replicas: 2, ipFamilies: 'IPv6' });
  cluster.setService({ name: 'dual', ports: [{ name: 'web', port: 80 }] });
  cluster.statefulSet({ name: 'ds', serviceName: 'dual', replicas: 2, ipFamilies: 'DualStack' });
  cluster.setService({ name: 'quorum', publishNotReadyAddresses: true, ports: [{ name: 'peer', port: 2380 }] });
  cluster.statefulSet({ name: 'etcd', serviceName: 'quorum', replicas: 3, ready: false });
  cluster.setService({ name: 'waiting', ports: [{ name: 'peer', port: 2380 }] });
  cluster.statefulSet({ name: 'wait', serviceName: 'waiting', replicas: 2, ready: false });
  dns = await createTestServer({ cluster });
});

after(async () => {
  await dns.close();
});

const addressesOf = (setName: string, ns = 'default'): string[] =>
  cluster.pods.filter((p) => p.namespace === ns && p.name.startsWith(`${setName}-`)).flatMap((p) => [...p.addresses]);

describe('A and AAAA', () => {
  test('a headless Service answers every ready pod, authoritative, with the TTL', async () => {
    const r = await ask(dns, svc('nginx'), 'A');
    assert.equal(rcodeOf(r), 'NOERROR');
    assert.equal(r.flag_aa, true);
    assert.equal(r.flag_tc, false);
    assert.deepEqual(dataOf(r.answers, 'A').sort(), addressesOf('web').sort());
    assert.ok(r.answers!.every((a) => (a as { ttl: number }).ttl === 5));
  });

  test('a StatefulSet pod answers its own address', async () => {
    const r = await ask(dns, `web-0.${svc('nginx')}`, 'A');
    assert.deepEqual(dataOf(r.answers, 'A'), [cluster.getPod('web-0')!.addresses[0]]);
  });

  test('a known name without that type is NODATA with the SOA in authority', async () => {
    const r = await ask(dns, svc('nginx'), 'AAAA');
    assert.equal(rcodeOf(r), 'NOERROR');
    assert.equal(r.answers!.length, 0);
    const soa = r.authorities![0] as dnsPacket.SoaAnswer;
    assert.equal(soa.type, 'SOA');
    assert.equal(soa.name, Z);
    assert.equal(soa.ttl, 5);
    assert.equal(soa.data.minimum, 5);
    assert.equal(soa.data.mname, `ns.dns.${Z}`);
  });

  test('IPv6 pods answer AAAA, and A is NODATA', async () => {
    const r = await ask(dns, svc('v6', 'ipv6'), 'AAAA');
    assert.deepEqual(dataOf(r.answers, 'AAAA').sort(), addressesOf('six', 'ipv6').sort());
    const a = await ask(dns, svc('v6', 'ipv6'), 'A');
    assert.equal(a.answers!.length, 0);
    assert.equal(a.authorities![0]!.type, 'SOA');
  });

  test('dual-stack pods answer both families', async () => {
    const v4 = await ask(dns, `ds-1.${svc('dual')}`, 'A');
    const v6 = await ask(dns, `ds-1.${svc('dual')}`, 'AAAA');
    const pod = cluster.getPod('ds-1')!;
    assert.deepEqual([...dataOf(v4.answers, 'A'), ...dataOf(v6.answers, 'AAAA')], [...pod.addresses]);
  });

  test('names compare case-insensitively and the question is echoed as asked', async () => {
    const name = 'NGINX.Default.SVC.Cluster.LOCAL';
    const r = await ask(dns, name, 'A');
    assert.equal(r.questions![0]!.name, name);
    assert.equal(r.answers!.length, 3);
    assert.ok(r.answers!.every((a) => a.name === name));
  });

  test('a ClusterIP Service answers its cluster IP and has no pod names', async () => {
    const r = await ask(dns, svc('api'), 'A');
    assert.deepEqual(dataOf(r.answers, 'A'), [cluster.getService('api')!.clusterIP]);
    const pod = await ask(dns, `api-0.${svc('api')}`, 'A');
    assert.equal(rcodeOf(pod), 'NXDOMAIN');
  });

  test('not-ready pods are left out, unless the Service publishes them', async () => {
    assert.equal(rcodeOf(await ask(dns, svc('waiting'), 'A')), 'NXDOMAIN');
    const r = await ask(dns, svc('quorum'), 'A');
    assert.equal(r.answers!.length, 3);
    const srv = await ask(dns, `_peer._tcp.${svc('quorum')}`, 'SRV');
    assert.equal(srv.answers!.length, 3);
  });
});

describe('SRV', () => {
  test('one SRV per ready pod with glue A records, weights split 100 as CoreDNS does', async () => {
    const r = await ask(dns, `_web._tcp.${svc('nginx')}`, 'SRV');
    const srv = dataOf(r.answers, 'SRV') as dnsPacket.SrvData[];
    assert.deepEqual(
      srv.map((s) => s.target).sort(),
      ['web-0', 'web-1', 'web-2'].map((h) => `${h}.${svc('nginx')}`),
    );
    for (const s of srv) {
      assert.equal(s.priority, 0);
      assert.equal(s.weight, 33);
      assert.equal(s.port, 80);
    }
    const glue = r.additionals!.filter((a) => a.type === 'A') as dnsPacket.StringAnswer[];
    assert.deepEqual(
      glue.map((g) => [g.name, g.data]).sort(),
      ['web-0', 'web-1', 'web-2'].map((h) => [`${h}.${svc('nginx')}`, cluster.getPod(h)!.addresses[0]]),
    );
  });

  test('weights follow the number of answers', async () => {
    const set = cluster.statefulSet({ name: 'w', serviceName: 'weights', replicas: 4 });
    cluster.setService({ name: 'weights', ports: [{ name: 'web', port: 80 }] });
    const four = await ask(dns, `_web._tcp.${svc('weights')}`, 'SRV');
    assert.deepEqual((dataOf(four.answers, 'SRV') as dnsPacket.SrvData[]).map((s) => s.weight), [25, 25, 25, 25]);
    set.scale(7);
    const seven = await ask(dns, `_web._tcp.${svc('weights')}`, 'SRV');
    assert.deepEqual(new Set((dataOf(seven.answers, 'SRV') as dnsPacket.SrvData[]).map((s) => s.weight)), new Set([14]));
    set.scale(1);
    const one = await ask(dns, `_web._tcp.${svc('weights')}`, 'SRV');
    assert.equal((dataOf(one.answers, 'SRV') as dnsPacket.SrvData[])[0]!.weight, 100);
  });

  test('unknown port names and protocols are NXDOMAIN; unnamed ports have no _port name', async () => {
    assert.equal(rcodeOf(await ask(dns, `_nope._tcp.${svc('nginx')}`, 'SRV')), 'NXDOMAIN');
    assert.equal(rcodeOf(await ask(dns, `_web._udp.${svc('nginx')}`, 'SRV')), 'NXDOMAIN');
    // The Service name itself answers SRV for every port, named or not (CoreDNS).
    const all = await ask(dns, svc('nginx'), 'SRV');
    assert.deepEqual(new Set((dataOf(all.answers, 'SRV') as dnsPacket.SrvData[]).map((s) => s.port)), new Set([80, 9100]));
    assert.equal(all.answers!.length, 6);
  });

  test('a ClusterIP Service SRV targets the Service name, with its cluster IP as glue', async () => {
    const r = await ask(dns, `_http._tcp.${svc('api')}`, 'SRV');
    const [s] = dataOf(r.answers, 'SRV') as dnsPacket.SrvData[];
    assert.deepEqual(s, { priority: 0, weight: 100, port: 8080, target: svc('api') });
    assert.deepEqual(dataOf(r.additionals, 'A'), [cluster.getService('api')!.clusterIP]);
  });

  test('endpoints without hostname are named by their dashed address, as CoreDNS does', async () => {
    const address = cluster.getPod('loose-a')!.addresses[0]!;
    const dashed = `${address.replace(/\./g, '-')}.${svc('loose')}`;
    const r = await ask(dns, `_grpc._tcp.${svc('loose')}`, 'SRV');
    assert.equal((dataOf(r.answers, 'SRV') as dnsPacket.SrvData[])[0]!.target, dashed);
    assert.deepEqual(dataOf(r.additionals, 'A'), [address]);
    assert.deepEqual(dataOf((await ask(dns, dashed, 'A')).answers, 'A'), [address]);
  });

  test('IPv6 and dual-stack targets carry AAAA glue', async () => {
    const v6 = await ask(dns, `_web._tcp.${svc('v6', 'ipv6')}`, 'SRV');
    assert.deepEqual((dataOf(v6.additionals, 'AAAA') as string[]).sort(), addressesOf('six', 'ipv6').sort());
    const dual = await ask(dns, `_web._tcp.${svc('dual')}`, 'SRV');
    assert.equal(dual.answers!.length, 2);
    assert.equal(dataOf(dual.additionals, 'A').length, 2);
    assert.equal(dataOf(dual.additionals, 'AAAA').length, 2);
  });
});

describe('other names', () => {
  test('dns-version TXT is 1.1.0 and the apex answers its SOA', async () => {
    const txt = await ask(dns, `dns-version.${Z}`, 'TXT');
    assert.deepEqual((dataOf(txt.answers, 'TXT') as Buffer[][]).map((d) => d.map(String)), [['1.1.0']]);
    const soa = await ask(dns, Z, 'SOA');
    assert.equal(soa.answers![0]!.type, 'SOA');
    assert.equal(soa.authorities!.length, 0);
  });

  test('a headless Service with no ready pods is NXDOMAIN, SRV included', async () => {
    for (const [name, type] of [
      [svc('empty'), 'A'],
      [`_web._tcp.${svc('empty')}`, 'SRV'],
    ] as const) {
      const r = await ask(dns, name, type);
      assert.equal(rcodeOf(r), 'NXDOMAIN');
      assert.equal(r.flag_aa, true);
      assert.equal(r.authorities![0]!.type, 'SOA');
    }
  });

  test('unknown names in the zone are NXDOMAIN; namespaces and svc exist (NODATA)', async () => {
    for (const name of [svc('nope'), svc('nginx', 'nons'), `web-9.${svc('nginx')}`, `pod.${Z}`, `x.y.${svc('nginx')}`]) {
      assert.equal(rcodeOf(await ask(dns, name, 'A')), 'NXDOMAIN', name);
    }
    for (const name of [`default.svc.${Z}`, `svc.${Z}`, `_tcp.${svc('nginx')}`]) {
      const r = await ask(dns, name, 'A');
      assert.equal(rcodeOf(r), 'NOERROR', name);
      assert.equal(r.answers!.length, 0);
    }
  });

  test('names outside the zone are REFUSED, not authoritative', async () => {
    for (const name of ['example.com', 'local', `${Z}.example`, '.']) {
      const r = await ask(dns, name, 'A');
      assert.equal(rcodeOf(r), 'REFUSED', name);
      assert.equal(r.flag_aa, false);
    }
    assert.equal(rcodeOf(await ask(dns, svc('nginx'), 'A', { class: 'CH' })), 'REFUSED');
    assert.equal(rcodeOf(await ask(dns, Z, 'AXFR')), 'REFUSED');
  });

  test('PTR of pod, ClusterIP and IPv6 addresses; NXDOMAIN for others', async () => {
    const ptr = async (address: string): Promise<dnsPacket.DecodedPacket> => {
      const name = address.includes(':')
        ? `${[...expand6(address)].reverse().join('.')}.ip6.arpa`
        : `${address.split('.').reverse().join('.')}.in-addr.arpa`;
      return ask(dns, name, 'PTR');
    };
    assert.deepEqual(dataOf((await ptr(cluster.getPod('web-1')!.addresses[0]!)).answers, 'PTR'), [`web-1.${svc('nginx')}`]);
    assert.deepEqual(dataOf((await ptr(cluster.getService('api')!.clusterIP!)).answers, 'PTR'), [svc('api')]);
    const six = cluster.getPod('six-0', 'ipv6')!.addresses[0]!;
    assert.deepEqual(dataOf((await ptr(six)).answers, 'PTR'), [`six-0.${svc('v6', 'ipv6')}`]);
    const unknown = await ptr('192.0.2.7');
    assert.equal(rcodeOf(unknown), 'NXDOMAIN');
    assert.equal(unknown.authorities![0]!.name, 'in-addr.arpa');
    // An ancestor of a held address exists.
    assert.equal(rcodeOf(await ask(dns, '127.in-addr.arpa', 'PTR')), 'NOERROR');
  });
});

describe('protocol', () => {
  test('EDNS: an OPT in the query gets an OPT back; none without', async () => {
    const withEdns = await ask(dns, svc('nginx'), 'A', { edns: 4096 });
    const opt = withEdns.additionals!.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer;
    assert.equal(opt.udpPayloadSize, 1232);
    const without = await ask(dns, svc('nginx'), 'A');
    assert.equal(without.additionals!.length, 0);
  });

  test('EDNS version 1 gets BADVERS', async () => {
    const r = await ask(dns, svc('nginx'), 'A', { edns: 1232, ednsVersion: 1 });
    const opt = r.additionals!.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer;
    assert.equal(opt.extendedRcode, 1); // BADVERS = 16 = extended 1, header 0
    assert.equal(r.answers!.length, 0);
  });

  test('FORMERR for malformed queries', async () => {
    const good = makeQuery(svc('nginx'), 'A', { id: 7 });
    const cases: [string, Buffer][] = [
      ['no question', Buffer.from(dnsPacket.encode({ type: 'query', id: 7, questions: [] }))],
      [
        'two questions',
        Buffer.from(
          dnsPacket.encode({
            type: 'query',
            id: 7,
            questions: [
              { type: 'A', name: svc('nginx') },
              { type: 'A', name: svc('api') },
            ],
          }),
        ),
      ],
      ['QR set', Buffer.from(dnsPacket.encode({ type: 'response', id: 7, questions: [{ type: 'A', name: svc('nginx') }] }))],
      ['cut short', good.subarray(0, good.length - 3)],
      ['trailing bytes', Buffer.concat([good, Buffer.from([1, 2, 3])])],
      ['answer count too high', Buffer.from(good).fill(0, 6, 7).fill(1, 7, 8)],
    ];
    for (const [why, packet] of cases) {
      const response = await udpExchange(dns, packet);
      assert.ok(response, why);
      const r = decode(response);
      assert.equal(rcodeOf(r), 'FORMERR', why);
      assert.equal(r.id, 7);
    }
  });

  test('NOTIMP for opcodes other than QUERY', async () => {
    const packet = makeQuery(svc('nginx'), 'A', { id: 9 });
    packet.writeUInt16BE(packet.readUInt16BE(2) | (2 << 11), 2); // STATUS
    const r = decode((await udpExchange(dns, packet))!);
    assert.equal(rcodeOf(r), 'NOTIMP');
    assert.equal((r as unknown as { opcode: string }).opcode, 'STATUS');
  });

  test('the next query sees every change to the model', async () => {
    cluster.setService({ name: 'live', ports: [{ name: 'web', port: 80 }] });
    const set = cluster.statefulSet({ name: 'live', serviceName: 'live', replicas: 2 });
    assert.equal((await ask(dns, svc('live'), 'A')).answers!.length, 2);
    set.scale(5);
    assert.equal((await ask(dns, svc('live'), 'A')).answers!.length, 5);
    cluster.setReady('live-1', false);
    assert.equal((await ask(dns, `_web._tcp.${svc('live')}`, 'SRV')).answers!.length, 4);
    cluster.setPodAddresses('live-0', ['127.9.9.9']);
    assert.deepEqual(dataOf((await ask(dns, `live-0.${svc('live')}`, 'A')).answers, 'A'), ['127.9.9.9']);
    cluster.ttl = 30;
    assert.equal(((await ask(dns, svc('live'), 'A')).answers![0] as { ttl?: number }).ttl, 30);
    cluster.ttl = 5;
    cluster.removeService('live');
    assert.equal(rcodeOf(await ask(dns, svc('live'), 'A')), 'NXDOMAIN');
  });

  test('the ttl option overrides the cluster TTL', async () => {
    const other = await createTestServer({ cluster, ttl: 60 });
    try {
      const r = await ask(other, svc('nginx'), 'A');
      assert.ok(r.answers!.every((a) => (a as { ttl?: number }).ttl === 60));
      const nodata = await ask(other, svc('nginx'), 'AAAA');
      assert.equal((nodata.authorities![0] as dnsPacket.SoaAnswer).data.minimum, 60);
    } finally {
      await other.close();
    }
  });
});

/** The 32 nibbles of an IPv6 address, most significant first. */
function expand6(address: string): string {
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => g.padStart(4, '0')).join('');
}
