/** The API request timeout check, apart so that watchPeers() can check it without loading the API client. */
import { InvalidArgumentError } from '../dns/invalid-argument.js';

/** Longest delay Node timers take (longer ones fire after 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks the API request `timeout` (ms): a finite number in 1..2^31-1, else InvalidArgumentError. */
export function checkApiTimeout(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > MAX_TIMER_MS) {
    throw new InvalidArgumentError('timeout', value, `a number of milliseconds in 1..${MAX_TIMER_MS}`);
  }
  return value;
}
