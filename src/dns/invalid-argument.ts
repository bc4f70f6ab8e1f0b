/**
 * A bad option or argument given to the DNS client (not a DNS failure): a `TypeError` with
 * `code: 'ERR_INVALID_ARG_VALUE'`, as Node's own APIs throw.
 */
export class InvalidArgumentError extends TypeError {
  override readonly name = 'InvalidArgumentError';
  readonly code = 'ERR_INVALID_ARG_VALUE';

  constructor(argument: string, value: unknown, expected: string) {
    super(`invalid ${argument} ${describe(value)}: expected ${expected}`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return typeof value;
}
