/**
 * The runtime running the tests (Node, Bun or Deno), for the few assertions that differ
 * between them, and how to start a TypeScript child process on the same runtime.
 */

/** Which runtime this is. */
export const runtime: 'node' | 'bun' | 'deno' =
  process.versions.bun !== undefined ? 'bun' : process.versions.deno !== undefined ? 'deno' : 'node';

/** Arguments to `process.execPath` that run a TypeScript file, or with `inline` the module code `script` itself. */
export function tsArgs(script: string, options: { inline?: boolean } = {}): string[] {
  const inline = options.inline ?? false;
  switch (runtime) {
    case 'bun':
      return inline ? ['-e', script] : [script];
    case 'deno':
      // -A: a test child needs the network, files, env and subprocesses; .js imports name .ts files.
      return inline ? ['eval', '--sloppy-imports', '--no-check', script] : ['run', '-A', '--sloppy-imports', '--no-check', script];
    default:
      return inline ? ['--import', 'tsx', '--input-type=module', '-e', script] : ['--import', 'tsx', script];
  }
}

/**
 * Sends `signal` to a child by its pid. Deno's `child.kill()` makes the child's exit event
 * report that signal even when the child handled it and exited 0; `process.kill(pid)` lets
 * every runtime report the real exit status.
 */
export function sendSignal(child: { pid?: number | undefined }, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(child.pid, signal);
  } catch (err) {
    // Already gone: its exit status is what the test reads.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
