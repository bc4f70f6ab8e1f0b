import { createTestCluster, type IpFamilies, type TestCluster, type TestClusterOptions } from './cluster.js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';

/** One headless Service with a StatefulSet of the same name behind it (`--pods nginx=3`). */
export interface PodsItem {
  /** Name of both the Service and the StatefulSet. */
  name: string;
  replicas: number;
}

/** Names Kubernetes accepts for Services (RFC 1035 labels, lower case). */
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Parses `nginx=3,web=5` into items. Throws {@link InvalidArgumentError} on anything else
 * (empty, bad name, replicas not an integer 0..10000, a name twice).
 */
export function parsePodsSpec(spec: string): PodsItem[] {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`invalid pods ${JSON.stringify(spec)}: ${why} (expected name=replicas,...: nginx=3,web=5)`);
  };
  if (typeof spec !== 'string' || spec.trim() === '') bad('empty');
  const items: PodsItem[] = [];
  for (const part of spec.split(',')) {
    const match = /^\s*([^=\s]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!match) bad(`${JSON.stringify(part)} is not name=replicas`);
    const [, name = '', count = ''] = match!;
    if (!SERVICE_NAME.test(name)) bad(`${JSON.stringify(name)} is not a Service name (lower-case RFC 1035 label)`);
    const replicas = Number(count);
    if (!Number.isInteger(replicas) || replicas > 10_000) bad(`replicas of ${name} must be 0..10000`);
    if (items.some((i) => i.name === name)) bad(`${name} given twice`);
    items.push({ name, replicas });
  }
  return items;
}

/** Options of {@link createDemoCluster} and {@link createPodsCluster}. */
export interface DemoClusterOptions extends TestClusterOptions {
  /** Namespace of the Services and pods (default `default`). */
  namespace?: string;
}

/**
 * The cluster of the Kubernetes StatefulSet tutorial: a headless Service `nginx` with
 * port `web` 80/TCP and a StatefulSet `web` of 3 (`serviceName: nginx`), so
 * `web-0.nginx.default.svc.cluster.local` .. `web-2` and
 * `_web._tcp.nginx.default.svc.cluster.local` SRV answer.
 */
export async function createDemoCluster(options: DemoClusterOptions = {}): Promise<TestCluster> {
  const { namespace = 'default', ...clusterOptions } = options;
  const cluster = await createTestCluster(clusterOptions);
  cluster.setService({ name: 'nginx', namespace, headless: true, ports: [{ name: 'web', port: 80, protocol: 'TCP' }] });
  cluster.statefulSet({ name: 'web', serviceName: 'nginx', namespace, replicas: 3 });
  return cluster;
}

/**
 * A cluster with, per item, a headless Service `<name>` (port `web` 80/TCP) and a
 * StatefulSet `<name>` of `replicas` pods `<name>-0..` behind it.
 */
export async function createPodsCluster(items: readonly PodsItem[], options: DemoClusterOptions = {}): Promise<TestCluster> {
  const { namespace = 'default', ...clusterOptions } = options;
  const cluster = await createTestCluster(clusterOptions);
  for (const { name, replicas } of items) {
    cluster.setService({ name, namespace, headless: true, ports: [{ name: 'web', port: 80, protocol: 'TCP' }] });
    cluster.statefulSet({ name, serviceName: name, namespace, replicas });
  }
  return cluster;
}

/** The IP families `--ip-families` accepts. */
export const IP_FAMILIES: readonly IpFamilies[] = ['IPv4', 'IPv6', 'DualStack'];
