import * as nodeBuffer from 'node:buffer';
import { request } from './undici.js';
import type { Dispatcher } from './undici.js';
import { serviceAccountOfToken } from './config.js';
import type { KubernetesConfig } from './config.js';
import { SERVICE_NAME_LABEL } from './endpoint-slices.js';
import { httpError, KubernetesApiError, KubernetesApiErrorCode, parseStatus, transportError } from './errors.js';
import type { RequestContext } from './errors.js';
import { HEAD_LIMIT, readListHead } from './list-head.js';
import type { ListHead } from './list-head.js';
import { parseNdjson } from './ndjson.js';
import { redactCredentials } from './redact.js';
import { isPlainJson } from './slice-check.js';
import { badResponse, cleanStatus, parseList, watchEvent } from './wire.js';
import type { EndpointSliceList, WatchEvent } from './wire.js';

export type { EndpointSliceList, SliceEvent, WatchEvent } from './wire.js';

/** Whose EndpointSlices to read. */
export interface EndpointSliceTarget {
  namespace: string;
  /** Service name (first label). */
  service: string;
}

/** Largest list answer read by default, bytes: far above a 1,000-slice Service (~30 MB), far below what hurts a pod. */
export const DEFAULT_MAX_LIST_BYTES = 256 * 1024 * 1024;

/** What one list request asks for. */
export interface ListPageOptions {
  signal?: AbortSignal | undefined;
  /** `limit`: at most this many slices in the page (0 or unset: all). */
  limit?: number | undefined;
  /** `continue`: the token of the page before. */
  continue?: string | undefined;
  /** Largest body read, bytes (default {@link DEFAULT_MAX_LIST_BYTES}); a larger one rejects EBADRESP. */
  maxBytes?: number | undefined;
  /**
   * Called once, as soon as the start of the body shows the list's metadata (before `items`,
   * where the API server writes it), with its continue token: the next page can be asked for
   * while this one streams in. Not called when the head is not there early.
   */
  onHead?: ((head: ListHead) => void) | undefined;
}

/** What one watch request asks for. */
export interface WatchOptions {
  signal?: AbortSignal | undefined;
  /** Where to resume; unset with `sendInitialEvents` (the newest state). */
  resourceVersion?: string | undefined;
  /** A watch-list: the current slices as ADDED events, then a bookmark annotated `k8s.io/initial-events-end`. */
  sendInitialEvents?: boolean | undefined;
  timeoutSeconds: number;
}

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

  /** One list request (a page when `limit` is set). The caller bounds it in time through `signal`. */
  async listPage(options: ListPageOptions = {}): Promise<EndpointSliceList> {
    const params: Record<string, string> = {};
    if (options.limit !== undefined && options.limit > 0) params.limit = String(options.limit);
    if (options.continue !== undefined) params.continue = options.continue;
    const url = this.url(params);
    const { response, ctx } = await this.#open('list', url, { signal: options.signal });
    const max = options.maxBytes ?? DEFAULT_MAX_LIST_BYTES;
    let text: string;
    let plain: boolean;
    try {
      ({ text, plain } = await readListBody(response, max, options.onHead));
    } catch (err) {
      if (err === TOO_BIG) {
        throw badResponse(
          `the EndpointSlice list answer is larger than ${max} bytes (maxListBytes): refused rather than held in memory`,
          ctx,
        );
      }
      throw this.#failure(err, ctx, options.signal, true);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw badResponse(`the EndpointSlice list is not JSON: ${JSON.stringify(text.slice(0, 80))}`, ctx, err);
    }
    return parseList(value, ctx, plain);
  }

  /**
   * Opens a watch; resolves once the server accepted it (status 200). Iterating the result
   * yields events as they arrive and rejects with EGONE for an ERROR event of code 410
   * (list again), another typed error for other ERROR events, ECONNECTION when the stream
   * breaks, and ends when the server ends the stream (its `timeoutSeconds`).
   */
  async watch(options: WatchOptions): Promise<AsyncIterable<WatchEvent>> {
    const params: Record<string, string> = { watch: '1' };
    if (options.resourceVersion !== undefined) params.resourceVersion = options.resourceVersion;
    if (options.sendInitialEvents) {
      params.sendInitialEvents = 'true';
      params.resourceVersionMatch = 'NotOlderThan';
    }
    params.allowWatchBookmarks = 'true';
    params.timeoutSeconds = String(options.timeoutSeconds);
    const url = this.url(params);
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
      throw httpError(response.statusCode, cleanStatus(parseStatus(text)), text, ctx);
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
      certificateSource: certificateSource(this.#config),
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

/** Where a config's client certificate comes from, for a 401's message; null: none. */
function certificateSource(config: KubernetesConfig): string | null {
  if (config.exec) return config.exec.source;
  if (!config.clientCertificate) return null;
  return config.origin?.startsWith('kubeconfig') ? `the user of ${config.origin}` : 'kubernetes.cert / kubernetes.key';
}

/** An AbortSignal that fires on `parent` or after `ms` (with `timeoutError()` as reason); call done() to clear it. */
export function deadline(
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

/** Thrown inside {@link readListBody} when the body passes its cap. */
const TOO_BIG = Symbol('too big');

// Where the runtime has it (Node >= 20.13): an ASCII body decodes as latin1, twice as fast as UTF-8.
const isAscii = (nodeBuffer as { isAscii?: (bytes: Uint8Array) => boolean }).isAscii;

/** Largest body read into one buffer allocated up front (from its Content-Length); larger ones are read by chunks. */
const PREALLOCATE_LIMIT = 64 * 1024 * 1024;

/** The body's declared length when it is a sane one, else null. */
function declaredLength(response: Dispatcher.ResponseData): number | null {
  const value = response.headers['content-length'];
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

/**
 * Reads a whole list body as text, but no more than `max` bytes: past that, drops the
 * connection and throws TOO_BIG. With a Content-Length, chunks are copied into one buffer as
 * they come (one copy, each chunk freed at once); `onHead` gets the list's metadata as soon
 * as the first bytes show it.
 */
async function readListBody(
  response: Dispatcher.ResponseData,
  max: number,
  onHead: ((head: ListHead) => void) | undefined,
): Promise<{ text: string; plain: boolean }> {
  const body = response.body;
  const declared = declaredLength(response);
  if (declared !== null && declared > max) {
    // Refused before a byte of it is read.
    body.destroy();
    throw TOO_BIG;
  }
  let whole = declared !== null && declared > 0 && declared <= PREALLOCATE_LIMIT ? Buffer.allocUnsafe(declared) : null;
  let chunks: Uint8Array[] = [];
  let size = 0;
  let headPending = onHead !== undefined;
  let nextScan = 0;
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      const at = size;
      size += chunk.byteLength;
      if (size > max) throw TOO_BIG;
      if (whole !== null && size <= whole.length) whole.set(chunk, at);
      else {
        // More than declared (a server that lies): keep what came and go on by chunks.
        if (whole !== null) chunks = [whole.subarray(0, at)];
        whole = null;
        chunks.push(chunk);
      }
      // Scanned again only once the bytes have doubled: a body sent a byte at a time costs linear work, not quadratic.
      if (headPending && (size >= nextScan || size >= HEAD_LIMIT)) {
        nextScan = 2 * size;
        const prefix = whole ?? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
        const head = readListHead(prefix, size);
        if (head !== 'more' || size >= HEAD_LIMIT) {
          headPending = false;
          if (head !== 'more' && head !== null) onHead!(head);
        }
      }
    }
  } finally {
    body.destroy();
  }
  const bytes = whole !== null ? whole.subarray(0, size) : Buffer.concat(chunks, size);
  chunks = [];
  const ascii = isAscii?.(bytes) ?? false;
  return { text: ascii ? bytes.toString('latin1') : bytes.toString('utf8'), plain: isPlainJson(bytes, ascii) };
}
