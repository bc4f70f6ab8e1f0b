import http from 'node:http';
import https from 'node:https';
import { isIPv6 } from 'node:net';
import type { Socket } from 'node:net';
import type { TestCluster } from './cluster.js';
import { createFakeApiTls } from './api-tls.js';
import type { FakeClientCertificate, FakeKubeconfigOptions } from './api-tls.js';
import { makeCertificates } from './api/certificates.js';
import { certificateSerial, createRequestHandler } from './api/handler.js';
import type { ApiFault, ApiRequestLogEntry, ApiServerState } from './api/handler.js';
import type { FakeEndpointSlice } from './api/resources.js';
import { timestamp } from './api/resources.js';
import { SliceStore } from './api/store.js';
import { kubeconfigText } from './api/kubeconfig.js';
import { WatchHub } from './api/watch.js';

export type { FakeEndpointSlice } from './api/resources.js';
export type { ApiFault, ApiRequestLogEntry } from './api/handler.js';

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
   * Another client certificate signed by the server's client CA (`clientCertificate: true`),
   * naming `user` (default: the same user as {@link clientCertificate}): a rotated credential.
   */
  issueClientCertificate(user?: string): Promise<FakeClientCertificate>;
  /**
   * From now on, requests over a connection that authenticated with this certificate get 401
   * Unauthorized, as the API server answers an expired or revoked one. TLS still accepts it:
   * the handshake is not where the API server says no. Throws on Bun, whose https server
   * does not show the client certificate.
   */
  revokeClientCertificate(certificate: FakeClientCertificate): void;
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

/** `host:port`, with brackets around an IPv6 host. */
function authorityOf(host: string, port: number): string {
  return `${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/** `http(s)://host:port`. */
function urlOf(tls: boolean, host: string, port: number): string {
  return `${tls ? 'https' : 'http'}://${authorityOf(host, port)}`;
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

  const state: ApiServerState = { token: options.token ?? null, forbidden: options.forbidden ?? false, faults: [], requests: [], revoked: new Set() };
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

  const handler = createRequestHandler({ cluster, store, watches, state, since, later, authority: () => authorityOf(host, port) });
  const server: http.Server | https.Server = certs ? https.createServer({ key: certs.key, cert: certs.cert, ...extras.serverOptions }, handler) : http.createServer(handler);
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
    requests: state.requests,
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
      state.token = t;
    },
    setForbidden: (on) => {
      state.forbidden = on;
    },
    fail: (fault) => {
      state.faults.push({ ...fault, remaining: fault.count ?? Number.POSITIVE_INFINITY });
    },
    clearFaults: () => {
      state.faults = [];
    },
    bookmark: () => {
      store.sync();
      watches.bookmark();
    },
    endWatches: () => watches.endAll(),
    dropWatches: () => watches.endAll(true),
    stop: stopServer,
    clientCertificate: extras.client,
    issueClientCertificate: (user) => extras.issue(user),
    revokeClientCertificate: (certificate) => {
      // Bun's https server sockets have no getPeerCertificate(): the fake could not tell who is revoked.
      if (process.versions.bun !== undefined) throw new Error('revokeClientCertificate() needs a TLS server that shows the client certificate (getPeerCertificate), which Bun lacks');
      state.revoked.add(certificateSerial(certificate.cert));
    },
    kubeconfig: (o) => extras.kubeconfig({ url: urlOf(tls, host, port), ca: certs?.ca, token: state.token }, o),
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
      const t = opts.token ?? state.token;
      return kubeconfigText({ server: api.url, ...(certs ? { ca: certs.ca } : {}), ...(t !== null ? { token: t } : {}), ...(opts.namespace ? { namespace: opts.namespace } : {}) });
    },
  };
  return api;
}
