/**
 * kubeconfig `exec` credential plugins (client.authentication.k8s.io v1 and v1beta1), as
 * client-go runs them: the command with its args and env plus KUBERNETES_EXEC_INFO, its
 * ExecCredential read from stdout, cached until `expirationTimestamp`, run again after a 401.
 * Each run is bounded in time and output size.
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { KubernetesApiError, KubernetesApiErrorCode } from './errors.js';
import type { KubeconfigExec } from './kubeconfig.js';
import { sanitizeServerText } from './redact.js';

/** API versions of ExecCredential this package speaks (v1alpha1 was removed in Kubernetes 1.24). */
export const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;
/** Longest run of a plugin before it is killed, ms (gke-gcloud-auth-plugin, aws eks get-token take a few seconds). */
export const EXEC_TIMEOUT = 60_000;
/** Largest stdout read from a plugin, bytes (an ExecCredential with a certificate is a few KB). */
export const EXEC_OUTPUT_LIMIT = 1024 * 1024;
/** stderr kept for error messages, bytes. */
const STDERR_KEPT = 2048;

/** What a plugin gave. */
export interface ExecCredential {
  token: string | null;
  /** PEM certificate and key for TLS client authentication. */
  clientCertificate: { cert: string; key: string } | null;
  /** ms since the epoch after which the credential is run again; null: until a 401. */
  expiresAt: number | null;
}

/** The cluster a plugin is told about when it asks for it (provideClusterInfo). */
export interface ExecClusterInfo {
  server: string;
  certificateAuthorityData: Buffer | null;
  insecureSkipTlsVerify: boolean;
  tlsServerName: string | null;
}

/** How to run one plugin. */
export interface ExecPluginOptions {
  exec: KubeconfigExec;
  /** For messages: `user "x" in kubeconfig /path`. */
  where: string;
  cluster: ExecClusterInfo;
  /** Environment the plugin inherits (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** ms (default {@link EXEC_TIMEOUT}). */
  timeout?: number;
  /** bytes (default {@link EXEC_OUTPUT_LIMIT}). */
  outputLimit?: number;
}

function configError(message: string, cause?: unknown): KubernetesApiError {
  return new KubernetesApiError(KubernetesApiErrorCode.CONFIG, message, cause === undefined ? {} : { cause });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** KUBERNETES_EXEC_INFO: what client-go hands a plugin (never interactive here: no terminal is passed). */
export function execInfo(options: Pick<ExecPluginOptions, 'exec' | 'cluster'>): string {
  const spec: Record<string, unknown> = { interactive: false };
  if (options.exec.provideClusterInfo) {
    const c = options.cluster;
    spec.cluster = {
      server: c.server,
      ...(c.tlsServerName ? { 'tls-server-name': c.tlsServerName } : {}),
      ...(c.insecureSkipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}),
      ...(c.certificateAuthorityData ? { 'certificate-authority-data': c.certificateAuthorityData.toString('base64') } : {}),
    };
  }
  return JSON.stringify({ kind: 'ExecCredential', apiVersion: options.exec.apiVersion, spec });
}

/** Reads a plugin's stdout; ECONFIG saying what is wrong. */
export function parseExecCredential(text: string, apiVersion: string, where: string): ExecCredential {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw configError(`the exec plugin of ${where} printed no ExecCredential JSON: ${JSON.stringify(sanitizeServerText(text.slice(0, 120)))}`, err);
  }
  if (!isObject(value) || value.kind !== 'ExecCredential') throw configError(`the exec plugin of ${where} printed JSON that is not an ExecCredential`);
  if (value.apiVersion !== apiVersion) {
    throw configError(
      `the exec plugin of ${where} is configured for ${apiVersion} but printed apiVersion ${JSON.stringify(sanitizeServerText(String(value.apiVersion)))}`,
    );
  }
  const status = value.status;
  if (!isObject(status)) throw configError(`the ExecCredential from the exec plugin of ${where} has no status`);
  const { token, clientCertificateData: cert, clientKeyData: key, expirationTimestamp } = status;
  if (token !== undefined && (typeof token !== 'string' || /[\r\n]/.test(token.trim()))) {
    throw configError(`the ExecCredential from the exec plugin of ${where} has a status.token that is not a one-line string`);
  }
  if ((cert === undefined) !== (key === undefined) || (cert !== undefined && (typeof cert !== 'string' || typeof key !== 'string'))) {
    throw configError(`the ExecCredential from the exec plugin of ${where} must give both status.clientCertificateData and status.clientKeyData, as PEM strings`);
  }
  const trimmed = typeof token === 'string' ? token.trim() : '';
  if (trimmed === '' && cert === undefined) {
    throw configError(`the ExecCredential from the exec plugin of ${where} holds neither status.token nor status.clientCertificateData`);
  }
  let expiresAt: number | null = null;
  if (expirationTimestamp !== undefined && expirationTimestamp !== null) {
    expiresAt = typeof expirationTimestamp === 'string' ? Date.parse(expirationTimestamp) : Number.NaN;
    if (!Number.isFinite(expiresAt)) {
      throw configError(`the ExecCredential from the exec plugin of ${where} has an expirationTimestamp that is not an RFC 3339 time`);
    }
  }
  return {
    token: trimmed === '' ? null : trimmed,
    clientCertificate: typeof cert === 'string' && typeof key === 'string' ? { cert, key } : null,
    expiresAt,
  };
}

/**
 * Runs a plugin once and returns its stdout. Killed (SIGKILL) after `timeout` ms, when its
 * output passes `outputLimit`, or when `signal` aborts. Rejects ECONFIG (not found, failed,
 * too much output) or ETIMEOUT, with the plugin's stderr (escaped) in the message.
 */
export function runExecPlugin(options: ExecPluginOptions, signal?: AbortSignal): Promise<string> {
  const { exec, where } = options;
  const timeout = options.timeout ?? EXEC_TIMEOUT;
  const limit = options.outputLimit ?? EXEC_OUTPUT_LIMIT;
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  for (const { name, value } of exec.env) env[name] = value;
  env.KUBERNETES_EXEC_INFO = execInfo(options);
  return new Promise<string>((resolve, reject) => {
    const out: Buffer[] = [];
    let outSize = 0;
    let err = Buffer.alloc(0);
    let failure: KubernetesApiError | null = null;
    const child = spawn(exec.command, exec.args, { env, stdio: ['ignore', 'pipe', 'pipe'], shell: false, windowsHide: true });
    const stop = (error: KubernetesApiError): void => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => stop(new KubernetesApiError(KubernetesApiErrorCode.TIMEOUT, `the exec plugin ${exec.command} of ${where} gave no credential within ${timeout} ms; it was killed`)),
      timeout,
    );
    const onAbort = (): void => {
      const reason: unknown = signal?.reason;
      stop(reason instanceof KubernetesApiError ? reason : new KubernetesApiError(KubernetesApiErrorCode.CANCELLED, `the exec plugin ${exec.command} of ${where} was aborted`));
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      outSize += chunk.length;
      if (outSize > limit) stop(configError(`the exec plugin ${exec.command} of ${where} printed more than ${limit} bytes; it was killed`));
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err = Buffer.concat([err, chunk]).subarray(-STDERR_KEPT);
    });
    const stderrText = (): string => {
      const text = sanitizeServerText(err.toString('utf8').trim());
      return text ? `; it said: ${text}` : '';
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        failure ??= configError(
          `the exec plugin ${exec.command} of ${where} was not found (not installed, or not in PATH)` + (exec.installHint ? `. ${exec.installHint.trim()}` : ''),
          e,
        );
      } else {
        failure ??= configError(`cannot run the exec plugin ${exec.command} of ${where}: ${e.message}`, e);
      }
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (failure) reject(failure);
      else if (code !== 0) reject(configError(`the exec plugin ${exec.command} of ${where} failed (${sig ? `signal ${sig}` : `exit code ${code}`})${stderrText()}`));
      else resolve(Buffer.concat(out).toString('utf8'));
    });
  });
}

interface Run {
  promise: Promise<ExecCredential>;
  abort: AbortController;
  waiters: number;
}

/**
 * One exec plugin with its cached credential. Callers share a run in flight; the run is
 * killed when every caller waiting on it gave up (their signals aborted).
 */
export class ExecCredentialPlugin {
  /** For messages and error contexts: `exec plugin <command> (user "x" in kubeconfig /path)`. */
  readonly source: string;
  readonly #options: ExecPluginOptions;
  #cached: ExecCredential | null = null;
  #run: Run | null = null;
  /** Open connections that authenticated with a certificate this plugin gave (client-go's connTracker). */
  readonly #certified = new Set<Socket>();
  /** Plugin runs started (for tests and diagnostics). */
  runs = 0;

  constructor(options: ExecPluginOptions) {
    const { exec, where } = options;
    if (!(EXEC_API_VERSIONS as readonly string[]).includes(exec.apiVersion)) {
      throw configError(
        `the exec plugin of ${where} uses apiVersion ${JSON.stringify(exec.apiVersion)}: use ${EXEC_API_VERSIONS.join(' or ')} ` +
          '(v1alpha1 was removed in Kubernetes 1.24; a current version of the plugin writes v1)',
      );
    }
    if (exec.interactiveMode === 'Always') {
      throw configError(`the exec plugin of ${where} has interactiveMode: Always, but headless-sd runs it without a terminal: use IfAvailable or Never`);
    }
    this.#options = options;
    this.source = `exec plugin ${exec.command} (${where})`;
  }

  /** The cached credential while it has not expired, else a fresh one. */
  async get(signal?: AbortSignal): Promise<ExecCredential> {
    const c = this.#cached;
    if (c && (c.expiresAt === null || Date.now() < c.expiresAt)) return c;
    const run = this.#run ?? this.#start();
    run.waiters++;
    let onAbort: (() => void) | null = null;
    const gaveUp = new Promise<never>((_, reject) => {
      if (!signal) return;
      onAbort = () => {
        if (--run.waiters === 0) {
          run.abort.abort(signal.reason);
          if (this.#run === run) this.#run = null;
        }
        const reason: unknown = signal.reason;
        reject(reason instanceof KubernetesApiError ? reason : new KubernetesApiError(KubernetesApiErrorCode.CANCELLED, `aborted while waiting for the ${this.source}`));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    gaveUp.catch(() => {});
    try {
      return await Promise.race([run.promise, gaveUp]);
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      if (!signal?.aborted) run.waiters--;
    }
  }

  /**
   * Drops the cached credential: the next {@link get} runs the plugin (the server answered
   * 401). Connections that authenticated with one of its certificates are closed, as client-go
   * does when a plugin's certificate rotates: kept alive, they would present the rejected one
   * again, since TLS authenticates a connection once.
   */
  invalidate(): void {
    this.#cached = null;
    for (const socket of this.#certified) socket.destroy();
    this.#certified.clear();
  }

  /** Notes a connection made with a client certificate from this plugin; {@link invalidate} closes it. */
  track(socket: Socket): void {
    if (socket.destroyed) return;
    this.#certified.add(socket);
    socket.once('close', () => this.#certified.delete(socket));
  }

  #start(): Run {
    const abort = new AbortController();
    this.runs++;
    const promise = runExecPlugin(this.#options, abort.signal).then((text) =>
      parseExecCredential(text, this.#options.exec.apiVersion, this.#options.where),
    );
    const run: Run = { promise, abort, waiters: 0 };
    this.#run = run;
    promise.then(
      (credential) => {
        if (this.#run === run) this.#cached = credential;
      },
      () => {},
    );
    void promise.finally(() => {
      if (this.#run === run) this.#run = null;
    }).catch(() => {});
    return run;
  }
}

// Plugins are shared by their configuration, as client-go caches them: each peers() call does not run the plugin again.
const plugins = new Map<string, ExecCredentialPlugin>();
/** Most plugin configurations kept. */
const PLUGIN_CACHE_LIMIT = 32;

/** The plugin for this configuration, shared with earlier loads of the same kubeconfig. */
export function execCredentialPlugin(options: ExecPluginOptions): ExecCredentialPlugin {
  const key = JSON.stringify([options.exec, options.cluster.server, options.cluster.certificateAuthorityData?.toString('base64') ?? null, options.timeout ?? null]);
  let plugin = plugins.get(key);
  if (!plugin) {
    plugin = new ExecCredentialPlugin(options);
    if (plugins.size >= PLUGIN_CACHE_LIMIT) plugins.delete(plugins.keys().next().value!);
    plugins.set(key, plugin);
  }
  return plugin;
}
