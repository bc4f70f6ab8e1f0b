/**
 * One member of the bootstrap example: what an app in a StatefulSet pod does to enter its
 * cluster without split brain.
 *
 * It serves the HTTP probe on its pod address (GET /bootstrap/members: the members it
 * knows), then asks bootstrap() whether to form a new cluster or join one, prints the
 * decision and keeps answering probes (the members that start later ask it).
 *
 * The runner (run.ts) starts it with the environment a pod would have:
 *   POD_NAME=app-0 POD_IP=127.1.0.1 POD_NAMESPACE=default
 *   SERVICE=app DNS_SERVER=127.0.0.1:40123 (in a pod: the nameserver of /etc/resolv.conf)
 *
 * Users import from 'headless-sd/bootstrap'; this file imports the sources to run from a checkout.
 */
import { bootstrap, createBootstrapProbe } from '../../src/bootstrap/index.ts';
import { env, log } from '../shared/members.ts';

const POD_NAME = env('POD_NAME');
const POD_IP = env('POD_IP');
const PORT = Number(process.env.PROBE_PORT ?? 8558);

/** How this member names itself in member lists. */
const me = `${POD_NAME}@${POD_IP}:${PORT}`;

// The two lines: the probe's server side, and its client side given to bootstrap().
const members = createBootstrapProbe({ port: PORT });
await members.listen({ host: POD_IP });

const decision = await bootstrap(env('SERVICE'), {
  min: 3,
  stableFor: 2000,
  probe: members.probe,
  self: { name: POD_NAME }, // in a pod, leave it out: the peer with self: true is this pod
  namespace: env('POD_NAMESPACE'),
  port: 'peer',
  servers: [env('DNS_SERVER')], // in a pod, leave it out: resolv.conf's nameserver
  minInterval: 250,
  probeInterval: 250,
  waitTimeout: 60_000,
});

if (decision.action === 'form') {
  members.setMembers([me]);
  log(`${POD_NAME}: formed a new cluster; seed: ${me}`);
} else {
  members.setMembers([...new Set([...decision.seeds, me])]);
  log(`${POD_NAME}: joined the cluster; seed: ${decision.seeds[0]}`);
}

// The runner stops members with SIGTERM, as the kubelet stops a pod.
process.once('SIGTERM', () => void members.close());
