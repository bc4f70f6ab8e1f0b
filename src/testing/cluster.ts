import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../dns/invalid-argument.js';

import type {
  Endpoint,
  IpFamilies,
  Pod,
  PodSpec,
  Service,
  ServiceSpec,
  StatefulSet,
  StatefulSetSpec,
  TestClusterOptions,
} from './cluster-types.js';

export type * from './cluster-types.js';

const ipv4Of = (n: number): string => `127.${1 + ((n >> 16) & 0x3f)}.${(n >> 8) & 0xff}.${n & 0xff}`;
const ipv6Of = (n: number): string => `fd00:10:244::${n.toString(16)}`;

/**
 * An in-memory Kubernetes cluster: namespaces, Services, pods and StatefulSets.
 * The DNS frontend ({@link createTestServer}) and the fake API ({@link createFakeKubernetesApi})
 * both answer from it, and see each change at once. Emits `change` after every change.
 */
export class TestCluster extends EventEmitter {
  /** DNS zone of the cluster, without a trailing dot. */
  readonly clusterDomain: string;
  /** TTL of DNS answers, seconds. */
  ttl: number;
  readonly ipFamilies: IpFamilies;
  #version = 0;
  #sortedPods: Pod[] | null = null;
  #nextPodAddress = 1;
  #nextClusterIP = 1;
  #nextNode = 0;
  readonly #namespaces = new Set<string>(['default', 'kube-system']);
  readonly #services = new Map<string, Service>();
  readonly #pods = new Map<string, Pod>();
  readonly #statefulSets = new Map<string, StatefulSet>();

  constructor(options: TestClusterOptions = {}) {
    super();
    if (options.clusterDomain !== undefined && (typeof options.clusterDomain !== 'string' || options.clusterDomain.replace(/\.$/, '') === '')) {
      throw new InvalidArgumentError('clusterDomain', options.clusterDomain, 'a DNS name such as cluster.local');
    }
    this.clusterDomain = (options.clusterDomain ?? 'cluster.local').replace(/\.$/, '').toLowerCase();
    this.ttl = options.ttl ?? 5;
    this.ipFamilies = options.ipFamilies ?? 'IPv4';
    if (!Number.isInteger(this.ttl) || this.ttl < 0 || this.ttl > 3600) {
      throw new InvalidArgumentError('ttl', options.ttl, 'an integer number of seconds from 0 to 3600');
    }
  }

  /** Counts changes: every mutation adds one. */
  get version(): number {
    return this.#version;
  }

  /** Namespaces that exist (created by a Service or pod in them, or by {@link addNamespace}). */
  get namespaces(): string[] {
    return [...this.#namespaces].sort();
  }

  /** All Services. */
  get services(): Service[] {
    return [...this.#services.values()];
  }

  /** All pods, by namespace, then name in ordinal-aware order. */
  get pods(): Pod[] {
    this.#sortedPods ??= [...this.#pods.values()].sort(comparePods);
    return [...this.#sortedPods];
  }

  /** Creates a namespace. */
  addNamespace(name: string): void {
    if (!this.#namespaces.has(name)) {
      this.#namespaces.add(name);
      this.#changed();
    }
  }

  /** Creates or replaces a Service. */
  setService(spec: ServiceSpec): Service {
    const namespace = spec.namespace ?? 'default';
    const headless = spec.headless ?? true;
    const existing = this.#services.get(key(namespace, spec.name));
    const service: Service = {
      name: spec.name,
      namespace,
      headless,
      clusterIP: headless ? null : (spec.clusterIP ?? existing?.clusterIP ?? this.#allocateClusterIP()),
      ports: (spec.ports ?? []).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })),
      publishNotReadyAddresses: spec.publishNotReadyAddresses ?? false,
      selector: { ...(spec.selector ?? { app: spec.name }) },
    };
    this.#namespaces.add(namespace);
    this.#services.set(key(namespace, spec.name), service);
    this.#changed();
    return service;
  }

  /** The Service, or undefined. */
  getService(name: string, namespace = 'default'): Service | undefined {
    return this.#services.get(key(namespace, name));
  }

  /** Deletes a Service (its pods stay). */
  removeService(name: string, namespace = 'default'): boolean {
    const removed = this.#services.delete(key(namespace, name));
    if (removed) this.#changed();
    return removed;
  }

  /** Creates or replaces a pod. */
  addPod(spec: PodSpec): Pod {
    return this.#putPod(spec, null);
  }

  /** The pod, or undefined. */
  getPod(name: string, namespace = 'default'): Pod | undefined {
    return this.#pods.get(key(namespace, name));
  }

  /** Sets a pod's readiness. */
  setReady(name: string, ready: boolean, namespace = 'default'): void {
    this.#updatePod(name, namespace, (pod) => ({ ...pod, ready }));
  }

  /**
   * Marks a pod as being deleted (or no longer, with `false`): as the EndpointSlice controller
   * shows it, not ready, `serving` while the pod is ready, `terminating`. DNS drops it unless
   * the Service has `publishNotReadyAddresses`. Remove it with {@link removePod} when it is gone.
   */
  setTerminating(name: string, terminating = true, namespace = 'default'): void {
    this.#updatePod(name, namespace, (pod) => ({ ...pod, terminating }));
  }

  /** Gives a pod new addresses (explicit, or newly allocated as when a pod is rescheduled). */
  setPodAddresses(name: string, addresses?: string[], namespace = 'default'): void {
    this.#updatePod(name, namespace, (pod) => ({
      ...pod,
      addresses: addresses ? checkAddresses(addresses) : this.#allocate(familiesOf(pod.addresses)),
    }));
  }

  /** Deletes a pod. */
  removePod(name: string, namespace = 'default'): boolean {
    const pod = this.#pods.get(key(namespace, name));
    if (!pod) return false;
    this.#pods.delete(key(namespace, name));
    this.#resorted(pod, null);
    this.#changed();
    return true;
  }

  /** Creates a StatefulSet with `replicas` pods `<name>-<ordinal>` (hostname = pod name, subdomain = serviceName). */
  statefulSet(spec: StatefulSetSpec): StatefulSet {
    const namespace = spec.namespace ?? 'default';
    const id = key(namespace, spec.name);
    const state = { spec: { ...spec, namespace }, replicas: 0 };
    this.#namespaces.add(namespace);
    const cluster = this;
    const set: StatefulSet = {
      name: spec.name,
      namespace,
      serviceName: spec.serviceName,
      get replicas() {
        return state.replicas;
      },
      get pods() {
        return cluster.pods.filter((p) => p.namespace === namespace && isOrdinalPodOf(p, spec.name));
      },
      scale: (replicas: number) => this.#scale(state, replicas),
    };
    this.#statefulSets.set(id, set);
    this.#scale(state, spec.replicas);
    return set;
  }

  /** A StatefulSet made by {@link statefulSet}, or undefined. */
  getStatefulSet(name: string, namespace = 'default'): StatefulSet | undefined {
    return this.#statefulSets.get(key(namespace, name));
  }

  /** The endpoints of a Service: every pod in its namespace whose labels match its selector. */
  endpoints(name: string, namespace = 'default'): Endpoint[] {
    const service = this.getService(name, namespace);
    if (!service) return [];
    const selector = Object.entries(service.selector);
    if (selector.length === 0) return [];
    const out: Endpoint[] = [];
    this.#sortedPods ??= [...this.#pods.values()].sort(comparePods);
    for (const pod of this.#sortedPods) {
      if (pod.namespace !== namespace) continue;
      if (!selector.every(([k, v]) => pod.labels[k] === v)) continue;
      const ready = pod.ready && !pod.terminating;
      out.push({
        pod,
        hostname: pod.subdomain === service.name ? pod.hostname : null,
        addresses: pod.addresses,
        ready,
        serving: pod.ready,
        terminating: pod.terminating,
        zone: pod.zone,
        nodeName: pod.nodeName,
        published: ready || service.publishNotReadyAddresses,
      });
    }
    return out;
  }

  #scale(state: { spec: StatefulSetSpec; replicas: number }, replicas: number): void {
    if (!Number.isInteger(replicas) || replicas < 0) throw new InvalidArgumentError('replicas', replicas, 'an integer >= 0');
    const { spec } = state;
    const start = spec.ordinalsStart ?? 0;
    const namespace = spec.namespace ?? 'default';
    for (let i = state.replicas; i < replicas; i++) {
      this.#putPod(
        {
          name: `${spec.name}-${start + i}`,
          namespace,
          labels: spec.labels ?? { app: spec.serviceName },
          ready: spec.ready ?? true,
          subdomain: spec.serviceName,
          ...(spec.ipFamilies ? { ipFamilies: spec.ipFamilies } : {}),
          ...(spec.zones && spec.zones.length > 0 ? { zone: spec.zones[i % spec.zones.length]! } : {}),
        },
        start + i,
      );
    }
    for (let i = state.replicas - 1; i >= replicas; i--) this.removePod(`${spec.name}-${start + i}`, namespace);
    state.replicas = replicas;
  }

  #putPod(spec: PodSpec, ordinal: number | null): Pod {
    const namespace = spec.namespace ?? 'default';
    const pod: Pod = {
      name: spec.name,
      namespace,
      labels: { ...(spec.labels ?? {}) },
      addresses: spec.addresses ? checkAddresses(spec.addresses) : this.#allocate(spec.ipFamilies ?? this.ipFamilies),
      ready: spec.ready ?? true,
      hostname: spec.hostname ?? spec.name,
      subdomain: spec.subdomain ?? null,
      ordinal,
      terminating: false,
      zone: spec.zone ?? null,
      nodeName: spec.nodeName ?? `node-${this.#nextNode++ % 3}`,
      uid: randomUUID(),
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    this.#namespaces.add(namespace);
    const old = this.#pods.get(key(namespace, spec.name)) ?? null;
    this.#pods.set(key(namespace, spec.name), pod);
    this.#resorted(old, pod);
    this.#changed();
    return pod;
  }

  #updatePod(name: string, namespace: string, update: (pod: Pod) => Pod): void {
    const pod = this.#pods.get(key(namespace, name));
    if (!pod) throw new Error(`no pod ${namespace}/${name}`);
    const updated = update(pod);
    this.#pods.set(key(namespace, name), updated);
    this.#resorted(pod, updated);
    this.#changed();
  }

  #allocate(families: IpFamilies): string[] {
    const n = this.#nextPodAddress++;
    if (n >= 1 << 22) throw new RangeError('test cluster out of pod addresses');
    if (families === 'IPv4') return [ipv4Of(n)];
    if (families === 'IPv6') return [ipv6Of(n)];
    return [ipv4Of(n), ipv6Of(n)];
  }

  #allocateClusterIP(): string {
    const n = this.#nextClusterIP++;
    return `127.200.${(n >> 8) & 0xff}.${n & 0xff}`;
  }

  /** Keeps the sorted pod list in step with one pod replaced, added or removed (sorting 100,000 pods anew takes seconds). */
  #resorted(old: Pod | null, pod: Pod | null): void {
    const sorted = this.#sortedPods;
    if (!sorted) return;
    const at = old ? sorted.indexOf(old) : -1;
    if (old && at === -1) {
      this.#sortedPods = null;
      return;
    }
    if (at >= 0 && pod) {
      sorted[at] = pod;
      return;
    }
    if (at >= 0) sorted.splice(at, 1);
    if (pod) {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (comparePods(sorted[mid]!, pod) < 0) lo = mid + 1;
        else hi = mid;
      }
      sorted.splice(lo, 0, pod);
    }
  }

  #changed(): void {
    this.#version++;
    this.emit('change', this.#version);
  }
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

function isOrdinalPodOf(pod: Pod, setName: string): boolean {
  return pod.ordinal !== null && pod.name === `${setName}-${pod.ordinal}`;
}

// One collator: String#localeCompare with options builds one per call.
const podNames = new Intl.Collator('en', { numeric: true });

function comparePods(a: Pod, b: Pod): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return podNames.compare(a.name, b.name);
}

function checkAddresses(addresses: string[]): string[] {
  for (const a of addresses) if (typeof a !== 'string' || isIP(a) === 0) throw new InvalidArgumentError('pod address', a, 'an IP address');
  return [...addresses];
}

function familiesOf(addresses: readonly string[]): IpFamilies {
  const v4 = addresses.some((a) => isIP(a) === 4);
  const v6 = addresses.some((a) => isIP(a) === 6);
  return v4 && v6 ? 'DualStack' : v6 ? 'IPv6' : 'IPv4';
}

/**
 * Creates an empty {@link TestCluster}, synchronously. `await createTestCluster()` still
 * works (awaiting a value that is not a promise gives the value); a cluster is not a thenable.
 * Throws {@link InvalidArgumentError} for a bad option (`ttl` outside 0..3600, ...).
 */
export function createTestCluster(options: TestClusterOptions = {}): TestCluster {
  return new TestCluster(options);
}
