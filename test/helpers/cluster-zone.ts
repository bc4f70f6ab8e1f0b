/**
 * Builds the text of a `cluster.local` zone as a cluster's DNS would answer it for headless
 * Services (see /work/shared/kubernetes-dns.md), for knotd and for expectations in tests.
 */

/** A named Service port: it gets `_<name>._<protocol>` SRV records. */
export interface ZonePort {
  name: string;
  port: number;
  protocol?: 'tcp' | 'udp' | 'sctp';
}

/** One headless Service and its pods. */
export interface ZoneServiceSpec {
  name: string;
  namespace?: string;
  /** Number of ready pods, named `<podPrefix>-<i>`. */
  pods: number;
  /** StatefulSet name used for pod hostnames (default: `web`). */
  podPrefix?: string;
  ports?: ZonePort[];
  /** IPv4 of pod i (default `10.<k>.<i / 256>.<i % 256>` with k the service's index + 1). */
  ipv4?: ((i: number) => string) | false;
  /** IPv6 of pod i, or true for `fd00::<k>:<i>` (default: none). */
  ipv6?: ((i: number) => string) | boolean;
  /** Pods whose own `<hostname>.<svc>` A/AAAA records are left out (SRV targets without glue). */
  omitPodRecords?: number[];
  /** Leave out the pods' own records entirely (no `<hostname>.<svc>` names). */
  noPodRecords?: boolean;
  ttl?: number;
}

/** A pod as the zone publishes it. */
export interface ZonePod {
  hostname: string;
  /** `<hostname>.<svc>.<ns>.svc.<origin>` (no trailing dot). */
  fqdn: string;
  ipv4: string | null;
  ipv6: string | null;
  /** Whether the pod's own A/AAAA records are in the zone. */
  published: boolean;
}

/** Options of {@link clusterZone}. */
export interface ClusterZoneOptions {
  origin?: string;
  ttl?: number;
}

/** The Service's absolute name without trailing dot: `<svc>.<ns>.svc.<origin>`. */
export function serviceName(spec: ZoneServiceSpec, origin = 'cluster.local'): string {
  return `${spec.name}.${spec.namespace ?? 'default'}.svc.${origin}`;
}

/** The pods of `spec` (the `index`-th Service of the zone), with their names and addresses. */
export function zonePods(spec: ZoneServiceSpec, index = 0, origin = 'cluster.local'): ZonePod[] {
  const k = index + 1;
  const v4 = spec.ipv4 === false ? null : (spec.ipv4 ?? ((i: number) => `10.${k}.${i >> 8}.${i & 255}`));
  const v6 =
    spec.ipv6 === true ? (i: number) => `fd00::${k.toString(16)}:${i.toString(16)}` : spec.ipv6 || null;
  const omitted = new Set(spec.omitPodRecords ?? []);
  const svc = serviceName(spec, origin);
  const pods: ZonePod[] = [];
  for (let i = 0; i < spec.pods; i++) {
    const hostname = `${spec.podPrefix ?? 'web'}-${i}`;
    pods.push({
      hostname,
      fqdn: `${hostname}.${svc}`,
      ipv4: v4 ? v4(i) : null,
      ipv6: v6 ? v6(i) : null,
      published: !spec.noPodRecords && !omitted.has(i),
    });
  }
  return pods;
}

/** Zone file body (relative to `origin`) for these Services. */
export function clusterZone(services: ZoneServiceSpec[], options: ClusterZoneOptions = {}): string {
  const origin = options.origin ?? 'cluster.local';
  const lines: string[] = [];
  services.forEach((spec, index) => {
    const ttl = spec.ttl ?? options.ttl ?? 5;
    const rel = `${spec.name}.${spec.namespace ?? 'default'}.svc`;
    const pods = zonePods(spec, index, origin);
    for (const pod of pods) {
      if (pod.ipv4) lines.push(`${rel} ${ttl} IN A ${pod.ipv4}`);
      if (pod.ipv6) lines.push(`${rel} ${ttl} IN AAAA ${pod.ipv6}`);
    }
    for (const pod of pods) {
      if (!pod.published) continue;
      if (pod.ipv4) lines.push(`${pod.hostname}.${rel} ${ttl} IN A ${pod.ipv4}`);
      if (pod.ipv6) lines.push(`${pod.hostname}.${rel} ${ttl} IN AAAA ${pod.ipv6}`);
    }
    for (const port of spec.ports ?? []) {
      const weight = pods.length > 0 ? Math.floor(100 / pods.length) : 0;
      for (const pod of pods) {
        lines.push(`_${port.name}._${port.protocol ?? 'tcp'}.${rel} ${ttl} IN SRV 0 ${weight} ${port.port} ${pod.fqdn}.`);
      }
    }
  });
  return `${lines.join('\n')}\n`;
}
