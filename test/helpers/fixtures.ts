import { createTestCluster, createTestServer } from '../../src/testing/index.ts';
import type { TestCluster, TestClusterOptions, StatefulSet } from '../../src/testing/index.ts';

/** A cluster with headless Service `nginx` (port `web` 80/TCP) and a StatefulSet behind it, served on loopback. */
export interface NginxFixture {
  cluster: TestCluster;
  set: StatefulSet;
  dns: Awaited<ReturnType<typeof createTestServer>>;
  servers: string[];
  close(): Promise<void>;
}

/** The Kubernetes docs' example: StatefulSet `setName` (default 'nginx') of `replicas` behind headless Service `nginx`. */
export async function nginxFixture(
  options: { replicas?: number; setName?: string; publishNotReadyAddresses?: boolean } & TestClusterOptions = {},
): Promise<NginxFixture> {
  const cluster = await createTestCluster(options);
  cluster.setService({
    name: 'nginx',
    ports: [{ name: 'web', port: 80 }],
    publishNotReadyAddresses: options.publishNotReadyAddresses ?? false,
  });
  const set = cluster.statefulSet({ name: options.setName ?? 'nginx', serviceName: 'nginx', replicas: options.replicas ?? 3 });
  const dns = await createTestServer({ cluster });
  return { cluster, set, dns, servers: dns.servers, close: () => dns.close() };
}
