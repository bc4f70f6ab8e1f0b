import { InvalidArgumentError } from '../dns/invalid-argument.js';

export { checkFamily, checkPort, checkProtocol } from '../peer/query.js';
export type { Family, PortProtocol } from '../peer/query.js';

/** Checks a duration in ms (`timeout`, `minInterval`, ...). */
export function checkDuration(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  throw new InvalidArgumentError(name, value, 'a finite number of milliseconds >= 0');
}
