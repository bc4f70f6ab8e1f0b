import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrap } from '../bootstrap/bootstrap.js';
import { BootstrapLatch } from '../bootstrap/latch.js';
import { createBootstrapProbe } from '../bootstrap/http-probe.js';
import type { BootstrapProbe } from '../bootstrap/http-probe.js';
import type { BootstrapDecision, BootstrapProbeFunction } from '../bootstrap/options.js';
import { DnsClient } from '../dns/client.js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import { createTestCluster } from './cluster.js';
import type { TestCluster } from './cluster.js';
import { createTestServer } from './dns-server.js';
import type { TestDnsServer } from './dns-server.js';

/** What {@link createFleet} and {@link runFleet} take. Durations in ms. */
export interface FleetOptions {
  /** Members (pods `<service>-0` ..), >= 1. */
  replicas: number;
  /** `min` of every member's bootstrap (default: replicas). */
  min?: number;
  /** Headless Service and StatefulSet name (default `app`). */
  service?: string;
  /** Port of the Service (named `peer`) and of each member's probe server (default 7626). */
  port?: number;
  /** Members start after a random delay in [0, maxStartDelay] (default 3000). */
  maxStartDelay?: number;
  /** Bootstrap's `stableFor` (default 1000). */
  stableFor?: number;
  /** DNS poll interval of each member (`minInterval`, default 100; the cluster's TTL is 0). */
  minInterval?: number;
  /** Bootstrap's `probeInterval` (default 100) and `probeTimeout` (default 500). */
  probeInterval?: number;
  probeTimeout?: number;
  /** DNS timeout per try (default 250) and tries (default 3) of each member's own DnsClient. */
  dnsTimeout?: number;
  dnsAttempts?: number;
  /** Probability that the DNS server drops a query (default 0). */
  loss?: number;
  /** SERVFAIL bursts (1 to 3 queries each) at random times while the fleet forms (default 0). */
  servfailBursts?: number;
  /** Times a random started member's pod goes not ready for 50-300 ms while the fleet forms (default 0). */
  readinessFlips?: number;
  /** Pods whose process runs but whose pod is never ready: they cannot see themselves. */
  hidden?: readonly string[];
  /** `http`: each member serves the HTTP probe on its pod address (127.64.0.0/10); `memory`: no sockets (default `http`). */
  probe?: 'http' | 'memory';
  /** Bootstrap's `newCluster` (default true). */
  newCluster?: boolean;
  /** Each member's `waitTimeout` (default 60000). */
  waitTimeout?: number;
  /** Random numbers in [0, 1) for delays and faults (default Math.random): seed it to replay a run. */
  random?: () => number;
}

/** One incarnation of a member (a pod replaced by a rolling restart is a new one). */
export interface FleetMember {
  /** Pod name, `app-2`. */
  readonly name: string;
  readonly ordinal: number;
  /** 0 for the first process of this pod, +1 per restart. */
  readonly incarnation: number;
  /** Pod address; the probe server listens on it. */
  readonly address: string;
  /** `address:port`: what members lists name. */
  readonly id: string;
  /** When (Date.now()) its pod became ready (last time); null while never. */
  readonly readyAt: number | null;
  readonly decidedAt: number | null;
  readonly decision: BootstrapDecision | null;
  readonly error: Error | null;
  /** The id of the member that formed the cluster it is in; null before it decided. */
  readonly cluster: string | null;
}

/** What one step (forming, a rolling restart) gave. */
export interface FleetOutcome {
  /** `form` decisions in this step. */
  forms: number;
  joins: number;
  /** Bootstrap errors (timeouts) and joins whose seeds named no member or members of two clusters. */
  errors: Error[];
  /** Distinct clusters among the running members after the step (members in none are in `errors`). */
  clusters: number;
  /** clusters - 1, at least 0. */
  splits: number;
  /** From the last time a member's pod became ready to the last decision, ms (0 when none was ready). */
  decideAfterReadyMs: number;
  /** The members that ran in this step. */
  members: FleetMember[];
}

/** N members of one StatefulSet on one test cluster, as async tasks in this process. */
export interface Fleet {
  readonly cluster: TestCluster;
  readonly dns: TestDnsServer;
  /** The running incarnation of each pod, by ordinal (undefined before `form()`). */
  readonly members: readonly FleetMember[];
  /** Starts every member after its random delay, with the faults asked for; resolves when all decided. */
  form(): Promise<FleetOutcome>;
  /** Replaces the pods one by one, highest ordinal first (new process, new address), each waiting for the last to decide. */
  rollingRestart(): Promise<FleetOutcome>;
  /** Stops every member (a bootstrap still running ends with ECANCELLED) and the DNS server. */
  close(): Promise<void>;
}

interface Running extends FleetMember {
  readyAt: number | null;
  decidedAt: number | null;
  decision: BootstrapDecision | null;
  error: Error | null;
  cluster: string | null;
  server: BootstrapProbe | null;
  client: DnsClient;
  /** Its process runs (after the start delay) and answers probes. */
  up: boolean;
  stopped: boolean;
}

// Pod addresses from 127.64.0.0/10, from a random start, so that fleets in parallel test processes do not collide.
let nextAddress = 1 + Math.floor(Math.random() * 2_000_000);
function allocateAddress(): string {
  let n = nextAddress++ % (1 << 22);
  if ((n & 0xff) === 0 || (n & 0xff) === 255) n = nextAddress++ % (1 << 22);
  return `127.${64 + ((n >> 16) & 0x3f)}.${(n >> 8) & 0xff}.${n & 0xff}`;
}

/** Creates a fleet: a test cluster with a headless Service, its pods (not ready) and its DNS server. */
export async function createFleet(options: FleetOptions): Promise<Fleet> {
  const o = checkFleetOptions(options);
  const cluster = await createTestCluster({ ttl: 0 });
  cluster.setService({ name: o.service, headless: true, ports: [{ name: 'peer', port: o.port, protocol: 'TCP' }] });
  const dns = await createTestServer({ cluster, port: 0 });
  const current: Running[] = [];
  const clusters = new Map<string, Set<string>>();
  const byId = new Map<string, Running>();
  // Aborts the members' start delays and bootstraps when the fleet closes early.
  const closing = new AbortController();

  const membersOf = (clusterId: string | null): string[] | null => (clusterId === null ? null : [...(clusters.get(clusterId) ?? [])].sort());
  const publish = (clusterId: string): void => {
    for (const id of clusters.get(clusterId) ?? []) {
      const m = byId.get(id);
      if (m && !m.stopped) m.server?.setMembers(membersOf(clusterId));
    }
  };
  const memoryProbe: BootstrapProbeFunction = async (peer) => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const m = current.find((c) => c && c.address === peer.address && c.up && !c.stopped);
    if (!m) throw new Error(`connect ECONNREFUSED ${peer.address}:${o.port}`);
    return membersOf(m.cluster);
  };

  const podSpec = (ordinal: number, address: string) => ({
    name: `${o.service}-${ordinal}`,
    labels: { app: o.service },
    subdomain: o.service,
    addresses: [address],
    ready: false,
  });

  const start = async (ordinal: number, incarnation: number, delay: number, step: Running[]): Promise<void> => {
    const name = `${o.service}-${ordinal}`;
    const address = allocateAddress();
    cluster.addPod(podSpec(ordinal, address));
    const member: Running = {
      name,
      ordinal,
      incarnation,
      address,
      id: `${address}:${o.port}`,
      readyAt: null,
      decidedAt: null,
      decision: null,
      error: null,
      cluster: null,
      server: null,
      client: new DnsClient({ servers: dns.servers, timeout: o.dnsTimeout, attempts: o.dnsAttempts }),
      up: false,
      stopped: false,
    };
    current[ordinal] = member;
    byId.set(member.id, member);
    step.push(member);
    await sleep(delay, undefined, { signal: closing.signal }).catch(() => {});
    if (closing.signal.aborted) return;
    if (o.probe === 'http') {
      member.server = createBootstrapProbe({ port: o.port, timeout: o.probeTimeout });
      await member.server.listen({ host: address, port: o.port });
    }
    member.up = true;
    if (!o.hidden.has(name)) {
      cluster.setReady(name, true);
      member.readyAt = Date.now();
    }
    try {
      const decision = await bootstrap(o.service, {
        min: o.min,
        stableFor: o.stableFor,
        probe: member.server?.probe ?? memoryProbe,
        newCluster: o.newCluster,
        self: { name },
        port: 'peer',
        namespace: 'default',
        client: member.client,
        minInterval: o.minInterval,
        maxInterval: Math.max(o.minInterval, 1000),
        probeInterval: o.probeInterval,
        probeTimeout: o.probeTimeout,
        waitTimeout: o.waitTimeout,
        latch: new BootstrapLatch(),
        signal: closing.signal,
      });
      member.decision = decision;
      member.decidedAt = Date.now();
      enter(member, decision);
    } catch (error) {
      member.error = error as Error;
      member.decidedAt = Date.now();
    }
  };

  /** What the app does with the decision: found a cluster, or join the one its seeds are in. */
  const enter = (member: Running, decision: BootstrapDecision): void => {
    if (decision.action === 'form') {
      member.cluster = member.id;
      clusters.set(member.id, new Set([member.id]));
    } else {
      const found = new Set(decision.seeds.map((seed) => byId.get(seed)?.cluster).filter((c): c is string => c != null && clusters.has(c)));
      if (found.size !== 1) {
        member.error = new Error(`${member.name} joined seeds ${decision.seeds.join(', ')}, which are in ${found.size} clusters`);
        return;
      }
      member.cluster = [...found][0]!;
      clusters.get(member.cluster)!.add(member.id);
    }
    publish(member.cluster);
  };

  const stop = async (member: Running): Promise<void> => {
    member.stopped = true;
    member.up = false;
    if (member.cluster !== null) {
      clusters.get(member.cluster)?.delete(member.id);
      publish(member.cluster);
    }
    await member.server?.close();
    member.client.close();
  };

  const outcome = (step: Running[]): FleetOutcome => {
    const live = current.filter((m) => m && !m.stopped);
    const distinct = new Set(live.map((m) => m.cluster).filter((c) => c !== null)).size;
    const readyTimes = step.flatMap((m) => (m.readyAt === null ? [] : [m.readyAt]));
    const decidedTimes = step.flatMap((m) => (m.decidedAt === null ? [] : [m.decidedAt]));
    return {
      forms: step.filter((m) => m.decision?.action === 'form').length,
      joins: step.filter((m) => m.decision?.action === 'join').length,
      errors: step.map((m) => m.error).filter((e): e is Error => e !== null),
      clusters: distinct,
      splits: Math.max(0, distinct - 1),
      decideAfterReadyMs: readyTimes.length && decidedTimes.length ? Math.max(...decidedTimes) - Math.max(...readyTimes) : 0,
      members: step.map(snapshot),
    };
  };

  let formed = false;
  return {
    cluster,
    dns,
    get members() {
      return current.map(snapshot);
    },
    async form() {
      if (formed) throw new InvalidArgumentError('form() was called already');
      formed = true;
      const step: Running[] = [];
      if (o.loss > 0) dns.fault({ drop: o.loss });
      const formingFor = o.maxStartDelay + o.stableFor;
      const chaos = [
        ...Array.from({ length: o.servfailBursts }, () =>
          sleep(o.random() * formingFor).then(() => dns.fault({ rcode: 'SERVFAIL', count: 1 + Math.floor(o.random() * 3) })),
        ),
        ...Array.from({ length: o.readinessFlips }, () => sleep(o.random() * formingFor).then(() => flip(step))),
      ];
      await Promise.all([...Array.from({ length: o.replicas }, (_, i) => start(i, 0, o.random() * o.maxStartDelay, step)), ...chaos]);
      return outcome(step);
    },
    async rollingRestart() {
      const step: Running[] = [];
      for (let ordinal = o.replicas - 1; ordinal >= 0; ordinal--) {
        const old = current[ordinal];
        if (old) {
          cluster.setReady(old.name, false);
          await stop(old);
        }
        await start(ordinal, (old?.incarnation ?? -1) + 1, o.random() * (o.maxStartDelay / 4), step);
      }
      return outcome(step);
    },
    async close() {
      closing.abort();
      dns.clearFaults();
      await Promise.all(current.filter((m) => m && !m.stopped).map(stop));
      await dns.close();
    },
  };

  async function flip(step: Running[]): Promise<void> {
    const started = step.filter((m) => m.readyAt !== null && m.decidedAt === null && !m.stopped);
    const member = started[Math.floor(o.random() * started.length)];
    if (!member) return;
    cluster.setReady(member.name, false);
    await sleep(50 + o.random() * 250);
    if (member.stopped || current[member.ordinal] !== member) return;
    cluster.setReady(member.name, true);
    member.readyAt = Date.now();
  }
}

/** A member as users see it, without the fleet's handles. */
function snapshot(m: Running): FleetMember {
  const { name, ordinal, incarnation, address, id, readyAt, decidedAt, decision, error, cluster } = m;
  return { name, ordinal, incarnation, address, id, readyAt, decidedAt, decision, error, cluster };
}

/** Creates a fleet, forms it, closes it: the outcome of one formation. */
export async function runFleet(options: FleetOptions): Promise<FleetOutcome> {
  const fleet = await createFleet(options);
  try {
    return await fleet.form();
  } finally {
    await fleet.close();
  }
}

type CheckedFleetOptions = Required<Omit<FleetOptions, 'hidden'>> & { hidden: Set<string> };

function checkFleetOptions(options: FleetOptions): CheckedFleetOptions {
  const int = (name: string, value: unknown, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    throw new InvalidArgumentError(name, value, `an integer in ${min}..${max}`);
  };
  const ms = (name: string, value: unknown, fallback: number): number => int(name, value === undefined ? undefined : Math.round(value as number), fallback, 0, 2 ** 31 - 1);
  const replicas = int('replicas', options.replicas, 0, 1, 1000);
  const loss = options.loss ?? 0;
  if (!(typeof loss === 'number' && loss >= 0 && loss <= 1)) throw new InvalidArgumentError('loss', loss, 'a probability in 0..1');
  const probe = options.probe ?? 'http';
  if (probe !== 'http' && probe !== 'memory') throw new InvalidArgumentError('probe', probe, "'http' or 'memory'");
  const service = options.service ?? 'app';
  if (!/^[a-z]([a-z0-9-]{0,40}[a-z0-9])?$/.test(service)) throw new InvalidArgumentError('service', service, 'a DNS label');
  return {
    replicas,
    min: int('min', options.min, replicas, 1, 1000),
    service,
    port: int('port', options.port, 7626, 1, 65535),
    maxStartDelay: ms('maxStartDelay', options.maxStartDelay, 3000),
    stableFor: ms('stableFor', options.stableFor, 1000),
    minInterval: ms('minInterval', options.minInterval, 100),
    probeInterval: Math.max(1, ms('probeInterval', options.probeInterval, 100)),
    probeTimeout: Math.max(1, ms('probeTimeout', options.probeTimeout, 500)),
    dnsTimeout: Math.max(1, ms('dnsTimeout', options.dnsTimeout, 250)),
    dnsAttempts: int('dnsAttempts', options.dnsAttempts, 3, 1, 100),
    loss,
    servfailBursts: int('servfailBursts', options.servfailBursts, 0, 0, 1000),
    readinessFlips: int('readinessFlips', options.readinessFlips, 0, 0, 1000),
    hidden: new Set(options.hidden ?? []),
    probe,
    newCluster: options.newCluster ?? true,
    waitTimeout: ms('waitTimeout', options.waitTimeout, 60_000),
    random: options.random ?? Math.random,
  };
}
