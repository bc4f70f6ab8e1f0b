/** The Kubernetes version the fake API says it is. */
export const FAKE_KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-headless-sd' } as const;

const READ = ['get', 'list'];
const READ_WATCH = ['get', 'list', 'watch'];

/** The resources of the core group the fake serves (read-only, as the model knows them). */
const CORE_RESOURCES = [
  { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: READ, shortNames: ['ns'] },
  { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: READ, shortNames: ['po'], categories: ['all'] },
  { name: 'services', singularName: 'service', namespaced: true, kind: 'Service', verbs: READ, shortNames: ['svc'], categories: ['all'] },
];

const ENDPOINT_SLICES = { name: 'endpointslices', singularName: 'endpointslice', namespaced: true, kind: 'EndpointSlice', verbs: READ_WATCH };

const DISCOVERY_GROUP = {
  name: 'discovery.k8s.io',
  versions: [{ groupVersion: 'discovery.k8s.io/v1', version: 'v1' }],
  preferredVersion: { groupVersion: 'discovery.k8s.io/v1', version: 'v1' },
};

/**
 * The discovery documents kubectl and client libraries read before anything else: `/version`,
 * `/api`, `/api/v1`, `/apis`, `/apis/discovery.k8s.io`, `/apis/discovery.k8s.io/v1`. Plain
 * (unaggregated) discovery: clients that ask for the aggregated form fall back to it.
 * Undefined for any other path.
 */
export function discoveryDocument(path: string, serverAddress: string): unknown {
  switch (path.replace(/\/$/, '') || '/') {
    case '/version':
      return {
        ...FAKE_KUBERNETES_VERSION,
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2024-12-11T00:00:00Z',
        goVersion: 'go1.23.4',
        compiler: 'gc',
        platform: 'linux/amd64',
      };
    case '/api':
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
    case '/api/v1':
      return { kind: 'APIResourceList', groupVersion: 'v1', resources: CORE_RESOURCES };
    case '/apis':
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [DISCOVERY_GROUP] };
    case '/apis/discovery.k8s.io':
      return { kind: 'APIGroup', apiVersion: 'v1', ...DISCOVERY_GROUP };
    case '/apis/discovery.k8s.io/v1':
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'discovery.k8s.io/v1', resources: [ENDPOINT_SLICES] };
    default:
      return undefined;
  }
}
