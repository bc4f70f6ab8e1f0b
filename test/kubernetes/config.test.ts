import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkApiTimeout, defaultNamespace, inClusterUrl, loadKubernetesConfig, serviceAccountOfToken, TokenProvider } from '../../src/kubernetes/config.ts';
import { isLoopbackHost } from '../../src/kubernetes/auth.ts';
import { sanitizeServerText } from '../../src/kubernetes/redact.ts';
import { peers } from '../../src/discovery/resolve.ts';
import { watchPeers } from '../../src/discovery/watcher.ts';
import { InvalidArgumentError } from '../../src/dns/invalid-argument.ts';
// The package file, not the bare name: Bun swaps `undici` for a stand-in (src/kubernetes/undici.ts).
import { Agent } from 'undici/index.js';
import type { Dispatcher } from 'undici/index.js';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { apiFixture } from './fixture.ts';
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
      // A caller that names its namespace does not need the file.
      assert.equal((await loadKubernetesConfig({ tokenFile, caFile, namespaceFile }, env, true)).namespace, null);
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

const isApiError = (code: string, pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof KubernetesApiError, String(err));
  assert.equal(err.code, code);
  assert.match(err.message, pattern);
  return true;
};

describe('Kubernetes config: bounds and security', () => {
  test('a bearer token never goes over http:// to anything but loopback', async () => {
    await assert.rejects(
      loadKubernetesConfig({ url: 'http://10.0.0.1:8080', token: 't' }, {}),
      isConfigError(/refusing to send the bearer token from kubernetes\.token over plain http:\/\/ to 10\.0\.0\.1:8080/),
    );
    await assert.rejects(loadKubernetesConfig({ url: 'http://api.example', tokenFile: '/x' }, {}), isConfigError(/refusing.*api\.example/));
    for (const url of ['http://127.0.0.1:8001', 'http://127.5.5.5', 'http://[::1]:8001', 'http://localhost:8001']) {
      assert.ok((await loadKubernetesConfig({ url, token: 't' }, {})).token, url);
    }
    // Without a token plain http stays possible (kubectl proxy on another host is the user's choice).
    assert.equal((await loadKubernetesConfig({ url: 'http://10.0.0.1:8001' }, {})).token, null);
    assert.equal(isLoopbackHost('[::ffff:127.0.0.1]'), true);
    assert.equal(isLoopbackHost('128.0.0.1'), false);
    assert.equal(isLoopbackHost('localhost.example.com'), false);
    assert.equal(isLoopbackHost('evil.localhost'), false);
  });

  test('a token function that never settles gives up at the request deadline and on abort', async () => {
    const f = await apiFixture({ token: 'never' });
    const before = activeResources();
    try {
      const kubernetes = { url: f.api.url, token: () => new Promise<string>(() => {}) };
      await assert.rejects(peers('nginx', { source: 'kubernetes', kubernetes, timeout: 300 }), isApiError('ETIMEOUT', /within 300 ms/));
      const controller = new AbortController();
      const pending = peers('nginx', { source: 'kubernetes', kubernetes, signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(pending, isApiError('ECANCELLED', /abort/));
      assert.equal(f.api.requests.length, 0);
      // With no deadline of its own (a watch), the token wait is still bounded.
      await assert.rejects(TokenProvider.fromValue(() => new Promise<string>(() => {})).token(undefined, 100), isApiError('ETIMEOUT', /no token from the kubernetes\.token function within 100 ms/));
      // One that rejects after the wait was given up is not an unhandled rejection.
      const late = TokenProvider.fromValue(() => new Promise<string>((_, reject) => setTimeout(() => reject('late'), 50)));
      await assert.rejects(late.token(AbortSignal.abort()), isApiError('ECANCELLED', /aborted while waiting/));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await assertNoLeaks(before);
    } finally {
      await f.close();
    }
  });

  test('a token function that throws a non-Error or returns junk gives a KubernetesApiError', async () => {
    const throwsString = TokenProvider.fromValue(() => {
      throw 'no token for you';
    });
    await assert.rejects(throwsString.get(), isConfigError(/the kubernetes\.token function failed: no token for you/));
    await assert.rejects(TokenProvider.fromValue(() => Promise.reject(42)).get(), isConfigError(/failed: 42/));
    await assert.rejects(TokenProvider.fromValue((() => 42) as unknown as () => string).get(), isConfigError(/not a string \(got number\)/));
    const f = await apiFixture({ token: 't' });
    try {
      await assert.rejects(peers('nginx', { source: 'kubernetes', kubernetes: { url: f.api.url, token: () => Promise.reject('nope') } }), isConfigError(/failed: nope/));
    } finally {
      await f.close();
    }
  });

  test('a namespace from the namespace file or POD_NAMESPACE must be a DNS-1123 label', async () => {
    const t = await tempDir();
    try {
      const dots = await t.file('namespace', '..\n');
      const config = await loadKubernetesConfig({ url: 'http://127.0.0.1:1', namespaceFile: dots }, {});
      assert.equal(config.namespace, '..');
      assert.throws(() => defaultNamespace(config, {}), isConfigError(/namespace from the namespace file is not a namespace name.*"\.\."/));
      const none = { namespace: null };
      assert.throws(() => defaultNamespace(none, { POD_NAMESPACE: '../..' }), isConfigError(/POD_NAMESPACE/));
      assert.throws(() => defaultNamespace(none, { POD_NAMESPACE: 'a/b' }), isConfigError(/POD_NAMESPACE/));
      assert.equal(defaultNamespace(none, { POD_NAMESPACE: ' apps ' }), 'apps');
      assert.equal(defaultNamespace(none, {}), 'default');
      assert.equal(defaultNamespace({ namespace: 'team-a' }, { POD_NAMESPACE: 'x' }), 'team-a');
      // End to end: no request leaves for a namespace "..".
      const f = await apiFixture();
      const saved = process.env.POD_NAMESPACE;
      process.env.POD_NAMESPACE = '..';
      try {
        await assert.rejects(peers('nginx', { source: 'kubernetes', kubernetes: { url: f.api.url, namespaceFile: '/nonexistent' } }), isConfigError(/POD_NAMESPACE/));
        assert.equal(f.api.requests.length, 0);
      } finally {
        if (saved === undefined) delete process.env.POD_NAMESPACE;
        else process.env.POD_NAMESPACE = saved;
        await f.close();
      }
    } finally {
      await t.close();
    }
  });

  test('the API timeout: NaN, 0, negative, Infinity, a string, over 2^31-1 ms are InvalidArgumentError', async () => {
    for (const bad of [Number.NaN, 0, -1, Number.POSITIVE_INFINITY, '1000', 2 ** 31, 1e12, null]) {
      assert.throws(() => checkApiTimeout(bad, 1), InvalidArgumentError, String(bad));
      await assert.rejects(peers('nginx', { source: 'kubernetes', kubernetes: { url: 'http://127.0.0.1:1' }, timeout: bad as number }), InvalidArgumentError, String(bad));
      for (const source of ['kubernetes', 'auto'] as const) {
        assert.throws(() => watchPeers('nginx', { source, kubernetes: { url: 'http://127.0.0.1:1' }, timeout: bad as number }), InvalidArgumentError, String(bad));
      }
    }
    assert.equal(checkApiTimeout(undefined, 30_000), 30_000);
    assert.equal(checkApiTimeout(2 ** 31 - 1, 1), 2 ** 31 - 1);
    for (const [name, value] of [['url', 5], ['kubeconfig', {}], ['context', 1], ['insecureSkipTlsVerify', 'yes'], ['ca', 5], ['token', 5]] as const) {
      await assert.rejects(loadKubernetesConfig({ [name]: value } as never, {}), InvalidArgumentError, name);
      assert.throws(() => watchPeers('nginx', { source: 'kubernetes', kubernetes: { [name]: value } as never }), InvalidArgumentError, name);
    }
    await assert.rejects(loadKubernetesConfig({ url: 'https://x', cert: 'c' }, {}), InvalidArgumentError);
  });

  test('kubernetes.dispatcher carries the requests of peers() and watchPeers(), and is not closed', async () => {
    class CountingAgent extends Agent {
      count = 0;
      override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
        this.count++;
        return super.dispatch(options, handler);
      }
    }
    const f = await apiFixture();
    const dispatcher = new CountingAgent();
    try {
      const kubernetes = { ...f.kubernetes, dispatcher };
      assert.equal((await peers('nginx', { source: 'kubernetes', port: 'web', kubernetes })).length, 3);
      assert.equal(dispatcher.count, 1);
      const watcher = watchPeers('nginx', { source: 'kubernetes', port: 'web', kubernetes });
      try {
        await watcher.ready;
        // The watch-list (or a list and a watch, where the server has no watch-list) goes through it too.
        await until(() => dispatcher.count >= 2, 'the watch through the dispatcher');
      } finally {
        watcher.close();
      }
      assert.equal(dispatcher.closed, false);
      await assert.rejects(loadKubernetesConfig({ url: f.api.url, dispatcher: {} as Dispatcher }, {}), InvalidArgumentError);
    } finally {
      await dispatcher.close();
      await f.close();
    }
  });

  test('server text in errors: control characters escaped, tokens redacted (a server that echoes the request)', async () => {
    assert.equal(sanitizeServerText('a\x1b[2Jb\nc\u0085'), 'a\\x1b[2Jb\\nc\\x85');
    assert.equal(sanitizeServerText('Authorization: Bearer abc.def-123'), 'Authorization: [redacted]');
    assert.equal(sanitizeServerText('{"authorization":"Bearer abc"}'), '{"authorization":"[redacted]"}');
    assert.equal(sanitizeServerText('got eyJhbGciOi.eyJzdWIiOi.sig here'), 'got [redacted] here');
    assert.equal(sanitizeServerText('plain secret-token-xyz text', ['secret-token-xyz']), 'plain [redacted] text');
    const server = http.createServer((req, res) => {
      const echo = `denied \x1b[31mfor\n${req.headers.authorization} and raw ${String(req.headers.authorization).slice(7)}`;
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', message: echo, reason: 'Forbidden\u001b[0m', code: 403 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await assert.rejects(peers('nginx', { source: 'kubernetes', kubernetes: { url, token: 'opaque-secret-value' } }), (err: unknown) => {
        assert.ok(err instanceof KubernetesApiError);
        assert.equal(err.code, 'EFORBIDDEN');
        assert.doesNotMatch(err.message, /opaque-secret-value/);
        assert.doesNotMatch(err.message, /[\x00-\x1f]/);
        assert.match(err.message, /denied \\x1b\[31mfor\\n/);
        return true;
      });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
