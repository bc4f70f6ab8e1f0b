/** Codes of a {@link BootstrapError}. */
export const BootstrapErrorCode = {
  /** No decision within `waitTimeout` (bootstrap), or no answer within the probe's timeout. */
  TIMEOUT: 'ETIMEOUT',
  /** Aborted through the AbortSignal. */
  CANCELLED: 'ECANCELLED',
  /** A probe could not reach a peer or could not read its answer. */
  PROBE: 'EPROBE',
} as const;

/** One of the {@link BootstrapErrorCode} values. */
export type BootstrapErrorCodeValue = (typeof BootstrapErrorCode)[keyof typeof BootstrapErrorCode];

/**
 * A bootstrap that ended without a decision (timeout, abort) or a probe that failed.
 * `bootstrap()` never turns one into `form`: its message says what was seen and why no
 * decision was made.
 */
export class BootstrapError extends Error {
  override readonly name = 'BootstrapError';
  readonly code: BootstrapErrorCodeValue;

  constructor(code: BootstrapErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** True when `err` is a {@link BootstrapError}, optionally with one of `codes`. */
export function isBootstrapError(err: unknown, ...codes: BootstrapErrorCodeValue[]): err is BootstrapError {
  return err instanceof BootstrapError && (codes.length === 0 || codes.includes(err.code));
}
