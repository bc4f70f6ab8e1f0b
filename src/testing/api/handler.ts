import { X509Certificate } from 'node:crypto';
import type http from 'node:http';
import { TLSSocket } from 'node:tls';
import type { TestCluster } from '../cluster.js';
import { coreAnswer } from './core.js';
import { discoveryDocument } from './discovery.js';
import { parseListOptions } from './list-options.js';
import { getSlice, listSlices } from './lists.js';
import type { FakeEndpointSlice } from './resources.js';
import { route } from './routes.js';
import type { SliceMeta, SliceStore } from './store.js';
import { failure, REASONS, status, userOf } from './status.js';
import type { StatusReply } from './status.js';
import { sliceTable, tableEventLine, wantsTable } from './table.js';
import type { WatchHub } from './watch.js';

/** A fault for the next matching requests. */
export interface ApiFault {
  /** Answer this HTTP status with a Status body (e.g. 410, 500, 503). */
  status?: number;
  /** Close the connection without an answer (a connection reset). */
  reset?: boolean;
  /** Send the headers, then wait this long before the body (list) or the first event (watch). */
  delayMs?: number;
  /** How many requests it acts on (default: all, until {@link FakeKubernetesApi.clearFaults}). */
  count?: number;
  /** Only list or only watch requests (default both). */
  on?: 'list' | 'watch';
}

/** One request the fake API received. */
export interface ApiRequestLogEntry {
  method: string;
  /** Path without the query. */
  path: string;
  query: Record<string, string>;
  watch: boolean;
  /** The `resourceVersion` parameter, or null. */
  resourceVersion: string | null;
  /** The bearer token presented, or null. */
  token: string | null;
  /** Status sent; null when the connection was reset. */
  status: number | null;
  /** Fault fields that acted on it. */
  faults: string[];
  time: number;
}

/** A fault with the requests it still acts on. */
export interface ActiveFault extends ApiFault {
  remaining: number;
}

/** What the fake API's owner changes while it runs, and the request log it reads. */
export interface ApiServerState {
  /** Bearer token every request must carry, or null. */
  token: string | null;
  /** Answer 403 to every authenticated request. */
  forbidden: boolean;
  faults: ActiveFault[];
  /** Every request, oldest first (the last {@link REQUEST_LOG_LIMIT}). */
  requests: ApiRequestLogEntry[];
  /** Serial numbers of revoked client certificates ({@link certificateSerial}). */
  revoked: Set<string>;
}

/** A certificate's serial number as TLS peers report it (upper-case hex). */
export function certificateSerial(pem: string): string {
  return new X509Certificate(pem).serialNumber.toUpperCase();
}

/** True when the connection authenticated with a revoked client certificate. */
function presentsRevoked(socket: unknown, revoked: Set<string>): boolean {
  if (revoked.size === 0 || !(socket instanceof TLSSocket)) return false;
  const serial = socket.getPeerCertificate().serialNumber;
  return typeof serial === 'string' && revoked.has(serial.toUpperCase());
}

/** Requests kept in {@link ApiServerState.requests}. */
export const REQUEST_LOG_LIMIT = 10_000;

/** What the request handler reads: the model, its slices and watches, and the server's state. */
export interface RequestHandlerContext {
  cluster: TestCluster;
  store: SliceStore;
  watches: WatchHub;
  state: ApiServerState;
  /** When namespaces and Services were made (the server's start). */
  since: string;
  /** `host:port` the server answers on, for discovery documents. */
  authority: () => string;
  /** A timer the server clears when it stops. */
  later: (ms: number, fn: () => void) => NodeJS.Timeout;
}

function sendJson(res: http.ServerResponse, code: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The fake API's request handler: logs the request, applies a fault, checks the token and the
 * 403 mode, routes (discovery, core resources, EndpointSlices: get, list, watch, Tables for
 * kubectl) and answers as the API server would. A throw becomes a 500 Status; a client gone
 * mid-answer is ignored.
 */
export function createRequestHandler(ctx: RequestHandlerContext): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { cluster, store, watches, state, since, later } = ctx;
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    store.sync();
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const watch = query.watch === '1' || query.watch === 'true';
    const auth = req.headers.authorization;
    const presented = auth?.startsWith('Bearer ') ? auth.slice(7) : null;
    const entry: ApiRequestLogEntry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      watch,
      resourceVersion: query.resourceVersion ?? null,
      token: presented,
      status: null,
      faults: [],
      time: Date.now(),
    };
    const { requests } = state;
    requests.push(entry);
    if (requests.length > REQUEST_LOG_LIMIT) requests.splice(0, requests.length - REQUEST_LOG_LIMIT);
    const reply = (code: number, body: unknown): void => {
      entry.status = code;
      sendJson(res, code, body);
    };
    const replyStatus = (r: StatusReply): void => reply(r.code, r.body);

    const fault = state.faults.find((f) => f.remaining > 0 && (f.on === undefined || f.on === (watch ? 'watch' : 'list')));
    let delayMs = 0;
    if (fault) {
      fault.remaining--;
      state.faults = state.faults.filter((f) => f.remaining > 0);
      if (fault.reset) {
        entry.faults.push('reset');
        req.socket.destroy();
        return;
      }
      if (fault.status !== undefined) {
        entry.faults.push('status');
        const reason = REASONS[fault.status] ?? 'InternalError';
        const message = fault.status === 410 ? `too old resource version: ${query.resourceVersion ?? ''} (${store.resourceVersion})` : `injected fault ${fault.status}`;
        reply(fault.status, status(fault.status, reason, message));
        return;
      }
      if (fault.delayMs !== undefined) {
        entry.faults.push('delayMs');
        delayMs = fault.delayMs;
      }
    }

    if ((state.token !== null && presented !== state.token) || presentsRevoked(req.socket, state.revoked)) {
      reply(401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const target = route(url.pathname);
    if (target.kind === 'badPath') {
      replyStatus(failure(400, `bad path ${url.pathname}`));
      return;
    }
    if (req.method !== 'GET') {
      reply(405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
      return;
    }
    if (target.kind === 'discovery') {
      reply(200, discoveryDocument(target.path, ctx.authority()));
      return;
    }
    if (target.kind === 'notFound' || (target.kind === 'slices' && target.namespace === null && target.name !== null)) {
      reply(404, status(404, 'NotFound', 'the server could not find the requested resource', {}));
      return;
    }
    const { namespace, name } = target;
    const resource = target.kind === 'slices' ? 'endpointslices' : target.resource;
    const group = target.kind === 'slices' ? 'discovery.k8s.io' : '';
    const verb = name !== null ? 'get' : watch ? 'watch' : 'list';
    if (state.forbidden) {
      const scope = namespace !== null ? ` in the namespace "${namespace}"` : ' at the cluster scope';
      const what = group ? `${resource}.${group}` : resource;
      replyStatus(
        failure(403, `${what} is forbidden: User "${userOf(presented)}" cannot ${verb} resource "${resource}" in API group "${group}"${scope}`, {
          group,
          kind: resource,
          ...(name !== null ? { name } : {}),
        }),
      );
      return;
    }
    if (namespace !== null && target.kind === 'slices' && !cluster.namespaces.includes(namespace)) {
      replyStatus(failure(404, `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' }));
      return;
    }
    const parsed = parseListOptions(query, namespace);
    if ('code' in parsed) {
      replyStatus(parsed);
      return;
    }
    if (target.kind === 'core') {
      if (parsed.watch) {
        // Read-only and unwatched here: discovery does not list `watch` for them.
        replyStatus(failure(405, 'the server does not allow this method on the requested resource'));
        return;
      }
      const answer = coreAnswer(cluster, target.resource, namespace, name, parsed, String(store.resourceVersion), since);
      if ('body' in answer) replyStatus(answer);
      else reply(200, answer.text);
      return;
    }
    // kubectl's printing asks for a Table; everything else gets the objects.
    const table = wantsTable(req.headers.accept);
    if (parsed.watch) {
      entry.status = 200;
      watches.open(res, name !== null ? { ...parsed, selector: withName(parsed.selector, name) } : parsed, namespace, delayMs, table ? tableEventLine : null);
      return;
    }
    const answer = name !== null ? getSlice(store, namespace!, name) : listSlices(store, parsed, namespace);
    if ('body' in answer) {
      replyStatus(answer);
      return;
    }
    entry.status = 200;
    const text = table ? sliceTable(answer.items.map((s) => JSON.parse(s.json) as FakeEndpointSlice), answer.metadata) : answer.text;
    if (delayMs > 0) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      later(delayMs, () => res.end(text));
    } else {
      sendJson(res, 200, text);
    }
  };

  return (req, res) => {
    // A client gone mid-answer is normal here (faults, drops); it must not crash the test process.
    res.on('error', () => {});
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, status(500, 'InternalError', `fake API failure: ${(err as Error).message}`));
      else res.destroy();
    }
  };
}

/** A watch of one object by name (`/endpointslices/<name>?watch=1`) is a watch with `metadata.name=<name>`. */
function withName(selector: ((meta: SliceMeta) => boolean) | null, name: string): (meta: SliceMeta) => boolean {
  return (meta) => meta.name === name && (selector === null || selector(meta));
}
