/**
 * `npm run example:local`: three processes that find each other as pods of a StatefulSet do.
 *
 * Starts a test cluster (headless Service `app` with port `http` 8080, StatefulSet `app` of 3,
 * whose pods get the loopback addresses 127.1.0.x: on Linux all of 127/8 is the loopback
 * interface, no setup needed) and its DNS server, then one member.ts process per pod with
 * that pod's name and address. Each member serves /id on its address, discovers the others
 * with watchPeers and calls them; this runner waits until every member knows the other two,
 * then stops them and exits 0 (non-zero with the reason after 60 s, or if a member dies).
 *
 * Users import from 'headless-sd/testing'; this file imports the sources to run from a checkout.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTestCluster, createTestServer } from '../../src/testing/index.ts';
import { startMember, stopMembers } from '../shared/members.ts';

const REPLICAS = 3;
const LIMIT_MS = 60_000;
const MEMBER = fileURLToPath(new URL('./member.ts', import.meta.url));

const cluster = await createTestCluster({ ttl: 1 });
cluster.setService({ name: 'app', headless: true, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] });
const set = cluster.statefulSet({ name: 'app', serviceName: 'app', replicas: REPLICAS });
const dns = await createTestServer({ cluster, port: 0 });
process.stdout.write(`cluster DNS on ${dns.servers[0]}: headless Service app (port http 8080), StatefulSet app of ${REPLICAS}\n`);

const members: ChildProcess[] = [];
const ready = new Set<string>();
let finished = false;
let settle!: (error: Error | null) => void;
const outcome = new Promise<Error | null>((resolve) => (settle = resolve));

for (const pod of set.pods) {
  const member = { name: pod.name, namespace: pod.namespace, address: pod.addresses[0]! };
  const child = startMember(MEMBER, member, 'app', dns.servers[0]!, { EXPECTED_OTHERS: String(REPLICAS - 1) }, (line) => {
    if (new RegExp(`^${pod.name}: knows `).test(line)) {
      ready.add(pod.name);
      if (ready.size === REPLICAS) settle(null);
    }
  });
  members.push(child);
  child.on('exit', (code, signal) => {
    if (!finished) settle(new Error(`${pod.name} exited early (${signal ?? `code ${code}`})`));
  });
}

const timer = setTimeout(
  () => settle(new Error(`after ${LIMIT_MS / 1000} s only ${ready.size} of ${REPLICAS} members knew the others (${[...ready].join(', ') || 'none'})`)),
  LIMIT_MS,
);
const error = await outcome;
finished = true;
clearTimeout(timer);
if (error === null) process.stdout.write(`all ${REPLICAS} members know the other ${REPLICAS - 1}: discovery works\n`);

// Stop the members as the kubelet would (SIGTERM), and wait for them to be gone.
await stopMembers(members);
await dns.close();
if (error !== null) {
  process.stderr.write(`local cluster example failed: ${error.message}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write('stopped the members and the DNS server\n');
}
