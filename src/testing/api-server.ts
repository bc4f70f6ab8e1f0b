import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, isIPv6 } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Endpoint, Service, TestCluster } from './cluster.js';
import { createFakeApiTls } from './api-tls.js';
import type { FakeClientCertificate, FakeKubeconfigOptions } from './api-tls.js';

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

/** A discovery.k8s.io/v1 EndpointSlice as the fake API serves it. */
export interface FakeEndpointSlice {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: {
    name: string;
    generateName: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    generation: number;
    labels: Record<string, string>;
    ownerReferences: { apiVersion: 'v1'; kind: 'Service'; name: string; uid: string; controller: true; blockOwnerDeletion: true }[];
  };
  addressType: 'IPv4' | 'IPv6';
  endpoints: {
    addresses: string[];
    conditions: { ready: boolean; serving: boolean; terminating: boolean };
    hostname?: string;
    targetRef: { kind: 'Pod'; name: string; namespace: string; uid: string };
    nodeName: string;
    zone?: string;
  }[];
  ports: { name: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
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
  /** The current slices (of one namespace / Service when given), as a list would return them. */
  slices(namespace?: string, service?: string): FakeEndpointSlice[];
  /** Forgets the event history: watches from older resourceVersions get an ERROR 410 event. */
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
  /** Writes a kubeconfig for this server (server, CA data, token or client certificate) to a temp file; resolves to its path. */
  kubeconfig(options?: FakeKubeconfigOptions): Promise<string>;
}

type AddressType = 'IPv4' | 'IPv6';

interface SliceState {
  name: string;
  addressType: AddressType;
  uid: string;
  /** Pod names, in the order they joined. */
  members: string[];
  generation: number;
  resourceVersion: number;
  /** Content without versions: what "changed" compares. */
  content: string;
  object: FakeEndpointSlice;
  /** `object` serialized. */
  json: string;
}

interface ServiceState {
  namespace: string;
  name: string;
  uid: string;
  slices: SliceState[];
  /** pod name -> slice, per address type. */
  placement: Map<AddressType, Map<string, SliceState>>;
  nextSlice: number;
}

interface HistoryEvent {
  rv: number;
  namespace: string;
  service: string;
  line: string;
}

interface OpenWatch {
  namespace: string;
  /** Service of the label selector; null: every slice of the namespace. */
  service: string | null;
  bookmarks: boolean;
  from: number;
  res: http.ServerResponse;
  timer: NodeJS.Timeout | null;
  /** Live events wait here while a delay fault holds the stream. */
  held: string[] | null;
}

interface ActiveFault extends ApiFault {
  remaining: number;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const FIRST_RESOURCE_VERSION = 1000;
const REQUEST_LOG_LIMIT = 10_000;
// The alphabet of generated name suffixes in Kubernetes (no vowels, no confusable digits).
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

const hash = (text: string): Buffer => createHash('sha256').update(text).digest();
const uidOf = (text: string): string => {
  const h = hash(`uid:${text}`).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};
const suffixOf = (text: string): string => [...hash(text).subarray(0, 5)].map((b) => SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length]).join('');
const familyType = (address: string): AddressType => (isIP(address) === 6 ? 'IPv6' : 'IPv4');

/** A Kubernetes `Status` failure object. */
function status(code: number, reason: string, message: string, details?: Record<string, string>): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  410: 'Expired',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The user a token names (`sub` of a service-account JWT), as the API server would print it. */
function userOf(token: string | null): string {
  if (token === null) return 'system:anonymous';
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
    if (typeof claims.sub === 'string') return claims.sub;
  } catch {
    // Not a JWT: the fake's opaque tokens belong to the default service account.
  }
  return 'system:serviceaccount:default:default';
}

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
 * The EndpointSlices of a cluster, as the EndpointSlice controller keeps them: per Service and
 * address type, slices of at most `max` endpoints; a pod stays in its slice, a new pod goes to
 * the first slice with room, an emptied slice is deleted (a Service with no endpoints keeps one
 * empty slice). Every change gets the next global resourceVersion and a watch event.
 */
class SliceStore {
  readonly #cluster: TestCluster;
  readonly #max: number;
  readonly #historyLimit: number;
  readonly #services = new Map<string, ServiceState>();
  readonly #emit: (event: HistoryEvent) => void;
  #rv = FIRST_RESOURCE_VERSION;
  #compacted = FIRST_RESOURCE_VERSION;
  #history: HistoryEvent[] = [];
  #dirty = true;

  constructor(cluster: TestCluster, max: number, historyLimit: number, emit: (event: HistoryEvent) => void) {
    this.#cluster = cluster;
    this.#max = max;
    this.#historyLimit = historyLimit;
    this.#emit = emit;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** Oldest resourceVersion a watch may resume from. */
  get compactedVersion(): number {
    return this.#compacted;
  }

  markDirty(): void {
    this.#dirty = true;
  }

  get dirty(): boolean {
    return this.#dirty;
  }

  compact(): void {
    this.sync();
    this.#history = [];
    this.#compacted = this.#rv;
  }

  /** History events after `rv` for a namespace (and Service). */
  since(rv: number, namespace: string, service: string | null): HistoryEvent[] {
    return this.#history.filter((e) => e.rv > rv && e.namespace === namespace && (service === null || e.service === service));
  }

  /** Current slices, sorted by Service then name. */
  slices(namespace?: string, service?: string): SliceState[] {
    this.sync();
    const out: SliceState[] = [];
    for (const s of this.#services.values()) {
      if (namespace !== undefined && s.namespace !== namespace) continue;
      if (service !== undefined && s.name !== service) continue;
      out.push(...s.slices);
    }
    return out;
  }

  /** Brings the slices up to the cluster: emits ADDED/MODIFIED/DELETED for what changed. */
  sync(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    const seen = new Set<string>();
    for (const service of this.#cluster.services) {
      const id = `${service.namespace}/${service.name}`;
      seen.add(id);
      let state = this.#services.get(id);
      if (!state) {
        state = { namespace: service.namespace, name: service.name, uid: uidOf(`service/${id}`), slices: [], placement: new Map(), nextSlice: 0 };
        this.#services.set(id, state);
      }
      this.#syncService(state, service, this.#cluster.endpoints(service.name, service.namespace));
    }
    for (const [id, state] of this.#services) {
      if (seen.has(id)) continue;
      for (const slice of state.slices) this.#event('DELETED', state, slice, true);
      this.#services.delete(id);
    }
  }

  #syncService(state: ServiceState, service: Service, endpoints: Endpoint[]): void {
    const byPod = new Map<string, Endpoint>(endpoints.map((e) => [e.pod.name, e]));
    for (const type of ['IPv4', 'IPv6'] as const) {
      let placement = state.placement.get(type);
      if (!placement) {
        placement = new Map();
        state.placement.set(type, placement);
      }
      // Pods gone (or without an address of this type now) leave their slice.
      for (const [pod, slice] of placement) {
        const e = byPod.get(pod);
        if (!e || !e.addresses.some((a) => familyType(a) === type)) {
          placement.delete(pod);
          slice.members = slice.members.filter((m) => m !== pod);
        }
      }
      // New pods join the first slice with room, else a new one.
      for (const e of endpoints) {
        if (placement.has(e.pod.name) || !e.addresses.some((a) => familyType(a) === type)) continue;
        let slice = state.slices.find((s) => s.addressType === type && s.members.length < this.#max);
        if (!slice) {
          slice = this.#newSlice(state, type);
          state.slices.push(slice);
        }
        slice.members.push(e.pod.name);
        placement.set(e.pod.name, slice);
      }
    }
    // Emptied slices go, but a Service always keeps one slice (the controller's placeholder).
    const kept = state.slices.filter((s) => s.members.length > 0);
    if (kept.length === 0) {
      const placeholder = state.slices.find((s) => s.resourceVersion > 0 && s.addressType === 'IPv4') ?? state.slices.find((s) => s.resourceVersion > 0);
      kept.push(placeholder ?? this.#newSlice(state, 'IPv4'));
    }
    for (const slice of state.slices) if (!kept.includes(slice) && slice.resourceVersion > 0) this.#event('DELETED', state, slice, true);
    state.slices = kept;
    for (const slice of kept) this.#render(state, service, slice, byPod);
  }

  #newSlice(state: ServiceState, addressType: AddressType): SliceState {
    const name = `${state.name}-${suffixOf(`${state.namespace}/${state.name}/${state.nextSlice++}`)}`;
    return { name, addressType, uid: uidOf(`slice/${state.namespace}/${name}`), members: [], generation: 0, resourceVersion: 0, content: '', object: null!, json: '' };
  }

  /** Rebuilds a slice's content; a new or changed slice gets a version and an event. */
  #render(state: ServiceState, service: Service, slice: SliceState, byPod: Map<string, Endpoint>): void {
    const type = slice.addressType;
    const endpoints: FakeEndpointSlice['endpoints'] = slice.members.map((pod) => {
      const e = byPod.get(pod)!;
      return {
        addresses: e.addresses.filter((a) => familyType(a) === type),
        // As the controller: ready includes publishNotReadyAddresses; serving is the pod's readiness.
        conditions: { ready: e.published, serving: e.serving, terminating: e.terminating },
        ...(e.hostname ? { hostname: e.hostname } : {}),
        targetRef: { kind: 'Pod' as const, name: pod, namespace: state.namespace, uid: e.pod.uid },
        nodeName: e.nodeName,
        ...(e.zone !== null ? { zone: e.zone } : {}),
      };
    });
    const ports = service.ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol }));
    const labels = { [SERVICE_NAME_LABEL]: state.name, [MANAGED_BY_LABEL]: 'endpointslice-controller.k8s.io' };
    const content = JSON.stringify([type, endpoints, ports, labels]);
    if (content === slice.content) return;
    const added = slice.resourceVersion === 0;
    slice.content = content;
    slice.generation++;
    slice.object = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: slice.name,
        generateName: `${state.name}-`,
        namespace: state.namespace,
        uid: slice.uid,
        resourceVersion: '',
        generation: slice.generation,
        labels,
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: state.name, uid: state.uid, controller: true, blockOwnerDeletion: true }],
      },
      addressType: type,
      endpoints,
      ports,
    };
    this.#event(added ? 'ADDED' : 'MODIFIED', state, slice, false);
  }

  #event(type: 'ADDED' | 'MODIFIED' | 'DELETED', state: ServiceState, slice: SliceState, deleted: boolean): void {
    const rv = ++this.#rv;
    slice.resourceVersion = rv;
    slice.object.metadata.resourceVersion = String(rv);
    slice.json = JSON.stringify(slice.object);
    const event: HistoryEvent = { rv, namespace: state.namespace, service: state.name, line: `{"type":"${type}","object":${slice.json}}\n` };
    if (deleted) slice.members = [];
    this.#history.push(event);
    if (this.#history.length > this.#historyLimit) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historyLimit);
      this.#compacted = dropped.at(-1)!.rv;
    }
    this.#emit(event);
  }
}

/**
 * A fake Kubernetes API server over a {@link TestCluster}: the EndpointSlice list and watch of
 * `/apis/discovery.k8s.io/v1/namespaces/<ns>/endpointslices` as the real one answers them
 * (Status objects for 401/403/404/410, NDJSON watch events, bookmarks, resourceVersions),
 * with faults for tests. HTTP or HTTPS (`tls: true`) on loopback.
 *
 * ```ts
 * const api = await createFakeKubernetesApi({ cluster, tls: true, token: 't' });
 * await peers('nginx', { source: 'kubernetes', kubernetes: { url: api.url, ca: api.ca, token: 't' } });
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

  let token = options.token ?? null;
  let forbidden = options.forbidden ?? false;
  let faults: ActiveFault[] = [];
  const requests: ApiRequestLogEntry[] = [];
  const watches = new Set<OpenWatch>();
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let closed = false;

  const write = (w: OpenWatch, line: string): void => {
    if (w.held) w.held.push(line);
    else if (!w.res.writableEnded && !w.res.destroyed) w.res.write(line);
  };
  const store = new SliceStore(cluster, max, options.historyLimit ?? 10_000, (event) => {
    for (const w of watches) {
      if (w.namespace === event.namespace && (w.service === null || w.service === event.service)) write(w, event.line);
    }
  });
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

  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };

  const sendJson = (res: http.ServerResponse, code: number, body: unknown): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const endWatch = (w: OpenWatch): void => {
    watches.delete(w);
    if (w.timer) {
      clearTimeout(w.timer);
      timers.delete(w.timer);
    }
  };

  const bookmarkLine = (): string =>
    `${JSON.stringify({
      type: 'BOOKMARK',
      object: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: String(store.resourceVersion) } },
    })}\n`;

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
    const m = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/.exec(url.pathname);
    if (!m) {
      reply(404, status(404, 'NotFound', 'the server could not find the requested resource', {}));
      return;
    }
    let namespace: string;
    try {
      namespace = decodeURIComponent(m[1]!);
    } catch {
      reply(400, status(400, 'BadRequest', `bad namespace in ${url.pathname}`));
      return;
    }
    const verb = watch ? 'watch' : 'list';
    if (req.method !== 'GET') {
      reply(405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
      return;
    }
    if (forbidden) {
      reply(
        403,
        status(
          403,
          'Forbidden',
          `endpointslices.discovery.k8s.io is forbidden: User "${userOf(presented)}" cannot ${verb} resource "endpointslices" in API group "discovery.k8s.io" in the namespace "${namespace}"`,
          { group: 'discovery.k8s.io', kind: 'endpointslices' },
        ),
      );
      return;
    }
    if (!cluster.namespaces.includes(namespace)) {
      reply(404, status(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' }));
      return;
    }
    let service: string | null = null;
    if (query.labelSelector !== undefined && query.labelSelector !== '') {
      const sel = /^kubernetes\.io\/service-name(?:==?)([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(query.labelSelector);
      if (!sel) {
        reply(400, status(400, 'BadRequest', `unable to parse requirement: the fake API supports only ${SERVICE_NAME_LABEL}=<name>, got "${query.labelSelector}"`));
        return;
      }
      service = sel[1]!;
    }

    if (!watch) {
      const items = store.slices(namespace, service ?? undefined).map((s) => s.json);
      const body = `{"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"${store.resourceVersion}"},"items":[${items.join(',')}]}`;
      entry.status = 200;
      if (delayMs > 0) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        later(delayMs, () => res.end(body));
      } else {
        sendJson(res, 200, body);
      }
      return;
    }

    const rvParam = query.resourceVersion;
    let from: number;
    let initial: string[] = [];
    if (rvParam === undefined || rvParam === '' || rvParam === '0') {
      // No version: synthetic ADDED events for what exists, then changes.
      from = store.resourceVersion;
      initial = store.slices(namespace, service ?? undefined).map((s) => `{"type":"ADDED","object":${s.json}}\n`);
    } else if (/^\d+$/.test(rvParam)) {
      from = Number(rvParam);
    } else {
      reply(400, status(400, 'BadRequest', `invalid resourceVersion "${rvParam}"`));
      return;
    }
    entry.status = 200;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    if (from < store.compactedVersion) {
      // As the API server: the watch is accepted, then an ERROR event says the version is gone.
      const gone = status(410, 'Expired', `too old resource version: ${from} (${store.compactedVersion})`);
      res.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
      return;
    }
    const w: OpenWatch = {
      namespace,
      service,
      bookmarks: query.allowWatchBookmarks === 'true' || query.allowWatchBookmarks === '1',
      from,
      res,
      timer: null,
      held: delayMs > 0 ? [] : null,
    };
    watches.add(w);
    res.on('close', () => endWatch(w));
    const seconds = query.timeoutSeconds !== undefined ? Number(query.timeoutSeconds) : 1800;
    if (Number.isFinite(seconds) && seconds > 0) {
      w.timer = later(seconds * 1000, () => {
        if (w.bookmarks && !res.writableEnded) write(w, bookmarkLine());
        endWatch(w);
        res.end();
      });
    }
    for (const line of initial) write(w, line);
    for (const e of store.since(from, namespace, service)) write(w, e.line);
    if (w.held) {
      later(delayMs, () => {
        const held = w.held ?? [];
        w.held = null;
        if (!res.writableEnded && !res.destroyed) for (const line of held) res.write(line);
      });
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
    for (const w of [...watches]) endWatch(w);
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
    slices: (namespace, service) => store.slices(namespace, service).map((s) => structuredClone(s.object)),
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
      const line = bookmarkLine();
      for (const w of watches) if (w.bookmarks) write(w, line);
    },
    endWatches: () => {
      for (const w of [...watches]) {
        endWatch(w);
        w.res.end();
      }
    },
    dropWatches: () => {
      for (const w of [...watches]) {
        endWatch(w);
        w.res.socket?.destroy();
      }
    },
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
  };
  return api;
}
