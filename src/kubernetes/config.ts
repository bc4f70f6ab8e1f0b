import { readFile, stat } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { KubernetesApiError, KubernetesApiErrorCode } from './errors.js';

/** The service-account volume kubelet mounts into every pod (token, ca.crt, namespace). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How often a token file is read again even when it looks unchanged, ms (kubelet rotates projected tokens). */
export const TOKEN_REREAD_INTERVAL = 60_000;

/**
 * Access to the Kubernetes API. Empty: in-cluster config (`KUBERNETES_SERVICE_HOST`,
 * `KUBERNETES_SERVICE_PORT`, the service-account token, CA and namespace files).
 */
export interface KubernetesOptions {
  /** API server URL: `https://10.96.0.1:443`, or `http://127.0.0.1:8001` for `kubectl proxy`. Default: in-cluster. */
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
  /** The namespace file's content, or null when there is none. */
  namespace: string | null;
}

/** `https://<host>:<port>` of the in-cluster API (IPv6 hosts in brackets). */
export function inClusterUrl(host: string, port: string): string {
  const h = isIPv6(host) ? `[${host}]` : host;
  return `https://${h}:${port}`;
}

function configError(message: string, cause?: unknown): KubernetesApiError {
  return new KubernetesApiError(KubernetesApiErrorCode.CONFIG, message, cause === undefined ? {} : { cause });
}

/**
 * Resolves {@link KubernetesOptions}: explicit `url` (with `token`/`tokenFile`, `ca`/`caFile` as given),
 * else the in-cluster environment (token file, ca.crt). Rejects `ECONFIG` saying what was looked for.
 */
export async function loadKubernetesConfig(options: KubernetesOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<KubernetesConfig> {
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  const port = env.KUBERNETES_SERVICE_PORT?.trim();
  const inCluster = options.url === undefined;
  let text: string;
  if (options.url !== undefined) {
    text = options.url;
  } else if (host && port) {
    text = inClusterUrl(host, port);
  } else {
    throw configError(
      'no Kubernetes API configured: kubernetes.url was not given and KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set ' +
        '(not running in a pod?). Pass kubernetes: { url, token, ca } (url may be http://127.0.0.1:8001 for kubectl proxy)',
    );
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    throw configError(`kubernetes.url is not a URL: ${JSON.stringify(text)}`, err);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw configError(`kubernetes.url must be http:// or https://, got ${JSON.stringify(text)}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw configError(`kubernetes.url must have no query, fragment or credentials: ${JSON.stringify(url.origin + url.pathname)}...`);
  }

  const tokenFile = options.tokenFile ?? (inCluster ? `${SERVICE_ACCOUNT_DIR}/token` : undefined);
  const token =
    options.token !== undefined
      ? TokenProvider.fromValue(options.token)
      : tokenFile !== undefined
        ? TokenProvider.fromFile(tokenFile)
        : null;

  let ca: string | Buffer | undefined = options.ca;
  let caSource: string | null = options.ca !== undefined ? 'kubernetes.ca' : null;
  const caFile = options.caFile ?? (inCluster && options.ca === undefined ? `${SERVICE_ACCOUNT_DIR}/ca.crt` : undefined);
  if (ca === undefined && caFile !== undefined && url.protocol === 'https:') {
    try {
      ca = await readFile(caFile);
    } catch (err) {
      throw configError(`cannot read the Kubernetes API CA certificate ${caFile}: ${(err as Error).message}. Pass kubernetes.ca or kubernetes.caFile`, err);
    }
    caSource = `CA file ${caFile}`;
  }

  return { url, token, ca, caSource, namespace: await readNamespaceFile(options.namespaceFile ?? `${SERVICE_ACCOUNT_DIR}/namespace`) };
}

/** The trimmed content of a namespace file, or null when it is missing or empty. */
export async function readNamespaceFile(path: string): Promise<string | null> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return text || null;
  } catch {
    return null;
  }
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

interface CachedToken {
  token: string;
  mtimeMs: number;
  ino: number;
  size: number;
  readAt: number;
}

/**
 * Gives the bearer token for each request. A token file is stat'ed on every request and
 * read again when it changed (kubelet swaps a symlink when it rotates the token), every
 * {@link TOKEN_REREAD_INTERVAL}, and after {@link invalidate} (a 401).
 */
export class TokenProvider {
  /** Where the token comes from, for error messages. */
  readonly source: string;
  /** True when asking again can give another token (a file or a function): a 401 is then retried once. */
  readonly refreshable: boolean;
  readonly #get: () => Promise<string>;
  #cached: CachedToken | null = null;
  #stale = false;
  #last: string | null = null;

  private constructor(source: string, refreshable: boolean, get: (self: TokenProvider) => Promise<string>) {
    this.source = source;
    this.refreshable = refreshable;
    this.#get = () => get(this);
  }

  /** A fixed token or a function returning one. */
  static fromValue(value: string | (() => string | Promise<string>)): TokenProvider {
    if (typeof value === 'string') return new TokenProvider('kubernetes.token', false, async () => checkToken(value, 'kubernetes.token'));
    return new TokenProvider('the kubernetes.token function', true, async () => checkToken(await value(), 'the kubernetes.token function'));
  }

  /** A token file, re-read as it rotates. */
  static fromFile(path: string, rereadInterval = TOKEN_REREAD_INTERVAL): TokenProvider {
    return new TokenProvider(`token file ${path}`, true, (self) => self.#readFile(path, rereadInterval));
  }

  /** The current token. Rejects ECONFIG when it cannot be read or is empty. */
  async get(): Promise<string> {
    const token = await this.#get();
    this.#last = token;
    return token;
  }

  /** The last token given, or null. */
  get last(): string | null {
    return this.#last;
  }

  /** Forces the next {@link get} to read the token again (the server rejected it). */
  invalidate(): void {
    this.#stale = true;
  }

  async #readFile(path: string, rereadInterval: number): Promise<string> {
    let info;
    try {
      info = await stat(path);
    } catch (err) {
      throw configError(
        `cannot read the Kubernetes service-account token ${path}: ${(err as Error).message}. ` +
          'Mount one (automountServiceAccountToken: true) or pass kubernetes.token / kubernetes.tokenFile',
        err,
      );
    }
    const c = this.#cached;
    const now = Date.now();
    if (c && !this.#stale && c.mtimeMs === info.mtimeMs && c.ino === info.ino && c.size === info.size && now - c.readAt < rereadInterval) {
      return c.token;
    }
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw configError(`cannot read the Kubernetes service-account token ${path}: ${(err as Error).message}`, err);
    }
    const token = checkToken(text.trim(), `token file ${path}`);
    this.#cached = { token, mtimeMs: info.mtimeMs, ino: info.ino, size: info.size, readAt: now };
    this.#stale = false;
    return token;
  }
}

function checkToken(token: unknown, source: string): string {
  if (typeof token !== 'string' || token.trim() === '') throw configError(`the Kubernetes token from ${source} is empty`);
  if (/[\r\n]/.test(token.trim())) throw configError(`the Kubernetes token from ${source} spans several lines`);
  return token.trim();
}
