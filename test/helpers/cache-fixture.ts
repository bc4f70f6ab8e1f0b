/**
 * A knotd serving a mutable cluster zone, with a DNS cache in front, and a DnsClient that keeps
 * every answer it got (real queries over loopback; the answers are only recorded).
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { QUERY_START_CHANNEL, type QueryStartMessage } from '../../src/dns/diagnostics.ts';
import { DnsClient, type DnsClientOptions, type DnsResponse, type QueryOptions } from '../../src/dns/client.ts';
import type { QueryType } from '../../src/dns/message.ts';
import { setKnotZone, startCache, type CacheKind, type CacheServer } from './caches.ts';
import { clusterZone, type ZoneServiceSpec } from './cluster-zone.ts';
import { startKnot, type KnotServer } from './knot.ts';

/** One query the client sent and the answer it got. */
export interface Exchange {
  name: string;
  type: QueryType;
  at: number;
  response: DnsResponse | null;
}

/** A DnsClient that records each query() and its answer. */
export class RecordingClient extends DnsClient {
  readonly log: Exchange[] = [];

  constructor(options: DnsClientOptions) {
    super(options);
  }

  override query(name: string, type: QueryType, options: QueryOptions = {}): Promise<DnsResponse> {
    const entry: Exchange = { name: name.replace(/\.$/, '').toLowerCase(), type, at: performance.now(), response: null };
    this.log.push(entry);
    const p = super.query(name, type, options);
    p.then((res) => (entry.response = res)).catch(() => {});
    return p;
  }

  /** Queries sent since `from` (an index into log) for `name` (and `type`). */
  asked(from: number, name?: string, type?: QueryType): Exchange[] {
    return this.log.slice(from).filter((e) => (name === undefined || e.name === name) && (type === undefined || e.type === type));
  }
}

/** Every query sent to `server`, as the client's diagnostics channel reports it, until stop(). */
export function recordWire(server: string): { log: QueryStartMessage[]; stop(): void } {
  const log: QueryStartMessage[] = [];
  const listener = (message: unknown): void => {
    const m = message as QueryStartMessage;
    if (m.server === server) log.push({ ...m, name: m.name.toLowerCase() });
  };
  diagnosticsChannel.subscribe(QUERY_START_CHANNEL, listener);
  return { log, stop: () => diagnosticsChannel.unsubscribe(QUERY_START_CHANNEL, listener) };
}

/** Negative TTL of the test zone (its SOA minimum), seconds. */
export const NEGATIVE_TTL = 3;

/** The cluster zone, with an SOA whose minimum is {@link NEGATIVE_TTL}, and the Services in it. */
export class MutableZone {
  readonly services = new Map<string, ZoneServiceSpec>();
  /** Zone file lines added as they are (records clusterZone cannot write). */
  extra: string[] = [];
  #serial = 1;
  readonly #knot: KnotServer;

  constructor(knot: KnotServer) {
    this.#knot = knot;
  }

  text(): string {
    const soa = [
      `@ ${NEGATIVE_TTL} IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${this.#serial} 7200 1800 86400 ${NEGATIVE_TTL}`,
      `@ ${NEGATIVE_TTL} IN NS ns.dns.cluster.local.`,
      `ns.dns ${NEGATIVE_TTL} IN A 127.0.0.1`,
      // The API server's Service: an SRV target `kubernetes.` must never be found here.
      `kubernetes.default.svc 30 IN A 127.9.9.9`,
      ...this.extra,
    ];
    return `${soa.join('\n')}\n${clusterZone([...this.services.values()])}`;
  }

  /** Sets (or with null removes) a Service and has knotd serve the new zone. */
  async set(spec: ZoneServiceSpec | null, name = spec?.name): Promise<void> {
    if (spec === null) this.services.delete(name!);
    else this.services.set(spec.name, spec);
    this.#serial++;
    await setKnotZone(this.#knot, { origin: 'cluster.local', records: this.text() });
  }
}

/** knotd (cluster.local, and an empty `kubernetes.` zone) with `kind` in front. */
export interface CacheFixture {
  knot: KnotServer;
  cache: CacheServer;
  zone: MutableZone;
  close(): Promise<void>;
}

export async function startCacheFixture(kind: CacheKind, services: ZoneServiceSpec[]): Promise<CacheFixture> {
  const zone0 = services;
  const knot = await startKnot({ zones: [{ origin: 'cluster.local', records: 'placeholder 1 IN A 127.0.0.1' }, { origin: 'kubernetes', records: '' }] });
  const zone = new MutableZone(knot);
  try {
    for (const s of zone0) zone.services.set(s.name, s);
    await zone.set(null, '-');
    const cache = await startCache(kind, { upstream: { host: knot.host, port: knot.port }, zones: ['cluster.local', 'kubernetes'] });
    return {
      knot,
      cache,
      zone,
      async close() {
        await cache.close();
        await knot.close();
      },
    };
  } catch (err) {
    await knot.close();
    throw err;
  }
}
