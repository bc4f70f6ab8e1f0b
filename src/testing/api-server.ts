import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, isIPv6 } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestCluster } from './cluster.js';
import { createFakeApiTls } from './api-tls.js';
import type { FakeClientCertificate, FakeKubeconfigOptions } from './api-tls.js';
import { coreAnswer } from './api/core.js';
import { discoveryDocument } from './api/discovery.js';
import { kubeconfigText } from './api/kubeconfig.js';
import { parseListOptions } from './api/list-options.js';
import { getSlice, listSlices } from './api/lists.js';
import type { FakeEndpointSlice } from './api/resources.js';
import { timestamp } from './api/resources.js';
import { route } from './api/routes.js';
import type { SliceMeta } from './api/store.js';
import { SliceStore } from './api/store.js';
import { failure, REASONS, status, userOf } from './api/status.js';
import type { StatusReply } from './api/status.js';
import { sliceTable, tableEventLine, wantsTable } from './api/table.js';
import { WatchHub } from './api/watch.js';

export type { FakeEndpointSlice } from './api/resources.js';

const run = promisify(execFile);

/** What {@link createFakeKubernetesApi} takes. */
export interface FakeKubernetesApiOptions {
  /** The model to serve; every change becomes watch events at once. */
  cluster: TestCluster;
  /** Serve HTTPS with a certificate signed by a CA made for this server (see {@link FakeKubernetesApi.ca}); needs `openssl`. */
  tls?: boolean;
  /** Bearer token every request must carry (default: none checked). */
  token?: string;
  /** Require a TLS client certificate signed by a client CA made for this server (needs `tls`; see {@link FakeKubernetesApi.clientCertificate}). */
  clientCertificate?: boolean;
  /** Address to listen on (default 127.0.0.1; `::1` for IPv6). */
  host?: string;
  /** Port (default 0: a free one, kept across stop/start). */
  port?: number;
  /** Endpoints per EndpointSlice (default 100, as the EndpointSlice controller). */
  maxEndpointsPerSlice?: number;
  /** Send a BOOKMARK to every watch that allows them this often, ms (default: only on {@link FakeKubernetesApi.bookmark}). */
  bookmarkIntervalMs?: number;
  /** Answer 403 Forbidden to every request that passes authentication (as without RBAC). */
  forbidden?: boolean;
  /** Watch events kept for watches that resume (default 10,000); older versions get 410 Gone. */
  historyLimit?: number;
}

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

/** A Kubernetes API server on loopback serving a {@link TestCluster}'s EndpointSlices. See {@link createFakeKubernetesApi}. */
export interface FakeKubernetesApi {
  /** `http://127.0.0.1:40123` or `https://...`: pass as `kubernetes.url`. */
  readonly url: string;
  /** PEM of the CA that signed the server's certificate (tls only): pass as `kubernetes.ca`. */
  readonly ca: string | undefined;
  readonly host: string;
  readonly port: number;
  /** Every request, oldest first (the last 10,000). A live array: `requests.length = 0` clears it. */
  readonly requests: ApiRequestLogEntry[];
  /** The newest resourceVersion. */
  readonly resourceVersion: string;
  /** Watch streams open now. */
  readonly openWatches: number;
  /** True while listening. */
  readonly listening: boolean;
  /** The current slices (of one namespace / Service when given), as a list would return them (key order: namespace, name). */
  slices(namespace?: string, service?: string): FakeEndpointSlice[];
  /** Forgets the event history: watches from older resourceVersions get an ERROR 410 event, continue tokens of older lists a 410 Expired. */
  compact(): void;
  /** The token requests must carry from now on (null: none checked). Open watches stay open. */
  setToken(token: string | null): void;
  /** Turns the 403 Forbidden mode on or off. */
  setForbidden(forbidden: boolean): void;
  /** Adds a fault for the next matching requests. */
  fail(fault: ApiFault): void;
  /** Removes every fault. */
  clearFaults(): void;
  /** Sends a BOOKMARK with the newest resourceVersion to every watch that allows bookmarks. */
  bookmark(): void;
  /** Ends every watch stream normally, as the API server does at a watch's timeoutSeconds. */
  endWatches(): void;
  /** Destroys every watch connection mid-stream. */
  dropWatches(): void;
  /** Closes the listener and every connection; the port is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port after {@link stop}. */
  start(): Promise<void>;
  /** Closes everything; nothing keeps the event loop alive afterwards. */
  close(): Promise<void>;
  /** The client certificate the server requires (`clientCertificate: true`), else undefined. */
  readonly clientCertificate: FakeClientCertificate | undefined;
  /**
   * Writes a kubeconfig for this server (server, CA data, token, token file, client certificate
   * or exec plugin) to a temp file removed by close(); resolves to its path: `KUBECONFIG=<path>`.
   */
  kubeconfig(options?: FakeKubeconfigOptions): Promise<string>;
  /**
   * A kubeconfig (YAML text) for this server, as kubectl and client libraries read it: the URL,
   * the CA (tls), the token (default: the one the server checks) and a context with `namespace`.
   */
  kubeconfigText(options?: { namespace?: string; token?: string }): string;
}

interface ActiveFault extends ApiFault {
  remaining: number;
}

const REQUEST_LOG_LIMIT = 10_000;

/** Makes a CA and a server certificate for 127.0.0.1, ::1, localhost (and `host`) with `openssl`, in a temp dir removed at once. */
async function makeCertificates(host: string): Promise<{ ca: string; key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'headless-sd-api-'));
  const path = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const sans = new Set(['IP:127.0.0.1', 'IP:::1', 'DNS:localhost']);
  if (isIP(host)) sans.add(`IP:${host}`);
  else sans.add(`DNS:${host}`);
  try {
    await run('openssl', [
      'req', '-x509', ...ec, '-keyout', path('ca.key'), '-out', path('ca.crt'), '-days', '2',
      '-subj', '/CN=headless-sd test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', ['req', ...ec, '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', '/CN=localhost']);
    await writeFile(
      path('server.ext'),
      `subjectAltName=${[...sans].join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
    );
    await run('openssl', [
      'x509', '-req', '-in', path('server.csr'), '-CA', path('ca.crt'), '-CAkey', path('ca.key'),
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', path('server.ext'), '-out', path('server.crt'),
    ]);
    const [ca, key, cert] = await Promise.all(['ca.crt', 'server.key', 'server.crt'].map((f) => readFile(path(f), 'utf8')));
    return { ca: ca!, key: key!, cert: cert! };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('createFakeKubernetesApi({ tls: true }) needs the openssl command (apt-get install openssl)', { cause: err });
    throw new Error(`openssl failed to make the test certificates: ${e.stderr?.trim() || e.message}`, { cause: err });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `http(s)://host:port` with brackets around an IPv6 host. */
function urlOf(tls: boolean, host: string, port: number): string {
  return `${tls ? 'https' : 'http'}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * A fake Kubernetes API server over a {@link TestCluster}, on loopback, that real clients can use:
 * kubectl (`get endpointslices [-w] [-o json]`, with the columns kubectl shows) and client
 * libraries such as `@kubernetes/client-node` (list, watch, informers). It serves discovery
 * (`/version`, `/api`, `/apis`), EndpointSlices per namespace and cluster-wide, get by name,
 * `limit`/`continue` pages (410 Expired once the token's version is compacted), label selectors
 * in the full grammar and `metadata.name`/`metadata.namespace` field selectors, watches with
 * bookmarks and watch-list (`sendInitialEvents` with the `k8s.io/initial-events-end` bookmark),
 * the 400/422 a real server gives for bad parameters, and the model's namespaces, Services and
 * pods read-only. Faults for tests; HTTP or HTTPS (`tls: true`); `kubeconfig()` writes a
 * kubeconfig for it (`kubeconfigText()` gives its text).
 *
 * ```ts
 * const api = await createFakeKubernetesApi({ cluster, tls: true, token: 't' });
 * await peers('nginx', { source: 'kubernetes', kubernetes: { url: api.url, ca: api.ca, token: 't' } });
 * const path = await api.kubeconfig(); // KUBECONFIG=<path> kubectl get endpointslices
 * ```
 */
export async function createFakeKubernetesApi(options: FakeKubernetesApiOptions): Promise<FakeKubernetesApi> {
  const { cluster } = options;
  const host = options.host ?? '127.0.0.1';
  const max = options.maxEndpointsPerSlice ?? 100;
  if (!Number.isInteger(max) || max < 1 || max > 1000) throw new RangeError(`maxEndpointsPerSlice must be an integer in 1..1000, got ${max}`);
  const tls = options.tls ?? false;
  const certs = tls ? await makeCertificates(host) : null;
  const extras = await createFakeApiTls({ requireClientCert: options.clientCertificate, tls });
  // Namespaces and Services have no creation time in the model: they are as old as the server.
  const since = timestamp();

  let token = options.token ?? null;
  let forbidden = options.forbidden ?? false;
  let faults: ActiveFault[] = [];
  const requests: ApiRequestLogEntry[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let closed = false;

  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };
  const clearLater = (t: NodeJS.Timeout): void => {
    clearTimeout(t);
    timers.delete(t);
  };
  const watches: WatchHub = new WatchHub(() => store, later, clearLater);
  const store = new SliceStore(cluster, max, options.historyLimit ?? 10_000, (event) => watches.publish(event));
  let scheduled = false;
  const onChange = (): void => {
    store.markDirty();
    // Changes made together (a scale to 50) become one sync, as the controller batches them.
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        if (!closed) store.sync();
      });
    }
  };
  cluster.on('change', onChange);
  store.sync();

  const sendJson = (res: http.ServerResponse, code: number, body: unknown): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

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
    requests.push(entry);
    if (requests.length > REQUEST_LOG_LIMIT) requests.splice(0, requests.length - REQUEST_LOG_LIMIT);
    const reply = (code: number, body: unknown): void => {
      entry.status = code;
      sendJson(res, code, body);
    };
    const replyStatus = (r: StatusReply): void => reply(r.code, r.body);

    const fault = faults.find((f) => f.remaining > 0 && (f.on === undefined || f.on === (watch ? 'watch' : 'list')));
    let delayMs = 0;
    if (fault) {
      fault.remaining--;
      faults = faults.filter((f) => f.remaining > 0);
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

    if (token !== null && presented !== token) {
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
      reply(200, discoveryDocument(target.path, `${host.includes(':') ? `[${host}]` : host}:${port}`));
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
    if (forbidden) {
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

  const guarded = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // A client gone mid-answer is normal here (faults, drops); it must not crash the test process.
    res.on('error', () => {});
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, status(500, 'InternalError', `fake API failure: ${(err as Error).message}`));
      else res.destroy();
    }
  };
  const server: http.Server | https.Server = certs ? https.createServer({ key: certs.key, cert: certs.cert, ...extras.serverOptions }, guarded) : http.createServer(guarded);
  server.on(certs ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A TLS handshake the client refuses (bad CA) is the client's business, not a server error.
  server.on('tlsClientError', () => {});
  server.on('clientError', (_err, socket) => socket.destroy());

  let port = options.port ?? 0;
  let listening = false;
  const listen = async (): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as { port: number }).port;
    listening = true;
  };
  let bookmarkTimer: NodeJS.Timeout | null = null;
  const startBookmarks = (): void => {
    if (options.bookmarkIntervalMs !== undefined && options.bookmarkIntervalMs > 0) {
      bookmarkTimer = setInterval(() => api.bookmark(), options.bookmarkIntervalMs);
    }
  };
  const stopServer = async (): Promise<void> => {
    if (bookmarkTimer) clearInterval(bookmarkTimer);
    bookmarkTimer = null;
    watches.clear();
    for (const t of timers) clearTimeout(t);
    timers.clear();
    if (!listening) return;
    listening = false;
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    server.closeAllConnections();
    await done;
  };

  await listen();
  startBookmarks();

  const api: FakeKubernetesApi = {
    get url() {
      return urlOf(tls, host, port);
    },
    ca: certs?.ca,
    host,
    get port() {
      return port;
    },
    requests,
    get resourceVersion() {
      store.sync();
      return String(store.resourceVersion);
    },
    get openWatches() {
      return watches.size;
    },
    get listening() {
      return listening;
    },
    slices: (namespace, service) => store.slices(namespace, service).map((s) => structuredClone(s)),
    compact: () => store.compact(),
    setToken: (t) => {
      token = t;
    },
    setForbidden: (on) => {
      forbidden = on;
    },
    fail: (fault) => {
      faults.push({ ...fault, remaining: fault.count ?? Number.POSITIVE_INFINITY });
    },
    clearFaults: () => {
      faults = [];
    },
    bookmark: () => {
      store.sync();
      watches.bookmark();
    },
    endWatches: () => watches.endAll(),
    dropWatches: () => watches.endAll(true),
    stop: stopServer,
    clientCertificate: extras.client,
    kubeconfig: (o) => extras.kubeconfig({ url: urlOf(tls, host, port), ca: certs?.ca, token }, o),
    start: async () => {
      if (closed) throw new Error('the fake Kubernetes API is closed');
      if (listening) return;
      await listen();
      startBookmarks();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      cluster.off('change', onChange);
      await stopServer();
      await extras.cleanup();
    },
    kubeconfigText: (opts = {}) => {
      const t = opts.token ?? token;
      return kubeconfigText({ server: api.url, ...(certs ? { ca: certs.ca } : {}), ...(t !== null ? { token: t } : {}), ...(opts.namespace ? { namespace: opts.namespace } : {}) });
    },
  };
  return api;
}

/** A watch of one object by name (`/endpointslices/<name>?watch=1`) is a watch with `metadata.name=<name>`. */
function withName(selector: ((meta: SliceMeta) => boolean) | null, name: string): (meta: SliceMeta) => boolean {
  return (meta) => meta.name === name && (selector === null || selector(meta));
}
