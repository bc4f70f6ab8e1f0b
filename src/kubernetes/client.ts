import pRetry from 'p-retry';
import { request } from './undici.js';
import type { Dispatcher } from './undici.js';
import { serviceAccountOfToken } from './config.js';
import type { KubernetesConfig } from './config.js';
import { endpointSliceProblem, SERVICE_NAME_LABEL } from './endpoint-slices.js';
import type { EndpointSlice } from './endpoint-slices.js';
import {
  httpError,
  isKubernetesApiError,
  isStatus,
  KubernetesApiError,
  KubernetesApiErrorCode,
  parseStatus,
  transportError,
} from './errors.js';
import type { RequestContext } from './errors.js';
import { parseNdjson } from './ndjson.js';
import { redactCredentials } from './redact.js';

/** Whose EndpointSlices to read. */
export interface EndpointSliceTarget {
  namespace: string;
  /** Service name (first label). */
  service: string;
}

/** An EndpointSliceList, reduced to what the watch needs. */
export interface EndpointSliceList {
  /** Where a watch resumes from. */
  resourceVersion: string;
  items: EndpointSlice[];
}

/** One event of an EndpointSlice watch (ERROR events reject the iteration instead). */
export type WatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; slice: EndpointSlice; resourceVersion: string }
  | { type: 'BOOKMARK'; resourceVersion: string };

/** A change event of a watch (not a bookmark). */
export type SliceEvent = Extract<WatchEvent, { type: 'ADDED' | 'MODIFIED' | 'DELETED' }>;

/** Longest error body read for its Status object. */
const ERROR_BODY_LIMIT = 64 * 1024;
/** Time to wait for the headers of a watch (the API server sends them at once). */
const WATCH_HEADERS_TIMEOUT = 30_000;
/** Slack past the watch's own timeoutSeconds before a silent stream counts as dead. */
const WATCH_BODY_SLACK = 30_000;

/**
 * Lists and watches one Service's EndpointSlices over undici. Errors are
 * {@link KubernetesApiError}s; a 401 re-reads the token and retries once.
 */
export class EndpointSliceClient {
  readonly #config: KubernetesConfig;
  readonly #dispatcher: Dispatcher;
  readonly #target: EndpointSliceTarget;

  constructor(config: KubernetesConfig, dispatcher: Dispatcher, target: EndpointSliceTarget) {
    this.#config = config;
    this.#dispatcher = dispatcher;
    this.#target = target;
  }

  /** The URL of the list, with `params` added. */
  url(params: Record<string, string> = {}): string {
    const base = this.#config.url;
    const prefix = base.pathname.replace(/\/+$/, '');
    const { namespace } = this.#target;
    const url = new URL(`${prefix}/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`, base.origin);
    url.searchParams.set('labelSelector', `${SERVICE_NAME_LABEL}=${this.#target.service}`);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  /** Lists the Service's slices. `timeout` (ms) bounds the whole request, body included. */
  async list(options: { signal?: AbortSignal | undefined; timeout?: number | undefined } = {}): Promise<EndpointSliceList> {
    const url = this.url();
    const limit = deadline(options.signal, options.timeout, () =>
      new KubernetesApiError(KubernetesApiErrorCode.TIMEOUT, `no answer to the EndpointSlice list within ${options.timeout} ms (${url})`, { url }),
    );
    try {
      const { response, ctx } = await this.#open('list', url, { signal: limit.signal });
      let text: string;
      try {
        text = await response.body.text();
      } catch (err) {
        throw this.#failure(err, ctx, limit.signal, true);
      }
      return parseList(text, ctx);
    } finally {
      limit.done();
    }
  }

  /**
   * Opens a watch from `resourceVersion`; resolves once the server accepted it (status 200).
   * Iterating the result yields events as they arrive and rejects with EGONE for an ERROR
   * event of code 410 (list again), ECONNECTION when the stream breaks, and ends when the
   * server ends the stream (its `timeoutSeconds`): resume from the last resourceVersion.
   */
  async watch(
    resourceVersion: string,
    options: { signal?: AbortSignal | undefined; timeoutSeconds: number },
  ): Promise<AsyncIterable<WatchEvent>> {
    const url = this.url({
      watch: '1',
      resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(options.timeoutSeconds),
    });
    const { response, ctx } = await this.#open('watch', url, {
      signal: options.signal,
      headersTimeout: WATCH_HEADERS_TIMEOUT,
      bodyTimeout: options.timeoutSeconds * 1000 + WATCH_BODY_SLACK,
    });
    return this.#events(response, ctx, options.signal);
  }

  async *#events(response: Dispatcher.ResponseData, ctx: RequestContext, signal: AbortSignal | undefined): AsyncGenerator<WatchEvent> {
    try {
      for await (const value of parseNdjson(response.body, { url: ctx.url })) yield watchEvent(value, ctx);
    } catch (err) {
      throw this.#failure(err, ctx, signal, true);
    } finally {
      if (!response.body.destroyed) response.body.destroy();
    }
  }

  async #open(
    verb: 'list' | 'watch',
    url: string,
    options: { signal?: AbortSignal | undefined; headersTimeout?: number; bodyTimeout?: number },
  ): Promise<{ response: Dispatcher.ResponseData; ctx: RequestContext }> {
    const provider = this.#config.token;
    for (let retried = false; ; retried = true) {
      const headers: Record<string, string> = { accept: 'application/json' };
      // Raced against the request's deadline and abort: a token source that never settles cannot hang it.
      const token = provider ? await provider.token(options.signal) : null;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const ctx = { ...this.#context(verb, url, token), tokenRetried: retried };
      let response: Dispatcher.ResponseData;
      try {
        response = await request(url, {
          dispatcher: this.#dispatcher,
          method: 'GET',
          headers,
          signal: options.signal ?? null,
          ...(options.headersTimeout !== undefined ? { headersTimeout: options.headersTimeout } : {}),
          ...(options.bodyTimeout !== undefined ? { bodyTimeout: options.bodyTimeout } : {}),
        });
      } catch (err) {
        throw this.#failure(err, ctx, options.signal);
      }
      if (response.statusCode >= 200 && response.statusCode < 300) return { response, ctx };
      // A server or proxy may echo the request: the token sent must not reach an error message.
      const text = redactCredentials(await readLimited(response.body, ERROR_BODY_LIMIT), [token]);
      // A rotated token: read it again and retry once before calling it rejected.
      if (response.statusCode === 401 && !retried && provider?.refreshable) {
        provider.invalidate();
        continue;
      }
      throw httpError(response.statusCode, parseStatus(text), text, ctx);
    }
  }

  #context(verb: 'list' | 'watch', url: string, token: string | null): RequestContext {
    return {
      url,
      verb,
      namespace: this.#target.namespace,
      service: this.#target.service,
      serviceAccount: token === null ? null : serviceAccountOfToken(token),
      tokenSource: token === null ? null : (this.#config.token?.source ?? null),
      caSource: this.#config.caSource,
    };
  }

  #failure(err: unknown, ctx: RequestContext, signal: AbortSignal | undefined, midStream = false): KubernetesApiError {
    if (signal?.aborted) {
      const reason: unknown = signal.reason;
      if (reason instanceof KubernetesApiError) return reason;
      return new KubernetesApiError(KubernetesApiErrorCode.CANCELLED, `the EndpointSlice ${ctx.verb} was aborted`, {
        url: ctx.url,
        cause: reason,
      });
    }
    return transportError(err, ctx, midStream);
  }
}

/** An AbortSignal that fires on `parent` or after `ms` (with `timeoutError()` as reason); call done() to clear it. */
function deadline(
  parent: AbortSignal | undefined,
  ms: number | undefined,
  timeoutError: () => Error,
): { signal: AbortSignal | undefined; done(): void } {
  if (ms === undefined || ms <= 0 || !Number.isFinite(ms)) return { signal: parent, done: () => {} };
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => controller.abort(timeoutError()), ms);
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}

/** Reads at most `limit` bytes of a body as text, then drops the rest. Never rejects. */
async function readLimited(body: AsyncIterable<Uint8Array> & { destroy(): unknown }, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size >= limit) break;
    }
  } catch {
    // The error status is what matters; a broken body only loses its message.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function badResponse(message: string, ctx: RequestContext, cause?: unknown): KubernetesApiError {
  return new KubernetesApiError(KubernetesApiErrorCode.BADRESP, `${message} (${ctx.verb} ${ctx.url})`, {
    url: ctx.url,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Reads an EndpointSliceList body. */
export function parseList(text: string, ctx: RequestContext): EndpointSliceList {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badResponse(`the EndpointSlice list is not JSON: ${JSON.stringify(text.slice(0, 80))}`, ctx, err);
  }
  if (!isObject(value) || !Array.isArray(value.items)) throw badResponse('the answer is not an EndpointSliceList (no items)', ctx);
  const rv = isObject(value.metadata) ? value.metadata.resourceVersion : undefined;
  if (typeof rv !== 'string' || rv === '') throw badResponse('the EndpointSliceList has no metadata.resourceVersion', ctx);
  for (const item of value.items) {
    const problem = endpointSliceProblem(item);
    if (problem) throw badResponse(`the EndpointSliceList holds a bad EndpointSlice: ${problem}`, ctx);
  }
  return { resourceVersion: rv, items: value.items as EndpointSlice[] };
}

/** Reads one watch event; an ERROR event (or junk) throws. */
export function watchEvent(value: unknown, ctx: RequestContext): WatchEvent {
  if (!isObject(value) || typeof value.type !== 'string') throw badResponse('a watch event has no type', ctx);
  const object = value.object;
  const rv = isObject(object) && isObject(object.metadata) ? object.metadata.resourceVersion : undefined;
  switch (value.type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED': {
      const problem = endpointSliceProblem(object);
      if (problem) throw badResponse(`a ${value.type} watch event holds a bad EndpointSlice: ${problem}`, ctx);
      if (typeof rv !== 'string' || rv === '') throw badResponse(`a ${value.type} watch event has no resourceVersion`, ctx);
      return { type: value.type, slice: object as EndpointSlice, resourceVersion: rv };
    }
    case 'BOOKMARK':
      if (typeof rv !== 'string' || rv === '') throw badResponse('a BOOKMARK watch event has no resourceVersion', ctx);
      return { type: 'BOOKMARK', resourceVersion: rv };
    case 'ERROR': {
      const status = isStatus(object) ? object : null;
      const code = typeof status?.code === 'number' ? status.code : 500;
      throw httpError(code, status, status ? '' : JSON.stringify(object ?? null), ctx);
    }
    default:
      throw badResponse(`unknown watch event type ${JSON.stringify(value.type)}`, ctx);
  }
}

/** What a {@link ListWatch} tells its owner. */
export interface ListWatchHandler {
  /** A full list (the first, or after 410 Gone): replaces every known slice. */
  reset(slices: EndpointSlice[]): void;
  /** One ADDED/MODIFIED/DELETED event. */
  apply(event: SliceEvent): void;
  /** A failure; the loop retries. */
  error(error: KubernetesApiError): void;
}

/** Timing of a {@link ListWatch}. */
export interface ListWatchOptions {
  /** First retry delay, ms. */
  minBackoff: number;
  /** Longest retry delay, ms. */
  maxBackoff: number;
  /** ms for each list request. */
  listTimeout: number;
  /** `timeoutSeconds` of each watch request; default: a random 300..599 (as client-go), so watchers do not reconnect in step. */
  watchTimeout?: number | undefined;
}

/** Counters of a {@link ListWatch}. */
export interface ListWatchStats {
  /** List requests answered. */
  lists: number;
  /** Watch requests the server accepted. */
  watches: number;
  /** Events applied (ADDED/MODIFIED/DELETED). */
  events: number;
  /** Bookmarks followed. */
  bookmarks: number;
}

/**
 * The list-then-watch loop: lists, watches from the list's resourceVersion, follows
 * bookmarks, relists on 410 Gone, resumes from the last resourceVersion after the server
 * ends a stream or it breaks, and backs off (p-retry) when connecting fails.
 * A stream that breaks after it delivered something reconnects at once (fresh backoff);
 * one that fails before delivering anything counts as a failed attempt.
 */
export class ListWatch {
  readonly #connect: (signal: AbortSignal) => Promise<EndpointSliceClient>;
  readonly #handler: ListWatchHandler;
  readonly #options: ListWatchOptions;
  readonly #abort = new AbortController();
  #resourceVersion: string | null = null;
  #started = false;
  readonly #stats: ListWatchStats = { lists: 0, watches: 0, events: 0, bookmarks: 0 };

  /** `connect` gives the client (it may load config first); it is called before every attempt. */
  constructor(connect: (signal: AbortSignal) => Promise<EndpointSliceClient>, handler: ListWatchHandler, options: ListWatchOptions) {
    this.#connect = connect;
    this.#handler = handler;
    this.#options = options;
  }

  /** The resourceVersion the next watch resumes from (null: the next attempt lists). */
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

  /** One attempt: list when needed, watch, consume the stream. Resolves to reconnect at once; rejects to back off. */
  async #attempt(): Promise<void> {
    const signal = this.#abort.signal;
    try {
      const client = await this.#connect(signal);
      let listed = false;
      if (this.#resourceVersion === null) {
        await this.#relist(client);
        listed = true;
      }
      let events: AsyncIterable<WatchEvent>;
      try {
        events = await client.watch(this.#resourceVersion!, { signal, timeoutSeconds: this.#watchTimeout() });
      } catch (err) {
        if (listed || !isKubernetesApiError(err, KubernetesApiErrorCode.GONE)) throw err;
        // HTTP 410: the version we resume from expired. List again and watch from there.
        await this.#relist(client);
        listed = true;
        events = await client.watch(this.#resourceVersion!, { signal, timeoutSeconds: this.#watchTimeout() });
      }
      this.#stats.watches++;
      let progressed = false;
      try {
        for await (const event of events) {
          progressed = true;
          if (event.type === 'BOOKMARK') {
            this.#stats.bookmarks++;
          } else {
            this.#stats.events++;
            this.#handler.apply(event);
          }
          this.#resourceVersion = event.resourceVersion;
        }
      } catch (err) {
        if (signal.aborted) throw err;
        if (isKubernetesApiError(err, KubernetesApiErrorCode.GONE)) {
          this.#resourceVersion = null;
          // A version just listed already gone is a broken server: back off rather than spin.
          if (listed && !progressed) throw err;
          return;
        }
        if (!progressed) throw err;
        this.#report(err);
      }
    } catch (err) {
      throw signal.aborted ? signal.reason : asApiError(err);
    }
  }

  async #relist(client: EndpointSliceClient): Promise<void> {
    const list = await client.list({ signal: this.#abort.signal, timeout: this.#options.listTimeout });
    this.#stats.lists++;
    this.#handler.reset(list.items);
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
function asApiError(err: unknown): KubernetesApiError {
  if (err instanceof KubernetesApiError) return err;
  return new KubernetesApiError(
    KubernetesApiErrorCode.BADRESP,
    `unexpected failure in the EndpointSlice watch: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}
