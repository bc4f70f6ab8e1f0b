import { readFileSync, realpathSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { IpFamilies } from './testing/cluster.js';
import { IP_FAMILIES, parsePodsSpec } from './testing/demo.js';
import { DEFAULT_SERVE_PORT, serve } from './testing/serve.js';
import { describeParseError } from './cli/args.js';
import { resolveCommand } from './cli/resolve.js';
import { watchCommand } from './cli/watch.js';
import { escapeText } from './cli/format.js';

/** Where the CLI writes, and what stops a long-running subcommand. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Stops long-running subcommands (default: SIGINT or SIGTERM). */
  signal?: AbortSignal;
}

/** Parsed options of a subcommand, as node:util parseArgs gives them. */
export type CliValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * A subcommand of the `headless-sd` bin. To add one, write an object like this and put
 * it in {@link subcommands}; `--help` is added to its options.
 */
export interface Subcommand {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals?: boolean;
  /** Returns the exit code; throws {@link UsageError} for bad arguments (exit 2). */
  run(values: CliValues, positionals: string[], io: CliIo): Promise<number>;
}

/** Bad command-line arguments: exit code 2. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  override readonly name = 'UsageError';
}

/** Exit codes of the bin. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

const SERVE_HELP = `Usage: headless-sd serve [options]

Runs a DNS server (UDP and TCP on one port) that answers like a Kubernetes cluster's
DNS for a test cluster, until SIGINT or SIGTERM. Prints its address and a dig line.

Options:
  --port N              port for UDP and TCP (default 5300; 0 picks a free one)
  --host ADDR           IP address to listen on (default 127.0.0.1; ::1 for IPv6)
  --demo                the Kubernetes StatefulSet tutorial (default): headless Service
                        nginx (port web 80/TCP) and StatefulSet web of 3 behind it:
                        web-0..2.nginx.default.svc.cluster.local
  --pods LIST           instead of --demo, e.g. nginx=3,web=5: per item NAME=N a headless
                        Service NAME (port web 80/TCP) and a StatefulSet NAME of N pods
                        NAME-0..NAME-(N-1) behind it, all in namespace default
  --ttl S               TTL of answers in seconds, 0..3600 (default 5)
  --cluster-domain D    zone (default cluster.local)
  --ip-families F       pod addresses: IPv4 (default), IPv6 or DualStack
  -h, --help            this help

Example:
  headless-sd serve --pods nginx=3
  dig @127.0.0.1 -p 5300 SRV _web._tcp.nginx.default.svc.cluster.local
`;

function integerOption(values: CliValues, name: string, min: number, max: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer ${min}..${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function stringOption(values: CliValues, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : undefined;
}

/** `headless-sd serve`: the test cluster's DNS on loopback. */
export const serveCommand: Subcommand = {
  name: 'serve',
  summary: 'run a DNS server that answers like a cluster DNS for a test cluster',
  help: SERVE_HELP,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    demo: { type: 'boolean' },
    pods: { type: 'string' },
    ttl: { type: 'string' },
    'cluster-domain': { type: 'string' },
    'ip-families': { type: 'string' },
  },
  async run(values, _positionals, io) {
    const port = integerOption(values, 'port', 0, 65535) ?? DEFAULT_SERVE_PORT;
    const ttl = integerOption(values, 'ttl', 0, 3600);
    const host = stringOption(values, 'host');
    if (host !== undefined && isIP(host) === 0) {
      throw new UsageError(`--host must be an IP address to listen on, such as 127.0.0.1 or ::1, got ${JSON.stringify(host)}`);
    }
    const podsText = stringOption(values, 'pods');
    if (values.demo && podsText !== undefined) throw new UsageError('give --demo or --pods, not both');
    let pods;
    try {
      pods = podsText === undefined ? undefined : parsePodsSpec(podsText);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const families = stringOption(values, 'ip-families');
    if (families !== undefined && !IP_FAMILIES.includes(families as IpFamilies)) {
      throw new UsageError(`--ip-families must be one of ${IP_FAMILIES.join(', ')}, got ${JSON.stringify(families)}`);
    }
    const clusterDomain = stringOption(values, 'cluster-domain');
    const stop = io.signal ? { signal: io.signal, release: (): void => {} } : processSignals();
    try {
      const handle = await serveOrExplain({
        port,
        ...(host !== undefined ? { host } : {}),
        ...(pods !== undefined ? { pods } : {}),
        ...(ttl !== undefined ? { ttl } : {}),
        ...(clusterDomain !== undefined ? { clusterDomain } : {}),
        ...(families !== undefined ? { ipFamilies: families as IpFamilies } : {}),
        signal: stop.signal,
        write: (line) => io.stdout(`${line}\n`),
      });
      await handle.closed;
      return EXIT.OK;
    } finally {
      stop.release();
    }
  },
};

/** {@link serve}, with a port already taken said in words and a way out. */
async function serveOrExplain(options: Parameters<typeof serve>[0] & { port: number }): Promise<Awaited<ReturnType<typeof serve>>> {
  try {
    return await serve(options);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EADDRINUSE') {
      throw new Error(`port ${options.port} is already in use (EADDRINUSE) on ${options.host ?? '127.0.0.1'}: pass --port with another port, or --port 0 for a free one`, { cause: err });
    }
    throw err;
  }
}

/** This package's version, from its package.json (one level above both src/ and dist/). */
export function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** An AbortSignal that SIGINT or SIGTERM aborts, and a way to stop listening for them. */
function processSignals(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** The bin's subcommands, in the order `--help` lists them. */
export const subcommands: Subcommand[] = [resolveCommand, watchCommand, serveCommand];

function globalHelp(): string {
  const width = Math.max(...subcommands.map((c) => c.name.length));
  return [
    'Usage: headless-sd <command> [options]',
    '',
    'Commands:',
    ...subcommands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'headless-sd <command> --help' for a command's options; 'headless-sd --version' prints the version.",
    '',
  ].join('\n');
}

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/**
 * EPIPE on stdout means the reader left, as `head` does: stop writing, exit quietly with
 * the status so far, as a program killed by SIGPIPE would be silent. Other errors are real.
 */
function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.OK);
  process.stderr.write(`headless-sd: cannot write to stdout: ${err.message}\n`);
  process.exit(EXIT.FAILURE);
}

/** Runs the bin with `argv` (without node and script): resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(globalHelp());
    return EXIT.USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(globalHelp());
    return EXIT.OK;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    io.stdout(`${packageVersion()}\n`);
    return EXIT.OK;
  }
  const command = subcommands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`headless-sd: unknown command ${escapeText(JSON.stringify(name))}\n\n${globalHelp()}`);
    return EXIT.USAGE;
  }
  try {
    let parsed;
    const options = { ...command.options, help: { type: 'boolean', short: 'h' } } as const;
    try {
      parsed = parseArgs({ args: [...rest], options, allowPositionals: command.allowPositionals ?? false, strict: true });
    } catch (err) {
      throw new UsageError(describeParseError(err, rest, options));
    }
    if (parsed.values.help) {
      io.stdout(command.help);
      return EXIT.OK;
    }
    return await command.run(parsed.values, parsed.positionals, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`headless-sd ${command.name}: ${err.message}\nRun 'headless-sd ${command.name} --help' for usage.\n`);
      return EXIT.USAGE;
    }
    io.stderr(`headless-sd ${command.name}: ${escapeText(((err as Error)?.message ?? String(err)).replace(/\s*\n\s*/g, ' '))}\n`);
    return EXIT.FAILURE;
  }
}

/** True when this module is the program run (the bin, or `tsx src/cli.ts`), not imported. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.stdout.on('error', onStdoutError);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`headless-sd: ${String(err)}\n`);
      process.exitCode = EXIT.FAILURE;
    },
  );
}
