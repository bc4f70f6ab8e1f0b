/**
 * A bad option or argument (not a DNS or network failure): a `TypeError` with
 * `code: 'ERR_INVALID_ARG_VALUE'`, as Node's own APIs throw. The one class for every layer:
 * the DNS client, peers()/watchPeers() options, the Kubernetes source and headless-sd/testing.
 */
export class InvalidArgumentError extends TypeError {
  override readonly name = 'InvalidArgumentError';
  readonly code = 'ERR_INVALID_ARG_VALUE';

  /** `new InvalidArgumentError('port', 'a_b', 'a port name')`, or a whole message. */
  constructor(message: string);
  constructor(argument: string, value: unknown, expected: string);
  constructor(argument: string, ...rest: [] | [value: unknown, expected: string]) {
    super(rest.length === 0 ? argument : `invalid ${argument} ${describe(rest[0])}: expected ${rest[1]}`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return typeof value;
}
