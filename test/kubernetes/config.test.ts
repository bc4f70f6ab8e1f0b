import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inClusterUrl, loadKubernetesConfig, serviceAccountOfToken, TokenProvider } from '../../src/kubernetes/config.ts';
import { KubernetesApiError } from '../../src/kubernetes/errors.ts';
import { parseServiceRef } from '../../src/kubernetes/source.ts';
import { serviceAccountToken } from './fixture.ts';

async function tempDir(): Promise<{ dir: string; file(name: string, text: string): Promise<string>; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'headless-sd-config-'));
  return {
    dir,
    file: async (name, text) => {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

const isConfigError = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof KubernetesApiError);
  assert.equal(err.code, 'ECONFIG');
  assert.match(err.message, pattern);
  return true;
};

describe('Kubernetes config', () => {
  test('in-cluster: URL from the environment (IPv6 in brackets), token, CA and namespace files', async () => {
    const t = await tempDir();
    try {
      const tokenFile = await t.file('token', 'tok-1\n');
      const caFile = await t.file('ca.crt', '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n');
      const namespaceFile = await t.file('namespace', 'apps\n');
      const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' };
      const config = await loadKubernetesConfig({ tokenFile, caFile, namespaceFile }, env);
      assert.equal(config.url.toString(), 'https://[fd00::1]:6443/');
      assert.equal(await config.token!.get(), 'tok-1');
      assert.match(String(config.ca), /BEGIN CERTIFICATE/);
      assert.equal(config.caSource, `CA file ${caFile}`);
      assert.equal(config.namespace, 'apps');
      assert.equal(inClusterUrl('10.96.0.1', '443'), 'https://10.96.0.1:443');
    } finally {
      await t.close();
    }
  });

  test('ECONFIG says what was looked for', async () => {
    await assert.rejects(loadKubernetesConfig({}, {}), isConfigError(/kubernetes\.url.*KUBERNETES_SERVICE_HOST/));
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    await assert.rejects(loadKubernetesConfig({ caFile: '/nonexistent/ca.crt' }, env), isConfigError(/\/nonexistent\/ca\.crt/));
    await assert.rejects(loadKubernetesConfig({ url: 'ftp://x' }, {}), isConfigError(/http:\/\/ or https:\/\//));
    await assert.rejects(loadKubernetesConfig({ url: 'not a url' }, {}), isConfigError(/not a URL/));
    const config = await loadKubernetesConfig({ tokenFile: '/nonexistent/token', ca: 'x' }, env);
    await assert.rejects(config.token!.get(), isConfigError(/\/nonexistent\/token/));
    await assert.rejects(TokenProvider.fromValue('  ').get(), isConfigError(/empty/));
  });

  test('explicit url: no token unless given (kubectl proxy), system CAs unless given', async () => {
    const config = await loadKubernetesConfig({ url: 'http://127.0.0.1:8001/', namespaceFile: '/nonexistent' }, {});
    assert.equal(config.token, null);
    assert.equal(config.ca, undefined);
    assert.equal(config.caSource, null);
    assert.equal(config.namespace, null);
    const withToken = await loadKubernetesConfig({ url: 'https://api.example:6443/prefix', token: () => 'fn-token', ca: 'pem' }, {});
    assert.equal(await withToken.token!.get(), 'fn-token');
    assert.equal(withToken.token!.refreshable, true);
    assert.equal(withToken.url.pathname, '/prefix');
    assert.equal(withToken.caSource, 'kubernetes.ca');
  });

  test('token file: re-read when it changes, cached while it does not, re-read after invalidate()', async () => {
    const t = await tempDir();
    try {
      const path = await t.file('token', 'token-A');
      const provider = TokenProvider.fromFile(path);
      assert.equal(await provider.get(), 'token-A');
      // Rotated: new content and mtime.
      const { mtime } = await stat(path);
      await writeFile(path, 'token-B');
      await utimes(path, mtime, new Date(mtime.getTime() + 5000));
      assert.equal(await provider.get(), 'token-B');
      // Rewritten with the same size and mtime: looks unchanged until a 401 invalidates it.
      const same = await stat(path);
      await writeFile(path, 'token-C');
      await utimes(path, same.atime, same.mtime);
      assert.equal(await provider.get(), 'token-B');
      provider.invalidate();
      assert.equal(await provider.get(), 'token-C');
      assert.equal(provider.last, 'token-C');
      // The periodic re-read (here: every time).
      const eager = TokenProvider.fromFile(path, 0);
      assert.equal(await eager.get(), 'token-C');
      const again = await stat(path);
      await writeFile(path, 'token-D');
      await utimes(path, again.atime, again.mtime);
      assert.equal(await eager.get(), 'token-D');
    } finally {
      await t.close();
    }
  });

  test('serviceAccountOfToken reads the JWT subject', () => {
    assert.equal(serviceAccountOfToken(serviceAccountToken('default', 'web')), 'default/web');
    assert.equal(serviceAccountOfToken('opaque'), null);
    assert.equal(serviceAccountOfToken('a.!!!.c'), null);
  });

  test('parseServiceRef: bare, namespaced and fully qualified names', () => {
    assert.deepEqual(parseServiceRef('nginx'), { service: 'nginx', namespace: undefined, clusterDomain: undefined });
    assert.deepEqual(parseServiceRef('nginx.db'), { service: 'nginx', namespace: 'db', clusterDomain: undefined });
    assert.deepEqual(parseServiceRef('nginx.db.svc'), { service: 'nginx', namespace: 'db', clusterDomain: undefined });
    assert.deepEqual(parseServiceRef('Nginx.db.svc.cluster.local.'), { service: 'nginx', namespace: 'db', clusterDomain: 'cluster.local' });
    for (const bad of ['', '1nginx', 'nginx.db.pod', 'nginx..svc', 'nginx.db.svc..x', 'a'.repeat(64)]) {
      assert.throws(() => parseServiceRef(bad), { code: 'ERR_INVALID_ARG_VALUE' }, bad);
    }
  });
});
