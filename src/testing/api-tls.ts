/**
 * Client certificates and kubeconfig files for the fake Kubernetes API: a client CA and
 * client certificates signed by it (so the fake can require one, as kind, minikube and k3s
 * clusters authenticate their admin), and `fake.kubeconfig()` that writes a kubeconfig real
 * clients (kubectl, client-node, headless-sd) can use.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { ServerOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { issueClientCertificate, makeCa } from './api/certificates.js';
import type { TestCa } from './api/certificates.js';

/** The user named by the client certificate a fake requires. */
const DEFAULT_USER = 'headless-sd-test-user';

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
  /** Another client certificate from the same client CA (when the fake requires one). */
  issue(user?: string): Promise<FakeClientCertificate>;
  /** Writes a kubeconfig for `server` and returns its path (removed by {@link cleanup}). */
  kubeconfig(server: { url: string; ca: string | undefined; token: string | null }, options?: FakeKubeconfigOptions): Promise<string>;
  /** Removes the files written. */
  cleanup(): Promise<void>;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** TLS extras and kubeconfig writing for one fake; `requireClientCert` makes a client CA and certificate. */
export async function createFakeApiTls(options: { requireClientCert?: boolean | undefined; tls: boolean }): Promise<FakeApiTls> {
  if (options.requireClientCert && !options.tls) throw new Error('createFakeKubernetesApi: clientCertificate: true needs tls: true');
  const clientCa: TestCa | null = options.requireClientCert ? await makeCa('headless-sd test client CA', 'clientCertificate') : null;
  const issue = async (user = DEFAULT_USER): Promise<FakeClientCertificate> => {
    if (!clientCa) throw new Error('issueClientCertificate() needs createFakeKubernetesApi({ clientCertificate: true })');
    return { ...(await issueClientCertificate(clientCa, user)), ca: clientCa.cert, user };
  };
  const client = clientCa ? await issue() : undefined;
  const dirs: string[] = [];
  return {
    serverOptions: client ? { ca: client.ca, requestCert: true, rejectUnauthorized: true } : {},
    client,
    issue,
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
