import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DnsClient, DnsError, peers } from '../../src/index.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { nginxFixture } from '../helpers/fixtures.ts';

describe('peers() over the test cluster', () => {
  test("the Kubernetes docs' example: nginx-0..2 with hosts, ordinals and port 80", async () => {
    const before = activeResources();
    const f = await nginxFixture();
    try {
      const list = await peers('nginx', { port: 'web', namespace: 'default', servers: f.servers });
      assert.deepEqual(
        list.map((p) => [p.host, p.name, p.ordinal, p.port, p.family, p.priority]),
        [0, 1, 2].map((n) => [`nginx-${n}.nginx.default.svc.cluster.local`, `nginx-${n}`, n, 80, 4, 0]),
      );
      assert.deepEqual(
        list.map((p) => p.address),
        f.set.pods.map((p) => p.addresses[0]),
      );
      assert.ok(list.every((p) => p.ttl === 5 && p.weight > 0 && p.self === false));
    } finally {
      await f.close();
    }
    await assertNoLeaks(before);
  });

  test('a port number asks A/AAAA of the service; no port gives port null and no host', async () => {
    const f = await nginxFixture();
    try {
      const withPort = await peers('nginx', { port: 8080, namespace: 'default', servers: f.servers });
      assert.equal(withPort.length, 3);
      assert.ok(withPort.every((p) => p.port === 8080 && p.host === null && p.ordinal === null));
      const bare = await peers('nginx.default.svc.cluster.local.', { servers: f.servers });
      assert.deepEqual(bare.map((p) => p.port), [null, null, null]);
    } finally {
      await f.close();
    }
  });

  test('names: short, .ns, .ns.svc, absolute, and a test resolv.conf with search + ndots:5', async () => {
    const f = await nginxFixture();
    const dir = mkdtempSync(join(tmpdir(), 'hsd-resolv-'));
    try {
      const resolvConf = join(dir, 'resolv.conf');
      writeFileSync(
        resolvConf,
        `nameserver ${f.servers[0]!.replace(/:(\d+)$/, '')}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`,
      );
      for (const name of ['nginx', 'nginx.default', 'nginx.default.svc', 'nginx.default.svc.cluster.local.']) {
        const list = await peers(name, { port: 'web', servers: f.servers, resolvConf });
        assert.equal(list.length, 3, name);
      }
      const client = new DnsClient({ servers: f.servers, resolvConf });
      try {
        assert.equal((await peers('nginx', { port: 'web', client })).length, 3);
        const asked = f.dns.queries.slice(-1)[0]!;
        assert.equal(asked.name.toLowerCase(), '_web._tcp.nginx.default.svc.cluster.local');
      } finally {
        client.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await f.close();
    }
  });

  test('1,000 pods arrive whole (TC, then TCP)', async () => {
    const f = await nginxFixture({ replicas: 1000 });
    try {
      const list = await peers('nginx', { port: 'web', namespace: 'default', servers: f.servers });
      assert.equal(list.length, 1000);
      assert.deepEqual(list.map((p) => p.ordinal), Array.from({ length: 1000 }, (_, i) => i));
      assert.ok(f.dns.queries.some((q) => q.transport === 'tcp'));
    } finally {
      await f.close();
    }
  });

  test('IPv6-only and dual-stack pods; family filters', async () => {
    const f = await nginxFixture({ ipFamilies: 'DualStack' });
    try {
      const both = await peers('nginx', { port: 'web', namespace: 'default', servers: f.servers });
      assert.equal(both.length, 6);
      assert.deepEqual(both.filter((p) => p.name === 'nginx-0').map((p) => p.family).sort(), [4, 6]);
      const v6 = await peers('nginx', { port: 'web', namespace: 'default', servers: f.servers, family: 6 });
      assert.deepEqual(v6.map((p) => p.family), [6, 6, 6]);
      const v4 = await peers('nginx', { port: 80, namespace: 'default', servers: f.servers, family: 4 });
      assert.deepEqual(v4.map((p) => p.family), [4, 4, 4]);
    } finally {
      await f.close();
    }
    const g = await nginxFixture({ ipFamilies: 'IPv6' });
    try {
      const list = await peers('nginx', { port: 'web', namespace: 'default', servers: g.servers });
      assert.deepEqual(list.map((p) => p.family), [6, 6, 6]);
      await assert.rejects(peers('nginx', { port: 'web', namespace: 'default', servers: g.servers, family: 4 }), { code: 'ENODATA' });
    } finally {
      await g.close();
    }
  });

  test('not-ready pods are left out unless the Service publishes them', async () => {
    const f = await nginxFixture();
    try {
      f.cluster.setReady('nginx-1', false);
      const ready = await peers('nginx', { port: 'web', namespace: 'default', servers: f.servers });
      assert.deepEqual(ready.map((p) => p.name), ['nginx-0', 'nginx-2']);
      f.cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }], publishNotReadyAddresses: true });
      const all = await peers('nginx', { port: 'web', namespace: 'default', servers: f.servers });
      assert.deepEqual(all.map((p) => p.name), ['nginx-0', 'nginx-1', 'nginx-2']);
    } finally {
      await f.close();
    }
  });

  test('self: the pod at 127.0.0.1 is exactly the one marked', async () => {
    const f = await nginxFixture();
    try {
      f.cluster.setPodAddresses('nginx-1', ['127.0.0.1']);
      const list = await peers('nginx', { port: 'web', namespace: 'default', servers: f.servers });
      assert.deepEqual(list.map((p) => p.self), [false, true, false]);
    } finally {
      await f.close();
    }
  });

  test('empty: NXDOMAIN says the service has no ready endpoints; allowEmpty gives []; unknown port likewise', async () => {
    const f = await nginxFixture({ replicas: 0 });
    try {
      await assert.rejects(peers('nginx', { port: 'web', namespace: 'default', servers: f.servers }), (err: unknown) => {
        assert.ok(err instanceof DnsError);
        assert.equal(err.code, 'ENOTFOUND');
        assert.match(err.message, /no ready endpoints/);
        return true;
      });
      assert.deepEqual(await peers('nginx', { namespace: 'default', servers: f.servers, allowEmpty: true }), []);
      f.set.scale(2);
      await assert.rejects(peers('nginx', { port: 'grpc', namespace: 'default', servers: f.servers }), (err: unknown) => {
        assert.ok(err instanceof DnsError);
        assert.match(err.message, /port named 'grpc'/);
        return true;
      });
      assert.deepEqual(await peers('nginx', { port: 'grpc', namespace: 'default', servers: f.servers, allowEmpty: true }), []);
    } finally {
      await f.close();
    }
  });

  test('typed errors: bad names, bad options, timeouts, abort', async () => {
    const f = await nginxFixture();
    try {
      await assert.rejects(peers('a..b', { servers: f.servers }), { code: 'EBADNAME' });
      await assert.rejects(peers('nginx', { port: 'no_such', servers: f.servers }), { code: 'ERR_INVALID_ARG_VALUE' });
      f.dns.fault({ drop: true });
      await assert.rejects(peers('nginx', { port: 'web', namespace: 'default', servers: f.servers, timeout: 50, attempts: 2 }), {
        code: 'ETIMEOUT',
      });
      const ac = new AbortController();
      const pending = peers('nginx', { port: 'web', namespace: 'default', servers: f.servers, timeout: 5000, signal: ac.signal });
      ac.abort();
      await assert.rejects(pending, { code: 'ECANCELLED' });
      f.dns.clearFaults();
      f.dns.fault({ rcode: 'SERVFAIL' });
      await assert.rejects(peers('nginx', { port: 'web', namespace: 'default', servers: f.servers, attempts: 1 }), { code: 'ESERVFAIL' });
    } finally {
      await f.close();
    }
  });
});
