import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPIRY_SLACK, MIN_INTERVAL_FLOOR, nextDelay, pollIntervals, POLL_JITTER } from '../../src/discovery/dns-poller.ts';
import { checkFamily, checkPort, checkProtocol } from '../../src/peer/index.ts';
import { InvalidArgumentError } from '../../src/dns/invalid-argument.ts';
import { clusterDomainOf, podNamespace, serviceDnsName, srvName } from '../../src/discovery/service-name.ts';

test('poll delay: after the TTL has run out in a cache, plus jitter, clamped to [minInterval, maxInterval]', () => {
  const bounds = { minInterval: 1000, maxInterval: 30_000 };
  assert.equal(nextDelay(5, bounds, 0), 5000 + EXPIRY_SLACK);
  assert.equal(nextDelay(5, bounds, 1), 5000 + EXPIRY_SLACK + POLL_JITTER);
  assert.equal(nextDelay(0, { minInterval: 3000, maxInterval: 30_000 }, 0.5), 3000);
  assert.equal(nextDelay(3600, bounds, 0.5), 30_000);
  const spread = new Set(Array.from({ length: 50 }, () => nextDelay(10, bounds)));
  assert.ok(spread.size > 1, 'jitter spreads the polls of many pods');
  // minInterval 0 with TTL 0 is not a busy loop: the floor holds.
  const floored = pollIntervals({ minInterval: 0, maxInterval: 0 });
  assert.deepEqual(floored, { minInterval: MIN_INTERVAL_FLOOR, maxInterval: MIN_INTERVAL_FLOOR });
  assert.equal(nextDelay(0, floored, 0), MIN_INTERVAL_FLOOR);
  // An authoritative answer passed no cache: no countdown to wait out, the poll is due at the TTL.
  assert.equal(nextDelay(5, bounds, 0, false), 5000);
  assert.equal(nextDelay(0, floored, 0, false), MIN_INTERVAL_FLOOR);
});

test('port, protocol and family are checked with clear typed errors', () => {
  assert.equal(checkPort('web'), 'web');
  assert.equal(checkPort(8080), 8080);
  assert.equal(checkPort(undefined), null);
  for (const bad of ['', 'a_b', '-web', 'web-', 'a--b', '1234', 'x'.repeat(16), 0, 65536, 1.5]) {
    assert.throws(() => checkPort(bad), (err: unknown) => err instanceof InvalidArgumentError && err.code === 'ERR_INVALID_ARG_VALUE');
  }
  assert.equal(checkProtocol('UDP'), 'udp');
  assert.throws(() => checkProtocol('http'), InvalidArgumentError);
  assert.throws(() => checkFamily(5), InvalidArgumentError);
});

test('service names: relative stays relative, namespace makes it absolute', () => {
  const podSearch = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];
  assert.equal(serviceDnsName('nginx', {}, podSearch), 'nginx');
  assert.equal(serviceDnsName('nginx.default', {}, podSearch), 'nginx.default');
  // Outside a pod (no cluster search domain) the name is completed as a pod's search list would.
  assert.equal(serviceDnsName('nginx.db', {}, ['example.com']), 'nginx.db.svc.cluster.local.');
  assert.equal(serviceDnsName('nginx.db.svc', {}, []), 'nginx.db.svc.cluster.local.');
  assert.equal(serviceDnsName('nginx.db.svc.k8s.example', {}, []), 'nginx.db.svc.k8s.example');
  assert.equal(serviceDnsName('nginx.default.svc.cluster.local.'), 'nginx.default.svc.cluster.local.');
  assert.equal(serviceDnsName('nginx', { namespace: 'db' }), 'nginx.db.svc.cluster.local.');
  assert.equal(serviceDnsName('nginx', { namespace: 'db', clusterDomain: 'k8s.example.' }), 'nginx.db.svc.k8s.example.');
  assert.equal(serviceDnsName('nginx', { namespace: 'db' }, ['db.svc.corp.local', 'svc.corp.local']), 'nginx.db.svc.corp.local.');
  assert.throws(() => serviceDnsName('nginx.default', { namespace: 'db' }), TypeError);
  assert.throws(() => serviceDnsName('a..b'), { code: 'EBADNAME' });
  assert.equal(srvName('web', 'tcp', 'nginx.default.svc.cluster.local.'), '_web._tcp.nginx.default.svc.cluster.local.');
  assert.equal(clusterDomainOf(['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local']), 'cluster.local');
});

test("a pod's namespace: namespace file, then POD_NAMESPACE, then the search list", () => {
  const saved = process.env.POD_NAMESPACE;
  try {
    delete process.env.POD_NAMESPACE;
    assert.equal(podNamespace(['shop.svc.cluster.local'], '/nonexistent'), 'shop');
    process.env.POD_NAMESPACE = 'queues';
    assert.equal(podNamespace(['shop.svc.cluster.local'], '/nonexistent'), 'queues');
    assert.equal(podNamespace([], '/nonexistent'), 'queues');
  } finally {
    if (saved === undefined) delete process.env.POD_NAMESPACE;
    else process.env.POD_NAMESPACE = saved;
  }
});
