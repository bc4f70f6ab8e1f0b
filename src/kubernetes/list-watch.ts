import pRetry from 'p-retry';
import { debug } from '../dns/diagnostics.js';
import type { EndpointSliceClient } from './client.js';
import type { EndpointSlice } from './endpoint-slices.js';
import { isKubernetesApiError, KubernetesApiError, KubernetesApiErrorCode } from './errors.js';
import { listPages } from './list.js';
import type { SliceEvent, WatchEvent } from './wire.js';

/** A full set given page by page: see {@link ListWatchHandler.reset}. */
export interface SliceReset {
  /** One page of the set, in list order (not kept by the caller afterwards). */
  add(slices: EndpointSlice[]): void;
  /** A slice of the set so far is gone (a watch-list's DELETED event before the set is complete). */
  remove(name: string): void;
  /** The set is complete: it replaces every known slice. */
  end(): void;
}

/** What a {@link ListWatch} tells its owner. */
export interface ListWatchHandler {
  /**
   * A full set (the first, or after 410 Gone) begins: its pages go to the returned
   * {@link SliceReset} as they arrive, and its `end()` replaces every known slice. A set given
   * up midway (a failed list) never reaches `end()`, and a new one begins when it starts over.
   */
  reset(): SliceReset;
  /** One ADDED/MODIFIED/DELETED event. */
  apply(event: SliceEvent): void;
  /** A failure (the loop retries), or an object skipped because it could not be read. */
  error(error: KubernetesApiError): void;
}

/** Timing and limits of a {@link ListWatch}. */
export interface ListWatchOptions {
  /** First retry delay, ms. */
  minBackoff: number;
  /** Longest retry delay, ms. */
  maxBackoff: number;
  /** ms for each list (every page), and for a watch-list's initial events. */
  listTimeout: number;
  /** `timeoutSeconds` of each watch request; default: a random 300..599 (as client-go), so watchers do not reconnect in step. */
  watchTimeout?: number | undefined;
  /** Slices per list page (default 100, list.ts's DEFAULT_PAGE_SIZE; 0: one request). */
  pageSize?: number | undefined;
  /** Largest list answer read, bytes. */
  maxListBytes?: number | undefined;
  /** Try a streaming watch-list first (default true); false: list then watch. */
  watchList?: boolean | undefined;
}

/** Counters of a {@link ListWatch}. */
export interface ListWatchStats {
  /** Full sets received: lists answered, and watch-lists whose initial events ended. */
  lists: number;
  /** List requests answered (pages). */
  pages: number;
  /** Watch requests the server accepted. */
  watches: number;
  /** Events applied (ADDED/MODIFIED/DELETED). */
  events: number;
  /** Events skipped because their object could not be read. */
  skipped: number;
  /** Bookmarks followed. */
  bookmarks: number;
  /** True while the initial set comes from a streaming watch-list; false once the server showed it has none. */
  watchList: boolean;
}

/** A stream shorter than this that ends is "short": a second one in a row backs off (client-go: 1 s). */
const SHORT_STREAM_MS = 1000;

/** The HTTP answers of a server that does not know `sendInitialEvents` (or forbids `resourceVersionMatch` on a watch). */
const UNSUPPORTED = new Set([400, 422]);

/**
 * The list-then-watch loop. It gets the initial set through a streaming watch-list
 * (`sendInitialEvents=true`, the set is known at the `k8s.io/initial-events-end` bookmark)
 * where the server offers one, else through a paged list; then watches from there, follows
 * bookmarks, starts over on 410 Gone, and resumes from the last resourceVersion after a
 * stream ends or breaks. An event's version counts only once it was applied or deliberately
 * skipped (a malformed object is reported once and skipped), so no event replays. Every
 * failed attempt backs off (p-retry); a stream that ends at once without events is a
 * failure from the second in a row, so no server can make it spin.
 */
export class ListWatch {
  readonly #connect: (signal: AbortSignal) => Promise<EndpointSliceClient>;
  readonly #handler: ListWatchHandler;
  readonly #options: ListWatchOptions;
  readonly #abort = new AbortController();
  #resourceVersion: string | null = null;
  #started = false;
  #shortStreams = 0;
  /** Version and message of the last skipped event: a server that replays it is not reported again. */
  #lastSkipped: string | null = null;
  readonly #stats: ListWatchStats;

  /** `connect` gives the client (it may load config first); it is called before every attempt. */
  constructor(connect: (signal: AbortSignal) => Promise<EndpointSliceClient>, handler: ListWatchHandler, options: ListWatchOptions) {
    this.#connect = connect;
    this.#handler = handler;
    this.#options = options;
    this.#stats = { lists: 0, pages: 0, watches: 0, events: 0, skipped: 0, bookmarks: 0, watchList: options.watchList ?? true };
  }

  /** The resourceVersion the next watch resumes from (null: the next attempt gets a full set). */
  get resourceVersion(): string | null {
    return this.#resourceVersion;
  }

  /** Counters, for tests and diagnostics. */
  get stats(): Readonly<ListWatchStats> {
    return { ...this.#stats };
  }

  /** Starts the loop (once). */
  start(): void {
    if (this.#started || this.#abort.signal.aborted) return;
    this.#started = true;
    void this.#run();
  }

  /** Stops the loop and aborts the request in flight. */
  close(): void {
    this.#abort.abort();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        await pRetry(() => this.#attempt(), {
          retries: Number.POSITIVE_INFINITY,
          minTimeout: Math.max(1, this.#options.minBackoff),
          maxTimeout: Math.max(1, this.#options.maxBackoff),
          randomize: true,
          signal,
          onFailedAttempt: ({ error }) => {
            if (!signal.aborted) this.#report(error);
          },
        });
      } catch {
        // Only an abort ends p-retry's infinite retries (every failure is a KubernetesApiError).
        return;
      }
    }
  }

  /** One attempt: get the set when needed, watch, consume the stream. Resolves to go on at once; rejects to back off. */
  async #attempt(): Promise<void> {
    const signal = this.#abort.signal;
    const stream = new AbortController();
    const onAbort = (): void => stream.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let initialTimer: NodeJS.Timeout | null = null;
    try {
      const client = await this.#connect(signal);
      const timeoutSeconds = this.#watchTimeout();
      let listed = false;
      // While a watch-list streams its initial events: the set being built, a slice at a time.
      let initial: SliceReset | null = null;
      let events: AsyncIterable<WatchEvent> | null = null;
      if (this.#resourceVersion === null && this.#stats.watchList) {
        try {
          events = await client.watch({ sendInitialEvents: true, signal: stream.signal, timeoutSeconds });
          initial = this.#handler.reset();
          listed = true;
        } catch (err) {
          if (!(err instanceof KubernetesApiError) || err.status === null || !UNSUPPORTED.has(err.status)) throw err;
          this.#fallBack(`the server refused it (${err.status})`);
        }
      }
      if (events === null) {
        if (this.#resourceVersion === null) {
          await this.#relist(client);
          listed = true;
        }
        try {
          events = await client.watch({ resourceVersion: this.#resourceVersion!, signal: stream.signal, timeoutSeconds });
        } catch (err) {
          if (listed || !isKubernetesApiError(err, KubernetesApiErrorCode.GONE)) throw err;
          // HTTP 410: the version we resume from expired. List again and watch from there.
          await this.#relist(client);
          listed = true;
          events = await client.watch({ resourceVersion: this.#resourceVersion!, signal: stream.signal, timeoutSeconds });
        }
      }
      this.#stats.watches++;
      const opened = performance.now();
      const noEnd = new KubernetesApiError(
        KubernetesApiErrorCode.TIMEOUT,
        `no end of the watch-list's initial events within ${this.#options.listTimeout} ms`,
      );
      if (initial !== null) initialTimer = setTimeout(() => stream.abort(noEnd), this.#options.listTimeout);
      let progressed = false;
      try {
        for await (const event of events) {
          if (initial !== null) {
            if (!this.#initialEvent(initial, event)) continue;
            clearTimeout(initialTimer!);
            initial = null;
            progressed = true;
            continue;
          }
          this.#event(event);
          progressed = true;
        }
        if (initial !== null) {
          // The stream ended without the initial-events-end bookmark: the server ignores sendInitialEvents.
          this.#fallBack('the stream ended before its initial-events-end bookmark');
          return;
        }
      } catch (err) {
        if (signal.aborted) throw err;
        if (initial !== null && err === noEnd) {
          this.#fallBack(`no initial-events-end bookmark came within ${this.#options.listTimeout} ms`);
          return;
        }
        if (isKubernetesApiError(err, KubernetesApiErrorCode.GONE)) {
          this.#resourceVersion = null;
          // A version just listed already gone is a broken server: back off rather than spin.
          if (listed && !progressed) throw err;
          return;
        }
        if (initial !== null && err instanceof KubernetesApiError && err.status !== null) {
          // An ERROR event instead of the initial events: a server that has no watch-list.
          this.#fallBack(`the server sent an ERROR event (${err.status})`);
          this.#report(err);
          return;
        }
        if (!progressed) throw err;
        this.#report(err);
      }
      this.#checkShort(performance.now() - opened);
    } catch (err) {
      throw signal.aborted ? signal.reason : asApiError(err);
    } finally {
      if (initialTimer) clearTimeout(initialTimer);
      signal.removeEventListener('abort', onAbort);
      stream.abort();
    }
  }

  /** Takes one event of a watch-list's initial phase; true at its end (the set is then known). */
  #initialEvent(initial: SliceReset, event: WatchEvent): boolean {
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
        // Its peers now, and the slice dropped: the whole set's JSON is never held at once.
        initial.add([event.slice]);
        return false;
      case 'DELETED':
        initial.remove(event.slice.metadata.name);
        return false;
      case 'INVALID':
        this.#skip(event.resourceVersion, event.error);
        return false;
      case 'BOOKMARK':
        if (!event.initialEventsEnd) return false;
        this.#stats.lists++;
        this.#stats.bookmarks++;
        initial.end();
        this.#resourceVersion = event.resourceVersion;
        return true;
    }
  }

  /** Applies (or skips) one event, then counts its version: never before, so a failure cannot replay it forever. */
  #event(event: WatchEvent): void {
    switch (event.type) {
      case 'BOOKMARK':
        this.#stats.bookmarks++;
        break;
      case 'INVALID':
        this.#skip(event.resourceVersion, event.error);
        if (event.resourceVersion === null) return;
        break;
      default:
        try {
          this.#handler.apply(event);
          this.#stats.events++;
        } catch (err) {
          this.#skip(event.resourceVersion, asApiError(err));
        }
    }
    this.#resourceVersion = event.resourceVersion;
  }

  /** Counts a skipped event and reports it, once even if the server sends it again. */
  #skip(resourceVersion: string | null, error: KubernetesApiError): void {
    this.#stats.skipped++;
    // By version: the message names the request, whose URL changes from one watch to the next.
    const id = resourceVersion === null ? error.message : `rv ${resourceVersion}`;
    if (id === this.#lastSkipped) return;
    this.#lastSkipped = id;
    this.#report(error);
  }

  /** Remembers that this server has no watch-list: from now on, list then watch. */
  #fallBack(why: string): void {
    if (!this.#stats.watchList) return;
    this.#stats.watchList = false;
    this.#resourceVersion = null;
    debug('kubernetes: no streaming watch-list (%s): listing then watching', why);
  }

  /** A stream that ended quickly: the first in a row goes on at once, the next ones back off. */
  #checkShort(lived: number): void {
    if (lived >= SHORT_STREAM_MS) {
      this.#shortStreams = 0;
      return;
    }
    this.#shortStreams++;
    if (this.#shortStreams > 1) {
      throw new KubernetesApiError(
        KubernetesApiErrorCode.CONNECTION,
        `the EndpointSlice watch stream ended after ${Math.round(lived)} ms, ${this.#shortStreams} times in a row: backing off`,
      );
    }
  }

  /** Lists the whole set: each page goes to the handler as it arrives, so only a page or two of JSON is alive at once. */
  async #relist(client: EndpointSliceClient): Promise<void> {
    let reset = this.#handler.reset();
    let invalid: KubernetesApiError[] = [];
    const list = await listPages(
      client,
      { signal: this.#abort.signal, timeout: this.#options.listTimeout, pageSize: this.#options.pageSize, maxListBytes: this.#options.maxListBytes },
      {
        page: (items, pageInvalid) => {
          reset.add(items);
          for (const error of pageInvalid) invalid.push(error);
        },
        restart: () => {
          reset = this.#handler.reset();
          invalid = [];
        },
      },
    );
    this.#stats.lists++;
    this.#stats.pages += list.pages;
    for (const error of invalid) this.#report(error);
    reset.end();
    this.#resourceVersion = list.resourceVersion;
  }

  #watchTimeout(): number {
    return this.#options.watchTimeout ?? 300 + Math.floor(Math.random() * 300);
  }

  #report(error: unknown): void {
    this.#handler.error(asApiError(error));
  }
}

/** Any failure as a KubernetesApiError (a bug's TypeError too, so that p-retry keeps retrying it). */
export function asApiError(err: unknown): KubernetesApiError {
  if (err instanceof KubernetesApiError) return err;
  return new KubernetesApiError(
    KubernetesApiErrorCode.BADRESP,
    `unexpected failure in the EndpointSlice watch: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}
