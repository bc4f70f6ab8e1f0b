import type { DnsClient } from '../dns/client.js';
import { canonicalName } from '../dns/name.js';
import type { QueryType } from '../dns/message.js';
import type { PeerInit } from '../peer/index.js';
import { addressesOf, negativeTtlOf, type SrvTarget, type TimedAddress } from './answers.js';
import type { Family } from './options.js';
import { searchOnce } from './search-once.js';

/** What the watcher knows of one SRV target. */
interface TargetEntry {
  addresses: TimedAddress[];
  /** Its last lookup said NXDOMAIN while the SRV set lists it (a stale cache): ask again. */
  stale: boolean;
  /** performance.now() until which an entry without addresses is believed (its negative TTL). */
  emptyUntil: number;
}

/** The address types a family asks. */
export function addressTypes(family: Family): QueryType[] {
  return family === 4 ? ['A'] : family === 6 ? ['AAAA'] : ['A', 'AAAA'];
}

/** The peers of an SRV answer and what the next poll should know. */
export interface TargetsOutcome {
  inits: PeerInit[];
  /** Smallest TTL of the records used (seconds), or null when none. */
  ttl: number | null;
  /** Seconds until a listed target whose lookup said NXDOMAIN should be asked again, or null. */
  retryIn: number | null;
  /** Listed targets with no address yet whose NXDOMAIN came from a cache (not authoritative). */
  unresolved: number;
}

/**
 * The addresses of SRV targets across polls. Caches that drop glue (unbound never sends SRV glue)
 * would make each poll cost a lookup per pod; instead an address already known is kept while the
 * Service's own A/AAAA answer still lists it, so a poll in which nothing changed costs the SRV
 * query and one address query per family, whatever the size. New targets, and targets whose
 * address left the Service's set, are looked up, by absolute name (never through the search list).
 */
export class TargetBook {
  #entries = new Map<string, TargetEntry>();

  /** True when some listed target without glue could be answered from what is known. */
  wouldReuse(targets: readonly SrvTarget[], family: Family): boolean {
    return targets.some((t) => usableGlue(t, family).length === 0 && this.#entries.has(canonicalName(t.name)));
  }

  /**
   * The peers of `targets`. `serviceAddresses` is the Service's own address set of this poll
   * (address -> TTL), or null when it was not asked or not answered. `trustKnown`: the known
   * addresses were learnt in this same resolution, so they need no check.
   */
  async resolve(
    client: DnsClient,
    targets: readonly SrvTarget[],
    family: Family,
    serviceAddresses: Map<string, number> | null,
    signal: AbortSignal | undefined,
    trustKnown = false,
  ): Promise<TargetsOutcome> {
    const now = performance.now();
    const next = new Map<string, TargetEntry>();
    const toAsk: string[] = [];
    const used = new Map<string, TimedAddress[]>();
    for (const t of targets) {
      const key = canonicalName(t.name);
      if (next.has(key) || used.has(key)) continue;
      const glue = usableGlue(t, family);
      const known = this.#entries.get(key);
      if (glue.length > 0) {
        next.set(key, { addresses: glue, stale: false, emptyUntil: 0 });
        used.set(key, glue);
      } else if (known && !known.stale && known.addresses.length > 0 && trustKnown) {
        next.set(key, known);
        used.set(key, known.addresses);
      } else if (known && !known.stale && known.addresses.length > 0 && inSet(known.addresses, serviceAddresses)) {
        // Still in the Service's set: the same pod at the same address. Its TTL is the set's.
        const addresses = known.addresses.map((a) => ({ ...a, ttl: serviceAddresses!.get(a.address)! }));
        next.set(key, { ...known, addresses });
        used.set(key, addresses);
      } else if (known && !known.stale && known.addresses.length === 0 && now < known.emptyUntil) {
        next.set(key, known);
        used.set(key, []);
      } else {
        toAsk.push(t.name);
      }
    }
    let retryIn: number | null = null;
    let unresolved = 0;
    const asked = await Promise.all(toAsk.map((name) => lookupTarget(client, name, family, signal)));
    for (let i = 0; i < toAsk.length; i++) {
      const key = canonicalName(toAsk[i]!);
      const { addresses, nxdomain, negativeTtl } = asked[i]!;
      if (nxdomain) {
        // The SRV set lists it, so it exists: the NXDOMAIN is a cache's stale negative answer.
        // Keep what was known of it, unchanged, and ask again once that answer has expired.
        retryIn = Math.min(retryIn ?? Number.POSITIVE_INFINITY, negativeTtl ?? 0);
        const kept = this.#entries.get(key)?.addresses ?? [];
        if (kept.length === 0 && !asked[i]!.authoritative) unresolved++;
        next.set(key, { addresses: kept, stale: true, emptyUntil: 0 });
        used.set(key, kept);
        continue;
      }
      next.set(key, { addresses, stale: false, emptyUntil: now + (negativeTtl ?? 0) * 1000 });
      used.set(key, addresses);
    }
    this.#entries = next;
    const inits: PeerInit[] = [];
    let ttl = Number.POSITIVE_INFINITY;
    for (const t of targets) {
      for (const a of used.get(canonicalName(t.name)) ?? []) {
        const peerTtl = Math.min(t.ttl, a.ttl);
        ttl = Math.min(ttl, peerTtl);
        inits.push({ host: t.name, address: a.address, port: t.port, priority: t.priority, weight: t.weight, ttl: peerTtl });
      }
    }
    return { inits, ttl: inits.length > 0 ? ttl : null, retryIn, unresolved };
  }
}

function inSet(addresses: readonly TimedAddress[], set: Map<string, number> | null): boolean {
  return set !== null && addresses.every((a) => set.has(a.address));
}

function usableGlue(t: SrvTarget, family: Family): TimedAddress[] {
  return t.glue.filter((a) => family === 0 || a.family === family);
}

/** A target's addresses, asked by absolute name; `nxdomain` when every type said NXDOMAIN. */
async function lookupTarget(
  client: DnsClient,
  name: string,
  family: Family,
  signal: AbortSignal | undefined,
): Promise<{ addresses: TimedAddress[]; nxdomain: boolean; authoritative: boolean; negativeTtl: number | null }> {
  const result = await searchOnce(client, `${name}.`, addressTypes(family), signal);
  const addresses = result.responses.flatMap(addressesOf);
  let negativeTtl: number | null = null;
  for (const res of result.responses) {
    const n = negativeTtlOf(res);
    if (n !== null) negativeTtl = Math.min(negativeTtl ?? n, n);
  }
  const nxdomain = result.responses.every((r) => r.rcode === 'NXDOMAIN');
  return { addresses, nxdomain, authoritative: result.responses.every((r) => r.authoritative), negativeTtl };
}
