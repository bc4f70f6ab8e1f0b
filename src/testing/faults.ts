import { canonicalName } from '../dns/name.js';
import type { Transport } from './answer.js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';

/** An rcode a fault can force. */
export type FaultRcode = 'SERVFAIL' | 'REFUSED' | 'NOTIMP' | 'FORMERR' | 'NXDOMAIN';

/**
 * A misbehaviour of the test DNS server, for tests of clients. Given to
 * {@link TestDnsServer.fault}; applies to the next `count` matching queries
 * (default: until {@link TestDnsServer.clearFaults}). Several active faults combine;
 * on a conflict the one added last wins.
 */
export interface Fault {
  /** Send no answer: `true`, or a probability 0..1 per query. */
  drop?: boolean | number;
  /** Answer this many milliseconds late (other queries are not held up). */
  delayMs?: number;
  /** Answer with this rcode and empty sections. */
  rcode?: FaultRcode;
  /**
   * Set TC and empty the answer, even when it fits. Without `transport` it applies to UDP
   * only, so that the client's retry over TCP gets the whole answer; with
   * `transport: 'tcp'` it truncates TCP answers too.
   */
  truncate?: boolean;
  /** Send random bytes instead of the answer (framed as usual over TCP). */
  garbage?: boolean;
  /** Answer with an ID other than the query's. */
  wrongId?: boolean;
  /**
   * `false`: the TCP port resets every new connection at once (the client sees ECONNRESET),
   * as for "TC answer, but the TCP port is dead". A connection-level fault: it combines with
   * `count` only (a count of connections); call `fault()` again for query faults.
   */
  tcp?: boolean;
  /** Only queries over this transport. */
  transport?: Transport;
  /** Only queries for this name (case-insensitive, trailing dot ignored). */
  name?: string;
  /** How many matching queries (or connections, for `tcp: false`) it applies to. */
  count?: number;
}

/** What the active faults do to one query. */
export interface FaultEffects {
  drop: boolean;
  delayMs: number;
  rcode: FaultRcode | undefined;
  truncate: boolean;
  garbage: boolean;
  wrongId: boolean;
  /** Names of the fault fields that acted, for the query log (`['delayMs', 'rcode']`). */
  applied: string[];
}

const RCODES: readonly FaultRcode[] = ['SERVFAIL', 'REFUSED', 'NOTIMP', 'FORMERR', 'NXDOMAIN'];
const QUERY_FIELDS = ['drop', 'delayMs', 'rcode', 'truncate', 'garbage', 'wrongId'] as const;
const KNOWN_FIELDS = new Set<string>([...QUERY_FIELDS, 'tcp', 'transport', 'name', 'count']);

/** Checks a fault and returns a copy; throws {@link InvalidArgumentError} on a bad field. */
export function checkFault(fault: Fault): Fault {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`invalid fault ${safeJson(fault)}: ${why}`);
  };
  if (typeof fault !== 'object' || fault === null) bad('not an object');
  for (const key of Object.keys(fault)) if (!KNOWN_FIELDS.has(key)) bad(`unknown field ${key}`);
  const { drop, delayMs, rcode, count, transport, name, tcp } = fault;
  if (drop !== undefined && typeof drop !== 'boolean' && !(typeof drop === 'number' && drop >= 0 && drop <= 1)) {
    bad('drop must be a boolean or a probability 0..1');
  }
  if (delayMs !== undefined && !(typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0)) {
    bad('delayMs must be a number >= 0');
  }
  if (rcode !== undefined && !RCODES.includes(rcode)) bad(`rcode must be one of ${RCODES.join(', ')}`);
  for (const flag of ['truncate', 'garbage', 'wrongId', 'tcp'] as const) {
    if (fault[flag] !== undefined && typeof fault[flag] !== 'boolean') bad(`${flag} must be a boolean`);
  }
  if (count !== undefined && !(Number.isInteger(count) && count > 0)) bad('count must be an integer > 0');
  if (transport !== undefined && transport !== 'udp' && transport !== 'tcp') bad("transport must be 'udp' or 'tcp'");
  if (name !== undefined && typeof name !== 'string') bad('name must be a string');
  if (tcp === false && (QUERY_FIELDS.some((f) => fault[f] !== undefined) || transport !== undefined || name !== undefined)) {
    bad('tcp: false is a connection fault: combine it with count only');
  }
  return { ...fault };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

interface ActiveFault {
  fault: Fault;
  name: string | null;
  remaining: number;
}

/**
 * The active faults of a server. `random` decides probabilistic drops (default Math.random).
 */
export class FaultSet {
  #active: ActiveFault[] = [];
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  /** Number of active faults. */
  get size(): number {
    return this.#active.length;
  }

  /** Adds a fault (checked by {@link checkFault}). */
  add(fault: Fault): void {
    const f = checkFault(fault);
    this.#active.push({
      fault: f,
      name: f.name === undefined ? null : canonicalName(f.name),
      remaining: f.count ?? Number.POSITIVE_INFINITY,
    });
  }

  /** Removes every fault. */
  clear(): void {
    this.#active = [];
  }

  /** True when a new TCP connection must be reset; uses up one count of that fault. */
  refuseConnection(): boolean {
    const hit = this.#active.find((a) => a.fault.tcp === false);
    if (!hit) return false;
    this.#use(hit);
    return true;
  }

  /**
   * The effects on a query (name in text form, or null when it has none), or null when no
   * fault matches. Each matching fault uses up one of its count.
   */
  forQuery(name: string | null, transport: Transport): FaultEffects | null {
    const key = name === null ? null : canonicalName(name);
    let effects: FaultEffects | null = null;
    for (const active of [...this.#active]) {
      const f = active.fault;
      if (f.tcp === false) continue;
      if (f.transport !== undefined && f.transport !== transport) continue;
      if (active.name !== null && active.name !== key) continue;
      // A truncation without transport is for UDP: TC over TCP would leave the client nowhere to go.
      const truncate = f.truncate === true && (transport === 'udp' || f.transport === 'tcp');
      const acts = truncate || QUERY_FIELDS.some((field) => field !== 'truncate' && f[field] !== undefined && f[field] !== false && f[field] !== 0);
      // A fault that does nothing to this query does not use up its count.
      if (!acts) continue;
      effects ??= { drop: false, delayMs: 0, rcode: undefined, truncate: false, garbage: false, wrongId: false, applied: [] };
      this.#use(active);
      if (f.drop !== undefined && f.drop !== false) {
        const dropped = f.drop === true || this.#random() < f.drop;
        if (dropped) effects.drop = true;
        if (dropped) effects.applied.push('drop');
      }
      if (f.delayMs !== undefined && f.delayMs > 0) {
        effects.delayMs = f.delayMs;
        effects.applied.push('delayMs');
      }
      if (f.rcode !== undefined) {
        effects.rcode = f.rcode;
        effects.applied.push('rcode');
      }
      if (truncate) {
        effects.truncate = true;
        effects.applied.push('truncate');
      }
      if (f.garbage) {
        effects.garbage = true;
        effects.applied.push('garbage');
      }
      if (f.wrongId) {
        effects.wrongId = true;
        effects.applied.push('wrongId');
      }
    }
    return effects;
  }

  #use(active: ActiveFault): void {
    active.remaining--;
    if (active.remaining <= 0) this.#active = this.#active.filter((a) => a !== active);
  }
}
