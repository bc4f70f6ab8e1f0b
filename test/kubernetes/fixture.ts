import { makePeer, normalizePeers } from '../../src/peer/index.ts';
import type { Peer, SelfIdentity } from '../../src/peer/index.ts';
import { EndpointSliceWatch } from '../../src/kubernetes/source.ts';
import type { EndpointSliceWatchOptions, KubernetesOptions } from '../../src/kubernetes/source.ts';
import type { KubernetesApiError } from '../../src/kubernetes/errors.ts';
import { createFakeKubernetesApi, createTestCluster } from '../../src/testing/index.ts';
import type { FakeKubernetesApi, FakeKubernetesApiOptions, IpFamilies, StatefulSet, TestCluster } from '../../src/testing/index.ts';
import { until } from '../helpers/handles.ts';

/** A cluster with headless Service `nginx` (port `web` 80/TCP), StatefulSet `web` behind it, and the fake API over it. */
export interface ApiFixture {
  cluster: TestCluster;
  set: StatefulSet;
  api: FakeKubernetesApi;
  /** What to pass as `kubernetes`. */
  kubernetes: KubernetesOptions;
  close(): Promise<void>;
}

export async function apiFixture(
  options: { replicas?: number; ipFamilies?: IpFamilies; publishNotReadyAddresses?: boolean } & Omit<FakeKubernetesApiOptions, 'cluster'> = {},
): Promise<ApiFixture> {
  const { replicas = 3, ipFamilies, publishNotReadyAddresses, ...apiOptions } = options;
  const cluster = await createTestCluster(ipFamilies ? { ipFamilies } : {});
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }], publishNotReadyAddresses: publishNotReadyAddresses ?? false });
  const set = cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas });
  const api = await createFakeKubernetesApi({ cluster, ...apiOptions });
  const kubernetes: KubernetesOptions = { url: api.url, ...(api.ca ? { ca: api.ca } : {}), ...(apiOptions.token ? { token: apiOptions.token } : {}) };
  return { cluster, set, api, kubernetes, close: () => api.close() };
}

/** Nobody is this test's own pod. */
export const NOBODY: SelfIdentity = { addresses: new Set(), hostname: 'test-runner-not-a-pod' };

/** The peers the model says service `nginx` (default namespace) has: published endpoints, port `web` (80). */
export function expectedPeers(cluster: TestCluster, port: number | null = 80, service = 'nginx', namespace = 'default'): Peer[] {
  const out: Peer[] = [];
  for (const e of cluster.endpoints(service, namespace)) {
    if (!e.published) continue;
    const host = e.hostname ? `${e.hostname}.${service}.${namespace}.svc.${cluster.clusterDomain}` : null;
    for (const address of e.addresses) out.push(makePeer({ host, address, port, ttl: 0 }, NOBODY));
  }
  return normalizePeers(out);
}

/** `host|address|port` of each peer, in order. */
export const keysOf = (peers: readonly Peer[]): string[] => peers.map((p) => `${p.host ?? ''}|${p.address}|${p.port ?? ''}`);
export const namesOf = (peers: readonly Peer[]): (string | null)[] => peers.map((p) => p.name);

/** An EndpointSliceWatch whose reports are recorded. */
export interface Recorder {
  watch: EndpointSliceWatch;
  /** Every set reported, in order. */
  sets: Peer[][];
  errors: KubernetesApiError[];
  /** The last set reported. */
  readonly last: Peer[] | undefined;
  /** Waits until `sets` has `count` entries. */
  waitForSets(count: number, what: string): Promise<Peer[]>;
  waitForErrors(count: number, what: string): Promise<void>;
}

/** Starts a watch of `nginx` port `web` and records what it reports. */
export function recordWatch(options: Partial<EndpointSliceWatchOptions> & { kubernetes: KubernetesOptions }): Recorder {
  const sets: Peer[][] = [];
  const errors: KubernetesApiError[] = [];
  const watch = new EndpointSliceWatch(
    { service: 'nginx', port: 'web', ...options },
    { onPeers: (peers) => sets.push(peers), onError: (error) => errors.push(error) },
  );
  watch.start();
  return {
    watch,
    sets,
    errors,
    get last() {
      return sets.at(-1);
    },
    async waitForSets(count, what) {
      await until(() => sets.length >= count, what);
      return sets[count - 1]!;
    },
    async waitForErrors(count, what) {
      await until(() => errors.length >= count, what);
    },
  };
}

/** A JWT-shaped token for a service account (the signature is not checked by anyone here). */
export function serviceAccountToken(namespace: string, name: string): string {
  const part = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part({ sub: `system:serviceaccount:${namespace}:${name}` })}.sig`;
}

/** Watches `api` (namespace `default`) with `options`, runs `check`, then closes the watch and `api`, also when `check` fails. */
export async function withWatch(
  api: { url: string; close(): Promise<void> },
  options: Partial<EndpointSliceWatchOptions>,
  check: (r: Recorder) => Promise<void>,
): Promise<void> {
  const r = recordWatch({ kubernetes: { url: api.url }, namespace: 'default', ...options });
  try {
    await check(r);
  } finally {
    r.watch.close();
    await api.close();
  }
}
