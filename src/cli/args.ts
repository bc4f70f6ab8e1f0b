/**
 * Options shared by `headless-sd resolve` and `headless-sd watch`: their node:util parseArgs
 * table, and the checks that turn parsed values into `peers()` / `watchPeers()` options.
 */
import type { ParseArgsConfig } from 'node:util';
import { checkPort } from '../peer/index.js';
import type { Family, PortProtocol } from '../peer/index.js';
import type { PeersOptions } from '../discovery/resolve.js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import { parseServerAddress } from '../dns/server-address.js';
import { CliUsageError } from './exit-codes.js';
import { escapeText } from './format.js';
import { suggest } from '../discovery/options.js';

/** parseArgs values, as the bin's subcommand table hands them over. */
export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** The parseArgs options both commands take (`--help` is added by the bin). */
export const PEER_OPTIONS = {
  port: { type: 'string', short: 'p' },
  protocol: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'cluster-domain': { type: 'string' },
  server: { type: 'string', short: 's', multiple: true },
  family: { type: 'string' },
  source: { type: 'string' },
  'api-url': { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  timeout: { type: 'string' },
  attempts: { type: 'string' },
  'allow-empty': { type: 'boolean' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** The `--help` lines of {@link PEER_OPTIONS}. */
export const PEER_OPTIONS_HELP = `Options:
  -p, --port PORT         a port name (web: SRV _web._tcp.<service>) or number (80: A/AAAA,
                          that port on every peer); default: A/AAAA, no port
      --protocol P        protocol of a named port: tcp (default), udp, sctp
  -n, --namespace NS      namespace of the Service (makes the name absolute:
                          <service>.<NS>.svc.<cluster domain>)
      --cluster-domain D  cluster DNS zone (default: from resolv.conf, else cluster.local)
  -s, --server ADDR       DNS server, IP or IP:PORT or [IPv6]:PORT; repeat for more
                          (default: the nameservers of /etc/resolv.conf)
      --family F          4, 6, or 0 for both (default 0)
      --source S          dns (default), kubernetes (EndpointSlice API: in a pod, else
                          the kubeconfig), or auto (the API when it lets this process
                          list EndpointSlices, else DNS)
      --api-url URL       Kubernetes API URL for --source kubernetes|auto, e.g.
                          http://127.0.0.1:8001 from 'kubectl proxy' (default: in-cluster,
                          else the kubeconfig's)
      --kubeconfig FILE   kubeconfig for --source kubernetes|auto (default: KUBECONFIG,
                          else ~/.kube/config)
      --context NAME      kubeconfig context (default: its current-context)
      --timeout T         per DNS try or API request: milliseconds, or 2s, 500ms
      --attempts N        DNS tries per query, across servers (default: from resolv.conf)
      --allow-empty       a Service without ready pods is an empty set, not an error
      --json              JSON output
      --debug             print each DNS query on stderr, and stacks with errors`;

/** The last line of each command's option list. */
export const HELP_OPTION_HELP = '  -h, --help              this help';

/** What a `resolve` or `watch` command line asks for. */
export interface PeerCommandArgs {
  /** The Service name, as given. */
  service: string;
  /** The `peers()` / `watchPeers()` options. */
  options: PeersOptions;
  json: boolean;
  debug: boolean;
}

/** Parses and checks the Service and the shared options; throws {@link CliUsageError}. */
export function parsePeerArgs(values: ParsedValues, positionals: readonly string[]): PeerCommandArgs {
  if (positionals.length === 0) throw new CliUsageError('missing the Service name, e.g. nginx or nginx.default');
  if (positionals.length > 1) throw new CliUsageError(`one Service at a time, got ${positionals.map((p) => JSON.stringify(p)).join(' ')}`);
  const service = positionals[0]!;
  if (service.trim() === '') throw new CliUsageError('the Service name is empty');

  const source = oneOf(values, 'source', ['dns', 'kubernetes', 'auto'] as const);
  const servers = stringList(values, 'server');
  const apiUrl = stringValue(values, 'api-url');
  const kubeconfig = stringValue(values, 'kubeconfig');
  const context = stringValue(values, 'context');
  if (source === 'kubernetes' && servers.length > 0) {
    throw new CliUsageError('--server names DNS servers; with --source kubernetes use --api-url, --kubeconfig or --context');
  }
  for (const [flag, value] of [['--api-url', apiUrl], ['--kubeconfig', kubeconfig], ['--context', context]] as const) {
    if (value !== undefined && source !== 'kubernetes' && source !== 'auto') throw new CliUsageError(`${flag} needs --source kubernetes or --source auto`);
  }
  if (apiUrl !== undefined && (kubeconfig !== undefined || context !== undefined)) {
    throw new CliUsageError('--api-url names the API server itself: drop --kubeconfig and --context, or --api-url');
  }
  for (const server of servers) {
    try {
      parseServerAddress(server);
    } catch (err) {
      throw usageFrom('--server', err);
    }
  }
  if (apiUrl !== undefined && !/^https?:\/\/[^/]/i.test(apiUrl)) {
    throw new CliUsageError(`--api-url must be an http:// or https:// URL, got ${JSON.stringify(apiUrl)}`);
  }

  const family = oneOf(values, 'family', ['0', '4', '6'] as const);
  const protocol = oneOf(values, 'protocol', ['tcp', 'udp', 'sctp'] as const);
  const timeout = durationValue(values, 'timeout');
  const attempts = integerValue(values, 'attempts', 1, 100);
  const namespace = stringValue(values, 'namespace');
  if (namespace !== undefined && service.includes('.')) {
    throw new CliUsageError(`--namespace takes a bare Service name, got ${JSON.stringify(service)}: drop --namespace or the dotted part`);
  }
  const clusterDomain = stringValue(values, 'cluster-domain');

  const options: PeersOptions = {
    port: portValue(values),
    ...(protocol !== undefined ? { protocol: protocol as PortProtocol } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(clusterDomain !== undefined ? { clusterDomain } : {}),
    ...(servers.length > 0 ? { servers } : {}),
    ...(family !== undefined ? { family: Number(family) as Family } : {}),
    ...(source !== undefined ? { source } : {}),
    ...(apiUrl !== undefined || kubeconfig !== undefined || context !== undefined
      ? {
          kubernetes: {
            ...(apiUrl !== undefined ? { url: apiUrl } : {}),
            ...(kubeconfig !== undefined ? { kubeconfig } : {}),
            ...(context !== undefined ? { context } : {}),
          },
        }
      : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    ...(attempts !== undefined ? { attempts } : {}),
    ...(values['allow-empty'] === true ? { allowEmpty: true } : {}),
  };
  return { service, options, json: values.json === true, debug: values.debug === true };
}

/** `--port`: digits are a port number, anything else a port name. */
function portValue(values: ParsedValues): string | number | null {
  const raw = stringValue(values, 'port');
  if (raw === undefined) return null;
  try {
    return checkPort(/^\d+$/.test(raw) ? Number(raw) : raw);
  } catch (err) {
    throw usageFrom('--port', err);
  }
}

/**
 * A duration option: `1500` or `1500ms` (milliseconds), `2s`, `0.5s`. Returns ms, or
 * undefined when absent; throws {@link CliUsageError}.
 */
export function durationValue(values: ParsedValues, name: string): number | undefined {
  const raw = stringValue(values, name);
  if (raw === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(raw.trim());
  const ms = m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : NaN;
  if (!Number.isFinite(ms) || ms <= 0 || ms > 3_600_000) {
    throw new CliUsageError(`--${name} must be a duration like 500, 500ms or 2s (up to 1 h), got ${JSON.stringify(raw)}`);
  }
  return Math.round(ms);
}

function integerValue(values: ParsedValues, name: string, min: number, max: number): number | undefined {
  const raw = stringValue(values, name);
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new CliUsageError(`--${name} must be an integer ${min}..${max}, got ${JSON.stringify(raw)}`);
  return n;
}

function oneOf<T extends string>(values: ParsedValues, name: string, allowed: readonly T[]): T | undefined {
  const raw = stringValue(values, name);
  if (raw === undefined) return undefined;
  const lower = raw.toLowerCase();
  const found = allowed.find((a) => a === lower);
  if (found === undefined) throw new CliUsageError(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  return found;
}

function stringValue(values: ParsedValues, name: string): string | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new CliUsageError(`--${name} needs a value`);
  return raw;
}

function stringList(values: ParsedValues, name: string): string[] {
  const raw = values[name];
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((v) => {
    if (typeof v !== 'string' || v.trim() === '') throw new CliUsageError(`--${name} needs a value`);
    return v.trim();
  });
}

/** A library's verdict on a value (InvalidArgumentError) as a usage error. */
function usageFrom(flag: string, err: unknown): CliUsageError {
  if (err instanceof InvalidArgumentError) return new CliUsageError(`${flag}: ${err.message}`);
  throw err;
}

/** The option table of a command, as parseArgs takes it. */
type OptionTable = NonNullable<ParseArgsConfig['options']>;

/**
 * A parseArgs failure in words a user can act on (its own messages quote unevenly and
 * talk about positionals): an unknown flag with the nearest known one, a flag without
 * its value, a negative number where a value was due, an argument too many.
 */
export function describeParseError(err: unknown, args: readonly string[], options: OptionTable): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const names = Object.keys(options);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const given = /'(-[^']*)'/.exec(message)?.[1] ?? args.find((a) => a.startsWith('-') && !isKnownFlag(a, options)) ?? '';
    const bare = given.replace(/^--?/, '').replace(/=.*$/, '');
    const near = suggest(bare, names);
    return `unknown option ${escapeText(given)}${near ? ` (did you mean --${near}?)` : ''}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /--([a-z][a-z0-9-]*)/i.exec(message)?.[1] ?? '';
    const at = args.findIndex((a) => a === `--${flag}` || (options[flag]?.short !== undefined && a === `-${options[flag]!.short}`));
    const next = at >= 0 ? args[at + 1] : undefined;
    if (next !== undefined && /^-\d/.test(next)) return `--${flag} takes no negative value, got ${escapeText(next)}`;
    if (next !== undefined && next.startsWith('-')) return `--${flag} needs a value, got the option ${escapeText(next)} (write --${flag}=VALUE for a value that starts with -)`;
    return `--${flag} needs a value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const extra = /'([^']*)'/.exec(message)?.[1];
    return extra === undefined ? 'this command takes no arguments' : `unexpected argument ${escapeText(extra)}: this command takes options only`;
  }
  return escapeText(message.replace(/\s*\n\s*/g, ' '));
}

function isKnownFlag(arg: string, options: OptionTable): boolean {
  const name = arg.replace(/^--?/, '').replace(/=.*$/, '');
  return name in options || Object.values(options).some((o) => o.short === name) || name === 'help' || name === 'h';
}
