import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubernetesApiError } from '../../src/kubernetes/errors.ts';
import { ExecCredentialPlugin, execInfo, parseExecCredential, runExecPlugin } from '../../src/kubernetes/exec-credential.ts';
import type { ExecPluginOptions } from '../../src/kubernetes/exec-credential.ts';
import type { KubeconfigExec } from '../../src/kubernetes/kubeconfig.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';

const V1 = 'client.authentication.k8s.io/v1';

async function scriptDir(): Promise<{ dir: string; script(body: string): Promise<string>; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'headless-sd-exec-test-'));
  let n = 0;
  return {
    dir,
    script: async (body) => {
      const path = join(dir, `plugin-${n++}.mjs`);
      await writeFile(path, body);
      return path;
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

function options(script: string, extra: Partial<KubeconfigExec> = {}, more: Partial<ExecPluginOptions> = {}): ExecPluginOptions {
  return {
    exec: { apiVersion: V1, command: process.execPath, args: [script], env: [], installHint: null, provideClusterInfo: false, interactiveMode: 'Never', ...extra },
    where: 'user "u" in kubeconfig /k',
    cluster: { server: 'https://127.0.0.1:6443', certificateAuthorityData: Buffer.from('CA'), insecureSkipTlsVerify: false, tlsServerName: null },
    ...more,
  };
}

const isApiError = (code: string, pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof KubernetesApiError, String(err));
  assert.equal(err.code, code);
  assert.match(err.message, pattern);
  return true;
};

describe('exec credential plugins', () => {
  test('runs the command with args, env and KUBERNETES_EXEC_INFO; reads token and client certificate', async () => {
    const t = await scriptDir();
    try {
      const script = await t.script(`
        const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
        process.stdout.write(JSON.stringify({
          kind: 'ExecCredential', apiVersion: info.apiVersion,
          status: { token: process.argv[2] + ':' + process.env.FOO + ':' + info.spec.interactive + ':' + info.spec.cluster.server + ':' + Buffer.from(info.spec.cluster['certificate-authority-data'], 'base64'),
                    clientCertificateData: 'CERT', clientKeyData: 'KEY' },
        }));`);
      const o = options(script, { args: [script, 'arg1'], env: [{ name: 'FOO', value: 'bar' }], provideClusterInfo: true });
      const text = await runExecPlugin(o);
      const credential = parseExecCredential(text, V1, o.where);
      assert.equal(credential.token, 'arg1:bar:false:https://127.0.0.1:6443:CA');
      assert.deepEqual(credential.clientCertificate, { cert: 'CERT', key: 'KEY' });
      assert.equal(credential.expiresAt, null);
      assert.deepEqual(JSON.parse(execInfo(options(script))), { kind: 'ExecCredential', apiVersion: V1, spec: { interactive: false } });
    } finally {
      await t.close();
    }
  });

  test('cached until expirationTimestamp, run again after it and after invalidate(); concurrent callers share one run', async () => {
    const t = await scriptDir();
    try {
      const count = join(t.dir, 'runs');
      await writeFile(count, '');
      const script = await t.script(`
        import { appendFileSync, readFileSync } from 'node:fs';
        appendFileSync(${JSON.stringify(count)}, 'x');
        const n = readFileSync(${JSON.stringify(count)}, 'utf8').length;
        const ms = Number(process.argv[2]);
        process.stdout.write(JSON.stringify({ kind: 'ExecCredential', apiVersion: '${V1}',
          status: { token: 'token-' + n, ...(ms ? { expirationTimestamp: new Date(Date.now() + ms).toISOString() } : {}) } }));`);
      const plugin = new ExecCredentialPlugin(options(script, { args: [script, '3000'] }));
      const [a, b] = await Promise.all([plugin.get(), plugin.get()]);
      assert.equal(a.token, 'token-1');
      assert.equal(b.token, 'token-1');
      assert.equal(plugin.runs, 1);
      // Still cached (unless this machine is so loaded that the 3 s passed already).
      const third = await plugin.get();
      if (Date.now() < a.expiresAt! - 100) assert.equal(third.token, 'token-1');
      // Wait for the credential to expire (checked against its own timestamp, not a sleep length).
      const expiry = a.expiresAt!;
      while (Date.now() < expiry) await new Promise((resolve) => setTimeout(resolve, 50));
      const runs = plugin.runs;
      assert.equal((await plugin.get()).token, `token-${runs + 1}`);
      plugin.invalidate();
      assert.equal((await plugin.get()).token, `token-${runs + 2}`);
      assert.equal(plugin.runs, runs + 2);
      assert.equal((await readFile(count, 'utf8')).length, runs + 2);
    } finally {
      await t.close();
    }
  });

  test('bounded: killed after its timeout, when it prints too much, or when every caller gave up', async () => {
    const t = await scriptDir();
    const before = activeResources();
    try {
      const hang = await t.script('setInterval(() => {}, 1000);');
      await assert.rejects(runExecPlugin(options(hang, {}, { timeout: 200 })), isApiError('ETIMEOUT', /no credential within 200 ms; it was killed/));
      const flood = await t.script("const b = Buffer.alloc(65536, 'a'); const w = () => process.stdout.write(b, w); w();");
      await assert.rejects(runExecPlugin(options(flood, {}, { outputLimit: 100_000 })), isApiError('ECONFIG', /more than 100000 bytes; it was killed/));
      const plugin = new ExecCredentialPlugin(options(hang));
      const controller = new AbortController();
      const waiting = plugin.get(controller.signal);
      setTimeout(() => controller.abort(), 100);
      await assert.rejects(waiting, isApiError('ECANCELLED', /aborted while waiting for the exec plugin/));
      await assertNoLeaks(before);
    } finally {
      await t.close();
    }
  });

  test('failures are ECONFIG with the plugin stderr escaped and credentials redacted', async () => {
    const t = await scriptDir();
    try {
      const fail = await t.script(`process.stderr.write('bad \\x1b[31mred\\nAuthorization: Bearer sekret-token-123'); process.exit(3);`);
      await assert.rejects(runExecPlugin(options(fail)), (err: unknown) => {
        assert.ok(err instanceof KubernetesApiError);
        assert.equal(err.code, 'ECONFIG');
        assert.match(err.message, /failed \(exit code 3\); it said: bad \\x1b\[31mred\\nAuthorization: \[redacted\]/);
        assert.doesNotMatch(err.message, /sekret|\x1b|\n/);
        return true;
      });
      const o = options('/nonexistent/plugin', { command: '/nonexistent/plugin', args: [], installHint: 'Install it with: apt-get install plugin' });
      await assert.rejects(runExecPlugin(o), isApiError('ECONFIG', /\/nonexistent\/plugin of user "u" in kubeconfig \/k was not found.*apt-get install plugin/));
      const where = 'w';
      assert.throws(() => parseExecCredential('not json', V1, where), isApiError('ECONFIG', /printed no ExecCredential JSON/));
      assert.throws(() => parseExecCredential('{"kind":"Other"}', V1, where), isApiError('ECONFIG', /not an ExecCredential/));
      assert.throws(() => parseExecCredential(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"t"}}`, V1, where), isApiError('ECONFIG', /configured for .*\/v1 but printed apiVersion/));
      const cred = (status: unknown): string => JSON.stringify({ kind: 'ExecCredential', apiVersion: V1, status });
      assert.throws(() => parseExecCredential(cred({}), V1, where), isApiError('ECONFIG', /neither status\.token nor status\.clientCertificateData/));
      assert.throws(() => parseExecCredential(cred({ clientCertificateData: 'C' }), V1, where), isApiError('ECONFIG', /both status\.clientCertificateData and status\.clientKeyData/));
      assert.throws(() => parseExecCredential(cred({ token: 't', expirationTimestamp: 'soon' }), V1, where), isApiError('ECONFIG', /not an RFC 3339 time/));
      assert.throws(() => parseExecCredential(cred({ token: 'a\nb' }), V1, where), isApiError('ECONFIG', /one-line string/));
      assert.equal(parseExecCredential(cred({ token: 't', expirationTimestamp: '2030-01-01T00:00:00Z' }), V1, where).expiresAt, Date.parse('2030-01-01T00:00:00Z'));
    } finally {
      await t.close();
    }
  });
});
