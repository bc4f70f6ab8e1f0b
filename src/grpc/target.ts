import { InvalidArgumentError } from '../dns/invalid-argument.js';
import type { WatchPeersOptions } from '../discovery/watcher.js';
import { checkFamily, checkPort, checkProtocol } from '../peer/index.js';

/** What a `headless:` target asks for: the watchPeers call and the channel's default authority. */
export interface HeadlessTarget {
  /** The name given to watchPeers: the Service, or the DNS name as written. */
  service: string;
  /** Port name (SRV) or number. */
  port: string | number;
  /** watchPeers options from the target's query (on top of the registration's). */
  options: WatchPeersOptions;
  /** `host[:number]`: the Service's DNS name, as grpc-js requires of an authority. */
  authority: string;
}

const USAGE = 'headless:///<service>[.<namespace>]:<port name or number>[?servers=...&minInterval=...]';
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Query keys a target may carry, each with its parser. */
const QUERY: Record<string, (value: string, key: string) => Partial<WatchPeersOptions>> = {
  servers: (v) => ({ servers: v.split(',').map((s) => s.trim()).filter((s) => s.length > 0) }),
  source: (v, k) => {
    if (v !== 'dns' && v !== 'kubernetes') throw new InvalidArgumentError(k, v, "'dns' or 'kubernetes'");
    return { source: v };
  },
  namespace: (v, k) => ({ namespace: label(v, k) }),
  clusterDomain: (v, k) => {
    if (!v.split('.').every((l) => LABEL.test(l))) throw new InvalidArgumentError(k, v, 'a DNS domain');
    return { clusterDomain: v };
  },
  family: (v) => ({ family: checkFamily(Number(v)) }),
  protocol: (v) => ({ protocol: checkProtocol(v) }),
  timeout: (v, k) => ({ timeout: milliseconds(v, k) }),
  attempts: (v, k) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(k, v, 'an integer >= 1');
    return { attempts: n };
  },
  minInterval: (v, k) => ({ minInterval: milliseconds(v, k) }),
  maxInterval: (v, k) => ({ maxInterval: milliseconds(v, k) }),
  includeNotReady: (v, k) => ({ includeNotReady: flag(v, k) }),
  allowEmpty: (v, k) => ({ allowEmpty: flag(v, k) }),
};

/**
 * Parses the path of a `headless:` target (what grpc-js leaves after `headless:///`):
 * `nginx.default:grpc?servers=127.0.0.1:5300`. `defaults` are the registration's options;
 * the target's query overrides them. Throws {@link InvalidArgumentError}.
 */
export function parseTarget(authority: string | undefined, path: string, defaults: WatchPeersOptions): HeadlessTarget {
  if (authority) {
    throw new InvalidArgumentError(`headless target: no authority (got "${authority}"): name DNS servers with ?servers=, as in ${USAGE}`);
  }
  const queryAt = path.indexOf('?');
  const hostPort = queryAt === -1 ? path : path.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : path.slice(queryAt + 1));
  const colon = hostPort.lastIndexOf(':');
  if (colon <= 0) throw new InvalidArgumentError('headless target', path, USAGE);
  const name = hostPort.slice(0, colon).replace(/\.$/, '');
  const portText = hostPort.slice(colon + 1);
  const port = checkPort(/^\d+$/.test(portText) ? Number(portText) : portText);
  if (port === null) throw new InvalidArgumentError('headless target port', portText, 'a port name or number');
  const labels = name.split('.');
  if (!labels.every((l) => LABEL.test(l))) throw new InvalidArgumentError('headless target service', name, `a Service name, ${USAGE}`);

  let options: WatchPeersOptions = {};
  for (const [key, value] of query) {
    const parse = Object.hasOwn(QUERY, key) ? QUERY[key] : undefined;
    if (!parse) throw new InvalidArgumentError(`headless target query: unknown option "${key}" (known: ${Object.keys(QUERY).join(', ')})`);
    options = { ...options, ...parse(value, key) };
  }
  // `<service>.<namespace>` is the target's form; a longer name is a DNS name as written.
  let service = name;
  if (labels.length === 2) {
    service = labels[0]!;
    options.namespace = labels[1]!;
  }
  const namespace = options.namespace ?? defaults.namespace;
  const clusterDomain = (options.clusterDomain ?? defaults.clusterDomain ?? 'cluster.local').replace(/\.$/, '');
  const host = labels.length <= 2 && namespace !== undefined ? `${service}.${namespace}.svc.${clusterDomain}` : name;
  return {
    service,
    port,
    options,
    authority: typeof port === 'number' ? `${host.toLowerCase()}:${port}` : host.toLowerCase(),
  };
}

function label(value: string, key: string): string {
  if (!LABEL.test(value)) throw new InvalidArgumentError(key, value, 'a DNS label');
  return value;
}

function milliseconds(value: string, key: string): number {
  const n = Number(value);
  if (value === '' || !Number.isFinite(n) || n < 0 || n > 2 ** 31 - 1) throw new InvalidArgumentError(key, value, 'milliseconds in 0..2147483647');
  return n;
}

function flag(value: string, key: string): boolean {
  if (value === 'true' || value === '1' || value === '') return true;
  if (value === 'false' || value === '0') return false;
  throw new InvalidArgumentError(key, value, "'true' or 'false'");
}
