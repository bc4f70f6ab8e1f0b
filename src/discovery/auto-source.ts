/**
 * `source: 'auto'`: the Kubernetes API when this process may list and watch the Service's
 * EndpointSlices (a config is found and the first list succeeds), else DNS. The choice and
 * its reason are said once (NODE_DEBUG=headless-sd); a watch that is denied or down for
 * longer than maxInterval hands over to DNS for good.
 */
import { debug } from '../dns/diagnostics.js';
import { isKubernetesApiError, KubernetesApiErrorCode } from '../kubernetes/errors.js';
import type { KubernetesApiError } from '../kubernetes/errors.js';
import type { EndpointSliceWatch } from '../kubernetes/source.js';
import type { Peer } from '../peer/index.js';
import { kubernetesSourceOptions, peers } from './resolve.js';
import type { PeersOptions } from './resolve.js';
import type { PeerSink, PeerSource, PeerSourceKind } from './source.js';
import { loadKubernetesSource } from './kubernetes-module.js';

/** Says once which source `auto` uses for a Service, and why. */
function say(service: string, kind: PeerSourceKind, reason: string): void {
  debug('source auto for %s: using %s (%s)', service, kind === 'kubernetes' ? 'the Kubernetes API' : 'DNS', reason);
}

/** Why an API failure sends `auto` to DNS, in a few words. */
function why(error: unknown): string {
  if (!isKubernetesApiError(error)) return String(error);
  switch (error.code) {
    case KubernetesApiErrorCode.CONFIG:
      return `no usable Kubernetes API config: ${error.message}`;
    case KubernetesApiErrorCode.UNAUTHORIZED:
    case KubernetesApiErrorCode.FORBIDDEN:
      return `not allowed to list EndpointSlices (${error.code}): ${error.message}`;
    default:
      return `the EndpointSlice list failed (${error.code}): ${error.message}`;
  }
}

/**
 * One resolution with `source: 'auto'`: the API's list, else (no config, denied, down: any
 * KubernetesApiError but an abort) DNS. An API that answers with an empty Service is believed.
 */
export async function autoPeers(service: string, options: PeersOptions): Promise<Peer[]> {
  let list: Peer[];
  try {
    list = await peers(service, { ...apiOptions(options), source: 'kubernetes' });
  } catch (error) {
    if (!isKubernetesApiError(error) || error.code === KubernetesApiErrorCode.CANCELLED) throw error;
    say(service, 'dns', why(error));
    return peers(service, { ...dnsOptions(options), source: 'dns' });
  }
  say(service, 'kubernetes', 'the EndpointSlice list succeeded');
  return list;
}

/** The options the API source takes: `auto` also carries DNS's (servers, client, ...), which the API path must not see. */
function apiOptions(options: PeersOptions): PeersOptions {
  const { client: _client, servers: _servers, attempts: _attempts, resolvConf: _resolvConf, ...rest } = options;
  return rest;
}

/** The options the DNS source takes: without the API's. */
function dnsOptions(options: PeersOptions): PeersOptions {
  const { kubernetes: _kubernetes, includeNotReady: _includeNotReady, ...rest } = options;
  return rest;
}

/** What an {@link AutoSource} is built from. */
export interface AutoSourceOptions {
  service: string;
  options: PeersOptions;
  intervals: { minInterval: number; maxInterval: number };
  /** Makes the DNS source (it may throw an InvalidArgumentError). */
  dns: () => PeerSource;
}

/**
 * A PeerSource that starts on the API's EndpointSlice watch and falls back to DNS: at once
 * when the first list fails (no config, 401/403, unreachable), later when the watch fails
 * with no progress for longer than maxInterval.
 */
export class AutoSource implements PeerSource {
  readonly #o: AutoSourceOptions;
  #kind: PeerSourceKind | null = null;
  #sink: PeerSink | null = null;
  #watch: EndpointSliceWatch | null = null;
  #dns: PeerSource | null = null;
  #closed = false;
  /** While the watch fails: when it started failing and its progress counter then. */
  #failing: { progress: number; timer: NodeJS.Timeout } | null = null;

  constructor(options: AutoSourceOptions) {
    this.#o = options;
  }

  /** The source in use: null until the first list decides. */
  get kind(): PeerSourceKind | null {
    return this.#kind;
  }

  start(sink: PeerSink): void {
    this.#sink = sink;
    // Loaded on demand, as for source: 'kubernetes'.
    loadKubernetesSource().then(
      (api) => this.#startWatch(api.EndpointSliceWatch),
      (error: unknown) => this.#toDns(why(error)),
    );
  }

  async refresh(): Promise<void> {
    await this.#dns?.refresh();
  }

  close(): void {
    this.#closed = true;
    this.#stopWatch();
    this.#dns?.close();
  }

  #startWatch(Watch: typeof EndpointSliceWatch): void {
    if (this.#closed) return;
    const { service, options, intervals } = this.#o;
    try {
      this.#watch = new Watch(
        { ...kubernetesSourceOptions(service, options), minBackoff: intervals.minInterval, maxBackoff: intervals.maxInterval },
        { onPeers: (list) => this.#onPeers(list), onError: (error) => this.#onError(error) },
      );
    } catch (error) {
      this.#sink!.fail(error as Error);
      return;
    }
    this.#watch.start();
  }

  #onPeers(list: Peer[]): void {
    if (this.#kind === null) {
      this.#kind = 'kubernetes';
      say(this.#o.service, 'kubernetes', 'the EndpointSlice list succeeded');
    }
    this.#sink!.update(list);
  }

  #onError(error: KubernetesApiError): void {
    if (this.#kind === null) {
      // The first list failed: this process cannot use the API for this Service now.
      this.#toDns(why(error));
      return;
    }
    this.#sink!.fail(error);
    const progress = this.#progress();
    if (this.#failing && this.#failing.progress !== progress) this.#clearFailing();
    if (this.#failing) return;
    const timer = setTimeout(() => {
      const failing = this.#failing;
      this.#failing = null;
      if (failing && failing.progress === this.#progress()) {
        this.#toDns(`the EndpointSlice watch failed for longer than maxInterval (${this.#o.intervals.maxInterval} ms): ${why(error)}`);
      }
    }, this.#o.intervals.maxInterval);
    this.#failing = { progress, timer };
  }

  /** Lists and watches the server accepted: moves when the API works again. */
  #progress(): number {
    const stats = this.#watch?.stats;
    return stats ? stats.lists + stats.watches : 0;
  }

  #clearFailing(): void {
    if (this.#failing) clearTimeout(this.#failing.timer);
    this.#failing = null;
  }

  #stopWatch(): void {
    this.#clearFailing();
    this.#watch?.close();
    this.#watch = null;
  }

  #toDns(reason: string): void {
    if (this.#closed || this.#kind === 'dns') return;
    this.#stopWatch();
    this.#kind = 'dns';
    say(this.#o.service, 'dns', reason);
    try {
      this.#dns = this.#o.dns();
    } catch (error) {
      this.#sink!.fail(error as Error);
      return;
    }
    this.#dns.start(this.#sink!);
  }
}
