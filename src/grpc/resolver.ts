import { watchPeers } from '../discovery/watcher.js';
import type { PeerWatcher, WatchPeersOptions } from '../discovery/watcher.js';
import { routablePeers } from '../peer/index.js';
import type { Peer } from '../peer/index.js';
import { parseTarget } from './target.js';
import type { HeadlessTarget } from './target.js';

/** What grpc-js hands a resolver as its target (its `GrpcUri`). */
export interface GrpcTarget {
  scheme?: string;
  authority?: string;
  path: string;
}

/** One address of an endpoint, as grpc-js takes it. */
export interface GrpcAddress {
  host: string;
  port: number;
}

/** An endpoint: the addresses of one peer (two for a dual-stack pod). */
export interface GrpcEndpoint {
  addresses: GrpcAddress[];
}

/** A gRPC status, as a resolver reports a failure. */
export interface GrpcStatus {
  code: number;
  details: string;
  metadata: object;
}

/** The service config a resolver hands over: the load-balancing policy. */
export interface GrpcServiceConfig {
  loadBalancingConfig: Array<Record<string, object>>;
  methodConfig: never[];
}

/** grpc-js 1.10 to 1.13: a listener object. */
export interface ObjectResolverListener {
  onSuccessfulResolution(
    endpoints: GrpcEndpoint[],
    serviceConfig: GrpcServiceConfig | null,
    serviceConfigError: null,
    configSelector: null,
    attributes: Record<string, unknown>,
  ): void;
  onError(error: GrpcStatus): void;
}

/** grpc-js 1.14 on: a function taking `StatusOr` values. */
export type FunctionResolverListener = (
  endpoints: { ok: true; value: GrpcEndpoint[] } | { ok: false; error: GrpcStatus },
  attributes: Record<string, unknown>,
  serviceConfig: { ok: true; value: GrpcServiceConfig } | null,
  resolutionNote: string,
) => boolean | void;

/** Either shape of grpc-js's resolver listener. */
export type ResolverListener = ObjectResolverListener | FunctionResolverListener;

/** What the resolver needs of the grpc-js module: a Metadata class and the UNAVAILABLE code. */
export interface ResolverRuntime {
  Metadata: new () => object;
  unavailable: number;
  /** Registration options under the target's query. */
  defaults: WatchPeersOptions;
  /** Policy handed to the channel unless it has a `grpc.service_config` of its own. */
  loadBalancingPolicy: string;
}

/** The resolver class grpc-js instantiates, one per channel. */
export interface HeadlessResolverClass {
  new (target: GrpcTarget, listener: ResolverListener, channelOptions: Record<string, unknown>): HeadlessResolverInstance;
  getDefaultAuthority(target: GrpcTarget): string;
}

/** A resolver as grpc-js drives it. */
export interface HeadlessResolverInstance {
  updateResolution(): void;
  destroy(): void;
}

/**
 * Builds the resolver class for one registration. Each channel gets a resolver; each resolver
 * a watcher (watchers of the same target share one resolution loop). Every change of the set
 * is handed to the channel at once; errors keep the channel's last set.
 */
export function headlessResolverClass(runtime: ResolverRuntime): HeadlessResolverClass {
  return class HeadlessResolver implements HeadlessResolverInstance {
    readonly #listener: ResolverListener;
    readonly #target: HeadlessTarget | null = null;
    readonly #targetError: Error | null = null;
    readonly #serviceConfig: GrpcServiceConfig | null;
    #watcher: PeerWatcher | null = null;
    #reported = false;

    static getDefaultAuthority(target: GrpcTarget): string {
      return parseTarget(target.authority, target.path, runtime.defaults).authority;
    }

    constructor(target: GrpcTarget, listener: ResolverListener, channelOptions: Record<string, unknown>) {
      this.#listener = listener;
      try {
        this.#target = parseTarget(target.authority, target.path, runtime.defaults);
      } catch (error) {
        this.#targetError = error as Error;
      }
      // A channel's own service config wins: hand over a policy only when it has none.
      this.#serviceConfig = channelOptions['grpc.service_config']
        ? null
        : { loadBalancingConfig: [{ [runtime.loadBalancingPolicy]: {} }], methodConfig: [] };
    }

    updateResolution(): void {
      if (this.#targetError) {
        const error = this.#targetError;
        process.nextTick(() => this.#fail(error));
        return;
      }
      if (this.#watcher === null) {
        this.#start(this.#target!);
        return;
      }
      // The channel asks again when a connection fails: resolve now. A change reaches the
      // channel through the watcher; an unchanged set is not handed over again (each result
      // resets the channel's re-resolution backoff, so repeating it would spin).
      this.#watcher.refresh().catch(() => {}); // Failures reach the watcher's 'error' event.
    }

    destroy(): void {
      this.#watcher?.close();
      this.#watcher = null;
      this.#reported = false;
    }

    #start(target: HeadlessTarget): void {
      let watcher: PeerWatcher;
      try {
        watcher = watchPeers(target.service, { ...runtime.defaults, ...target.options, port: target.port });
      } catch (error) {
        process.nextTick(() => this.#fail(error as Error));
        return;
      }
      this.#watcher = watcher;
      watcher.on('change', (change) => {
        if (this.#watcher === watcher) this.#succeed(change.peers);
      });
      watcher.on('error', (error) => {
        // The last set stays: a failed poll is not an empty Service.
        if (this.#watcher === watcher && !this.#reported) this.#fail(error);
      });
    }

    #succeed(peers: readonly Peer[]): void {
      this.#reported = true;
      const endpoints = toEndpoints(peers);
      const listener = this.#listener;
      if (typeof listener === 'function') {
        listener({ ok: true, value: endpoints }, {}, this.#serviceConfig ? { ok: true, value: this.#serviceConfig } : null, '');
      } else {
        listener.onSuccessfulResolution(endpoints, this.#serviceConfig, null, null, {});
      }
    }

    #fail(error: Error): void {
      const status: GrpcStatus = {
        code: runtime.unavailable,
        details: `headless resolver: ${error.message}`,
        metadata: new runtime.Metadata(),
      };
      const listener = this.#listener;
      if (typeof listener === 'function') listener({ ok: false, error: status }, {}, null, '');
      else listener.onError(status);
    }
  };
}

/** The routable peers as grpc endpoints: one per pod (host and port), with each of its addresses. */
export function toEndpoints(peers: readonly Peer[]): GrpcEndpoint[] {
  const byPod = new Map<string, GrpcEndpoint>();
  for (const peer of routablePeers(peers)) {
    if (peer.port === null) continue;
    const key = `${peer.host ?? peer.address}|${peer.port}`;
    const address = { host: peer.address, port: peer.port };
    const endpoint = byPod.get(key);
    if (endpoint) endpoint.addresses.push(address);
    else byPod.set(key, { addresses: [address] });
  }
  return [...byPod.values()];
}
