/**
 * Server text (error bodies, Status messages, plugin stderr) made safe to print: no token
 * (a server or proxy that echoes the request's Authorization header must not put it on
 * stderr), no control characters (an ESC sequence or a newline could forge terminal output).
 */

const REDACTED = '[redacted]';

// `Authorization: Bearer x`, `"authorization":"Bearer x"`, `Bearer x`, `Basic x`, and JWTs anywhere.
const AUTH_HEADER = /(authorization["']?\s*[:=]\s*["']?)(?:(?:bearer|basic)\s+)?[^\s"',}]+/gi;
const SCHEME = /\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const TOKEN_FIELD = /(["']?(?:token|access_token|id_token|refresh_token|password|client-key-data|clientKeyData)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi;

/** Escapes C0/C1 control characters (and DEL) as \n, \t, \xNN or \uNNNN. */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Removes anything that looks like a credential. `secrets` (the tokens this process sent) are removed wherever they appear. */
export function redactCredentials(text: string, secrets: readonly (string | null | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret && secret.length >= 4) out = out.split(secret).join(REDACTED);
  return out
    .replace(AUTH_HEADER, `$1${REDACTED}`)
    .replace(SCHEME, `$1$2${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(TOKEN_FIELD, `$1${REDACTED}`);
}

/** Server text as it may be printed: credentials redacted, control characters escaped. */
export function sanitizeServerText(text: string, secrets: readonly (string | null | undefined)[] = []): string {
  return escapeControl(redactCredentials(text, secrets));
}
