import { readFile, stat } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import type { Dispatcher } from './undici.js';
import { isLoopbackHost, TokenProvider } from './auth.js';
import { checkKubernetesOptions } from './check-options.js';
import { KubernetesApiError, KubernetesApiErrorCode } from './errors.js';
import { execCredentialPlugin } from './exec-credential.js';
import type { ExecCredentialPlugin } from './exec-credential.js';
import { kubeconfigPaths, loadKubeconfig, selectContext } from './kubeconfig.js';
import { DNS_LABEL } from './names.js';
import type { KubeconfigSelection } from './kubeconfig.js';

export { TOKEN_REREAD_INTERVAL, TokenProvider } from './auth.js';
export { checkApiTimeout, checkKubernetesOptions, MAX_TIMER_MS } from './check-options.js';

/** The service-account volume kubelet mounts into every pod (token, ca.crt, namespace). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Access to the Kubernetes API. Empty: in a pod, the in-cluster config (`KUBERNETES_SERVICE_HOST`,
 * `KUBERNETES_SERVICE_PORT`, the service-account token, CA and namespace files); elsewhere the
 * kubeconfig as kubectl reads it (`KUBECONFIG`, else `~/.kube/config`) at its current context.
 * Options given here override what the kubeconfig says, as kubectl's flags do.
 */
export interface KubernetesOptions {
  /** API server URL: `https://10.96.0.1:443`, or `http://127.0.0.1:8001` for `kubectl proxy`. Default: in-cluster, else the kubeconfig's. */
  url?: string;
  /** Bearer token, or a function called before every request (for tokens that rotate). */
  token?: string | (() => string | Promise<string>);
  /** File holding the bearer token, re-read when it changes (default in-cluster: `<service account dir>/token`). */
  tokenFile?: string;
  /** CA certificate(s), PEM, that the server's certificate must chain to. Default in-cluster: ca.crt; else the system CAs. */
  ca?: string | Buffer;
  /** File holding the CA certificate(s) (default in-cluster: `<service account dir>/ca.crt`). */
  caFile?: string;
  /** File holding the pod's namespace (default: `<service account dir>/namespace`). */
  namespaceFile?: string;
  /** Client certificate, PEM, for TLS client authentication (with `key`). */
  cert?: string | Buffer;
  /** Private key, PEM, of `cert`. */
  key?: string | Buffer;
  /** Do not verify the server's certificate (a warning is printed each time a config with it is loaded). For test clusters only. */
  insecureSkipTlsVerify?: boolean;
  /** kubeconfig file to read (default: `KUBECONFIG`, a list merged as kubectl merges it, else `~/.kube/config`). */
  kubeconfig?: string;
  /** kubeconfig context to use (default: its current-context). */
  context?: string;
  /** undici Dispatcher to send requests with (not closed by this package), e.g. a ProxyAgent. Default: an Agent per source. */
  dispatcher?: Dispatcher;
  /**
   * EndpointSlices per list page (`limit`; default 100: a page is at most ~10,000 endpoints,
   * and the next one is fetched while this one is read); 0 lists in one request.
   */
  pageSize?: number;
  /** Largest list answer read, bytes (default 256 MiB): a larger one fails with EBADRESP instead of filling memory. */
  maxListBytes?: number;
  /** watchPeers(): get the initial set through a streaming watch-list where the server offers one (default true). */
  watchList?: boolean;
}

/** A resolved configuration: where the API is, how to authenticate, what to trust. */
export interface KubernetesConfig {
  /** Base URL (a path prefix, as behind Rancher, is kept). */
  url: URL;
  /** Gives the bearer token for each request; null sends none (e.g. `kubectl proxy`). */
  token: TokenProvider | null;
  /** CA to verify the server with; undefined: the system CAs. */
  ca: string | Buffer | undefined;
  /** Where the CA came from, for error messages; null for the system CAs. */
  caSource: string | null;
  /** The default namespace: the namespace file's content (in a pod) or the kubeconfig context's; null when none. Checked by {@link defaultNamespace}. */
  namespace: string | null;
  /** Client certificate and key sent in the TLS handshake; null or absent: none (unless `exec` gives one). */
  clientCertificate?: { cert: string | Buffer; key: string | Buffer } | null;
  /** The server's certificate is not verified (kubeconfig insecure-skip-tls-verify). */
  insecureSkipTlsVerify?: boolean;
  /** Name to verify the server's certificate against (kubeconfig tls-server-name). */
  tlsServerName?: string | null;
  /** The kubeconfig exec plugin whose credential (token and/or client certificate) is used. */
  exec?: ExecCredentialPlugin | null;
  /** Where the config came from: `kubernetes.url`, `in-cluster`, `kubeconfig <file> context <name>`. */
  origin?: string;
}

/** `https://<host>:<port>` of the in-cluster API (IPv6 hosts in brackets). */
export function inClusterUrl(host: string, port: string): string {
  const h = isIPv6(host) ? `[${host}]` : host;
  return `https://${h}:${port}`;
}

function configError(message: string, cause?: unknown): KubernetesApiError {
  return new KubernetesApiError(KubernetesApiErrorCode.CONFIG, message, cause === undefined ? {} : { cause });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readPem(path: string, what: string, fix: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw configError(`cannot read the ${what} ${path}: ${(err as Error).message}. ${fix}`, err);
  }
}

/** What a config is built from, before the URL and the token are checked. */
interface Parts {
  url: string;
  urlFrom: string;
  token: TokenProvider | null;
  ca: string | Buffer | undefined;
  caSource: string | null;
  clientCertificate: { cert: string | Buffer; key: string | Buffer } | null;
  insecureSkipTlsVerify: boolean;
  tlsServerName: string | null;
  exec: ExecCredentialPlugin | null;
  namespace: string | null;
  origin: string;
}

/**
 * Resolves {@link KubernetesOptions}: an explicit `url` (with the token, CA and client
 * certificate options as given); else in a pod the in-cluster config; else the kubeconfig.
 * Rejects `ECONFIG` saying what was looked for, or what to use instead. `namespaceKnown`: the
 * caller names the namespace, so the namespace file is not read (`namespace` is then null).
 */
export async function loadKubernetesConfig(
  options: KubernetesOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  namespaceKnown = false,
): Promise<KubernetesConfig> {
  checkKubernetesOptions(options);
  if (options.url !== undefined) return finish(await fromOptions(options, options.url, false, namespaceKnown), options);
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  const port = env.KUBERNETES_SERVICE_PORT?.trim();
  const wantsKubeconfig = options.kubeconfig !== undefined || options.context !== undefined;
  const inPod = !!host && !!port;
  if (inPod && !wantsKubeconfig && (await exists(options.tokenFile ?? `${SERVICE_ACCOUNT_DIR}/token`))) {
    return finish(await fromOptions(options, inClusterUrl(host, port), true, namespaceKnown), options);
  }
  const kubeconfig = await loadKubeconfig(options.kubeconfig, env);
  if (kubeconfig) return finish(await fromKubeconfig(selectContext(kubeconfig, options.context), options, env), options);
  // In a pod without a token and without a kubeconfig: the in-cluster config says what is missing.
  if (inPod && !wantsKubeconfig) return finish(await fromOptions(options, inClusterUrl(host, port), true, namespaceKnown), options);
  const looked = kubeconfigPaths(options.kubeconfig, env);
  throw configError(
    'no Kubernetes API configured: kubernetes.url was not given, KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set (not in a pod), ' +
      `and there is no kubeconfig (${looked.from}: ${looked.paths.join(', ') || 'no HOME'}). ` +
      'Pass kubernetes: { url, token, ca } (url may be http://127.0.0.1:8001 for kubectl proxy), or kubernetes.kubeconfig',
  );
}

/** An explicit url, or the in-cluster one with the service-account files. */
async function fromOptions(options: KubernetesOptions, url: string, inCluster = false, namespaceKnown = false): Promise<Parts> {
  const tokenFile = options.tokenFile ?? (inCluster ? `${SERVICE_ACCOUNT_DIR}/token` : undefined);
  const token =
    options.token !== undefined ? TokenProvider.fromValue(options.token) : tokenFile !== undefined ? TokenProvider.fromFile(tokenFile) : null;
  let ca: string | Buffer | undefined = options.ca;
  let caSource: string | null = options.ca !== undefined ? 'kubernetes.ca' : null;
  const caFile = options.caFile ?? (inCluster && options.ca === undefined ? `${SERVICE_ACCOUNT_DIR}/ca.crt` : undefined);
  if (ca === undefined && caFile !== undefined && url.startsWith('https:')) {
    ca = await readPem(caFile, 'Kubernetes API CA certificate', 'Pass kubernetes.ca or kubernetes.caFile');
    caSource = `CA file ${caFile}`;
  }
  return {
    url,
    urlFrom: inCluster ? 'the in-cluster environment (KUBERNETES_SERVICE_HOST)' : 'kubernetes.url',
    token,
    ca,
    caSource,
    clientCertificate: options.cert !== undefined && options.key !== undefined ? { cert: options.cert, key: options.key } : null,
    insecureSkipTlsVerify: options.insecureSkipTlsVerify ?? false,
    tlsServerName: null,
    exec: null,
    // Read only when it may be used: a caller that names the namespace spares a file system round trip per call.
    namespace: namespaceKnown ? null : await readNamespaceFile(options.namespaceFile ?? `${SERVICE_ACCOUNT_DIR}/namespace`),
    origin: inCluster ? 'in-cluster' : 'kubernetes.url',
  };
}

/** A kubeconfig context's cluster and user, with the explicit options on top. */
async function fromKubeconfig(sel: KubeconfigSelection, options: KubernetesOptions, env: NodeJS.ProcessEnv): Promise<Parts> {
  const cluster = sel.cluster.value;
  const clusterWhere = `cluster "${sel.clusterName}" in kubeconfig ${sel.cluster.file}`;
  const userWhere = `user "${sel.userName}" in kubeconfig ${sel.user?.file ?? sel.file}`;
  if (!cluster.server) throw configError(`${clusterWhere} has no server`);
  if (cluster.proxyUrl && options.dispatcher === undefined) {
    throw configError(`${clusterWhere} has proxy-url ${cluster.proxyUrl}: pass kubernetes.dispatcher (an undici ProxyAgent for it) to reach the API through a proxy`);
  }
  const user = sel.user?.value ?? null;

  let ca: string | Buffer | undefined = options.ca;
  let caSource: string | null = options.ca !== undefined ? 'kubernetes.ca' : null;
  if (ca === undefined && options.caFile !== undefined) {
    ca = await readPem(options.caFile, 'Kubernetes API CA certificate', 'Pass kubernetes.ca or kubernetes.caFile');
    caSource = `CA file ${options.caFile}`;
  } else if (ca === undefined && cluster.certificateAuthorityData) {
    ca = cluster.certificateAuthorityData;
    caSource = `certificate-authority-data of ${clusterWhere}`;
  } else if (ca === undefined && cluster.certificateAuthority) {
    ca = await readPem(cluster.certificateAuthority, `certificate-authority of ${clusterWhere}`, 'Fix the path in the kubeconfig');
    caSource = `certificate-authority ${cluster.certificateAuthority} of ${clusterWhere}`;
  }

  let clientCertificate: Parts['clientCertificate'] = null;
  if (options.cert !== undefined && options.key !== undefined) {
    clientCertificate = { cert: options.cert, key: options.key };
  } else if (user && (user.clientCertificate || user.clientCertificateData || user.clientKey || user.clientKeyData)) {
    const cert = user.clientCertificateData ?? (user.clientCertificate ? await readPem(user.clientCertificate, `client-certificate of ${userWhere}`, 'Fix the path in the kubeconfig') : null);
    const key = user.clientKeyData ?? (user.clientKey ? await readPem(user.clientKey, `client-key of ${userWhere}`, 'Fix the path in the kubeconfig') : null);
    if (!cert || !key) throw configError(`${userWhere} has a client certificate without a key, or a key without a certificate`);
    clientCertificate = { cert, key };
  }

  let token: TokenProvider | null = null;
  let exec: ExecCredentialPlugin | null = null;
  if (options.token !== undefined) token = TokenProvider.fromValue(options.token);
  else if (options.tokenFile !== undefined) token = TokenProvider.fromFile(options.tokenFile);
  else if (user?.token) token = TokenProvider.fromKubeconfig(user.token, `token of ${userWhere}`);
  else if (user?.tokenFile) token = TokenProvider.fromFile(user.tokenFile, undefined, `tokenFile ${user.tokenFile} of ${userWhere}`);
  else if (user?.exec) {
    exec = execCredentialPlugin({
      exec: user.exec,
      where: userWhere,
      env,
      cluster: {
        server: cluster.server,
        certificateAuthorityData: cluster.certificateAuthorityData,
        insecureSkipTlsVerify: cluster.insecureSkipTlsVerify,
        tlsServerName: cluster.tlsServerName,
      },
    });
    token = TokenProvider.fromExec(exec);
  }
  return {
    url: cluster.server,
    urlFrom: `the server of ${clusterWhere}`,
    token,
    ca,
    caSource,
    clientCertificate,
    insecureSkipTlsVerify: options.insecureSkipTlsVerify ?? cluster.insecureSkipTlsVerify,
    tlsServerName: cluster.tlsServerName,
    exec,
    namespace: sel.namespace,
    origin: `kubeconfig ${sel.file} context "${sel.context}"`,
  };
}

/** Checks the URL, refuses a token over plain http to another host, warns about skipped verification. */
function finish(parts: Parts, options: KubernetesOptions): KubernetesConfig {
  let url: URL;
  try {
    url = new URL(parts.url);
  } catch (err) {
    throw configError(`${parts.urlFrom} is not a URL: ${JSON.stringify(parts.url)}`, err);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw configError(`${parts.urlFrom} must be http:// or https://, got ${JSON.stringify(parts.url)}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw configError(`${parts.urlFrom} must have no query, fragment or credentials: ${JSON.stringify(url.origin + url.pathname)}...`);
  }
  if (url.protocol === 'http:' && parts.token !== null && !isLoopbackHost(url.hostname)) {
    throw configError(
      `refusing to send the bearer token from ${parts.token.source} over plain http:// to ${url.host}: anyone on the path could read it. ` +
        'Use https:// (with the cluster CA), or kubectl proxy on 127.0.0.1 without a token',
    );
  }
  if (parts.insecureSkipTlsVerify && url.protocol === 'https:') {
    process.emitWarning(
      `the certificate of the Kubernetes API at ${url.host} is not verified (insecure-skip-tls-verify, from ${options.insecureSkipTlsVerify ? 'kubernetes.insecureSkipTlsVerify' : parts.origin}): ` +
        'anyone on the path can read the token and forge answers. Give the cluster CA instead',
      { code: 'HEADLESS_SD_INSECURE_TLS' },
    );
  }
  return {
    url,
    token: parts.token,
    ca: parts.ca,
    caSource: parts.caSource,
    namespace: parts.namespace,
    clientCertificate: parts.clientCertificate,
    insecureSkipTlsVerify: parts.insecureSkipTlsVerify,
    tlsServerName: parts.tlsServerName,
    exec: parts.exec,
    origin: parts.origin,
  };
}

/** Longest namespace file read, bytes. */
const NAMESPACE_FILE_LIMIT = 1024;

/** The trimmed content of a namespace file, or null when it is missing or empty. */
export async function readNamespaceFile(path: string): Promise<string | null> {
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size > NAMESPACE_FILE_LIMIT) return null;
    const text = (await readFile(path, 'utf8')).trim();
    return text || null;
  } catch {
    return null;
  }
}

/**
 * The namespace when the caller named none: the config's (namespace file or kubeconfig
 * context), else POD_NAMESPACE, else 'default'. Each is checked as a DNS-1123 label, so a
 * file holding `..` cannot turn a namespaced request into a cluster-wide one: ECONFIG.
 */
export function defaultNamespace(config: Pick<KubernetesConfig, 'namespace' | 'origin'>, env: NodeJS.ProcessEnv = process.env): string {
  const check = (value: string, from: string): string => {
    if (!DNS_LABEL.test(value)) {
      throw configError(`the namespace from ${from} is not a namespace name (lower case letters, digits, "-"): ${JSON.stringify(value.slice(0, 80))}`);
    }
    return value;
  };
  if (config.namespace !== null) {
    const from = config.origin?.startsWith('kubeconfig') ? `the context of ${config.origin}` : 'the namespace file';
    return check(config.namespace.trim(), from);
  }
  const pod = env.POD_NAMESPACE?.trim();
  return pod ? check(pod, 'POD_NAMESPACE') : 'default';
}

/** `namespace/name` of the service account a token was issued for (read from the JWT, not verified), or null. */
export function serviceAccountOfToken(token: string): string | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const sub = typeof claims.sub === 'string' ? /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub) : null;
    return sub ? `${sub[1]}/${sub[2]}` : null;
  } catch {
    return null;
  }
}
