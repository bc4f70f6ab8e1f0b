import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPodsCluster, createTestServer, type TestCluster, type TestDnsServer } from '../../src/testing/index.ts';
import { dig } from '../helpers/dig.ts';

// Interop with a real resolver implementation: Debian's dig (BIND 9).
const SVC = 'nginx.default.svc.cluster.local';
const BIG = 'big.default.svc.cluster.local';

let cluster: TestCluster;
let dns: TestDnsServer;

before(async () => {
  cluster = await createPodsCluster([
    { name: 'nginx', replicas: 3 },
    { name: 'big', replicas: 1000 },
  ]);
  dns = await createTestServer({ cluster });
});

after(async () => {
  await dns.close();
});

describe('dig', () => {
  for (const transport of ['+notcp', '+tcp']) {
    test(`A of a StatefulSet pod (${transport})`, async () => {
      const r = await dig(dns, [transport, `nginx-0.${SVC}`]);
      assert.equal(r.status, 'NOERROR');
      assert.ok(r.flags.includes('aa'));
      assert.deepEqual(
        r.answer.map((a) => [a.name, a.type, a.data]),
        [[`nginx-0.${SVC}.`, 'A', cluster.getPod('nginx-0')!.addresses[0]]],
      );
      assert.equal(r.answer[0]!.ttl, 5);
      assert.equal(r.transport, transport === '+tcp' ? 'TCP' : 'UDP');
      assert.equal(r.ednsUdp, 1232);
    });

    test(`SRV of the Service: 3 SRV with 3 glue A (${transport})`, async () => {
      const r = await dig(dns, [transport, 'SRV', `_web._tcp.${SVC}`]);
      assert.equal(r.status, 'NOERROR');
      assert.deepEqual(
        r.answer.map((a) => a.data).sort(),
        [0, 1, 2].map((i) => `0 33 80 nginx-${i}.${SVC}.`),
      );
      const glue = r.additional.filter((a) => a.type === 'A');
      assert.deepEqual(
        glue.map((g) => [g.name, g.data]).sort(),
        [0, 1, 2].map((i) => [`nginx-${i}.${SVC}.`, cluster.getPod(`nginx-${i}`)!.addresses[0]]),
      );
    });
  }

  test('NXDOMAIN with SOA, and REFUSED outside the zone', async () => {
    const nx = await dig(dns, [`nope.default.svc.cluster.local`]);
    assert.equal(nx.status, 'NXDOMAIN');
    assert.equal(nx.authority[0]!.type, 'SOA');
    const refused = await dig(dns, ['example.com']);
    assert.equal(refused.status, 'REFUSED');
  });

  test('PTR of a pod address (dig -x)', async () => {
    const r = await dig(dns, ['-x', cluster.getPod('nginx-2')!.addresses[0]!]);
    assert.deepEqual(r.answer.map((a) => a.data), [`nginx-2.${SVC}.`]);
  });

  test('1,000 pods: UDP answer has tc, dig retries over TCP and gets 1,000 SRV', async () => {
    const udp = await dig(dns, ['+ignore', 'SRV', `_web._tcp.${BIG}`]);
    assert.ok(udp.flags.includes('tc'));
    assert.equal(udp.answer.length, 0);
    const retried = await dig(dns, ['SRV', `_web._tcp.${BIG}`]);
    assert.equal(retried.retriedOverTcp, true);
    assert.equal(retried.transport, 'TCP');
    assert.equal(retried.flags.includes('tc'), false);
    assert.equal(retried.answer.length, 1000);
    assert.equal(new Set(retried.answer.map((a) => a.data)).size, 1000);
  });
});
