import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { loadKubernetesConfig } from '../../src/kubernetes/config.ts';
import { KubernetesApiError } from '../../src/kubernetes/errors.ts';
import { kubeconfigPaths, loadKubeconfig, mergeKubeconfigs, parseKubeconfig, selectContext } from '../../src/kubernetes/kubeconfig.ts';

async function tempDir(): Promise<{ dir: string; file(name: string, text: string): Promise<string>; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'headless-sd-kubeconfig-test-'));
  return {
    dir,
    file: async (name, text) => {
      const path = join(dir, name);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, text);
      return path;
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

const isConfigError = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof KubernetesApiError, String(err));
  assert.equal(err.code, 'ECONFIG');
  assert.match(err.message, pattern);
  return true;
};

const b64 = (text: string): string => Buffer.from(text).toString('base64');

const FIRST = `
apiVersion: v1
kind: Config
current-context: kind-a
clusters:
- name: a
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: certs/ca.crt
- name: shared
  cluster:
    server: https://first.example:6443
contexts:
- name: kind-a
  context: { cluster: a, user: admin-a, namespace: apps }
- name: shared
  context: { cluster: shared, user: admin-a }
users:
- name: admin-a
  user:
    client-certificate: certs/client.crt
    client-key: /abs/client.key
`;

const SECOND = `
apiVersion: v1
kind: Config
current-context: other
clusters:
- name: shared
  cluster:
    server: https://second.example:6443
    insecure-skip-tls-verify: true
- name: b
  cluster:
    server: https://b.example
    certificate-authority-data: ${b64('CA-B')}
contexts:
- name: other
  context: { cluster: b, user: exec-user }
users:
- name: admin-a
  user: { token: from-second-file }
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ./bin/plugin
      args: [get-token, --cluster, b]
      env: [{ name: FOO, value: bar }]
      installHint: install it
      provideClusterInfo: true
- name: path-user
  user:
    exec: { apiVersion: client.authentication.k8s.io/v1, command: gke-gcloud-auth-plugin }
    tokenFile: tok
`;

describe('kubeconfig: merge rules and parsing', () => {
  test('KUBECONFIG list: first file wins per name, current-context from the first that sets it, paths relative to each file', async () => {
    const t = await tempDir();
    try {
      const first = await t.file('one/config', FIRST);
      const second = await t.file('two/config', SECOND);
      const env = { KUBECONFIG: ['', first, join(t.dir, 'missing'), second, first].join(delimiter) };
      assert.deepEqual(kubeconfigPaths(undefined, env).paths, [first, join(t.dir, 'missing'), second]);
      const config = (await loadKubeconfig(undefined, env))!;
      assert.deepEqual(config.files, [first, second]);
      assert.equal(config.currentContext, 'kind-a');
      // Entries are taken whole from the first file that names them, never merged field by field.
      assert.equal(config.clusters.get('shared')!.value.server, 'https://first.example:6443');
      assert.equal(config.clusters.get('shared')!.value.insecureSkipTlsVerify, false);
      assert.equal(config.users.get('admin-a')!.value.token, null);
      assert.equal(config.users.get('admin-a')!.value.clientCertificate, join(t.dir, 'one/certs/client.crt'));
      assert.equal(config.users.get('admin-a')!.value.clientKey, '/abs/client.key');
      assert.equal(config.clusters.get('a')!.value.certificateAuthority, join(t.dir, 'one/certs/ca.crt'));
      assert.equal(config.clusters.get('b')!.value.certificateAuthorityData!.toString(), 'CA-B');
      // An exec command with a path is relative to its kubeconfig; a bare name goes through PATH.
      const exec = config.users.get('exec-user')!.value.exec!;
      assert.equal(exec.command, join(t.dir, 'two/bin/plugin'));
      assert.deepEqual(exec.args, ['get-token', '--cluster', 'b']);
      assert.deepEqual(exec.env, [{ name: 'FOO', value: 'bar' }]);
      assert.equal(exec.apiVersion, 'client.authentication.k8s.io/v1beta1');
      assert.equal(exec.provideClusterInfo, true);
      assert.equal(config.users.get('path-user')!.value.exec!.command, 'gke-gcloud-auth-plugin');
      assert.equal(config.users.get('path-user')!.value.tokenFile, join(t.dir, 'two/tok'));

      const sel = selectContext(config);
      assert.equal(sel.context, 'kind-a');
      assert.equal(sel.namespace, 'apps');
      assert.equal(sel.clusterName, 'a');
      const other = selectContext(config, 'other');
      assert.equal(other.cluster.value.server, 'https://b.example');
      assert.equal(other.user!.file, second);
      // Reversed order: the second file's entries and current-context win.
      const reversed = (await loadKubeconfig(undefined, { KUBECONFIG: [second, first].join(delimiter) }))!;
      assert.equal(reversed.currentContext, 'other');
      assert.equal(reversed.clusters.get('shared')!.value.server, 'https://second.example:6443');
      assert.equal(reversed.users.get('admin-a')!.value.token, 'from-second-file');
    } finally {
      await t.close();
    }
  });

  test('where kubeconfig is looked for: the option, KUBECONFIG, ~/.kube/config; a missing explicit file is ECONFIG', async () => {
    assert.deepEqual(kubeconfigPaths('/x/config', { KUBECONFIG: '/y' }), { paths: ['/x/config'], explicit: true, from: 'kubernetes.kubeconfig' });
    assert.deepEqual(kubeconfigPaths(undefined, { HOME: '/home/u' }).paths, ['/home/u/.kube/config']);
    assert.deepEqual(kubeconfigPaths(undefined, {}).paths, []);
    assert.equal(await loadKubeconfig(undefined, { KUBECONFIG: '/nonexistent/a' }), null);
    await assert.rejects(loadKubeconfig('/nonexistent/a', {}), isConfigError(/\/nonexistent\/a.*does not exist/));
  });

  test('merge keeps the first definition and the first current-context', () => {
    const a = parseKubeconfig('clusters: [{name: c, cluster: {server: "https://a"}}]', '/a');
    const b = parseKubeconfig('current-context: x\nclusters: [{name: c, cluster: {server: "https://b"}}]', '/b');
    const merged = mergeKubeconfigs([a, b]);
    assert.equal(merged.currentContext, 'x');
    assert.equal(merged.clusters.get('c')!.value.server, 'https://a');
  });

  test('bad files and selections are ECONFIG naming the file and entry', async () => {
    assert.throws(() => parseKubeconfig('clusters: [', '/k'), isConfigError(/\/k is not valid YAML/));
    assert.throws(() => parseKubeconfig('- a list', '/k'), isConfigError(/not a mapping/));
    assert.throws(() => parseKubeconfig('clusters: {a: 1}', '/k'), isConfigError(/clusters must be a list/));
    assert.throws(() => parseKubeconfig('clusters: [{cluster: {}}]', '/k'), isConfigError(/clusters\[0\] has no name/));
    assert.throws(() => parseKubeconfig('clusters: [{name: c, cluster: {server: 5}}]', '/k'), isConfigError(/cluster "c": server must be a string/));
    assert.throws(() => parseKubeconfig('clusters: [{name: c, cluster: {certificate-authority-data: "%%%"}}]', '/k'), isConfigError(/not base64/));
    assert.throws(() => parseKubeconfig('users: [{name: u, user: {exec: {apiVersion: x}}}]', '/k'), isConfigError(/exec has no command/));
    // A YAML alias bomb is refused, not expanded.
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
    assert.throws(() => parseKubeconfig(bomb, '/k'), isConfigError(/not valid YAML/));

    const empty = parseKubeconfig('', '/k');
    assert.throws(() => selectContext(empty), isConfigError(/no current-context.*--context/));
    const k = parseKubeconfig('current-context: c\ncontexts: [{name: c, context: {cluster: nope, user: u}}]', '/k');
    assert.throws(() => selectContext(k), isConfigError(/cluster "nope", which is not in kubeconfig \/k/));
    assert.throws(() => selectContext(k, 'zzz'), isConfigError(/context "zzz" is not in kubeconfig \/k \(contexts: c\)/));
  });

  test('removed auth-providers and basic auth say what to use instead', () => {
    const text = (provider: string): string =>
      `current-context: c\nclusters: [{name: k, cluster: {server: "https://x"}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nusers: [{name: u, user: {${provider}}}]`;
    assert.throws(() => selectContext(parseKubeconfig(text('auth-provider: {name: gcp, config: {}}'), '/k')), isConfigError(/auth-provider "gcp".*gke-gcloud-auth-plugin/));
    assert.throws(() => selectContext(parseKubeconfig(text('auth-provider: {name: azure}'), '/k')), isConfigError(/auth-provider "azure".*kubelogin/));
    assert.throws(() => selectContext(parseKubeconfig(text('auth-provider: {name: oidc}'), '/k')), isConfigError(/auth-provider "oidc".*kubelogin/));
    assert.throws(() => selectContext(parseKubeconfig(text('username: admin, password: secret'), '/k')), isConfigError(/username\/password.*exec plugin/));
  });
});

describe('kubeconfig: every auth kind as a KubernetesConfig', () => {
  const kubeconfig = (user: string, extra = ''): string => `
current-context: c
clusters:
- name: k
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: ${b64('CA-PEM')}
${extra}
contexts: [{ name: c, context: { cluster: k, user: u, namespace: team-a } }]
users:
- name: u
  user: ${user}
`;

  test('token, tokenFile, client certificate (files and data), context namespace, CA data', async () => {
    const t = await tempDir();
    try {
      const env = (path: string) => ({ KUBECONFIG: path });
      const token = await loadKubernetesConfig({}, env(await t.file('token.yaml', kubeconfig('{ token: tok-inline }'))));
      assert.equal(token.url.toString(), 'https://127.0.0.1:6443/');
      assert.equal(await token.token!.get(), 'tok-inline');
      assert.match(token.token!.source, /token of user "u" in kubeconfig .*token\.yaml/);
      assert.equal(String(token.ca), 'CA-PEM');
      assert.match(token.caSource!, /certificate-authority-data of cluster "k"/);
      assert.equal(token.namespace, 'team-a');
      assert.match(token.origin!, /context "c"/);

      await t.file('sub/tok', 'tok-from-file\n');
      const file = await loadKubernetesConfig({}, env(await t.file('sub/file.yaml', kubeconfig('{ tokenFile: tok }'))));
      assert.equal(await file.token!.get(), 'tok-from-file');
      assert.equal(file.token!.refreshable, true);

      await t.file('c/client.crt', 'CERT-PEM');
      await t.file('c/client.key', 'KEY-PEM');
      const files = await loadKubernetesConfig({}, env(await t.file('c/files.yaml', kubeconfig('{ client-certificate: client.crt, client-key: client.key }'))));
      assert.equal(files.token, null);
      assert.equal(String(files.clientCertificate!.cert), 'CERT-PEM');
      assert.equal(String(files.clientCertificate!.key), 'KEY-PEM');
      const data = await loadKubernetesConfig({}, env(await t.file('data.yaml', kubeconfig(`{ client-certificate-data: ${b64('C2')}, client-key-data: ${b64('K2')} }`))));
      assert.equal(String(data.clientCertificate!.cert), 'C2');
      const missingKey = await t.file('nokey.yaml', kubeconfig(`{ client-certificate-data: ${b64('C2')} }`));
      await assert.rejects(loadKubernetesConfig({}, env(missingKey)), isConfigError(/client certificate without a key/));
      const badPath = await t.file('badpath.yaml', kubeconfig('{ client-certificate: nope.crt, client-key: nope.key }'));
      await assert.rejects(loadKubernetesConfig({}, env(badPath)), isConfigError(/client-certificate of user "u".*nope\.crt/));

      // Options override the kubeconfig, as kubectl's flags do.
      const over = await loadKubernetesConfig({ token: 'flag-token', ca: 'FLAG-CA' }, env(await t.file('o.yaml', kubeconfig('{ token: tok-inline }'))));
      assert.equal(await over.token!.get(), 'flag-token');
      assert.equal(String(over.ca), 'FLAG-CA');
    } finally {
      await t.close();
    }
  });

  test('exec plugin: configured from the kubeconfig; v1alpha1 and interactiveMode Always are ECONFIG', async () => {
    const t = await tempDir();
    try {
      const ok = await t.file('exec.yaml', kubeconfig('{ exec: { apiVersion: client.authentication.k8s.io/v1, command: ./plugin, interactiveMode: Never } }'));
      const config = await loadKubernetesConfig({}, { KUBECONFIG: ok });
      assert.ok(config.exec);
      assert.match(config.token!.source, /exec plugin .*plugin \(user "u"/);
      const alpha = await t.file('alpha.yaml', kubeconfig('{ exec: { apiVersion: client.authentication.k8s.io/v1alpha1, command: x } }'));
      await assert.rejects(loadKubernetesConfig({}, { KUBECONFIG: alpha }), isConfigError(/v1alpha1 was removed/));
      const always = await t.file('always.yaml', kubeconfig('{ exec: { apiVersion: client.authentication.k8s.io/v1, command: x, interactiveMode: Always } }'));
      await assert.rejects(loadKubernetesConfig({}, { KUBECONFIG: always }), isConfigError(/interactiveMode: Always/));
    } finally {
      await t.close();
    }
  });

  test('insecure-skip-tls-verify: used, with a process warning each time', async () => {
    const t = await tempDir();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const path = await t.file('insecure.yaml', kubeconfig('{ token: t }').replace(`certificate-authority-data: ${b64('CA-PEM')}`, 'insecure-skip-tls-verify: true'));
      const a = await loadKubernetesConfig({}, { KUBECONFIG: path });
      await loadKubernetesConfig({}, { KUBECONFIG: path });
      assert.equal(a.insecureSkipTlsVerify, true);
      await new Promise((resolve) => setImmediate(resolve));
      const ours = warnings.filter((w) => (w as { code?: string }).code === 'HEADLESS_SD_INSECURE_TLS');
      assert.equal(ours.length, 2);
      assert.match(ours[0]!.message, /not verified \(insecure-skip-tls-verify/);
    } finally {
      process.off('warning', onWarning);
      await t.close();
    }
  });

  test('in a pod the in-cluster config wins unless a kubeconfig or context is asked for; proxy-url needs a dispatcher', async () => {
    const t = await tempDir();
    try {
      const tokenFile = await t.file('sa/token', 'sa-token');
      const path = await t.file('k.yaml', kubeconfig('{ token: kc }'));
      const pod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443', KUBECONFIG: path };
      const inCluster = await loadKubernetesConfig({ tokenFile, ca: 'x', namespaceFile: '/nonexistent' }, pod);
      assert.equal(inCluster.origin, 'in-cluster');
      assert.equal(await inCluster.token!.get(), 'sa-token');
      const asked = await loadKubernetesConfig({ kubeconfig: path }, pod);
      assert.match(asked.origin!, /^kubeconfig/);
      const proxied = await t.file('p.yaml', kubeconfig('{ token: kc }').replace('server: https://127.0.0.1:6443', 'server: https://127.0.0.1:6443\n    proxy-url: http://127.0.0.1:3128'));
      await assert.rejects(loadKubernetesConfig({}, { KUBECONFIG: proxied }), isConfigError(/proxy-url.*kubernetes\.dispatcher/));
      await assert.rejects(loadKubernetesConfig({}, { KUBECONFIG: '/nonexistent/k' }), isConfigError(/no kubeconfig \(KUBECONFIG: \/nonexistent\/k\)/));
    } finally {
      await t.close();
    }
  });
});
