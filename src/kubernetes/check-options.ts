/** Checks of the Kubernetes options, apart so that watchPeers() can check them at once without loading the API client. */
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import type { KubernetesOptions } from './config.js';

/** Longest delay Node timers take (longer ones fire after 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Largest `pageSize` (slices per list page) taken. */
export const MAX_PAGE_SIZE = 1_000_000;

/** Checks the API request `timeout` (ms): a finite number in 1..2^31-1, else InvalidArgumentError. */
export function checkApiTimeout(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > MAX_TIMER_MS) {
    throw new InvalidArgumentError('timeout', value, `a number of milliseconds in 1..${MAX_TIMER_MS}`);
  }
  return value;
}

const OPTION_TYPES: Record<string, string> = {
  url: 'string',
  tokenFile: 'string',
  caFile: 'string',
  namespaceFile: 'string',
  kubeconfig: 'string',
  context: 'string',
  insecureSkipTlsVerify: 'boolean',
};

/** Checks the types of {@link KubernetesOptions}: a wrong one is an InvalidArgumentError, never a silent default. */
export function checkKubernetesOptions(options: KubernetesOptions): void {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('kubernetes', options, 'an object');
  for (const [name, type] of Object.entries(OPTION_TYPES)) {
    const value = (options as Record<string, unknown>)[name];
    if (value !== undefined && typeof value !== type) throw new InvalidArgumentError(`kubernetes.${name}`, value, `a ${type}`);
  }
  for (const name of ['ca', 'cert', 'key'] as const) {
    const value: unknown = options[name];
    if (value !== undefined && typeof value !== 'string' && !Buffer.isBuffer(value)) throw new InvalidArgumentError(`kubernetes.${name}`, value, 'a PEM string or Buffer');
  }
  if (options.token !== undefined && typeof options.token !== 'string' && typeof options.token !== 'function') {
    throw new InvalidArgumentError('kubernetes.token', options.token, 'a string or a function returning one');
  }
  const dispatcher: unknown = options.dispatcher;
  if (dispatcher !== undefined && (typeof dispatcher !== 'object' || dispatcher === null || typeof (dispatcher as { dispatch?: unknown }).dispatch !== 'function')) {
    throw new InvalidArgumentError('kubernetes.dispatcher', dispatcher, 'an undici Dispatcher (Agent, Pool, ProxyAgent, ...)');
  }
  checkListOptions(options, 'kubernetes.');
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new InvalidArgumentError('kubernetes.cert and kubernetes.key go together: give both or neither');
  }
}

/** Checks `pageSize`, `maxListBytes` and `watchList` (names in errors start with `prefix`). */
export function checkListOptions(options: Pick<KubernetesOptions, 'pageSize' | 'maxListBytes' | 'watchList'>, prefix = ''): void {
  const { pageSize, maxListBytes, watchList } = options;
  if (pageSize !== undefined && !(typeof pageSize === 'number' && Number.isInteger(pageSize) && pageSize >= 0 && pageSize <= MAX_PAGE_SIZE)) {
    throw new InvalidArgumentError(`${prefix}pageSize`, pageSize, `an integer from 0 to ${MAX_PAGE_SIZE}`);
  }
  if (maxListBytes !== undefined && !(typeof maxListBytes === 'number' && Number.isSafeInteger(maxListBytes) && maxListBytes >= 1)) {
    throw new InvalidArgumentError(`${prefix}maxListBytes`, maxListBytes, `an integer from 1 to ${Number.MAX_SAFE_INTEGER}`);
  }
  if (watchList !== undefined && typeof watchList !== 'boolean') throw new InvalidArgumentError(`${prefix}watchList`, watchList, 'a boolean');
}
