/** Checks of the Kubernetes options, apart so that watchPeers() can check them at once without loading the API client. */
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import type { KubernetesOptions } from './config.js';

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
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new InvalidArgumentError('kubernetes.cert and kubernetes.key go together: give both or neither');
  }
}
