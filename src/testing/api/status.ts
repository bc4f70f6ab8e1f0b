/** A Kubernetes `Status` failure and the HTTP status it goes with. */
export interface StatusReply {
  code: number;
  body: Record<string, unknown>;
}

/** A Kubernetes `Status` failure object. */
export function status(code: number, reason: string, message: string, details?: Record<string, unknown>, metadata: Record<string, string> = {}): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata,
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** `reason` of a Status by HTTP code, as the API server names them. */
export const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  410: 'Expired',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** A Status failure with the reason that goes with `code`. */
export const failure = (code: number, message: string, details?: Record<string, unknown>, metadata?: Record<string, string>): StatusReply => ({
  code,
  body: status(code, REASONS[code] ?? 'InternalError', message, details, metadata),
});

/** One field error of an Invalid Status (apimachinery's field.Error). */
export interface FieldProblem {
  field: string;
  /** `Forbidden` or `NotSupported`. */
  type: 'Forbidden' | 'NotSupported';
  /** Detail (Forbidden) or the value (NotSupported). */
  detail: string;
  supported?: string[];
}

const problemText = (p: FieldProblem): string =>
  p.type === 'Forbidden'
    ? `${p.field}: Forbidden: ${p.detail}`
    : `${p.field}: Unsupported value: "${p.detail}": supported values: ${p.supported!.map((v) => `"${v}"`).join(', ')}`;

/** 422 Invalid for list options, as the API server rejects a bad combination of parameters. */
export function invalidListOptions(problems: FieldProblem[]): StatusReply {
  const texts = problems.map(problemText);
  const message = `ListOptions.meta.k8s.io "" is invalid: ${texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`}`;
  return failure(422, message, {
    group: 'meta.k8s.io',
    kind: 'ListOptions',
    causes: problems.map((p, i) => ({
      reason: p.type === 'Forbidden' ? 'FieldValueForbidden' : 'FieldValueNotSupported',
      message: texts[i]!.slice(p.field.length + 2),
      field: p.field,
    })),
  });
}

/** The user a token names (`sub` of a service-account JWT), as the API server would print it. */
export function userOf(token: string | null): string {
  if (token === null) return 'system:anonymous';
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
    if (typeof claims.sub === 'string') return claims.sub;
  } catch {
    // Not a JWT: the fake's opaque tokens belong to the default service account.
  }
  return 'system:serviceaccount:default:default';
}
