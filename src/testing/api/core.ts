import type { TestCluster } from '../cluster.js';
import type { ListOptions } from './list-options.js';
import { scopeFilter } from './lists.js';
import { uidOf } from './resources.js';
import type { SliceMeta } from './store.js';
import { failure } from './status.js';
import type { StatusReply } from './status.js';

/** A core resource the fake serves read-only from the model. */
export type CoreResource = 'namespaces' | 'pods' | 'services';

const KINDS: Record<CoreResource, string> = { namespaces: 'Namespace', pods: 'Pod', services: 'Service' };

interface CoreObject extends SliceMeta {
  object: Record<string, unknown>;
}

/** The model's namespaces, Services and pods as minimal v1 objects (what `kubectl get` shows of them). */
function objects(cluster: TestCluster, resource: CoreResource, rv: string, since: string): CoreObject[] {
  const meta = (namespace: string, name: string, labels: Record<string, string>, created: string, kind: string) => ({
    key: `${namespace}/${name}`,
    namespace,
    name,
    labels,
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      uid: uidOf(`${kind}/${namespace}/${name}`),
      resourceVersion: rv,
      creationTimestamp: created,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
    },
  });
  if (resource === 'namespaces') {
    return cluster.namespaces.map((name) => {
      const m = meta('', name, { 'kubernetes.io/metadata.name': name }, since, 'namespace');
      return { ...m, object: { apiVersion: 'v1', kind: 'Namespace', metadata: m.metadata, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } } };
    });
  }
  if (resource === 'services') {
    return cluster.services.map((s) => {
      const m = meta(s.namespace, s.name, {}, since, 'service');
      const clusterIP = s.clusterIP ?? 'None';
      const ports = s.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.port, targetPort: p.port }));
      const spec = { ports, selector: { ...s.selector }, clusterIP, clusterIPs: [clusterIP], type: 'ClusterIP', publishNotReadyAddresses: s.publishNotReadyAddresses };
      return { ...m, object: { apiVersion: 'v1', kind: 'Service', metadata: m.metadata, spec, status: { loadBalancer: {} } } };
    });
  }
  return cluster.pods.map((p) => {
    const m = meta(p.namespace, p.name, { ...p.labels }, p.creationTimestamp, 'pod');
    const ready = p.ready && !p.terminating ? 'True' : 'False';
    const spec = { hostname: p.hostname, ...(p.subdomain ? { subdomain: p.subdomain } : {}), nodeName: p.nodeName, containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] };
    const status = {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready }],
      ...(p.addresses[0] ? { podIP: p.addresses[0] } : {}),
      podIPs: p.addresses.map((ip) => ({ ip })),
      containerStatuses: [{ name: 'app', ready: ready === 'True', restartCount: 0, image: 'registry.k8s.io/pause:3.10', started: true, state: { running: {} } }],
    };
    const metadata = p.terminating ? { ...m.metadata, deletionTimestamp: p.creationTimestamp, deletionGracePeriodSeconds: 30 } : m.metadata;
    return { ...m, object: { apiVersion: 'v1', kind: 'Pod', metadata, spec, status } };
  });
}

/** A list (namespace and selectors applied; no pages) or one object by name of a core resource. */
export function coreAnswer(
  cluster: TestCluster,
  resource: CoreResource,
  namespace: string | null,
  name: string | null,
  options: ListOptions,
  rv: string,
  since: string,
): { code: 200; text: string } | StatusReply {
  const all = objects(cluster, resource, rv, since);
  if (name !== null) {
    const found = all.find((o) => o.name === name && (namespace === null || o.namespace === namespace));
    if (!found) return failure(404, `${resource} "${name}" not found`, { name, kind: resource });
    return { code: 200, text: JSON.stringify(found.object) };
  }
  const inScope = scopeFilter(namespace, options.selector);
  const items = all.filter(inScope).map((o) => o.object);
  return { code: 200, text: JSON.stringify({ kind: `${KINDS[resource]}List`, apiVersion: 'v1', metadata: { resourceVersion: rv }, items }) };
}
