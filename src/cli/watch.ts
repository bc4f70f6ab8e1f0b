/** `headless-sd watch <service>`: print a Service's peers, then every change, until SIGINT/SIGTERM. */
import type { CliIo, CliValues, Subcommand } from '../cli.js';
import { watchPeers } from '../discovery/watcher.js';
import type { PeerWatcher } from '../discovery/watcher.js';
import { durationValue, HELP_OPTION_HELP, parsePeerArgs, PEER_OPTIONS, PEER_OPTIONS_HELP } from './args.js';
import type { PeerCommandArgs } from './args.js';
import { CliUsageError, exitCodeOf, ExitCode, formatError, formatUsageError } from './exit-codes.js';
import { formatChange, formatChangeJson, formatPeerTable, stdoutColor } from './format.js';
import { stopSignal } from './signals.js';
import { traceQueries } from './trace.js';

/** The `--help` text of `headless-sd watch`. */
export const WATCH_HELP = `Usage: headless-sd watch <service> [options]

Prints the peers of a headless Service as a table, then a line per change
(+ web-3 10.1.2.7:80, - web-1 10.1.2.4:80) until SIGINT (Ctrl-C) or SIGTERM, then exits 0.
With --json: one JSON object per line (NDJSON), { peers, added, removed }, the first
being the initial set (all added). DNS is polled on the answers' TTL (clamped to the
intervals below); errors after the first set are reported on stderr and the last set is
kept. When the first resolution fails, watch exits with the code resolve would.

${PEER_OPTIONS_HELP}
      --min-interval T    shortest time between polls (default 1s)
      --max-interval T    longest time between polls and error backoff cap (default 30s)
${HELP_OPTION_HELP}

Exit status: 0 after SIGINT/SIGTERM; else as 'headless-sd resolve --help' says.

Example:
  headless-sd watch nginx --port web --server 127.0.0.1:5300
  headless-sd watch nginx --port web --source auto
`;

/** `headless-sd watch`: the entry of the bin's subcommand table. */
export const watchCommand: Subcommand = {
  name: 'watch',
  summary: "print a headless Service's peers, then every change, until Ctrl-C",
  help: WATCH_HELP,
  options: {
    ...PEER_OPTIONS,
    'min-interval': { type: 'string' },
    'max-interval': { type: 'string' },
  },
  allowPositionals: true,
  run: (values, positionals, io) => runWatch(values, positionals, io),
};

/** Runs `watch` with parsed arguments; resolves to the exit code once stopped. */
export async function runWatch(values: CliValues, positionals: string[], io: CliIo & { color?: boolean }): Promise<number> {
  let args: PeerCommandArgs;
  let intervals: { minInterval?: number; maxInterval?: number };
  try {
    args = parsePeerArgs(values, positionals);
    const minInterval = durationValue(values, 'min-interval');
    const maxInterval = durationValue(values, 'max-interval');
    if (minInterval !== undefined && maxInterval !== undefined && maxInterval < minInterval) {
      throw new CliUsageError('--max-interval must not be below --min-interval');
    }
    intervals = {
      ...(minInterval !== undefined ? { minInterval } : {}),
      // A lone --min-interval above the default maximum raises the maximum with it.
      ...(maxInterval !== undefined ? { maxInterval } : minInterval !== undefined && minInterval > 30_000 ? { maxInterval: minInterval } : {}),
    };
  } catch (err) {
    if (err instanceof CliUsageError) {
      io.stderr(formatUsageError('watch', err));
      return ExitCode.USAGE;
    }
    throw err;
  }
  const stop = stopSignal(io.signal);
  const stopTrace = args.debug ? traceQueries(io.stderr) : null;
  let watcher: PeerWatcher;
  try {
    watcher = watchPeers(args.service, { ...args.options, ...intervals, signal: stop.signal });
  } catch (err) {
    stop.release();
    stopTrace?.();
    io.stderr(formatError(err, args.debug));
    return exitCodeOf(err);
  }
  try {
    return await follow(watcher, args, io);
  } finally {
    watcher.close();
    stop.release();
    stopTrace?.();
  }
}

/** Prints the first set and every change until the watcher closes; the exit code. */
async function follow(watcher: PeerWatcher, args: PeerCommandArgs, io: CliIo & { color?: boolean }): Promise<number> {
  const color = stdoutColor(io);
  let started = false;
  // Set by the first 'change' event, which the watcher emits synchronously with the first set.
  let known = false;
  let failure: unknown = null;
  watcher.once('change', () => {
    known = true;
  });
  watcher.on('error', (err) => {
    if (!known) {
      // Nothing to show yet: fail as resolve would rather than retry a typo forever.
      failure = err;
      watcher.close();
    } else {
      io.stderr(formatError(err, args.debug, `(still watching; keeping the last ${watcher.peers.length} peers)`));
    }
  });
  for await (const change of watcher) {
    if (args.json) io.stdout(formatChangeJson(change));
    else io.stdout(started ? formatChange(change, { color }) : formatPeerTable(change.peers, { color }));
    started = true;
  }
  if (failure !== null) {
    io.stderr(formatError(failure, args.debug));
    return exitCodeOf(failure);
  }
  return ExitCode.OK;
}
