import { Agent } from './undici.js';
import type { Dispatcher } from './undici.js';
import { checkFamily, checkPort, checkProtocol } from '../peer/index.js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import { localIdentity } from '../peer/index.js';
import type { Peer, PeerChange, SelfIdentity } from '../peer/index.js';
import { EndpointSliceClient } from './client.js';
import type { EndpointSliceTarget, SliceEvent } from './client.js';
import { agentConnect } from './auth.js';
import { defaultNamespace, loadKubernetesConfig } from './config.js';
import { checkApiTimeout, checkListOptions } from './check-options.js';
import type { KubernetesConfig, KubernetesOptions } from './config.js';
import { SlicePeerRuns } from './endpoint-slices.js';
import type { SlicePeerOptions } from './endpoint-slices.js';
import { KubernetesApiError } from './errors.js';
import { listPages } from './list.js';
import { DNS_1035_LABEL, DNS_LABEL } from './names.js';
import { ListWatch } from './list-watch.js';
import type { ListWatchStats, SliceReset } from './list-watch.js';
import { EndpointSliceIndex } from './slice-index.js';
import type { PeerDelta } from './slice-index.js';

export type { KubernetesOptions } from './config.js';

/** Options of {@link listKubernetesPeers} and {@link EndpointSliceWatch}. */
export interface KubernetesSourceOptions {
  /** Service name: 'nginx'; 'nginx.default' or 'nginx.default.svc.cluster.local' also name the namespace (and cluster domain). */
  service: string;
  /** Default: the one in `service`, else the namespace file, else POD_NAMESPACE, else 'default'. */
  namespace?: string;
  /** A port name (looked up in each slice's ports), a number (set on every peer), or null/omitted (`port: null`). */
  port?: string | number | null;
  /** Protocol of a named port (default 'tcp'). */
  protocol?: 'tcp' | 'udp' | 'sctp';
  /** 4, 6, or 0 for both (default). */
  family?: 0 | 4 | 6;
  /** Include endpoints that are not ready (all but terminating ones that stopped serving). */
  includeNotReady?: boolean;
  /** Default: the one in `service`, else 'cluster.local'. */
  clusterDomain?: string;
  /** API access (default: in-cluster config). */
  kubernetes?: KubernetesOptions;
  /** Aborts the list (and closes a watch). */
  signal?: AbortSignal;
  /** ms for each list request (default 30,000). */
  timeout?: number;
  /** undici dispatcher to send requests with (not closed by this package). Default: an Agent the source owns and closes. */
  dispatcher?: Dispatcher;
  /** Slices per list page (`limit`; default 100, list.ts's DEFAULT_PAGE_SIZE); 0 lists in one request. Default: `kubernetes.pageSize`. */
  pageSize?: number;
  /** Largest list answer read, bytes (default 256 MiB); a larger one fails with EBADRESP instead of filling memory. Default: `kubernetes.maxListBytes`. */
  maxListBytes?: number;
}

/** Default ms of a list request. */
export const DEFAULT_LIST_TIMEOUT = 30_000;

/** A Service name split into its parts: 'nginx.db.svc.cluster.local' -> nginx, db, cluster.local. */
export interface ServiceRef {
  service: string;
  namespace: string | undefined;
  clusterDomain: string | undefined;
}

/** Splits `nginx`, `nginx.ns`, `nginx.ns.svc` or `nginx.ns.svc.<domain>[.]` into Service, namespace and cluster domain. */
export function parseServiceRef(name: string): ServiceRef {
  if (typeof name !== 'string') throw new InvalidArgumentError('service', name, 'a Service name');
  const labels = name.toLowerCase().replace(/\.$/, '').split('.');
  const [service = '', namespace, svc, ...domain] = labels;
  const expected = "a Service name ('nginx', 'nginx.<namespace>' or 'nginx.<namespace>.svc.<cluster domain>')";
  if (!DNS_1035_LABEL.test(service)) throw new InvalidArgumentError('service', name, expected);
  if (namespace !== undefined && !DNS_LABEL.test(namespace)) throw new InvalidArgumentError('service', name, expected);
  if (svc !== undefined && svc !== 'svc') throw new InvalidArgumentError('service', name, expected);
  if (domain.some((l) => l === '')) throw new InvalidArgumentError('service', name, expected);
  return { service, namespace, clusterDomain: domain.length > 0 ? domain.join('.') : undefined };
}

/** The checked, defaulted parts of {@link KubernetesSourceOptions} that do not need the config. */
interface Prepared {
  ref: ServiceRef;
  port: string | number | null;
  protocol: 'tcp' | 'udp' | 'sctp';
  family: 0 | 4 | 6;
  includeNotReady: boolean;
  clusterDomain: string;
  /** The option's, else `kubernetes.pageSize`. */
  pageSize: number | undefined;
  /** The option's, else `kubernetes.maxListBytes`. */
  maxListBytes: number | undefined;
}

function prepare(options: KubernetesSourceOptions): Prepared {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', options, 'an object');
  const ref = parseServiceRef(options.service);
  if (options.namespace !== undefined) {
    if (typeof options.namespace !== 'string' || !DNS_LABEL.test(options.namespace)) {
      throw new InvalidArgumentError('namespace', options.namespace, 'a namespace name (lower case letters, digits, "-")');
    }
    if (ref.namespace !== undefined && ref.namespace !== options.namespace) {
      throw new InvalidArgumentError('namespace', options.namespace, `the namespace named in service "${options.service}" ("${ref.namespace}"), or unset`);
    }
  }
  const clusterDomain = (options.clusterDomain ?? ref.clusterDomain ?? 'cluster.local').toLowerCase().replace(/\.$/, '');
  checkApiTimeout(options.timeout, DEFAULT_LIST_TIMEOUT);
  checkListOptions({ pageSize: options.pageSize, maxListBytes: options.maxListBytes });
  // peers() and watchPeers() pass these in `kubernetes`.
  const api: KubernetesOptions | undefined = options.kubernetes;
  if (typeof api === 'object' && api !== null) checkListOptions(api, 'kubernetes.');
  return {
    ref,
    port: checkPort(options.port),
    protocol: checkProtocol(options.protocol),
    family: checkFamily(options.family),
    includeNotReady: options.includeNotReady ?? false,
    clusterDomain,
    pageSize: options.pageSize ?? api?.pageSize,
    maxListBytes: options.maxListBytes ?? api?.maxListBytes,
  };
}

/** Longest delay a Node timer takes (longer ones are cut to 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Rejects a number option that is not an integer in [min, max] (unset is fine). */
function checkCount(name: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(name, value, `an integer from ${min} to ${max}`);
  }
}

/** Rejects a duration that a timer cannot keep: not a finite number, negative (or 0 unless `zero`), above 2^31-1 ms. */
function checkMs(name: string, value: unknown, zero: boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!zero && value === 0) || value > MAX_TIMER_MS) {
    throw new InvalidArgumentError(name, value, `a number of milliseconds ${zero ? '>= 0' : '> 0'} and <= ${MAX_TIMER_MS}`);
  }
}

/** True when the caller names the namespace (option or Service name): the config's default is not needed. */
function namespaceNamed(options: KubernetesSourceOptions, prepared: Prepared): boolean {
  return options.namespace !== undefined || prepared.ref.namespace !== undefined;
}

/** The namespace: the option, the service name's, the namespace file's (or kubeconfig's), POD_NAMESPACE, else 'default'. */
function namespaceOf(options: KubernetesSourceOptions, prepared: Prepared, config: KubernetesConfig): string {
  return options.namespace ?? prepared.ref.namespace ?? defaultNamespace(config);
}

function sliceOptions(prepared: Prepared, namespace: string): SlicePeerOptions {
  return {
    service: prepared.ref.service,
    namespace,
    clusterDomain: prepared.clusterDomain,
    port: prepared.port,
    protocol: prepared.protocol,
    family: prepared.family,
    includeNotReady: prepared.includeNotReady,
  };
}

/** An Agent that verifies the server against the config's CA (or the system CAs), with its client certificate. */
function createAgent(config: KubernetesConfig): Agent {
  return new Agent({ connect: agentConnect(config) });
}

/**
 * One list of a Service's EndpointSlices, as a normalized Peer[] (`self` from this
 * machine's addresses and host name). Rejects with {@link KubernetesApiError}.
 */
export async function listKubernetesPeers(options: KubernetesSourceOptions): Promise<Peer[]> {
  const prepared = prepare(options);
  const config = await loadKubernetesConfig(options.kubernetes, process.env, namespaceNamed(options, prepared));
  const namespace = namespaceOf(options, prepared, config);
  const dispatcher = options.dispatcher ?? createAgent(config);
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => (closing ??= dispatcher.destroy().catch(() => {}));
  try {
    const client = new EndpointSliceClient(config, dispatcher, { namespace, service: prepared.ref.service });
    const slicing = sliceOptions(prepared, namespace);
    let self: SelfIdentity | Error | null = null;
    // Each page's slices become their sorted peers as the page arrives, and its JSON goes: a
    // page or two is alive at once, not the list. The slices' runs are merged once, at the end.
    // Set in the page callback: the annotation keeps TypeScript from narrowing it to null here.
    let runs = null as SlicePeerRuns | null;
    const listing = listPages(
      client,
      { signal: options.signal, timeout: options.timeout ?? DEFAULT_LIST_TIMEOUT, pageSize: prepared.pageSize, maxListBytes: prepared.maxListBytes },
      {
        page(items, invalid, last) {
          // A one-shot answer leaves nothing out silently: a slice it cannot read fails the call.
          if (invalid.length > 0) throw invalid[0]!;
          // A failure to read it fails the list (which ends its requests), as it did before it.
          if (self instanceof Error) throw self;
          // Every request is answered: our connection closes while the last page's peers are built.
          if (last && dispatcher !== options.dispatcher) void close();
          runs ??= new SlicePeerRuns(slicing, self!);
          runs.add(items);
        },
        restart() {
          runs = null;
        },
      },
    );
    // This machine's addresses (a system call) are read while the first page is on its way.
    try {
      self = localIdentity();
    } catch (err) {
      self = err instanceof Error ? err : new Error(String(err));
    }
    await listing;
    return runs?.peers() ?? [];
  } finally {
    if (dispatcher !== options.dispatcher) await close();
  }
}

/** What an {@link EndpointSliceWatch} reports to. */
export interface KubernetesPeerListener {
  /**
   * The whole normalized set: after the first list, then after each event that changes it.
   * `change` says what changed from `since`, the `peers` array of the call before (null on
   * the first call, whose change has every peer added).
   */
  onPeers(peers: Peer[], change: PeerChange, since: Peer[] | null): void;
  /** A failure; the watch retries with backoff and keeps the last set. */
  onError(error: KubernetesApiError): void;
}

/** Options of {@link EndpointSliceWatch}: the source's, plus backoff and watch timing. */
export interface EndpointSliceWatchOptions extends KubernetesSourceOptions {
  /** First retry delay after a failure, ms (default 1,000). */
  minBackoff?: number;
  /** Longest retry delay, ms (default 30,000). */
  maxBackoff?: number;
  /** `timeoutSeconds` of each watch request (default: random 300..599 s); the watch resumes when the server ends it. */
  watchTimeout?: number;
  /**
   * Get the initial set through a streaming watch-list (`sendInitialEvents`) where the server
   * offers one (default true); a server without it is remembered and listed instead.
   */
  watchList?: boolean;
}

/** Counters of an {@link EndpointSliceWatch}. */
export interface EndpointSliceWatchStats extends ListWatchStats {
  /** Times a slice's peers were computed: one per changed slice, not per slice of the Service. */
  slicesRecomputed: number;
  /** Slices held. */
  slices: number;
}

/**
 * Lists then watches a Service's EndpointSlices and reports the peer set: `onPeers` after
 * the list and after every event that changes the set (never when nothing changed),
 * `onError` on each failure while it retries. Each slice's peers are kept apart, so one
 * pod's change recomputes its slice only.
 */
export class EndpointSliceWatch {
  readonly #options: EndpointSliceWatchOptions;
  readonly #prepared: Prepared;
  readonly #listener: KubernetesPeerListener;
  readonly #loop: ListWatch;
  #index: EndpointSliceIndex | null = null;
  #last: Peer[] | null = null;
  /** The array handed to the listener last. */
  #given: Peer[] | null = null;
  #agent: Agent | null = null;
  #client: EndpointSliceClient | null = null;
  #closed = false;
  #started = false;
  readonly #onAbort = (): void => this.close();

  constructor(options: EndpointSliceWatchOptions, listener: KubernetesPeerListener) {
    this.#prepared = prepare(options);
    checkMs('minBackoff', options.minBackoff, true);
    checkMs('maxBackoff', options.maxBackoff, true);
    checkCount('watchTimeout', options.watchTimeout, 1, 24 * 3600);
    checkListOptions({ watchList: options.watchList });
    this.#options = options;
    this.#listener = listener;
    this.#loop = new ListWatch(
      (signal) => this.#connect(signal),
      {
        reset: () => this.#reset(),
        apply: (event) => this.#apply(event),
        error: (error) => this.#call(() => this.#listener.onError(error)),
      },
      {
        minBackoff: options.minBackoff ?? 1000,
        maxBackoff: options.maxBackoff ?? 30_000,
        listTimeout: options.timeout ?? DEFAULT_LIST_TIMEOUT,
        watchTimeout: options.watchTimeout,
        pageSize: this.#prepared.pageSize,
        maxListBytes: this.#prepared.maxListBytes,
        watchList: options.watchList ?? options.kubernetes?.watchList,
      },
    );
  }

  /** The last set reported (empty before the first list). */
  get peers(): Peer[] {
    return this.#last ? [...this.#last] : [];
  }

  /** The resourceVersion the watch resumes from. */
  get resourceVersion(): string | null {
    return this.#loop.resourceVersion;
  }

  /** Counters, for tests and diagnostics. */
  get stats(): EndpointSliceWatchStats {
    return { ...this.#loop.stats, slicesRecomputed: this.#index?.recomputed ?? 0, slices: this.#index?.size ?? 0 };
  }

  /** Starts listing and watching (once). */
  start(): void {
    if (this.#closed || this.#started) return;
    this.#started = true;
    const signal = this.#options.signal;
    if (signal?.aborted) {
      this.close();
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#loop.start();
  }

  /** Stops: aborts the request in flight and closes the Agent it owns; nothing keeps the event loop alive. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#loop.close();
    void this.#agent?.destroy().catch(() => {});
    this.#agent = null;
  }

  async #connect(signal: AbortSignal): Promise<EndpointSliceClient> {
    if (this.#client) return this.#client;
    const config = await loadKubernetesConfig(this.#options.kubernetes, process.env, namespaceNamed(this.#options, this.#prepared));
    if (signal.aborted) throw signal.reason;
    const namespace = namespaceOf(this.#options, this.#prepared, config);
    const target: EndpointSliceTarget = { namespace, service: this.#prepared.ref.service };
    let dispatcher: Dispatcher;
    if (this.#options.dispatcher) {
      dispatcher = this.#options.dispatcher;
    } else {
      this.#agent = createAgent(config);
      dispatcher = this.#agent;
    }
    this.#index = new EndpointSliceIndex(sliceOptions(this.#prepared, namespace), localIdentity());
    this.#client = new EndpointSliceClient(config, dispatcher, target);
    return this.#client;
  }

  /** A relist or watch-list: each page's (or event's) peers are computed as it arrives; the set changes (and is reported) once, at its end. */
  #reset(): SliceReset {
    const relist = this.#index!.beginReplace();
    return {
      add: relist.add,
      remove: relist.remove,
      end: () => {
        const delta = relist.end();
        if (this.#last === null) this.#emit(null);
        else if (delta) this.#emit(delta);
      },
    };
  }

  #apply(event: SliceEvent): void {
    const index = this.#index!;
    const delta = event.type === 'DELETED' ? index.delete(event.slice.metadata.name) : index.set(event.slice);
    if (delta) this.#emit(delta);
  }

  /**
   * Reports the index's set with what changed (null: the first set, all added): work in
   * proportion to the change, plus one copy of the set, since the index splices its own array.
   */
  #emit(delta: PeerDelta | null): void {
    const peers = this.#index!.peers.slice();
    this.#last = peers;
    const change: PeerChange = delta ? { peers, ...delta } : { peers, added: peers.slice(), removed: [], updated: [] };
    const since = this.#given;
    this.#given = change.peers;
    this.#call(() => this.#listener.onPeers(change.peers, change, since));
  }

  /** Calls the listener; its exception surfaces as an uncaught one, not as a watch failure. */
  #call(fn: () => void): void {
    if (this.#closed) return;
    try {
      fn();
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
  }
}
