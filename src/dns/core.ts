/**
 * The shared machinery of one DnsClient, as its lookups use it: settings, counters, the
 * deadline list, the transports, server health, query templates, abort signals, and the
 * single-request turns of A and AAAA lookups.
 */
import { DeadlineList } from './deadlines.js';
import { IdSource } from './exchange.js';
import { encodeQuery, type QueryType } from './message.js';
import { checkName } from './name.js';
import type { ClientSettings } from './options.js';
import { searchNames } from './search.js';
import { ServerHealth } from './server-health.js';
import { TcpTransport } from './tcp.js';
import { UdpTransport } from './udp.js';

/** Query templates kept per client; the cache starts over when full. */
const MAX_TEMPLATES = 512;
/** Name plans kept per client; the cache starts over when full. */
const MAX_PLANS = 512;

/** What the lookups of one given name need, worked out once per name (see ClientCore.plan). */
export interface NamePlan {
  /** The absolute names to try, in order (the search list applied). */
  readonly candidates: readonly string[];
  /**
   * No candidate holds a space or `\`, which read escaped in decoded names: the fast answer path
   * (fast-answer.ts), which compares owners as wire bytes, gives the same result as the full one.
   */
  readonly plain: boolean;
}

/** Mutable counters behind DnsClient.stats. */
export class Counters {
  lookups = 0;
  queries = 0;
  tcpQueries = 0;
  answers = 0;
  dropped = 0;
  timeouts = 0;
  truncated = 0;
  badResponses = 0;
  errors = 0;
}

/** What ClientCore needs of a lookup: to be told its signal aborted, or that its turn came. */
export interface LookupHandle {
  aborted(): void;
  begin(): void;
  cancel(why: string): void;
}

/** Settings and shared machinery of one client. */
export class ClientCore {
  readonly counters = new Counters();
  readonly deadlines = new DeadlineList();
  readonly udp: UdpTransport;
  readonly tcp: TcpTransport;
  readonly health: ServerHealth;
  private rotation = 0;
  /** Encoded queries by type, then name: a cache (bounded, cleared on close), not state. */
  private readonly templates = new Map<QueryType, Map<string, Buffer>>();
  private templateCount = 0;
  /** Checked names and their search candidates: a cache (bounded, cleared on close), not state. */
  private readonly plans = new Map<string, NamePlan>();
  /** Signals of lookups in flight, each with its one listener. */
  private readonly signals = new Map<AbortSignal, { lookups: Set<LookupHandle>; listener: () => void }>();
  /** single-request: A/AAAA lookups per name, the first running, the others waiting their turn. */
  private readonly turns = new Map<string, LookupHandle[]>();

  constructor(readonly settings: ClientSettings) {
    const ids = new IdSource();
    this.udp = new UdpTransport({ maxQueriesPerSocket: settings.maxQueriesPerSocket, maxInflight: settings.maxInflight }, this.counters, ids);
    this.tcp = new TcpTransport(
      { idleTimeout: settings.tcpIdleTimeout, maxInflight: settings.maxTcpInflight, maxConnections: settings.maxTcpConnections },
      this.counters,
      ids,
    );
    this.health = new ServerHealth(settings.servers, settings.failover, settings.failoverRetryDelay);
  }

  /** A fresh copy of the query for (name, type): encoded once, then copied (IDs differ per copy). */
  encode(name: string, type: QueryType): Buffer {
    // Two levels, not a `${type} ${name}` key: no string is built and hashed per query.
    let byName = this.templates.get(type);
    if (byName === undefined) this.templates.set(type, (byName = new Map()));
    let template = byName.get(name);
    if (template === undefined) {
      if (this.templateCount >= MAX_TEMPLATES) {
        this.clearCache();
        this.templates.set(type, (byName = new Map()));
      }
      template = encodeQuery(name, type, this.settings.udpPayloadSize);
      byName.set(name, template);
      this.templateCount++;
    }
    // allocUnsafe (from node's pool) and a copy: cheaper than Buffer.from's generic path.
    const packet = Buffer.allocUnsafe(template.length);
    packet.set(template);
    return packet;
  }

  /**
   * The plan of `name`: checked (throws `EBADNAME` like checkName), its search candidates. Kept
   * per name, so a name asked again costs one map lookup instead of the checks and a new array.
   */
  plan(name: string, rrtype: string): NamePlan {
    let plan = this.plans.get(name);
    if (plan === undefined) {
      checkName(name, rrtype);
      const candidates = searchNames(name, this.settings.search, this.settings.ndots);
      plan = { candidates, plain: candidates.every((c) => !/[ \\]/.test(c)) };
      if (this.plans.size >= MAX_PLANS) this.plans.clear();
      this.plans.set(name, plan);
    }
    return plan;
  }

  /** Forgets the encoded query templates and the name plans. */
  clearCache(): void {
    this.templates.clear();
    this.templateCount = 0;
    this.plans.clear();
  }

  /**
   * One 'abort' listener per signal, however many lookups share it (a watcher resolving 100 SRV
   * targets with one signal would otherwise trip Node's listener-leak warning).
   */
  watchSignal(signal: AbortSignal, lookup: LookupHandle): void {
    let watched = this.signals.get(signal);
    if (watched === undefined) {
      const lookups = new Set<LookupHandle>();
      const listener = (): void => {
        this.signals.delete(signal);
        for (const l of lookups) l.aborted();
      };
      watched = { lookups, listener };
      this.signals.set(signal, watched);
      signal.addEventListener('abort', listener, { once: true });
    }
    watched.lookups.add(lookup);
  }

  unwatchSignal(signal: AbortSignal, lookup: LookupHandle): void {
    const watched = this.signals.get(signal);
    if (watched === undefined || !watched.lookups.delete(lookup) || watched.lookups.size > 0) return;
    this.signals.delete(signal);
    signal.removeEventListener('abort', watched.listener);
  }

  /** single-request: `lookup` begins now if no A/AAAA lookup of `key` runs, else after those before it. */
  takeTurn(key: string, lookup: LookupHandle): void {
    const queue = this.turns.get(key);
    if (queue === undefined) {
      this.turns.set(key, [lookup]);
      lookup.begin();
    } else {
      queue.push(lookup);
    }
  }

  /** single-request: `lookup` is done (or gave up waiting); the next one of `key` begins. */
  endTurn(key: string, lookup: LookupHandle): void {
    const queue = this.turns.get(key);
    if (queue === undefined) return;
    const i = queue.indexOf(lookup);
    if (i === -1) return;
    queue.splice(i, 1);
    if (queue.length === 0) this.turns.delete(key);
    else if (i === 0) queue[0]!.begin();
  }

  /** Lookups holding or waiting for a single-request turn (a copy: close() cancels them). */
  turnHolders(): LookupHandle[] {
    return [...this.turns.values()].flat();
  }

  /** Where the next lookup starts in the server list (resolv.conf `rotate`). */
  nextStart(): number {
    if (!this.settings.rotate) return 0;
    const n = this.settings.servers.length;
    const start = this.rotation % n;
    this.rotation = (this.rotation + 1) % n;
    return start;
  }
}
