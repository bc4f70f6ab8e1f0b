/**
 * kubeconfig files as kubectl reads them: the KUBECONFIG list and its merge rules, contexts,
 * and the cluster and user entries a context names, with relative paths resolved against the
 * file that holds them.
 */
import { open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { KubernetesApiError, KubernetesApiErrorCode } from './errors.js';

/** Longest kubeconfig file read, bytes (a real one is a few KB; this bounds a wrong path such as /dev/zero). */
export const KUBECONFIG_SIZE_LIMIT = 4 * 1024 * 1024;

/** An `exec` credential plugin entry of a kubeconfig user. */
export interface KubeconfigExec {
  /** client.authentication.k8s.io/v1 or v1beta1. */
  apiVersion: string;
  /** Command; a relative path with a `/` is resolved against the kubeconfig's directory, a bare name through PATH. */
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  installHint: string | null;
  provideClusterInfo: boolean;
  /** Never, IfAvailable or Always (null when unset). */
  interactiveMode: string | null;
}

/** A kubeconfig cluster entry. */
export interface KubeconfigCluster {
  server: string | null;
  /** Absolute path of the CA file. */
  certificateAuthority: string | null;
  certificateAuthorityData: Buffer | null;
  insecureSkipTlsVerify: boolean;
  tlsServerName: string | null;
  proxyUrl: string | null;
}

/** A kubeconfig user (AuthInfo) entry. */
export interface KubeconfigUser {
  token: string | null;
  /** Absolute path. */
  tokenFile: string | null;
  /** Absolute path. */
  clientCertificate: string | null;
  clientCertificateData: Buffer | null;
  /** Absolute path. */
  clientKey: string | null;
  clientKeyData: Buffer | null;
  exec: KubeconfigExec | null;
  /** Name of an `auth-provider` (gcp, azure, oidc): removed from client-go, not usable. */
  authProvider: string | null;
  /** True when it holds a username/password (basic auth, removed from the API server in 1.19). */
  basicAuth: boolean;
}

/** A kubeconfig context entry. */
export interface KubeconfigContext {
  cluster: string;
  user: string;
  namespace: string | null;
}

/** An entry with the file it came from. */
export interface FromFile<T> {
  value: T;
  file: string;
}

/** One or more kubeconfig files merged as kubectl merges them. */
export interface Kubeconfig {
  /** Files read, in priority order. */
  files: string[];
  /** current-context of the first file that sets it. */
  currentContext: string | null;
  clusters: Map<string, FromFile<KubeconfigCluster>>;
  users: Map<string, FromFile<KubeconfigUser>>;
  contexts: Map<string, FromFile<KubeconfigContext>>;
}

/** A context with its cluster and user. */
export interface KubeconfigSelection {
  /** The context's name. */
  context: string;
  /** File the context came from. */
  file: string;
  clusterName: string;
  cluster: FromFile<KubeconfigCluster>;
  userName: string;
  /** Null when the context names no user (e.g. a cluster behind kubectl proxy). */
  user: FromFile<KubeconfigUser> | null;
  namespace: string | null;
}

function configError(message: string, cause?: unknown): KubernetesApiError {
  return new KubernetesApiError(KubernetesApiErrorCode.CONFIG, message, cause === undefined ? {} : { cause });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads the fields of one entry, naming the file and entry in every error. */
class Fields {
  constructor(
    readonly object: Record<string, unknown>,
    readonly where: string,
    readonly dir: string,
  ) {}

  string(key: string): string | null {
    const v = this.object[key];
    if (v === undefined || v === null || v === '') return null;
    if (typeof v !== 'string') throw configError(`${this.where}: ${key} must be a string, got ${typeof v}`);
    return v;
  }

  boolean(key: string): boolean {
    const v = this.object[key];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw configError(`${this.where}: ${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A path field, made absolute against the kubeconfig's directory. */
  path(key: string): string | null {
    const v = this.string(key);
    return v === null ? null : resolve(this.dir, v);
  }

  /** A base64 `*-data` field. */
  data(key: string): Buffer | null {
    const v = this.string(key);
    if (v === null) return null;
    const compact = v.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) throw configError(`${this.where}: ${key} is not base64`);
    return Buffer.from(compact, 'base64');
  }

  strings(key: string): string[] {
    const v = this.object[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw configError(`${this.where}: ${key} must be a list of strings`);
    return v as string[];
  }
}

/** One file's named entries of a section (`clusters`, `users`, `contexts`). */
function namedEntries(doc: Record<string, unknown>, section: string, inner: string, file: string): [string, Record<string, unknown>][] {
  const list = doc[section];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw configError(`kubeconfig ${file}: ${section} must be a list`);
  return list.map((item, i) => {
    if (!isObject(item) || typeof item.name !== 'string' || item.name === '') {
      throw configError(`kubeconfig ${file}: ${section}[${i}] has no name`);
    }
    const value = item[inner] ?? {};
    if (!isObject(value)) throw configError(`kubeconfig ${file}: ${section} entry "${item.name}": ${inner} must be a mapping`);
    return [item.name, value];
  });
}

function readExec(value: unknown, where: string, dir: string): KubeconfigExec | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw configError(`${where}: exec must be a mapping`);
  const f = new Fields(value, `${where} exec`, dir);
  const command = f.string('command');
  if (command === null) throw configError(`${where}: exec has no command`);
  const env = value.env ?? [];
  if (!Array.isArray(env) || !env.every((e) => isObject(e) && typeof e.name === 'string' && typeof (e.value ?? '') === 'string')) {
    throw configError(`${where}: exec env must be a list of { name, value }`);
  }
  return {
    apiVersion: f.string('apiVersion') ?? '',
    // As client-go: a path with a separator is relative to the kubeconfig, a bare name is looked up in PATH.
    command: command.includes(sep) || command.includes('/') ? resolve(dir, command) : command,
    args: f.strings('args'),
    env: (env as Record<string, unknown>[]).map((e) => ({ name: e.name as string, value: (e.value as string | undefined) ?? '' })),
    installHint: f.string('installHint'),
    provideClusterInfo: f.boolean('provideClusterInfo'),
    interactiveMode: f.string('interactiveMode'),
  };
}

/** Parses one kubeconfig file's text; relative paths are resolved against `file`'s directory. */
export function parseKubeconfig(text: string, file: string): Kubeconfig {
  let doc: unknown;
  try {
    // maxAliasCount bounds alias expansion (a "billion laughs" file).
    doc = parse(text, { maxAliasCount: 100, prettyErrors: false });
  } catch (err) {
    throw configError(`kubeconfig ${file} is not valid YAML: ${(err as Error).message}`, err);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isObject(doc)) throw configError(`kubeconfig ${file} is not a mapping`);
  const dir = dirname(resolve(file));
  const out: Kubeconfig = { files: [file], currentContext: null, clusters: new Map(), users: new Map(), contexts: new Map() };
  const current = doc['current-context'];
  if (current !== undefined && current !== null && typeof current !== 'string') throw configError(`kubeconfig ${file}: current-context must be a string`);
  out.currentContext = current || null;
  for (const [name, c] of namedEntries(doc, 'clusters', 'cluster', file)) {
    const f = new Fields(c, `kubeconfig ${file}: cluster "${name}"`, dir);
    if (out.clusters.has(name)) continue;
    out.clusters.set(name, {
      file,
      value: {
        server: f.string('server'),
        certificateAuthority: f.path('certificate-authority'),
        certificateAuthorityData: f.data('certificate-authority-data'),
        insecureSkipTlsVerify: f.boolean('insecure-skip-tls-verify'),
        tlsServerName: f.string('tls-server-name'),
        proxyUrl: f.string('proxy-url'),
      },
    });
  }
  for (const [name, u] of namedEntries(doc, 'users', 'user', file)) {
    const where = `kubeconfig ${file}: user "${name}"`;
    const f = new Fields(u, where, dir);
    if (out.users.has(name)) continue;
    const provider = u['auth-provider'];
    out.users.set(name, {
      file,
      value: {
        token: f.string('token'),
        tokenFile: f.path('tokenFile'),
        clientCertificate: f.path('client-certificate'),
        clientCertificateData: f.data('client-certificate-data'),
        clientKey: f.path('client-key'),
        clientKeyData: f.data('client-key-data'),
        exec: readExec(u.exec, where, dir),
        authProvider: isObject(provider) ? (typeof provider.name === 'string' ? provider.name : 'unnamed') : null,
        basicAuth: f.string('username') !== null || f.string('password') !== null,
      },
    });
  }
  for (const [name, c] of namedEntries(doc, 'contexts', 'context', file)) {
    const f = new Fields(c, `kubeconfig ${file}: context "${name}"`, dir);
    if (out.contexts.has(name)) continue;
    out.contexts.set(name, { file, value: { cluster: f.string('cluster') ?? '', user: f.string('user') ?? '', namespace: f.string('namespace') } });
  }
  return out;
}

/**
 * Merges kubeconfigs as kubectl does with a KUBECONFIG list: the first file that defines
 * a cluster, user or context by a name wins for that name (entries are not merged field by
 * field), and current-context comes from the first file that sets it.
 */
export function mergeKubeconfigs(configs: readonly Kubeconfig[]): Kubeconfig {
  const out: Kubeconfig = { files: [], currentContext: null, clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const c of configs) {
    out.files.push(...c.files);
    out.currentContext ??= c.currentContext;
    for (const [k, v] of c.clusters) if (!out.clusters.has(k)) out.clusters.set(k, v);
    for (const [k, v] of c.users) if (!out.users.has(k)) out.users.set(k, v);
    for (const [k, v] of c.contexts) if (!out.contexts.has(k)) out.contexts.set(k, v);
  }
  return out;
}

/** Where kubeconfig is looked for: the option, else KUBECONFIG (a PATH-like list), else ~/.kube/config. */
export function kubeconfigPaths(option: string | undefined, env: NodeJS.ProcessEnv): { paths: string[]; explicit: boolean; from: string } {
  if (option !== undefined) return { paths: [option], explicit: true, from: 'kubernetes.kubeconfig' };
  const list = env.KUBECONFIG;
  if (list !== undefined && list.trim() !== '') {
    // Empty entries are skipped and the first of duplicates counts, as in client-go.
    const paths = [...new Set(list.split(delimiter).filter((p) => p.trim() !== ''))];
    return { paths, explicit: false, from: 'KUBECONFIG' };
  }
  const home = env.HOME || env.USERPROFILE || (env === process.env ? homedir() : '');
  return { paths: home ? [join(home, '.kube', 'config')] : [], explicit: false, from: '~/.kube/config' };
}

/** Reads a file of at most {@link KUBECONFIG_SIZE_LIMIT} bytes; null when it does not exist. */
async function readBounded(path: string): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw configError(`cannot read kubeconfig ${path}: ${(err as Error).message}`, err);
  }
  try {
    const buffer = Buffer.alloc(KUBECONFIG_SIZE_LIMIT + 1);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, size, buffer.length - size, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > KUBECONFIG_SIZE_LIMIT) throw configError(`kubeconfig ${path} is larger than ${KUBECONFIG_SIZE_LIMIT} bytes`);
    }
    return buffer.subarray(0, size).toString('utf8');
  } catch (err) {
    if (err instanceof KubernetesApiError) throw err;
    throw configError(`cannot read kubeconfig ${path}: ${(err as Error).message}`, err);
  } finally {
    await handle.close();
  }
}

/**
 * Loads and merges the kubeconfig files. Files of a KUBECONFIG list that do not exist are
 * skipped (as kubectl does); null when none exists. An explicit path that does not exist is ECONFIG.
 */
export async function loadKubeconfig(option: string | undefined, env: NodeJS.ProcessEnv): Promise<Kubeconfig | null> {
  const { paths, explicit } = kubeconfigPaths(option, env);
  const configs: Kubeconfig[] = [];
  for (const path of paths) {
    const text = await readBounded(path);
    if (text === null) {
      if (explicit) throw configError(`kubeconfig ${path} (kubernetes.kubeconfig) does not exist`);
      continue;
    }
    configs.push(parseKubeconfig(text, path));
  }
  return configs.length === 0 ? null : mergeKubeconfigs(configs);
}

/** What replaces a removed auth-provider. */
const AUTH_PROVIDER_FIX: Record<string, string> = {
  gcp: 'the exec plugin gke-gcloud-auth-plugin (gcloud components install gke-gcloud-auth-plugin; then gcloud container clusters get-credentials)',
  azure: 'the exec plugin kubelogin (az aks install-cli; kubelogin convert-kubeconfig -l azurecli)',
  oidc: 'the exec plugin kubelogin (kubectl oidc-login, github.com/int128/kubelogin), or a token',
};

/** The context to use (`context`, else current-context) with its cluster and user; ECONFIG when something is missing or unusable. */
export function selectContext(config: Kubeconfig, context?: string): KubeconfigSelection {
  const files = config.files.join(', ');
  const name = context ?? config.currentContext;
  if (name === null) {
    throw configError(`kubeconfig ${files} has no current-context: pass kubernetes.context (--context) with one of ${[...config.contexts.keys()].join(', ') || '(no contexts)'}`);
  }
  const ctx = config.contexts.get(name);
  if (!ctx) {
    throw configError(`context "${name}" is not in kubeconfig ${files} (contexts: ${[...config.contexts.keys()].join(', ') || 'none'})`);
  }
  const { cluster: clusterName, user: userName, namespace } = ctx.value;
  const cluster = config.clusters.get(clusterName);
  if (!cluster) throw configError(`context "${name}" names cluster "${clusterName}", which is not in kubeconfig ${files}`);
  const user = userName === '' ? null : (config.users.get(userName) ?? null);
  if (userName !== '' && !user) throw configError(`context "${name}" names user "${userName}", which is not in kubeconfig ${files}`);
  if (user?.value.authProvider && !user.value.exec && !user.value.token && !user.value.tokenFile) {
    const provider = user.value.authProvider;
    const fix = AUTH_PROVIDER_FIX[provider] ?? 'an exec credential plugin or a token';
    throw configError(
      `user "${userName}" in kubeconfig ${user.file} uses auth-provider "${provider}", which kubectl and client-go removed (Kubernetes 1.26). Use ${fix} instead`,
    );
  }
  if (user?.value.basicAuth && !user.value.exec && !user.value.token && !user.value.tokenFile && !user.value.clientCertificate && !user.value.clientCertificateData) {
    throw configError(`user "${userName}" in kubeconfig ${user.file} uses a username/password, which the API server no longer accepts (removed in 1.19): use a token, a client certificate or an exec plugin`);
  }
  return { context: name, file: ctx.file, clusterName, cluster, userName, user, namespace };
}
