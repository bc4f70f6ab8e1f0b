/**
 * peers() and watchPeers() with no `url` reach the fake API over TLS through KUBECONFIG,
 * with each kind of credential a kubeconfig can hold.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peers } from '../../src/discovery/resolve.ts';
import { watchPeers } from '../../src/discovery/watcher.ts';
import { KubernetesApiError } from '../../src/kubernetes/errors.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { runtime } from '../helpers/runtime.ts';
import { apiFixture, expectedPeers, keysOf } from './fixture.ts';
import type { ApiFixture } from './fixture.ts';

/** Runs `fn` with these environment variables (undefined: unset), then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set(vars);
  try {
    return await fn();
  } finally {
    set(saved);
  }
}

/** KUBECONFIG set, not in a pod. */
const kubeconfigEnv = (path: string): Record<string, string | undefined> => ({
  KUBECONFIG: path,
  KUBERNETES_SERVICE_HOST: undefined,
  KUBERNETES_SERVICE_PORT: undefined,
  POD_NAMESPACE: undefined,
});

/**
 * Runs `fn` with a temp dir for plugin scripts, checks that nothing was left open, then closes
 * the fixture and removes the dir.
 */
async function withPluginDir(f: ApiFixture, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'headless-sd-exec-'));
  const before = activeResources();
  try {
    await fn(dir);
    await assertNoLeaks(before);
  } finally {
    await f.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('peers() and watchPeers() through KUBECONFIG', () => {
  test('token: list and watch over TLS with the kubeconfig CA; the context namespace is the default', async () => {
    const f = await apiFixture({ tls: true, token: 'kc-token' });
    const before = activeResources();
    try {
      const path = await f.api.kubeconfig({ namespace: 'default' });
      await withEnv(kubeconfigEnv(path), async () => {
        const list = await peers('nginx', { source: 'kubernetes', port: 'web' });
        assert.deepEqual(keysOf(list), keysOf(expectedPeers(f.cluster)));
        assert.equal(f.api.requests.at(-1)!.token, 'kc-token');
        assert.equal(f.api.requests.at(-1)!.path, '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices');
        const watcher = watchPeers('nginx', { source: 'kubernetes', port: 'web' });
        try {
          assert.equal((await watcher.ready).length, 3);
          f.set.scale(4);
          await until(() => watcher.peers.length === 4, 'web-3 through the watch');
        } finally {
          watcher.close();
        }
      });
      await assertNoLeaks(before);
    } finally {
      await f.close();
    }
  });

  test('token file beside the kubeconfig (a relative path)', async () => {
    const f = await apiFixture({ tls: true, token: 'file-token' });
    try {
      const path = await f.api.kubeconfig({ tokenFile: true });
      assert.match(await readFile(path, 'utf8'), /tokenFile: token/);
      await withEnv(kubeconfigEnv(path), async () => {
        assert.equal((await peers('nginx', { source: 'kubernetes', port: 'web' })).length, 3);
        assert.equal(f.api.requests.at(-1)!.token, 'file-token');
      });
    } finally {
      await f.close();
    }
  });

  test('client certificate: the fake requires one; without it the connection fails', async () => {
    const f = await apiFixture({ tls: true, clientCertificate: true });
    try {
      const path = await f.api.kubeconfig();
      assert.match(await readFile(path, 'utf8'), /client-certificate-data/);
      await withEnv(kubeconfigEnv(path), async () => {
        assert.equal((await peers('nginx', { source: 'kubernetes', port: 'web' })).length, 3);
        assert.equal(f.api.requests.at(-1)!.token, null);
      });
      // Revoked: TLS still accepts it, the API answers 401, and the message names the certificate.
      // (Bun's https server does not show client certificates: the fake refuses to pretend.)
      if (runtime === 'bun') assert.throws(() => f.api.revokeClientCertificate(f.api.clientCertificate!), /Bun lacks/);
      else f.api.revokeClientCertificate(f.api.clientCertificate!);
      if (runtime !== 'bun') await withEnv(kubeconfigEnv(path), async () => {
        await assert.rejects(peers('nginx', { source: 'kubernetes', port: 'web' }), (err: unknown) => {
          assert.ok(err instanceof KubernetesApiError, String(err));
          assert.equal(err.code, 'EUNAUTHORIZED');
          assert.match(err.message, /client certificate from the user of kubeconfig .* is not accepted/);
          return true;
        });
      });
      // Another certificate from the same client CA is accepted.
      const issued = await f.api.issueClientCertificate('another-user');
      assert.equal(issued.ca, f.api.clientCertificate!.ca);
      assert.notEqual(issued.cert, f.api.clientCertificate!.cert);
      const url = f.api.url;
      assert.equal((await peers('nginx', { source: 'kubernetes', port: 'web', namespace: 'default', kubernetes: { url, ca: f.api.ca!, cert: issued.cert, key: issued.key } })).length, 3);
      const without = await f.api.kubeconfig({ clientCertificate: false, name: 'nocert' });
      await withEnv(kubeconfigEnv(without), async () => {
        await assert.rejects(peers('nginx', { source: 'kubernetes', port: 'web', timeout: 20_000 }), (err: unknown) => {
          assert.ok(err instanceof KubernetesApiError, String(err));
          assert.ok(['ECONNECTION', 'ETLS'].includes(err.code), err.code);
          return true;
        });
      });
    } finally {
      await f.close();
    }
  });

  test('exec plugin: its token is cached until expirationTimestamp, run again after it and after a 401', async () => {
    const f = await apiFixture({ tls: true, token: 'exec-1' });
    await withPluginDir(f, async (dir) => {
      const runs = join(dir, 'runs');
      const current = join(dir, 'current-token');
      await writeFile(runs, '');
      await writeFile(current, 'exec-1');
      const script = join(dir, 'plugin.mjs');
      await writeFile(
        script,
        `import { appendFileSync, readFileSync } from 'node:fs';
         appendFileSync(${JSON.stringify(runs)}, 'x');
         const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
         process.stdout.write(JSON.stringify({ kind: 'ExecCredential', apiVersion: info.apiVersion, status: {
           token: readFileSync(${JSON.stringify(current)}, 'utf8').trim(),
           expirationTimestamp: new Date(Date.now() + 1500).toISOString() } }));`,
      );
      const runCount = async (): Promise<number> => (await readFile(runs, 'utf8')).length;
      const path = await f.api.kubeconfig({ exec: { command: process.execPath, args: [script], apiVersion: 'client.authentication.k8s.io/v1beta1' } });
      await withEnv(kubeconfigEnv(path), async () => {
        const first = await peers('nginx', { source: 'kubernetes', port: 'web' });
        assert.equal(first.length, 3);
        assert.equal(f.api.requests.at(-1)!.token, 'exec-1');
        const expires = Date.now() + 1500;
        // A second call within the expiry uses the cached credential (unless this machine is so slow it expired).
        await peers('nginx', { source: 'kubernetes', port: 'web' });
        if (Date.now() < expires - 200) assert.equal(await runCount(), 1);
        while (Date.now() < expires + 50) await new Promise((resolve) => setTimeout(resolve, 50));
        const n = await runCount();
        await peers('nginx', { source: 'kubernetes', port: 'web' });
        assert.equal(await runCount(), n + 1, 'the plugin ran again after the expiry');

        // A watch whose token the server stops accepting: 401, the plugin runs again, the watch goes on.
        const watcher = watchPeers('nginx', { source: 'kubernetes', port: 'web', minInterval: 50, maxInterval: 500 });
        const errors: Error[] = [];
        watcher.on('error', (e) => errors.push(e));
        try {
          await watcher.ready;
          await writeFile(current, 'exec-2');
          f.api.setToken('exec-2');
          const ran = await runCount();
          f.api.dropWatches();
          f.set.scale(5);
          await until(() => watcher.peers.length === 5, 'the watch after a new token', 20_000);
          assert.ok((await runCount()) > ran, 'the plugin ran again after the 401');
          assert.equal(f.api.requests.at(-1)!.token, 'exec-2');
        } finally {
          watcher.close();
        }
      });
    });
  });

  test('exec plugin giving a client certificate: used for the TLS handshake', async () => {
    const f = await apiFixture({ tls: true, clientCertificate: true });
    await withPluginDir(f, async (dir) => {
      const client = f.api.clientCertificate!;
      const script = join(dir, 'cert-plugin.mjs');
      const status = { clientCertificateData: client.cert, clientKeyData: client.key };
      await writeFile(script, `process.stdout.write(JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', status: ${JSON.stringify(status)} }));`);
      const path = await f.api.kubeconfig({ clientCertificate: false, exec: { command: process.execPath, args: [script] } });
      await withEnv(kubeconfigEnv(path), async () => {
        assert.equal((await peers('nginx', { source: 'kubernetes', port: 'web' })).length, 3);
        assert.equal(f.api.requests.at(-1)!.token, null);
      });
    });
  });

  test('exec plugin certificate revoked: the 401 closes the connections made with it, the retry dials with the new one', async () => {
    const f = await apiFixture({ tls: true, clientCertificate: true });
    await withPluginDir(f, async (dir) => {
      const first = f.api.clientCertificate!;
      const current = join(dir, 'current.json');
      const credential = (c: { cert: string; key: string }): string => JSON.stringify({ clientCertificateData: c.cert, clientKeyData: c.key });
      await writeFile(current, credential(first));
      const script = join(dir, 'cert-plugin.mjs');
      await writeFile(
        script,
        `import { readFileSync } from 'node:fs';
         const status = JSON.parse(readFileSync(${JSON.stringify(current)}, 'utf8'));
         process.stdout.write(JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', status }));`,
      );
      const path = await f.api.kubeconfig({ clientCertificate: false, exec: { command: process.execPath, args: [script] } });
      await withEnv(kubeconfigEnv(path), async () => {
        const watcher = watchPeers('nginx', { source: 'kubernetes', port: 'web', minInterval: 50, maxInterval: 500 });
        const errors: Error[] = [];
        watcher.on('error', (e) => errors.push(e));
        try {
          await watcher.ready;
          // The watcher's list left a connection open (kept alive) that authenticated with the first certificate.
          const second = await f.api.issueClientCertificate();
          await writeFile(current, credential(second));
          // Bun's https server does not show client certificates, so the fake cannot revoke one
          // there; the rotation then goes through without a 401 and the rest still holds.
          if (runtime !== 'bun') f.api.revokeClientCertificate(first);
          const seen = f.api.requests.length;
          // Ended as at a watch's timeoutSeconds: the watcher watches again, on the kept-alive connection first.
          f.api.endWatches();
          f.set.scale(5);
          await until(() => watcher.peers.length === 5, 'the watch after the certificate was revoked', 20_000);
          const after = f.api.requests.slice(seen);
          const rejected = after.filter((r) => r.status === 401);
          // One 401, on the kept-alive connection of the revoked certificate; then the new one.
          assert.equal(rejected.length, runtime === 'bun' ? 0 : 1, `statuses after the revocation: ${JSON.stringify(after.map((r) => r.status))}`);
          assert.deepEqual(errors, [], 'the 401 was retried with the new certificate, not reported');
        } finally {
          watcher.close();
        }
      });
    });
  });

  test('a kubeconfig namespace ".." is ECONFIG before any request (no cluster-wide list)', async () => {
    const f = await apiFixture({ tls: true, token: 't' });
    try {
      const path = await f.api.kubeconfig({ namespace: '..' });
      await withEnv(kubeconfigEnv(path), async () => {
        await assert.rejects(peers('nginx', { source: 'kubernetes', port: 'web' }), (err: unknown) => {
          assert.ok(err instanceof KubernetesApiError);
          assert.equal(err.code, 'ECONFIG');
          assert.match(err.message, /namespace from the context of kubeconfig .* is not a namespace name/);
          return true;
        });
        // An explicit namespace is used as given.
        assert.equal((await peers('nginx', { source: 'kubernetes', port: 'web', namespace: 'default' })).length, 3);
      });
      assert.ok(f.api.requests.every((r) => r.path.includes('/namespaces/default/')));
    } finally {
      await f.close();
    }
  });
});
