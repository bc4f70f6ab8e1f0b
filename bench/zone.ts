/**
 * The benchmark's cluster.local zone: headless Services of 3, 50 and 1,000 ready pods, each
 * with a named port (SRV records) and A records for the Service and for every pod (SRV glue).
 */
import { clusterZone, serviceName, type ZoneServiceSpec } from '../test/helpers/cluster-zone.ts';

export const SMALL: ZoneServiceSpec = { name: 'small', pods: 3, podPrefix: 'small', ports: [{ name: 'web', port: 80 }] };
export const MEDIUM: ZoneServiceSpec = { name: 'medium', pods: 50, podPrefix: 'medium', ports: [{ name: 'web', port: 80 }] };
export const LARGE: ZoneServiceSpec = { name: 'large', pods: 1000, podPrefix: 'large', ports: [{ name: 'web', port: 80 }] };

/** Absolute names (no trailing dot) the benchmarks ask for. */
export const NAMES = {
  smallSrv: `_web._tcp.${serviceName(SMALL)}`,
  mediumSrv: `_web._tcp.${serviceName(MEDIUM)}`,
  largeA: serviceName(LARGE),
} as const;

/** The zone for knotd. */
export function benchZone(): { origin: string; records: string } {
  return { origin: 'cluster.local', records: clusterZone([SMALL, MEDIUM, LARGE]) };
}
