/**
 * `source: 'auto'`: the Kubernetes API when this process may list EndpointSlices, else DNS,
 * said once on NODE_DEBUG=headless-sd, and a hand-over to DNS when the API stays denied.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { peers, watchPeers } from '../../src/index.ts';
import { createTestServer } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { apiFixture, expectedPeers, keysOf } from '../kubernetes/fixture.ts';
import { startNode } from '../cli/child.ts';

/** Not in a pod, no kubeconfig: the API has no config. */
function noApiEnv(): () => void {
  const saved = { KUBECONFIG: process.env.KUBECONFIG, HOST: process.env.KUBERNETES_SERVICE_HOST, PORT: process.env.KUBERNETES_SERVICE_PORT };
  process.env.KUBECONFIG = '/nonexistent/kubeconfig';
  delete process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_PORT;
  return () => {
    for (const [k, v] of [['KUBECONFIG', saved.KUBECONFIG], ['KUBERNETES_SERVICE_HOST', saved.HOST], ['KUBERNETES_SERVICE_PORT', saved.PORT]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

describe("source: 'auto'", () => {
  test('no API config: DNS, for peers() and watchPeers() (watcher.source says so)', async () => {
    const restore = noApiEnv();
    const f = await apiFixture();
    const dns = await createTestServer({ cluster: f.cluster });
    const before = activeResources();
    try {
      const list = await peers('nginx', { source: 'auto', port: 'web', namespace: 'default', servers: dns.servers });
      assert.deepEqual(keysOf(list.map((p) => ({ ...p, ttl: 0 }))), keysOf(expectedPeers(f.cluster)));
      assert.equal(f.api.requests.length, 0);
      const watcher = watchPeers('nginx', { source: 'auto', port: 'web', namespace: 'default', servers: dns.servers });
      try {
        assert.equal((await watcher.ready).length, 3);
        assert.equal(watcher.source, 'dns');
      } finally {
        watcher.close();
      }
      await assertNoLeaks(before);
    } finally {
      restore();
      await dns.close();
      await f.close();
    }
  });

  test('the API when the list succeeds; DNS when it is forbidden', async () => {
    const f = await apiFixture({ token: 't' });
    const dns = await createTestServer({ cluster: f.cluster });
    try {
      const common = { source: 'auto', port: 'web', namespace: 'default', servers: dns.servers, kubernetes: f.kubernetes } as const;
      await peers('nginx', common);
      assert.equal(f.api.requests.length, 1);
      const watcher = watchPeers('nginx', common);
      try {
        assert.equal(watcher.source, null);
        await watcher.ready;
        assert.equal(watcher.source, 'kubernetes');
        f.set.scale(4);
        await until(() => watcher.peers.length === 4, 'the API watch sees web-3');
      } finally {
        watcher.close();
      }
      f.api.setForbidden(true);
      const served = f.api.requests.length;
      assert.equal((await peers('nginx', common)).length, 4);
      assert.equal(f.api.requests.length, served + 1, 'one API list was tried, then DNS answered');
      const denied = watchPeers('nginx', { ...common, kubernetes: { ...f.kubernetes } });
      try {
        await denied.ready;
        assert.equal(denied.source, 'dns');
      } finally {
        denied.close();
      }
    } finally {
      await dns.close();
      await f.close();
    }
  });

  for (const [what, fault, code] of [
    ['denied', (f: Awaited<ReturnType<typeof apiFixture>>) => (f.api.setForbidden(true), f.api.dropWatches()), 'EFORBIDDEN'],
    ['down', (f: Awaited<ReturnType<typeof apiFixture>>) => void f.api.stop(), 'ECONNECTION'],
  ] as const) {
    test(`a watch ${what} for longer than maxInterval hands over to DNS and keeps the set`, async () => {
      const f = await apiFixture({ token: 't' });
      const dns = await createTestServer({ cluster: f.cluster });
      const before = activeResources();
      const watcher = watchPeers('nginx', {
        source: 'auto', port: 'web', namespace: 'default', servers: dns.servers, kubernetes: f.kubernetes, minInterval: 20, maxInterval: 300,
      });
      const errors: Error[] = [];
      watcher.on('error', (e) => errors.push(e));
      try {
        await watcher.ready;
        assert.equal(watcher.source, 'kubernetes');
        fault(f);
        await until(() => watcher.source === 'dns', 'the hand-over to DNS', 20_000);
        assert.ok(errors.some((e) => (e as { code?: string }).code === code), errors.map((e) => e.message).join('; '));
        assert.equal(watcher.peers.length, 3);
        f.set.scale(5);
        await until(() => watcher.peers.length === 5, 'DNS polling sees web-3 and web-4', 20_000);
      } finally {
        watcher.close();
        await dns.close();
        await f.close();
      }
      await assertNoLeaks(before);
    });
  }

  test('the choice and its reason are said once on NODE_DEBUG=headless-sd', async () => {
    const f = await apiFixture();
    const dns = await createTestServer({ cluster: f.cluster });
    try {
      const child = startNode('src/cli.ts', ['resolve', 'nginx', '--source', 'auto', '-n', 'default', '-p', 'web', '--server', dns.servers[0]!], {
        NODE_DEBUG: 'headless-sd',
        KUBECONFIG: '/nonexistent/kubeconfig',
        KUBERNETES_SERVICE_HOST: '',
        KUBERNETES_SERVICE_PORT: '',
      });
      const { code } = await child.exited;
      assert.equal(code, 0, child.stderr.join('\n'));
      const said = child.stderr.filter((l) => /source auto for nginx/.test(l));
      assert.equal(said.length, 1, child.stderr.join('\n'));
      assert.match(said[0]!, /using DNS \(no usable Kubernetes API config: .*KUBECONFIG: \/nonexistent\/kubeconfig/);
    } finally {
      await dns.close();
      await f.close();
    }
  });
});
