/**
 * `npm run example:bootstrap`: three processes that form one cluster, as pods of a StatefulSet do.
 *
 * Starts a test cluster (headless Service `app` with port `peer` 8558, StatefulSet `app` of 3
 * on 127.1.0.1 .. 127.1.0.3: on Linux all of 127/8 is the loopback interface) and its DNS
 * server, then one member.ts process per pod, a moment apart. Each serves the HTTP probe on
 * its address and calls bootstrap(); exactly one forms, the others join it. The runner prints
 * who is the seed, stops the members and exits 0 (1 with the reason after 60 s, if a member
 * dies, or if the members did not end in one cluster).
 *
 * Users import from 'headless-sd/testing'; this file imports the sources to run from a checkout.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createTestCluster, createTestServer } from '../../src/testing/index.ts';
import { startMember, stopMembers } from '../shared/members.ts';

const REPLICAS = 3;
const LIMIT_MS = 60_000;
const MEMBER = fileURLToPath(new URL('./member.ts', import.meta.url));

const cluster = await createTestCluster({ ttl: 1 });
cluster.setService({ name: 'app', headless: true, ports: [{ name: 'peer', port: 8558, protocol: 'TCP' }] });
// Pods are listed in DNS once their process runs (readiness), as a pod's readiness probe would.
const set = cluster.statefulSet({ name: 'app', serviceName: 'app', replicas: REPLICAS, ready: false });
const dns = await createTestServer({ cluster, port: 0 });
process.stdout.write(`cluster DNS on ${dns.servers[0]}: headless Service app (port peer 8558), StatefulSet app of ${REPLICAS}\n`);

const members: ChildProcess[] = [];
const decisions = new Map<string, { action: string; seed: string }>();
let finished = false;
let settle!: (error: Error | null) => void;
const outcome = new Promise<Error | null>((resolve) => (settle = resolve));
const timer = setTimeout(() => settle(new Error(`after ${LIMIT_MS / 1000} s only ${decisions.size} of ${REPLICAS} members had decided`)), LIMIT_MS);

// Highest ordinal first and a moment apart: the lowest starts last, and the others wait for it.
for (const pod of [...set.pods].reverse()) {
  const child = startMember(MEMBER, { name: pod.name, namespace: pod.namespace, address: pod.addresses[0]! }, 'app', dns.servers[0]!, {}, (line) => {
    const match = new RegExp(`^${pod.name}: (formed|joined) .*seed: (\\S+)$`).exec(line);
    if (match) {
      decisions.set(pod.name, { action: match[1]!, seed: match[2]! });
      if (decisions.size === REPLICAS) settle(null);
    }
  });
  members.push(child);
  child.on('exit', (code, signal) => {
    if (!finished) settle(new Error(`${pod.name} exited early (${signal ?? `code ${code}`})`));
  });
  await sleep(300); // the process starts, then its readiness probe passes
  cluster.setReady(pod.name, true);
  await sleep(500);
}

let error = await outcome;
finished = true;
clearTimeout(timer);
if (error === null) {
  const formed = [...decisions].filter(([, d]) => d.action === 'formed');
  const seeds = new Set([...decisions.values()].map((d) => d.seed));
  if (formed.length !== 1 || seeds.size !== 1) {
    error = new Error(`expected one form and one seed, got ${formed.length} forms and seeds ${[...seeds].join(', ')}`);
  } else {
    process.stdout.write(`one cluster: ${formed[0]![0]} formed it, the other ${REPLICAS - 1} joined; seed: ${[...seeds][0]}\n`);
  }
}

await stopMembers(members);
await dns.close();
if (error !== null) {
  process.stderr.write(`bootstrap example failed: ${error.message}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write('stopped the members and the DNS server\n');
}
