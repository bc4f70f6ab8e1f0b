export { createTestCluster, TestCluster } from './cluster.js';
export type {
  Endpoint,
  IpFamilies,
  Pod,
  PodSpec,
  Service,
  ServicePort,
  ServiceSpec,
  StatefulSet,
  StatefulSetSpec,
  TestClusterOptions,
} from './cluster.js';
export { createTestServer } from './dns-server.js';
export type { QueryLogEntry, TestDnsServer, TestServerOptions } from './dns-server.js';
export type { Fault, FaultRcode } from './faults.js';
export { createDemoCluster, createPodsCluster, parsePodsSpec } from './demo.js';
export type { DemoClusterOptions, PodsItem } from './demo.js';
export { serve } from './serve.js';
export type { ServeHandle, ServeOptions } from './serve.js';
export { createFakeKubernetesApi } from './api-server.js';
export type { ApiFault, ApiRequestLogEntry, FakeEndpointSlice, FakeKubernetesApi, FakeKubernetesApiOptions } from './api-server.js';
export type { FakeClientCertificate, FakeKubeconfigExec, FakeKubeconfigOptions } from './api-tls.js';
export { createFleet, runFleet } from './fleet.js';
export type { Fleet, FleetMember, FleetOptions, FleetOutcome } from './fleet.js';
