/**
 * Remembers which clusters this process has formed, so that it forms each at most once:
 * after a `form`, every later `bootstrap()` with the same key can only join.
 * One latch per process is the default; tests that run many members in one process
 * give each member (each pod incarnation) its own.
 */
export class BootstrapLatch {
  readonly #formed = new Set<string>();

  /** True when a `form` was decided for `key`. */
  has(key: string): boolean {
    return this.#formed.has(key);
  }

  /** Records a `form` for `key`; false when one was recorded already (the caller must not form). */
  take(key: string): boolean {
    if (this.#formed.has(key)) return false;
    this.#formed.add(key);
    return true;
  }
}

/** The latch of this process, used when `bootstrap()` is given none. */
export const processLatch = new BootstrapLatch();
