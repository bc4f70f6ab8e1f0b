/**
 * How requests to the API authenticate: bearer tokens (fixed, a function, a file that
 * rotates, an exec plugin), client certificates, and the TLS options of the undici Agent.
 */
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import { buildConnector } from './undici.js';
import type { Agent } from './undici.js';
import { KubernetesApiError, KubernetesApiErrorCode } from './errors.js';
import type { ExecCredentialPlugin } from './exec-credential.js';

/** How often a token file is read again even when it looks unchanged, ms (kubelet rotates projected tokens). */
export const TOKEN_REREAD_INTERVAL = 60_000;
/** Longest wait for a token when the request has no deadline of its own, ms (a token function that never settles). */
export const TOKEN_TIMEOUT = 30_000;
/** Largest token file read, bytes (a service-account JWT is about 1 KB). */
const TOKEN_FILE_LIMIT = 64 * 1024;

function configError(message: string, cause?: unknown): KubernetesApiError {
  return new KubernetesApiError(KubernetesApiErrorCode.CONFIG, message, cause === undefined ? {} : { cause });
}

/** A thrown value as text for a message (a function may throw a string, or anything). */
function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
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
 * {@link TOKEN_REREAD_INTERVAL}, and after {@link invalidate} (a 401). An exec plugin's
 * credential is cached until it expires or a 401.
 */
export class TokenProvider {
  /** Where the token comes from, for error messages. */
  readonly source: string;
  /** True when asking again can give another token (a file, a function, a plugin): a 401 is then retried once. */
  readonly refreshable: boolean;
  readonly #get: (signal: AbortSignal | undefined) => Promise<string | null>;
  readonly #onInvalidate: (() => void) | null;
  #cached: CachedToken | null = null;
  #stale = false;
  #last: string | null = null;

  private constructor(
    source: string,
    refreshable: boolean,
    get: (self: TokenProvider, signal: AbortSignal | undefined) => Promise<string | null>,
    onInvalidate: (() => void) | null = null,
  ) {
    this.source = source;
    this.refreshable = refreshable;
    this.#get = (signal) => get(this, signal);
    this.#onInvalidate = onInvalidate;
  }

  /** A fixed token or a function returning one. */
  static fromValue(value: string | (() => string | Promise<string>)): TokenProvider {
    if (typeof value === 'string') return new TokenProvider('kubernetes.token', false, async () => checkToken(value, 'kubernetes.token'));
    if (typeof value !== 'function') throw configError(`kubernetes.token must be a string or a function, got ${typeof value}`);
    const source = 'the kubernetes.token function';
    return new TokenProvider(source, true, async () => {
      let token: unknown;
      try {
        token = await value();
      } catch (err) {
        if (err instanceof KubernetesApiError) throw err;
        throw configError(`${source} failed: ${describe(err)}`, err);
      }
      return checkToken(token, source);
    });
  }

  /** A token file, re-read as it rotates. `source` names it in messages. */
  static fromFile(path: string, rereadInterval = TOKEN_REREAD_INTERVAL, source = `token file ${path}`): TokenProvider {
    return new TokenProvider(source, true, (self) => self.#readFile(path, rereadInterval));
  }

  /** A fixed token from a kubeconfig; `source` names the user and file. */
  static fromKubeconfig(token: string, source: string): TokenProvider {
    return new TokenProvider(source, false, async () => checkToken(token, source));
  }

  /** The token of an exec plugin's credential (null when it gives a client certificate only). */
  static fromExec(plugin: ExecCredentialPlugin): TokenProvider {
    return new TokenProvider(plugin.source, true, async (_self, signal) => (await plugin.get(signal)).token, () => plugin.invalidate());
  }

  /**
   * The token for a request, or null when the credential has none (an exec plugin giving
   * a client certificate). Never waits past `signal` (the request's deadline or abort) nor
   * {@link TOKEN_TIMEOUT}; every failure is a {@link KubernetesApiError}.
   */
  async token(signal?: AbortSignal, timeout = TOKEN_TIMEOUT): Promise<string | null> {
    const token = await settleWithin(this.#get(signal), signal, timeout, this.source);
    this.#last = token;
    return token;
  }

  /** The current token. Rejects ECONFIG when it cannot be read or is empty. */
  async get(signal?: AbortSignal): Promise<string> {
    const token = await this.token(signal);
    if (token === null) throw configError(`the ${this.source} gave no token`);
    return token;
  }

  /** The last token given, or null. */
  get last(): string | null {
    return this.#last;
  }

  /** Forces the next {@link get} to read the token again (the server rejected it). */
  invalidate(): void {
    this.#stale = true;
    this.#onInvalidate?.();
  }

  async #readFile(path: string, rereadInterval: number): Promise<string> {
    let info;
    try {
      info = await stat(path);
    } catch (err) {
      throw configError(
        `cannot read the Kubernetes token file ${path}: ${(err as Error).message}. ` +
          'In a pod: mount one (automountServiceAccountToken: true); else pass kubernetes.token / kubernetes.tokenFile or a kubeconfig',
        err,
      );
    }
    const c = this.#cached;
    const now = Date.now();
    if (c && !this.#stale && c.mtimeMs === info.mtimeMs && c.ino === info.ino && c.size === info.size && now - c.readAt < rereadInterval) {
      return c.token;
    }
    if (info.size > TOKEN_FILE_LIMIT) throw configError(`the Kubernetes token file ${path} is larger than ${TOKEN_FILE_LIMIT} bytes: not a token`);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw configError(`cannot read the Kubernetes token file ${path}: ${(err as Error).message}`, err);
    }
    const token = checkToken(text.trim(), `token file ${path}`);
    this.#cached = { token, mtimeMs: info.mtimeMs, ino: info.ino, size: info.size, readAt: now };
    this.#stale = false;
    return token;
  }
}

function checkToken(token: unknown, source: string): string {
  if (typeof token !== 'string') throw configError(`the Kubernetes token from ${source} is not a string (got ${token === null ? 'null' : typeof token})`);
  if (token.trim() === '') throw configError(`the Kubernetes token from ${source} is empty`);
  if (/[\r\n]/.test(token.trim())) throw configError(`the Kubernetes token from ${source} spans several lines`);
  return token.trim();
}

/** `promise`, unless `signal` aborts or `ms` pass first (then a KubernetesApiError, the signal's own when it is one). */
function settleWithin<T>(promise: Promise<T>, signal: AbortSignal | undefined, ms: number, source: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      done();
      const reason: unknown = signal?.reason;
      reject(reason instanceof KubernetesApiError ? reason : new KubernetesApiError(KubernetesApiErrorCode.CANCELLED, `aborted while waiting for the token from ${source}`, { cause: reason }));
    };
    const timer = setTimeout(() => {
      done();
      reject(new KubernetesApiError(KubernetesApiErrorCode.TIMEOUT, `no token from ${source} within ${ms} ms`));
    }, ms);
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    // Handlers first: a source that rejects after we gave up must not be an unhandled rejection.
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (err: unknown) => {
        done();
        reject(err instanceof KubernetesApiError ? err : configError(`getting the token from ${source} failed: ${describe(err)}`, err));
      },
    );
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`: where a token may go over plain http. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  // Only `localhost` itself: a resolver may send other *.localhost names anywhere.
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./.test(host) || /^::ffff:7f[0-9a-f]{2}:/.test(host);
  return false;
}

/** The TLS side of a config: what {@link agentConnect} needs. */
export interface TlsSettings {
  ca?: string | Buffer | undefined;
  clientCertificate?: { cert: string | Buffer; key: string | Buffer } | null | undefined;
  insecureSkipTlsVerify?: boolean | undefined;
  tlsServerName?: string | null | undefined;
  exec?: ExecCredentialPlugin | null | undefined;
}

/**
 * The `connect` option of the undici Agent for a config: CA, client certificate,
 * insecure-skip-tls-verify, tls-server-name; with an exec plugin, each new connection asks
 * it for the current client certificate, and a 401 closes the connections made with the
 * rejected one.
 */
export function agentConnect(config: TlsSettings): NonNullable<Agent.Options['connect']> {
  const base: buildConnector.BuildOptions = {
    ...(config.ca !== undefined ? { ca: config.ca } : {}),
    ...(config.clientCertificate ? { cert: config.clientCertificate.cert, key: config.clientCertificate.key } : {}),
    ...(config.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
    ...(config.tlsServerName ? { servername: config.tlsServerName } : {}),
  };
  const plugin = config.exec;
  if (!plugin) return base;
  const plain = buildConnector(base);
  return (options, callback) => {
    if (options.protocol !== 'https:') return plain(options, callback);
    plugin.get().then(
      (credential) => {
        const certificate = credential.clientCertificate;
        if (!certificate) return plain(options, callback);
        buildConnector({ ...base, ...certificate })(options, (...result) => {
          // A 401 closes it (ExecCredentialPlugin.invalidate): the retry then dials with the new certificate.
          if (result[1]) plugin.track(result[1] as Socket);
          callback(...result);
        });
      },
      (err: Error) => callback(err, null),
    );
  };
}
