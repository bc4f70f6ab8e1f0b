import { escapeText } from './format.js';

/**
 * Exit codes of `headless-sd resolve` and `headless-sd watch`, and how an error maps to one.
 * Scripts branch on them: `headless-sd resolve nginx --port web || case $? in 1) ...`.
 */
export const ExitCode = {
  /** Peers were found (resolve), or the watch ended by SIGINT/SIGTERM. */
  OK: 0,
  /** The Service has no ready endpoints or does not exist (ENOTFOUND, ENODATA), or another failure. */
  NOT_FOUND: 1,
  /** Bad command line: unknown flag, missing Service, bad option value. */
  USAGE: 2,
  /** No answer could be had: timeouts, refused or failing servers, bad answers, API unreachable or denying access. */
  UNAVAILABLE: 3,
} as const;

/** One of the {@link ExitCode} values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A bad command line found after parsing (bad option value, missing Service): exit 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
  readonly code = 'ERR_USAGE';
}

// DNS (DnsErrorCode) and Kubernetes API (KubernetesApiErrorCode) codes meaning "no peers to give".
const EMPTY_CODES = new Set(['ENOTFOUND', 'ENODATA']);

// Codes meaning "the source could not be asked or did not answer usefully".
const UNAVAILABLE_CODES = new Set([
  // DNS
  'ETIMEOUT',
  'ECONNREFUSED',
  'ESERVFAIL',
  'EREFUSED',
  'EBADRESP',
  'EFORMERR',
  'ENOTIMP',
  // Kubernetes API
  'ECONNECTION',
  'ETLS',
  'EHTTP',
  'EGONE',
  'EUNAUTHORIZED',
  'EFORBIDDEN',
  'ECONFIG',
  // Sockets below either
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

// Bad input that only the library could judge (a name that is not a DNS name, an option it refuses).
const USAGE_CODES = new Set(['ERR_USAGE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE', 'EBADNAME']);

/** The `code` property of an error, when it has a string one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The exit code for an error that ended a command. */
export function exitCodeOf(err: unknown): ExitCodeValue {
  const code = errorCode(err);
  if (code === undefined) return ExitCode.NOT_FOUND;
  if (EMPTY_CODES.has(code)) return ExitCode.NOT_FOUND;
  if (USAGE_CODES.has(code)) return ExitCode.USAGE;
  if (UNAVAILABLE_CODES.has(code)) return ExitCode.UNAVAILABLE;
  return ExitCode.NOT_FOUND;
}

/**
 * What the CLI prints on stderr for an error: `headless-sd: <message>` on one line (with
 * `note` after it), then, with `debug`, the stack and each cause's stack.
 */
export function formatError(err: unknown, debug = false, note = ''): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = `headless-sd: ${oneLine(message)}${note ? ` ${note}` : ''}\n`;
  if (!debug) return line;
  const parts = [line];
  const seen = new Set<unknown>();
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8 && !seen.has(e); depth++) {
    seen.add(e);
    const code = errorCode(e);
    const stack = escapeText(e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e)).replace(/\\n/g, '\n');
    parts.push(`${depth === 0 ? '' : 'Caused by: '}${code ? `[${code}] ` : ''}${stack}\n`);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('');
}

/** Newlines in a message would break the one-line contract: fold them. Library hints name the CLI flag. */
function oneLine(text: string): string {
  return escapeText(text.replace(/\s*\n\s*/g, ' '))
    .replace(/\ballowEmpty: true\b/g, '--allow-empty')
    .trim();
}

/** What the CLI prints for a {@link CliUsageError}: the same two lines the bin prints for a bad flag. */
export function formatUsageError(command: string, err: Error): string {
  return `headless-sd ${command}: ${oneLine(err.message)}\nRun 'headless-sd ${command} --help' for usage.\n`;
}
