import type http from 'node:http';
import type { ListOptions } from './list-options.js';
import { scopeFilter } from './lists.js';
import type { HistoryEvent, SliceMeta, SliceStore } from './store.js';
import { status } from './status.js';

interface OpenWatch {
  filter: (meta: SliceMeta) => boolean;
  bookmarks: boolean;
  res: http.ServerResponse;
  timer: NodeJS.Timeout | null;
  /** Live events wait here while a delay fault holds the stream. */
  held: string[] | null;
  /** Rewrites each event line (a Table watch), or null. */
  transform: ((line: string) => string) | null;
}

/** The annotation on the BOOKMARK that ends a watch-list's initial events. */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

/** A BOOKMARK event line at `rv` (an EndpointSlice with only metadata, as the API server sends it). */
function bookmarkLine(rv: number, initialEventsEnd = false): string {
  const metadata = { resourceVersion: String(rv), ...(initialEventsEnd ? { annotations: { [INITIAL_EVENTS_END]: 'true' } } : {}) };
  return `${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', metadata } })}\n`;
}

/**
 * The open watch streams of the fake API: where they start (a resourceVersion, the current
 * state as ADDED events, or a watch-list's initial events and its `k8s.io/initial-events-end`
 * bookmark), what they pass (namespace and selectors), and how they end.
 */
export class WatchHub {
  readonly #watches = new Set<OpenWatch>();
  readonly #store: () => SliceStore;
  readonly #later: (ms: number, fn: () => void) => NodeJS.Timeout;
  readonly #clear: (timer: NodeJS.Timeout) => void;

  constructor(store: () => SliceStore, later: (ms: number, fn: () => void) => NodeJS.Timeout, clear: (timer: NodeJS.Timeout) => void) {
    this.#store = store;
    this.#later = later;
    this.#clear = clear;
  }

  get size(): number {
    return this.#watches.size;
  }

  /** Sends a change to every watch it concerns. */
  publish(event: HistoryEvent): void {
    for (const w of this.#watches) if (w.filter(event)) this.#write(w, event.line);
  }

  /** Sends a BOOKMARK with the newest resourceVersion to every watch that allows bookmarks. */
  bookmark(): void {
    const line = bookmarkLine(this.#store().resourceVersion);
    for (const w of this.#watches) if (w.bookmarks) this.#write(w, line);
  }

  /** Ends every stream normally (`drop`: destroys their connections instead). */
  endAll(drop = false): void {
    for (const w of [...this.#watches]) {
      this.#forget(w);
      if (drop) w.res.socket?.destroy();
      else w.res.end();
    }
  }

  /** Forgets every stream without touching it (the server is closing its connections). */
  clear(): void {
    for (const w of [...this.#watches]) this.#forget(w);
  }

  /** Answers a watch request: 200 and an NDJSON stream of events (an ERROR 410 event when its version is gone). */
  open(res: http.ServerResponse, options: ListOptions, namespace: string | null, delayMs: number, transform: ((line: string) => string) | null = null): void {
    const store = this.#store();
    const filter = scopeFilter(namespace, options.selector);
    const current = store.resourceVersion;
    const asked = options.resourceVersion === null || options.resourceVersion === '0' ? null : Number(options.resourceVersion);
    let from = asked ?? current;
    const initial: string[] = [];
    if (options.sendInitialEvents === true || (options.sendInitialEvents === null && asked === null)) {
      // The current state as ADDED events (a watch-list: at least as new as `resourceVersion`, which now is).
      from = current;
      for (const s of store.snapshot()) if (filter(s)) initial.push(`{"type":"ADDED","object":${s.json}}\n`);
      // The end of a watch-list's initial events is a bookmark, sent only to clients that take bookmarks.
      if (options.sendInitialEvents === true && options.allowWatchBookmarks) initial.push(bookmarkLine(current, true));
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    if (from < store.compactedVersion) {
      // As the API server: the watch is accepted, then an ERROR event says the version is gone.
      const gone = status(410, 'Expired', `too old resource version: ${from} (${store.compactedVersion})`);
      res.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
      return;
    }
    const w: OpenWatch = { filter, bookmarks: options.allowWatchBookmarks, res, timer: null, held: delayMs > 0 ? [] : null, transform };
    this.#watches.add(w);
    res.on('close', () => this.#forget(w));
    const seconds = options.timeoutSeconds ?? 1800;
    if (seconds > 0) {
      w.timer = this.#later(seconds * 1000, () => {
        if (w.bookmarks && !res.writableEnded) this.#write(w, bookmarkLine(this.#store().resourceVersion));
        this.#forget(w);
        res.end();
      });
    }
    for (const line of initial) this.#write(w, line);
    for (const e of store.since(from, filter)) this.#write(w, e.line);
    if (w.held) {
      this.#later(delayMs, () => {
        const held = w.held ?? [];
        w.held = null;
        if (!res.writableEnded && !res.destroyed) for (const line of held) res.write(line);
      });
    }
  }

  #write(w: OpenWatch, raw: string): void {
    const line = w.transform ? w.transform(raw) : raw;
    if (w.held) w.held.push(line);
    else if (!w.res.writableEnded && !w.res.destroyed) w.res.write(line);
  }

  #forget(w: OpenWatch): void {
    this.#watches.delete(w);
    if (w.timer) {
      this.#clear(w.timer);
      w.timer = null;
    }
  }
}
