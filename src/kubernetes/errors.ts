import { DNS_LABEL, DNS_SUBDOMAIN } from './names.js';
import { escapeControl, sanitizeServerText } from './redact.js';

/** Codes of {@link KubernetesApiError}: what went wrong, so code can branch on it. */
export const KubernetesApiErrorCode = {
  /** 401: the API server rejected the token (or none was sent). */
  UNAUTHORIZED: 'EUNAUTHORIZED',
  /** 403: RBAC does not allow `list`/`watch` on `endpointslices`. */
  FORBIDDEN: 'EFORBIDDEN',
  /** 404: the namespace does not exist, or the API group discovery.k8s.io/v1 is not served. */
  NOTFOUND: 'ENOTFOUND',
  /** 410: the resourceVersion expired (the watch relists; seen by callers only when relisting fails too). */
  GONE: 'EGONE',
  /** Any other HTTP error status (429, 5xx, ...). */
  HTTP: 'EHTTP',
  /** The connection failed or dropped (refused, reset, closed mid-stream). */
  CONNECTION: 'ECONNECTION',
  /** TLS failed: the server's certificate does not verify against the CA. */
  TLS: 'ETLS',
  /** No answer in time (the list's `timeout`, or a silent watch stream). */
  TIMEOUT: 'ETIMEOUT',
  /** The answer is not what the API sends (bad JSON, over-long line, missing fields). */
  BADRESP: 'EBADRESP',
  /** Aborted through an AbortSignal or close(). */
  CANCELLED: 'ECANCELLED',
  /** No usable configuration: no in-cluster environment and no `kubernetes.url`, unreadable token or CA file. */
  CONFIG: 'ECONFIG',
} as const;

/** One of the {@link KubernetesApiErrorCode} values. */
export type KubernetesApiErrorCodeValue = (typeof KubernetesApiErrorCode)[keyof typeof KubernetesApiErrorCode];

/** Where a {@link KubernetesApiError} happened. */
export interface KubernetesApiErrorDetails {
  /** HTTP status, when the server answered one. */
  status?: number | null | undefined;
  /** The request URL (no token in it). */
  url?: string | null | undefined;
  /** The `reason` of a Kubernetes Status object (`Forbidden`, `Expired`, ...). */
  reason?: string | null | undefined;
  cause?: unknown;
}

/**
 * Every failure of the Kubernetes API source. `code` says what failed
 * ({@link KubernetesApiErrorCode}); the message says what to fix.
 */
export class KubernetesApiError extends Error {
  override readonly name = 'KubernetesApiError';
  readonly code: KubernetesApiErrorCodeValue;
  /** HTTP status, or null when there was no HTTP answer. */
  readonly status: number | null;
  /** The request URL, or null when no request was made. */
  readonly url: string | null;
  /** The `reason` of the server's Status object, or null. */
  readonly reason: string | null;

  constructor(code: KubernetesApiErrorCodeValue, message: string, details: KubernetesApiErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.status = details.status ?? null;
    this.url = details.url ?? null;
    this.reason = details.reason ?? null;
  }
}

/** True when `err` is a {@link KubernetesApiError}, optionally with one of `codes`. */
export function isKubernetesApiError(err: unknown, ...codes: KubernetesApiErrorCodeValue[]): err is KubernetesApiError {
  return err instanceof KubernetesApiError && (codes.length === 0 || codes.includes(err.code));
}

/** What a request was for: the words of error messages. */
export interface RequestContext {
  url: string;
  verb: 'list' | 'watch';
  namespace: string;
  service: string;
  /** `namespace/name` of the service account the token belongs to, when known. */
  serviceAccount: string | null;
  /** Where the token came from (`token file /var/run/...`, `kubernetes.token`), or null when none was sent. */
  tokenSource: string | null;
  /** Where the CA came from, or null for the system CAs. */
  caSource: string | null;
  /** Where the client certificate came from (`exec plugin ...`, a kubeconfig's user), or null when none is used. */
  certificateSource?: string | null;
  /** True when this was the retry after a 401 with a freshly read token. */
  tokenRetried?: boolean;
}

/** A Kubernetes `Status` object, as error answers and ERROR watch events carry it. */
export interface KubernetesStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string };
}

/** Parses a Status object from an error body; null when the body is not one (text, HTML, empty). */
export function parseStatus(body: string): KubernetesStatus | null {
  try {
    const value: unknown = JSON.parse(body);
    return isStatus(value) ? value : null;
  } catch {
    return null;
  }
}

/** True when `value` looks like a Kubernetes Status object. */
export function isStatus(value: unknown): value is KubernetesStatus {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status';
}

const RBAC_RULE = 'verbs ["list", "watch"] on resource "endpointslices" in API group "discovery.k8s.io"';

/** The error for an HTTP error status (or the Status of an ERROR watch event), with what to fix. */
export function httpError(status: number, statusObject: KubernetesStatus | null, bodyText: string, ctx: RequestContext): KubernetesApiError {
  // Server text is printed escaped and without credentials (a Status may echo the request).
  const said = sanitizeServerText(typeof statusObject?.message === 'string' ? statusObject.message.slice(0, 1000) : bodyText.trim().slice(0, 200) || 'no message');
  const details = { status, url: ctx.url, reason: statusObject?.reason ?? null };
  const where = `${ctx.verb} endpointslices in namespace "${ctx.namespace}"`;
  switch (status) {
    case 401:
      return new KubernetesApiError(
        KubernetesApiErrorCode.UNAUTHORIZED,
        `the Kubernetes API rejected the token (401 Unauthorized) on ${where}: ` +
          (ctx.tokenSource
            ? `the token from ${ctx.tokenSource} is invalid or expired${ctx.tokenRetried ? ' (it was read again and retried once)' : ''}. `
            : ctx.certificateSource
              ? `no token was sent, and the client certificate from ${ctx.certificateSource} is not accepted (expired, revoked, or from a CA the server does not trust)${ctx.tokenRetried ? '; it was asked for again and retried once' : ''}. `
              : 'no token was sent. ') +
          'Fix: mount a current service-account token (automountServiceAccountToken: true), or pass kubernetes.token / kubernetes.tokenFile' +
          (ctx.certificateSource && !ctx.tokenSource ? ', or a current client certificate' : ''),
        details,
      );
    case 403: {
      const account = cleanServiceAccount(ctx.serviceAccount) ?? cleanServiceAccount(userOf(said));
      const who = account ? `service account "${account}"` : 'the service account this pod runs as';
      const [saNs, saName] = account?.split('/') ?? [];
      const binding = saNs && saName ? `--serviceaccount=${saNs}:${saName}` : '--serviceaccount=<namespace>:<name>';
      return new KubernetesApiError(
        KubernetesApiErrorCode.FORBIDDEN,
        `the Kubernetes API forbids ${where} (403 Forbidden). Missing RBAC rule: ${RBAC_RULE} in namespace "${ctx.namespace}" for ${who}. ` +
          `Fix: kubectl -n ${ctx.namespace} create role headless-sd-endpointslices --verb=list,watch --resource=endpointslices.discovery.k8s.io && ` +
          `kubectl -n ${ctx.namespace} create rolebinding headless-sd-endpointslices --role=headless-sd-endpointslices ${binding}. Server said: ${said}`,
        details,
      );
    }
    case 404: {
      if (statusObject?.details?.kind === 'namespaces' || /namespaces? "[^"]*" not found/.test(said)) {
        return new KubernetesApiError(
          KubernetesApiErrorCode.NOTFOUND,
          `namespace "${ctx.namespace}" does not exist (404 Not Found for ${ctx.url}). ` +
            'Fix: the namespace option, the namespace part of the service name, or POD_NAMESPACE',
          details,
        );
      }
      return new KubernetesApiError(
        KubernetesApiErrorCode.NOTFOUND,
        `the API server does not serve discovery.k8s.io/v1 endpointslices (404 Not Found for ${ctx.url}): ` +
          'EndpointSlice v1 needs Kubernetes >= 1.21, or kubernetes.url does not point at a Kubernetes API server. ' +
          `Server said: ${said}`,
        details,
      );
    }
    case 410:
      return new KubernetesApiError(
        KubernetesApiErrorCode.GONE,
        `the resourceVersion of the ${ctx.verb} expired (410 Gone): the EndpointSlices must be listed again. Server said: ${said}`,
        details,
      );
    default:
      return new KubernetesApiError(
        KubernetesApiErrorCode.HTTP,
        `the Kubernetes API answered ${status}${statusObject?.reason ? ` ${sanitizeServerText(String(statusObject.reason)).slice(0, 100)}` : ''} to ${where}: ${said}`,
        details,
      );
  }
}

/** The user an API server names in a 403 message: `User "system:serviceaccount:ns:name"` -> 'ns/name'. */
function userOf(message: string): string | null {
  const m = /User "system:serviceaccount:([^:"]+):([^"]+)"/.exec(message);
  return m ? `${m[1]}/${m[2]}` : null;
}

/**
 * `namespace/name` when both are names Kubernetes allows (a DNS label, a DNS subdomain), else
 * null: the account goes into a command the message suggests, and a server's text must not
 * put `;`, `$(...)` or spaces there.
 */
function cleanServiceAccount(account: string | null): string | null {
  if (account === null) return null;
  const slash = account.indexOf('/');
  // A name with a second `/` fails the subdomain test: only one split is needed.
  return slash > 0 && DNS_LABEL.test(account.slice(0, slash)) && DNS_SUBDOMAIN.test(account.slice(slash + 1)) ? account : null;
}

// Node/OpenSSL codes of certificate verification failures.
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);

/** The first `code` along an error's cause chain. */
function codeOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
  }
  return (err as { code?: unknown } | null)?.code as string | undefined;
}

/** Maps a transport failure (undici / socket / TLS error) to a {@link KubernetesApiError}; `midStream`: after the answer began. */
export function transportError(err: unknown, ctx: RequestContext, midStream = false): KubernetesApiError {
  if (err instanceof KubernetesApiError) return err;
  const code = codeOf(err) ?? 'unknown';
  // A TLS message can quote the server's certificate names: escaped like any server text.
  const message = escapeControl(err instanceof Error ? err.message : String(err));
  const origin = originOf(ctx.url);
  if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return new KubernetesApiError(
      KubernetesApiErrorCode.TLS,
      `TLS verification of the Kubernetes API at ${origin} failed (${code}: ${message}): ` +
        `its certificate does not verify against ${ctx.caSource ?? 'the system CAs'}. ` +
        'Fix: pass the cluster CA as kubernetes.ca or kubernetes.caFile (in a pod: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt)',
      { url: ctx.url, cause: err },
    );
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new KubernetesApiError(
      KubernetesApiErrorCode.TIMEOUT,
      `the Kubernetes API at ${origin} did not answer the ${ctx.verb} in time (${code})`,
      { url: ctx.url, cause: err },
    );
  }
  return new KubernetesApiError(
    KubernetesApiErrorCode.CONNECTION,
    midStream
      ? `the ${ctx.verb} stream from the Kubernetes API at ${origin} broke (${code}: ${message})`
      : `cannot reach the Kubernetes API at ${origin} for ${ctx.verb} (${code}: ${message})`,
    { url: ctx.url, cause: err },
  );
}

/** `https://10.96.0.1:443` of a URL (never its query). */
export function originOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return url;
  }
}
