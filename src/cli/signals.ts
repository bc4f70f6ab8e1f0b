/** An AbortSignal that stops a long-running command, and a way to stop listening. */
export interface StopSignal {
  signal: AbortSignal;
  /** Removes the process listeners (call when the command ends). */
  release(): void;
}

/**
 * `given` when the caller passed a signal (tests, embedding); else one aborted by SIGINT,
 * SIGTERM, or stdout going away (`watch | head`: EPIPE). While it listens, those no longer
 * kill the process with a stack: the command closes what it opened and returns its exit code.
 */
export function stopSignal(given?: AbortSignal): StopSignal {
  if (given) return { signal: given, release: () => {} };
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => controller.abort(new Error(`received ${name}`));
  // Nothing more can be written once stdout failed; the reader is gone, which ends a watch.
  const onStdoutError = (err: Error): void => controller.abort(err);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', onStdoutError);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stdout.off('error', onStdoutError);
    },
  };
}
