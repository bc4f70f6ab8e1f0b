import { deadline } from './client.js';
import type { EndpointSliceClient } from './client.js';
import type { EndpointSlice } from './endpoint-slices.js';
import { isKubernetesApiError, KubernetesApiError, KubernetesApiErrorCode } from './errors.js';

/** Slices asked for in one page by default: client-go's informers ask for 500 too. */
export const DEFAULT_PAGE_SIZE = 500;

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

/** A whole list, every page joined. */
export interface PagedList {
  /** Where a watch resumes from (the first page's: every page shows that one snapshot). */
  resourceVersion: string;
  items: EndpointSlice[];
  /** Errors of the items left out (malformed). */
  invalid: KubernetesApiError[];
  /** Requests it took. */
  pages: number;
  /** Times the list started over because a continue token expired (410). */
  restarts: number;
}

/**
 * Lists every slice in pages of `pageSize` (`limit` and `continue`), as client-go's pager
 * does. When a continue token expires (410 Gone: the snapshot was compacted mid-list), it
 * lists again from the start; if that expires too, it lists in one request. Rejects with
 * {@link KubernetesApiError}.
 */
export async function listAllSlices(client: EndpointSliceClient, options: PagedListOptions = {}): Promise<PagedList> {
  const limit = deadline(options.signal, options.timeout, () =>
    new KubernetesApiError(KubernetesApiErrorCode.TIMEOUT, `no complete EndpointSlice list within ${options.timeout} ms (${client.url()})`, {
      url: client.url(),
    }),
  );
  let pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  let pages = 0;
  let restarts = 0;
  try {
    for (;;) {
      const items: EndpointSlice[] = [];
      const invalid: KubernetesApiError[] = [];
      let resourceVersion: string | null = null;
      let token: string | undefined;
      try {
        do {
          const page = await client.listPage({ signal: limit.signal, limit: pageSize, continue: token, maxBytes: options.maxListBytes });
          pages++;
          resourceVersion ??= page.resourceVersion;
          // One by one: a spread of a big page as arguments could overflow the stack.
          for (const item of page.items) items.push(item);
          for (const error of page.invalid) invalid.push(error);
          token = pageSize > 0 ? (page.continue ?? undefined) : undefined;
        } while (token !== undefined);
        return { resourceVersion: resourceVersion!, items, invalid, pages, restarts };
      } catch (err) {
        // Only an expired continue token starts over; a 410 on the first page is the server's answer.
        if (token === undefined || !isKubernetesApiError(err, KubernetesApiErrorCode.GONE)) throw err;
        restarts++;
        if (restarts > 1) pageSize = 0;
      }
    }
  } finally {
    limit.done();
  }
}
