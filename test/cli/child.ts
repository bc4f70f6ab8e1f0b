import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { tsArgs } from '../helpers/runtime.ts';

/** The repository root: children run there so that `--import tsx` resolves. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A child process with its output collected line by line. */
export interface Child {
  process: ChildProcessByStdio<null, Readable, Readable>;
  stdout: string[];
  stderr: string[];
  /** Settles with the exit code (null when killed by a signal) once the process has exited and its output is read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits for a stdout line matching `predicate` (seen before or after the call); fails after `limitMs` or on exit. */
  waitForLine(predicate: (line: string, index: number) => boolean, what: string, limitMs?: number): Promise<string>;
}

/** Starts `node --import tsx <script> ...args` in the repository root; NO_COLOR unset so tests see what a user sees. */
export function startNode(script: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Child {
  const childEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT; // a child is a program, not a test file
  const child = spawn(process.execPath, [...tsArgs(script), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv,
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  const outDone = new Promise<void>((resolve) => createInterface({ input: child.stdout }).on('line', (l) => (stdout.push(l), wake())).on('close', resolve));
  const errDone = new Promise<void>((resolve) => createInterface({ input: child.stderr }).on('line', (l) => stderr.push(l)).on('close', resolve));
  let ended = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      void Promise.all([outDone, errDone]).then(() => {
        ended = true;
        wake();
        resolve({ code, signal });
      });
    });
  });
  return {
    process: child,
    stdout,
    stderr,
    exited,
    waitForLine(predicate, what, limitMs = 15_000) {
      return new Promise<string>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const check = (): void => {
          const line = stdout.find(predicate);
          if (line !== undefined || ended) {
            waiters.delete(check);
            clearTimeout(timer);
            if (line !== undefined) resolve(line);
            else reject(new Error(`${script} exited before ${what}; stdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`));
          }
        };
        timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${what} within ${limitMs} ms; stdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`));
        }, limitMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Runs `node --import tsx src/cli.ts ...args` to its end. */
export async function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startNode('src/cli.ts', args);
  const { code } = await child.exited;
  return { code, stdout: child.stdout.map((l) => `${l}\n`).join(''), stderr: child.stderr.map((l) => `${l}\n`).join('') };
}

/** Asserts an exit code, showing the output when it is wrong. */
export function assertExit(result: { code: number | null; stdout: string; stderr: string }, code: number, what: string): void {
  assert.equal(result.code, code, `${what}: exit ${result.code}, stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}

/** Runs `node --import tsx <script>` to its end, asserts it exited 0, and returns its stdout joined by newlines. */
export async function runToSuccess(script: string): Promise<string> {
  const child = startNode(script);
  const { code } = await child.exited;
  const out = child.stdout.join('\n');
  assert.equal(code, 0, `${script} exited ${code}\n${out}\n${child.stderr.join('\n')}`);
  return out;
}
