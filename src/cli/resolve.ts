/** `headless-sd resolve <service>`: print a Service's peers once and exit. */
import type { CliIo, CliValues, Subcommand } from '../cli.js';
import { peers } from '../discovery/resolve.js';
import { HELP_OPTION_HELP, parsePeerArgs, PEER_OPTIONS, PEER_OPTIONS_HELP } from './args.js';
import type { PeerCommandArgs } from './args.js';
import { CliUsageError, exitCodeOf, ExitCode, formatError, formatUsageError } from './exit-codes.js';
import { formatPeersJson, formatPeerTable, stdoutColor } from './format.js';
import { traceQueries } from './trace.js';
import { existsSync } from 'node:fs';
import { DnsError, DnsErrorCode } from '../dns/errors.js';

const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';

// DNS failures where the wrong server is the likely cause, off a cluster.
const WRONG_SERVER_CODES: readonly string[] = [
  DnsErrorCode.NOTFOUND,
  DnsErrorCode.NODATA,
  DnsErrorCode.TIMEOUT,
  DnsErrorCode.CONNREFUSED,
  DnsErrorCode.REFUSED,
  DnsErrorCode.SERVFAIL,
];

/**
 * What to say after a DNS failure: which server was asked and where it came from, that
 * resolv.conf was missing (so 127.0.0.1:53 was asked, as glibc does), and, outside a
 * cluster, to pass --server. Empty when the error says enough.
 */
export function serverNote(err: unknown, args: PeerCommandArgs, resolvConf: string): string {
  if (!(err instanceof DnsError) || !WRONG_SERVER_CODES.includes(err.code) || args.options.source === 'kubernetes') return '';
  const asked = err.server ?? '';
  const named = asked !== '' && !err.message.includes(asked) ? `asked ${asked}` : '';
  if (args.options.servers !== undefined) return named ? `(${named})` : '';
  const parts = [named];
  if (!existsSync(resolvConf)) {
    parts.push(`${resolvConf} is missing, so 127.0.0.1:53 was asked as glibc does`);
  } else if (named) {
    parts[0] = `${named}, from ${resolvConf}`;
  }
  if (process.env.KUBERNETES_SERVICE_HOST === undefined) {
    parts.push("outside a cluster, pass --server with its DNS (e.g. --server 127.0.0.1:5300 for 'headless-sd serve')");
  }
  const text = parts.filter((p) => p !== '').join('; ');
  return text ? `(${text})` : '';
}

/** The `--help` text of `headless-sd resolve`. */
export const RESOLVE_HELP = `Usage: headless-sd resolve <service> [options]

Prints every ready peer of a headless Service once, as a table (or a JSON array with
--json), and exits. <service> is nginx, nginx.default, nginx.default.svc or an absolute
name nginx.default.svc.cluster.local.

${PEER_OPTIONS_HELP}
${HELP_OPTION_HELP}

Exit status:
  0  peers found (or an empty set with --allow-empty)
  1  the Service has no ready pods or does not exist (ENOTFOUND, ENODATA)
  2  bad command line
  3  no answer: timeout, connection refused, SERVFAIL, REFUSED, bad answer, API unreachable

Examples:
  headless-sd resolve nginx --port web
  headless-sd resolve nginx -n default -p web --server 127.0.0.1:5300 --json
  headless-sd resolve nginx -p web --source kubernetes --context kind-kind
`;

/** `headless-sd resolve`: the entry of the bin's subcommand table. */
export const resolveCommand: Subcommand = {
  name: 'resolve',
  summary: "print a headless Service's peers once",
  help: RESOLVE_HELP,
  options: PEER_OPTIONS,
  allowPositionals: true,
  run: (values, positionals, io) => runResolve(values, positionals, io),
};

/** What an embedder (or a test) may set beside {@link CliIo}: colors, and the resolv.conf read. */
export interface ResolveIo extends CliIo {
  color?: boolean;
  /** resolv.conf to read when no --server is given (default /etc/resolv.conf). */
  resolvConf?: string;
}

/** Runs `resolve` with parsed arguments; resolves to the exit code (never rejects for a failed lookup). */
export async function runResolve(values: CliValues, positionals: string[], io: ResolveIo): Promise<number> {
  let args: PeerCommandArgs;
  try {
    args = parsePeerArgs(values, positionals);
  } catch (err) {
    if (err instanceof CliUsageError) {
      io.stderr(formatUsageError('resolve', err));
      return ExitCode.USAGE;
    }
    throw err;
  }
  const stopTrace = args.debug ? traceQueries(io.stderr) : null;
  try {
    const list = await peers(args.service, {
      ...args.options,
      ...(io.signal ? { signal: io.signal } : {}),
      ...(io.resolvConf !== undefined && args.options.servers === undefined && args.options.source !== 'kubernetes' ? { resolvConf: io.resolvConf } : {}),
    });
    io.stdout(args.json ? formatPeersJson(list) : formatPeerTable(list, { color: stdoutColor(io) }));
    return ExitCode.OK;
  } catch (err) {
    io.stderr(formatError(err, args.debug, serverNote(err, args, io.resolvConf ?? DEFAULT_RESOLV_CONF)));
    return exitCodeOf(err);
  } finally {
    stopTrace?.();
  }
}
