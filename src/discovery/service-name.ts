import { readFileSync } from 'node:fs';
import { checkName } from '../dns/name.js';

/** Where a pod finds its own namespace (the service-account volume kubelet mounts). */
export const NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** How a Service's DNS name is built. */
export interface ServiceNameOptions {
  /** With a namespace the name is absolute: `<service>.<namespace>.svc.<clusterDomain>.` */
  namespace?: string | undefined;
  /** Default: from the search list (`<ns>.svc.<zone>`), else 'cluster.local'. */
  clusterDomain?: string | undefined;
}

/**
 * The DNS name to ask for a Service. An absolute name (trailing dot) is kept; with a
 * `namespace` the name is made absolute. Otherwise, when the resolver's search list is a
 * pod's (it names `<ns>.svc.<zone>`), the name stays relative for the search list and ndots,
 * exactly as a pod's resolver treats it; outside a pod it is completed the way that search
 * list would: `nginx` -> `nginx.<pod namespace or default>.svc.<zone>.`, `nginx.db` ->
 * `nginx.db.svc.<zone>.`, `nginx.db.svc` -> `nginx.db.svc.<zone>.`.
 */
export function serviceDnsName(service: string, options: ServiceNameOptions = {}, search: readonly string[] = []): string {
  checkName(service);
  if (service.endsWith('.')) return service;
  const searchZone = clusterDomainOf(search);
  const zone = (options.clusterDomain ?? searchZone ?? 'cluster.local').replace(/\.$/, '');
  if (options.namespace !== undefined) {
    if (service.includes('.')) {
      throw new TypeError(
        `service ${JSON.stringify(service)} is already qualified: pass a bare Service name with the namespace option, or drop the option`,
      );
    }
    checkName(options.namespace);
    return `${service}.${options.namespace}.svc.${zone}.`;
  }
  if (searchZone !== undefined && options.clusterDomain === undefined) return service;
  const labels = service.split('.');
  if (labels.length === 1) return `${service}.${podNamespace(search) ?? 'default'}.svc.${zone}.`;
  if (labels.length === 2) return `${service}.svc.${zone}.`;
  if (labels.length === 3 && labels[2]!.toLowerCase() === 'svc') return `${service}.${zone}.`;
  return service;
}

/** SRV name of a named port: `_<port>._<protocol>.<service>` (absolute stays absolute). */
export function srvName(portName: string, protocol: string, serviceName: string): string {
  return `_${portName}._${protocol}.${serviceName}`;
}

/** The cluster zone a pod's search list names: `default.svc.cluster.local` -> 'cluster.local'. */
export function clusterDomainOf(search: readonly string[]): string | undefined {
  for (const domain of search) {
    const m = /^[^.]+\.svc\.(.+?)\.?$/i.exec(domain);
    if (m) return m[1]!.toLowerCase();
  }
  return undefined;
}

/**
 * This pod's namespace, found as a pod would: the service-account namespace file,
 * then `POD_NAMESPACE` (downward API), then the first search domain `<ns>.svc.<zone>`.
 */
export function podNamespace(search: readonly string[] = [], file = NAMESPACE_FILE): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (text) return text;
  } catch {
    // Not in a pod, or no service account mounted: fall through.
  }
  const env = process.env.POD_NAMESPACE?.trim();
  if (env) return env;
  for (const domain of search) {
    const m = /^([^.]+)\.svc\./i.exec(domain);
    if (m) return m[1]!.toLowerCase();
  }
  return undefined;
}
