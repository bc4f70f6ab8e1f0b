import { deadline } from './client.js';
import type { EndpointSliceClient, EndpointSliceList } from './client.js';
import type { EndpointSlice } from './endpoint-slices.js';
import { isKubernetesApiError, KubernetesApiError, KubernetesApiErrorCode } from './errors.js';
import type { ListHead } from './list-head.js';

/**
 * Slices asked for in one page by default. client-go's 500 is sized for small objects; an
 * EndpointSlice holds up to 100 endpoints (1,000 at most), so 500 of them can be 50,000
 * endpoints, ~12 MB of JSON parsed at once. At 100 a page is at most ~2.5 MB (10,000
 * endpoints), peak memory stays a few pages' worth whatever the Service's size, and since the
 * next page is asked for while this one is read and turned into peers, the extra requests
 * cost no time (bench/api-limits.ts measures 50 to 500).
 */
export const DEFAULT_PAGE_SIZE = 100;

/** How to list. */
export interface PagedListOptions {
  signal?: AbortSignal | undefined;
  /** ms for the whole list, every page included (unset: no limit of its own). */
  timeout?: number | undefined;
  /** Slices per page (`limit`); 0 lists in one request. Default {@link DEFAULT_PAGE_SIZE}. */
  pageSize?: number | undefined;
  /** Largest answer read, bytes, per request. */
  maxListBytes?: number | undefined;
}

/** Where the pages of a list go, one at a time, as they arrive. */
export interface PageSink {
  /**
   * One page: its readable slices and the errors of its unreadable items, in list order. Runs
   * while the next page is being fetched; the page is not kept after it returns. A throw
   * stops the list (it rejects with that error). `last`: no request follows it (unless a
   * continue token expires and the list starts over, which only a page that is not last sees).
   */
  page(items: EndpointSlice[], invalid: KubernetesApiError[], last: boolean): void;
  /** The list starts over (an expired continue token): forget every page so far. */
  restart(): void;
}

/** What a list took. */
export interface ListSummary {
  /** Where a watch resumes from (the first page's: every page shows that one snapshot). */
  resourceVersion: string;
  /** Pages read. */
  pages: number;
  /** Times the list started over because a continue token expired (410). */
  restarts: number;
}

/** One page's request, in flight or done. */
interface PageRequest {
  token: string | undefined;
  controller: AbortController;
  result: Promise<EndpointSliceList>;
  /** The page's head, once its first bytes showed it. */
  head: ListHead | null;
  /** The page after it, asked for early. */
  next: PageRequest | null;
  /** True once this page is the one awaited: only then may its successor be asked for. */
  current: boolean;
}

/**
 * Lists every slice in pages of `pageSize` (`limit` and `continue`), as client-go's pager
 * does, and hands each page to `sink` as it arrives. Pages are pipelined: the next page is
 * asked for as soon as its continue token is known (from the head of this page's body where
 * the server writes it there, else once the page is parsed), so the server renders it while
 * this one is read and consumed; at most one request is ahead. When a continue token expires
 * (410 Gone: the snapshot was compacted mid-list), it lists again from the start; if that
 * expires too, it lists in one request. On failure, abort or timeout, every request in flight
 * is aborted and settled before it rejects with {@link KubernetesApiError}.
 */
export async function listPages(client: EndpointSliceClient, options: PagedListOptions, sink: PageSink): Promise<ListSummary> {
  const limit = deadline(options.signal, options.timeout, () =>
    new KubernetesApiError(KubernetesApiErrorCode.TIMEOUT, `no complete EndpointSlice list within ${options.timeout} ms (${client.url()})`, {
      url: client.url(),
    }),
  );
  let pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  let pages = 0;
  let restarts = 0;

  const launch = (token: string | undefined): PageRequest => {
    const parent = limit.signal;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(parent!.reason);
    if (parent?.aborted) onAbort();
    else parent?.addEventListener('abort', onAbort, { once: true });
    const request: PageRequest = { token, controller, result: undefined!, head: null, next: null, current: false };
    request.result = client
      .listPage({
        signal: controller.signal,
        limit: pageSize,
        continue: token,
        maxBytes: options.maxListBytes,
        onHead: (head) => {
          request.head = head;
          if (request.current) ahead(request);
        },
      })
      .finally(() => parent?.removeEventListener('abort', onAbort));
    // Awaited when its turn comes, or dropped when cancelled: never an unhandled rejection.
    request.result.catch(() => {});
    return request;
  };
  const ahead = (request: PageRequest): void => {
    const token = request.head?.continue;
    if (pageSize > 0 && request.next === null && token) request.next = launch(token);
  };
  const cancel = async (request: PageRequest | null): Promise<void> => {
    if (request === null) return;
    request.controller.abort();
    await request.result.catch(() => {});
  };

  try {
    for (;;) {
      let request = launch(undefined);
      let resourceVersion: string | null = null;
      try {
        for (;;) {
          request.current = true;
          ahead(request);
          const page = await request.result;
          pages++;
          resourceVersion ??= page.resourceVersion;
          const token = pageSize > 0 ? (page.continue ?? undefined) : undefined;
          // The head was only a hint: the parsed page has the last word.
          if (request.next !== null && request.next.token !== token) {
            await cancel(request.next);
            request.next = null;
          }
          if (token !== undefined && request.next === null) request.next = launch(token);
          sink.page(page.items, page.invalid, token === undefined);
          if (token === undefined) return { resourceVersion, pages, restarts };
          request = request.next!;
        }
      } catch (err) {
        await cancel(request.next);
        await cancel(request);
        // Only an expired continue token starts over; a 410 on the first page is the server's answer.
        if (request.token === undefined || !isKubernetesApiError(err, KubernetesApiErrorCode.GONE)) throw err;
        restarts++;
        if (restarts > 1) pageSize = 0;
        sink.restart();
      }
    }
  } finally {
    limit.done();
  }
}
