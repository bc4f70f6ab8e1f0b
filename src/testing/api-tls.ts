/**
 * Client certificates and kubeconfig files for the fake Kubernetes API: a client CA and a
 * client certificate made with `openssl` (so the fake can require one, as kind, minikube
 * and k3s clusters authenticate their admin), and `fake.kubeconfig()` that writes a
 * kubeconfig real clients (kubectl, client-node, headless-sd) can use.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { ServerOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';

const run = promisify(execFile);

/** A client certificate and its key, PEM. */
export interface FakeClientCertificate {
  cert: string;
  key: string;
  /** PEM of the CA that signed it (the fake trusts it). */
  ca: string;
  /** The user it names (its CN), as the API server would take it. */
  user: string;
}

/** An exec credential plugin entry for {@link FakeKubeconfigOptions.exec}. */
export interface FakeKubeconfigExec {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  /** Default client.authentication.k8s.io/v1. */
  apiVersion?: string;
  provideClusterInfo?: boolean;
}

/** What `fake.kubeconfig()` writes. */
export interface FakeKubeconfigOptions {
  /** Bearer token of the user (default: the token the fake checks, if any); null: none. */
  token?: string | null;
  /** Write the token to a file beside the kubeconfig and name it as `tokenFile` instead of inline. */
  tokenFile?: boolean;
  /** Put the client certificate in the user (default: when the fake requires one). */
  clientCertificate?: boolean;
  /** An exec plugin instead of a token. */
  exec?: FakeKubeconfigExec;
  /** The context's namespace. */
  namespace?: string;
  /** Context, cluster and user name (default 'fake'). */
  name?: string;
}

/** What the fake needs from this file: TLS server options, kubeconfig writing, cleanup. */
export interface FakeApiTls {
  /** Added to the https server options: ask for and verify a client certificate. */
  serverOptions: ServerOptions;
  /** The client certificate the fake accepts (when it requires one). */
  client: FakeClientCertificate | undefined;
  /** Writes a kubeconfig for `server` and returns its path (removed by {@link cleanup}). */
  kubeconfig(server: { url: string; ca: string | undefined; token: string | null }, options?: FakeKubeconfigOptions): Promise<string>;
  /** Removes the files written. */
  cleanup(): Promise<void>;
}

/** Makes a client CA and a client certificate signed by it, with `openssl`, in a temp dir removed at once. */
export async function makeClientCertificate(user = 'headless-sd-test-user'): Promise<FakeClientCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'headless-sd-client-'));
  const path = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await run('openssl', [
      'req', '-x509', ...ec, '-keyout', path('ca.key'), '-out', path('ca.crt'), '-days', '2',
      '-subj', '/CN=headless-sd test client CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', ['req', ...ec, '-keyout', path('client.key'), '-out', path('client.csr'), '-subj', `/O=system:masters/CN=${user}`]);
    await writeFile(path('client.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
    await run('openssl', [
      'x509', '-req', '-in', path('client.csr'), '-CA', path('ca.crt'), '-CAkey', path('ca.key'),
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', path('client.ext'), '-out', path('client.crt'),
    ]);
    const [ca, key, cert] = await Promise.all(['ca.crt', 'client.key', 'client.crt'].map((f) => readFile(path(f), 'utf8')));
    return { ca: ca!, key: key!, cert: cert!, user };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('createFakeKubernetesApi({ clientCertificate: true }) needs the openssl command (apt-get install openssl)', { cause: err });
    throw new Error(`openssl failed to make the test client certificate: ${e.stderr?.trim() || e.message}`, { cause: err });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** TLS extras and kubeconfig writing for one fake; `requireClientCert` makes a client CA and certificate. */
export async function createFakeApiTls(options: { requireClientCert?: boolean | undefined; tls: boolean }): Promise<FakeApiTls> {
  if (options.requireClientCert && !options.tls) throw new Error('createFakeKubernetesApi: clientCertificate: true needs tls: true');
  const client = options.requireClientCert ? await makeClientCertificate() : undefined;
  const dirs: string[] = [];
  return {
    serverOptions: client ? { ca: client.ca, requestCert: true, rejectUnauthorized: true } : {},
    client,
    async kubeconfig(server, o = {}) {
      const dir = await mkdtemp(join(tmpdir(), 'headless-sd-kubeconfig-'));
      dirs.push(dir);
      const name = o.name ?? 'fake';
      const user: Record<string, unknown> = {};
      const token = o.token === undefined ? server.token : o.token;
      if (o.exec) {
        user.exec = {
          apiVersion: o.exec.apiVersion ?? 'client.authentication.k8s.io/v1',
          command: o.exec.command,
          args: o.exec.args ?? [],
          env: o.exec.env ?? null,
          interactiveMode: 'Never',
          provideClusterInfo: o.exec.provideClusterInfo ?? false,
        };
      } else if (token !== null && o.tokenFile) {
        await writeFile(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
        user.tokenFile = 'token';
      } else if (token !== null) {
        user.token = token;
      }
      if (o.clientCertificate ?? client !== undefined) {
        if (!client) throw new Error('fake.kubeconfig({ clientCertificate: true }) needs createFakeKubernetesApi({ clientCertificate: true })');
        user['client-certificate-data'] = b64(client.cert);
        user['client-key-data'] = b64(client.key);
      }
      const config = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name, cluster: { server: server.url, ...(server.ca ? { 'certificate-authority-data': b64(server.ca) } : {}) } }],
        users: [{ name, user }],
        contexts: [{ name, context: { cluster: name, user: name, ...(o.namespace ? { namespace: o.namespace } : {}) } }],
        'current-context': name,
        preferences: {},
      };
      const path = join(dir, 'kubeconfig');
      await writeFile(path, stringify(config), { mode: 0o600 });
      return path;
    },
    async cleanup() {
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}
