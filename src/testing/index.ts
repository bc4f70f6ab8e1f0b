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
