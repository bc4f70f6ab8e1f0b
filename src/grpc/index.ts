/**
 * `headless-sd/grpc`: a grpc-js name resolver for headless Services.
 *
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { registerHeadlessResolver } from 'headless-sd/grpc';
 * registerHeadlessResolver();
 * const client = new Greeter('headless:///greeter.default:grpc', grpc.credentials.createInsecure());
 * ```
 * `@grpc/grpc-js` is an optional peer dependency: only this entry loads it.
 */
import * as grpcJs from '@grpc/grpc-js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import { checkDuration } from '../discovery/options.js';
import type { WatchPeersOptions } from '../discovery/watcher.js';
import { checkFamily, checkProtocol } from '../peer/index.js';
import { headlessResolverClass } from './resolver.js';
import type { HeadlessResolverClass } from './resolver.js';

export { parseTarget } from './target.js';
export type { HeadlessTarget } from './target.js';
export { toEndpoints } from './resolver.js';
export type {
  FunctionResolverListener,
  GrpcAddress,
  GrpcEndpoint,
  GrpcServiceConfig,
  GrpcStatus,
  GrpcTarget,
  HeadlessResolverClass,
  HeadlessResolverInstance,
  ObjectResolverListener,
  ResolverListener,
} from './resolver.js';

/**
 * The parts of the `@grpc/grpc-js` module the resolver uses; any version from 1.10 on fits.
 * (Its resolver API is marked experimental: the resolver speaks both listener shapes.)
 */
export interface GrpcModule {
  experimental: { registerResolver(scheme: string, resolverClass: never): void };
  Metadata: new () => object;
  status: { UNAVAILABLE: number };
}

/** Options of {@link registerHeadlessResolver}: watchPeers options for every target, under each target's query. */
export interface HeadlessResolverOptions extends Omit<WatchPeersOptions, 'port' | 'signal'> {
  /** The grpc-js module to register with (default: `@grpc/grpc-js` as this package resolves it). Pass yours when your app has its own copy. */
  grpc?: GrpcModule;
  /** URI scheme (default 'headless'). */
  scheme?: string;
  /**
   * Load-balancing policy handed to channels that have no `grpc.service_config` option
   * (default 'round_robin': every peer gets calls; grpc's default, pick_first, would use one).
   */
  loadBalancingPolicy?: string;
}

const SCHEME = /^[a-z][a-z0-9+.-]*$/;

/**
 * Registers the `headless` scheme with grpc-js. Then a channel for
 * `headless:///<service>[.<namespace>]:<port name or number>` follows the Service's peers:
 * every change of the set reaches the channel at once (with round_robin, a new pod gets
 * calls within TTL + minInterval; a removed or terminating one gets none), a failed
 * resolution keeps the last set, and the channel's shutdown closes the watcher.
 *
 * Options go in the registration (for every target) or the target's query, which wins:
 * `headless:///nginx.default:grpc?servers=127.0.0.1:5300&minInterval=250`
 * (servers, source, namespace, clusterDomain, family, protocol, timeout, attempts,
 * minInterval, maxInterval, includeNotReady, allowEmpty).
 * The channel's default authority is the Service's DNS name (`nginx.default.svc.cluster.local`).
 * Registering again replaces the previous registration of the scheme.
 */
export function registerHeadlessResolver(options: HeadlessResolverOptions = {}): HeadlessResolverClass {
  const { grpc = grpcJs as GrpcModule, scheme = 'headless', loadBalancingPolicy = 'round_robin', ...defaults } = options;
  if (typeof grpc?.experimental?.registerResolver !== 'function' || typeof grpc.Metadata !== 'function') {
    throw new InvalidArgumentError('grpc', grpc, 'the @grpc/grpc-js module (1.10 or later)');
  }
  if (typeof scheme !== 'string' || !SCHEME.test(scheme)) throw new InvalidArgumentError('scheme', scheme, 'a URI scheme');
  if (typeof loadBalancingPolicy !== 'string' || loadBalancingPolicy === '') {
    throw new InvalidArgumentError('loadBalancingPolicy', loadBalancingPolicy, "a policy name such as 'round_robin'");
  }
  // Bad registration options throw here, not in every channel later.
  for (const name of ['minInterval', 'maxInterval', 'timeout'] as const) checkDuration(name, defaults[name], 0);
  checkFamily(defaults.family);
  checkProtocol(defaults.protocol);
  const resolverClass = headlessResolverClass({
    Metadata: grpc.Metadata,
    unavailable: grpc.status.UNAVAILABLE,
    defaults,
    loadBalancingPolicy,
  });
  grpc.experimental.registerResolver(scheme, resolverClass as never);
  return resolverClass;
}
