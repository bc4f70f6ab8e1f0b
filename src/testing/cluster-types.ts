// The shapes of the test cluster's objects: what its methods take and what it holds.

/** A Service port. Only named ports get SRV records. */
export interface ServicePort {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

/** What {@link TestCluster.setService} takes. */
export interface ServiceSpec {
  name: string;
  namespace?: string;
  /** `clusterIP: None` (default true). A non-headless Service gets a cluster IP. */
  headless?: boolean;
  /** Cluster IP of a non-headless Service (default: allocated from 127.2.0.0/16). */
  clusterIP?: string;
  ports?: ServicePort[];
  /** Publish pods that are not ready (default false). */
  publishNotReadyAddresses?: boolean;
  /** Pods whose labels hold all of these are the Service's endpoints (default `{ app: name }`). */
  selector?: Record<string, string>;
}

/** A Service as the model holds it. */
export interface Service {
  readonly name: string;
  readonly namespace: string;
  readonly headless: boolean;
  readonly clusterIP: string | null;
  readonly ports: readonly (ServicePort & { protocol: 'TCP' | 'UDP' | 'SCTP' })[];
  readonly publishNotReadyAddresses: boolean;
  readonly selector: Readonly<Record<string, string>>;
}

/** IP families a pod gets addresses in. */
export type IpFamilies = 'IPv4' | 'IPv6' | 'DualStack';

/** What {@link TestCluster.addPod} takes. */
export interface PodSpec {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** Explicit addresses (IPv4 and/or IPv6). Default: allocated per `ipFamilies`. */
  addresses?: string[];
  /** Default: the cluster's `ipFamilies`. */
  ipFamilies?: IpFamilies;
  ready?: boolean;
  /** Pod hostname (default: its name). */
  hostname?: string;
  /** Pod subdomain: with a Service of this name, the pod gets `<hostname>.<subdomain>` records. */
  subdomain?: string;
  /** Topology zone of the pod's node (`topology.kubernetes.io/zone`); default none. */
  zone?: string;
  /** Node the pod runs on (default `node-<n>`, spread over three nodes). */
  nodeName?: string;
}

/** A pod as the model holds it. */
export interface Pod {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly addresses: readonly string[];
  readonly ready: boolean;
  readonly hostname: string;
  readonly subdomain: string | null;
  /** Set for pods of a StatefulSet. */
  readonly ordinal: number | null;
  /** Being deleted: no longer ready, still serving while it drains (see {@link TestCluster.setTerminating}). */
  readonly terminating: boolean;
  readonly zone: string | null;
  readonly nodeName: string;
  /** A new one for every pod created (a replaced pod of the same name gets another). */
  readonly uid: string;
  /** When the pod was created (ISO 8601). */
  readonly creationTimestamp: string;
}

/** One endpoint of a Service: a selected pod, whether DNS publishes it or not. */
export interface Endpoint {
  pod: Pod;
  /** The endpoint's hostname in DNS (`<hostname>.<svc>`): the pod hostname when its subdomain is the Service, else null. */
  hostname: string | null;
  addresses: readonly string[];
  /** The pod is ready and not terminating. */
  ready: boolean;
  /** The pod's readiness, also while it terminates (EndpointSlice `serving`). */
  serving: boolean;
  terminating: boolean;
  zone: string | null;
  nodeName: string;
  /** Ready, or published anyway by `publishNotReadyAddresses`. */
  published: boolean;
}

/** What {@link TestCluster.statefulSet} takes. */
export interface StatefulSetSpec {
  name: string;
  /** The governing headless Service (`spec.serviceName`). */
  serviceName: string;
  namespace?: string;
  replicas: number;
  /** Pod labels (default `{ app: serviceName }`, which the default selector of that Service matches). */
  labels?: Record<string, string>;
  ipFamilies?: IpFamilies;
  /** `.spec.ordinals.start` (default 0). */
  ordinalsStart?: number;
  /** Readiness of new pods (default true). */
  ready?: boolean;
  /** Zones to spread pods over, in order: ordinal i goes to `zones[i % zones.length]`. */
  zones?: string[];
}

/** A StatefulSet: pods `<name>-<ordinal>`; scale adds or removes the highest ordinals. */
export interface StatefulSet {
  readonly name: string;
  readonly namespace: string;
  readonly serviceName: string;
  readonly replicas: number;
  /** Its pods in ordinal order. */
  readonly pods: Pod[];
  /** Sets the replica count: adds the next ordinals or removes the highest. */
  scale(replicas: number): void;
}

/** What {@link createTestCluster} takes. */
export interface TestClusterOptions {
  /** Default 'cluster.local'. */
  clusterDomain?: string;
  /** TTL of DNS answers in seconds, as CoreDNS's `ttl` option (default 5, 0..3600). */
  ttl?: number;
  /** Default address families of new pods (default 'IPv4'). */
  ipFamilies?: IpFamilies;
}
