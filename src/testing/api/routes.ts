import type { CoreResource } from './core.js';

/** What a request path names. */
export type Route =
  | { kind: 'discovery'; path: string }
  | { kind: 'slices'; namespace: string | null; name: string | null }
  | { kind: 'core'; resource: CoreResource; namespace: string | null; name: string | null }
  | { kind: 'notFound' }
  | { kind: 'badPath' };

const DISCOVERY = new Set(['/version', '/api', '/api/v1', '/apis', '/apis/discovery.k8s.io', '/apis/discovery.k8s.io/v1']);
const SLICES = /^\/apis\/discovery\.k8s\.io\/v1\/(?:namespaces\/([^/]+)\/)?endpointslices(?:\/([^/]+))?$/;
const CORE = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?(pods|services)(?:\/([^/]+))?$/;
const NAMESPACES = /^\/api\/v1\/namespaces(?:\/([^/]+))?$/;

const decode = (part: string | undefined): string | null => (part === undefined ? null : decodeURIComponent(part));

/** Routes a request path (without the query). */
export function route(pathname: string): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/$/, '') : pathname;
  if (DISCOVERY.has(path)) return { kind: 'discovery', path };
  try {
    let m = SLICES.exec(path);
    if (m) return { kind: 'slices', namespace: decode(m[1]), name: decode(m[2]) };
    m = NAMESPACES.exec(path);
    if (m) return { kind: 'core', resource: 'namespaces', namespace: null, name: decode(m[1]) };
    m = CORE.exec(path);
    if (m) return { kind: 'core', resource: m[2] as CoreResource, namespace: decode(m[1]), name: decode(m[3]) };
  } catch {
    return { kind: 'badPath' };
  }
  return { kind: 'notFound' };
}
