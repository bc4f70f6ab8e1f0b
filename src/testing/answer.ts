import type { TestCluster } from './cluster.js';
import {
  CLASS,
  CLASSIC_UDP_SIZE,
  labelsOf,
  MAX_MESSAGE_SIZE,
  MAX_UDP_SIZE,
  RCODE,
  readQuery,
  TYPE,
  writeResponse,
  type WireQuery,
  type WireQuestion,
  type WireRecord,
  type WireResponse,
} from './wire.js';
import { Zone, type ZoneRecord, type ZoneRecordType } from './zone.js';

/** Transport a query came over: it sets the size limit of the answer. */
export type Transport = 'udp' | 'tcp';

/** The response codes the server writes, by name. */
export type RcodeName = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED' | 'BADVERS';

const RCODE_NAMES: Record<number, RcodeName> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  16: 'BADVERS',
};
const BADVERS = 16;

/** Options of {@link Responder} and {@link answerPacket}. */
export interface ResponderOptions {
  /** TTL of every record, seconds (default: `cluster.ttl`, read at each query). */
  ttl?: number;
  /** EDNS UDP payload size the server advertises (default 1232, the DNS Flag Day 2020 value). */
  ednsPayloadSize?: number;
}

/** Changes to the normal answer, for fault injection. */
export interface AnswerOverrides {
  /** Answer with this rcode and empty sections instead. */
  rcode?: 'SERVFAIL' | 'REFUSED' | 'NOTIMP' | 'FORMERR' | 'NXDOMAIN';
  /** Set TC and empty every section, even when the answer fits. */
  truncate?: boolean;
}

/** A response and what it said. */
export interface Answer {
  response: Buffer;
  rcode: RcodeName;
  /** TC is set. */
  truncated: boolean;
}

/** How a query names itself in logs. */
export interface QuestionText {
  /** The name as asked, no trailing dot (`.` for the root); bytes outside printable ASCII as `\DDD`. */
  name: string;
  /** `A`, `SRV`, ... or `TYPE<n>`. */
  type: string;
  /** `IN`, ... or `CLASS<n>`. */
  class: string;
}

const TYPE_NAMES = new Map<number, string>(Object.entries(TYPE).map(([name, n]) => [n, name]));
const CLASS_NAMES = new Map<number, string>(Object.entries(CLASS).map(([name, n]) => [n, name]));

/** Text form of a question, for logs and fault matching. */
export function questionText(question: WireQuestion): QuestionText {
  return {
    name: question.labels.length === 0 ? '.' : question.labels.map(escapeLabel).join('.'),
    type: TYPE_NAMES.get(question.type) ?? `TYPE${question.type}`,
    class: CLASS_NAMES.get(question.class) ?? `CLASS${question.class}`,
  };
}

/** A label as text: printable ASCII as is, dots, backslashes and other bytes as `\DDD` (so label boundaries stay dots). */
function escapeLabel(label: string): string {
  let out = '';
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    out += c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c ? `\\${String(c).padStart(3, '0')}` : label[i];
  }
  return out;
}

/** The lookup key of a name: its text form in lower case (ASCII only; escapes never match a zone name). */
export function lookupKey(question: WireQuestion): string {
  return questionText(question).name.toLowerCase();
}

/** The SOA of a zone apex, as CoreDNS writes it: minimum (negative-caching TTL) is the TTL. */
export function soaRecord(apex: string, serial: number, ttl: number): WireRecord {
  return {
    owner: labelsOf(apex),
    ttl,
    record: {
      type: 'SOA',
      data: {
        mname: `ns.dns.${apex}`,
        rname: `hostmaster.${apex}`,
        serial: serial >>> 0,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: ttl,
      },
    },
  };
}

const empty = (rcode: number, authoritative = false): WireResponse => ({
  rcode,
  authoritative,
  answers: [],
  authorities: [],
  additionals: [],
});

/**
 * The answer to one question from a zone snapshot (the Kubernetes DNS spec logic):
 * REFUSED outside the cluster domain and the reverse zones, NXDOMAIN for names that do
 * not exist, NODATA (NOERROR, no answer, SOA in authority) for names without the type
 * asked, else the records, with the A/AAAA of SRV targets as glue. Answer records carry
 * the question's name as asked (its case).
 */
export function resolveQuestion(zone: Zone, question: WireQuestion, ttl: number): WireResponse {
  if (question.class !== CLASS.IN && question.class !== CLASS.ANY) return empty(RCODE.REFUSED);
  if (question.type === TYPE.OPT) return empty(RCODE.FORMERR);
  // A test tool has no zone transfers.
  if (question.type === TYPE.AXFR || question.type === TYPE.IXFR) return empty(RCODE.REFUSED);
  const match = zone.find(lookupKey(question));
  if (!match) return empty(RCODE.REFUSED);
  const soa = soaRecord(match.apex, zone.version, ttl);
  if (!match.node) return { ...empty(RCODE.NXDOMAIN, true), authorities: [soa] };
  const isApex = question.labels.length === labelsOf(match.apex).length;
  const records: ZoneRecord[] = [];
  if (question.type === TYPE.ANY) {
    for (const list of match.node.values()) records.push(...list);
  } else {
    const name = TYPE_NAMES.get(question.type) as ZoneRecordType | undefined;
    if (name) records.push(...(match.node.get(name) ?? []));
  }
  if (isApex && (question.type === TYPE.SOA || question.type === TYPE.ANY)) records.unshift(soa.record);
  if (records.length === 0) return { ...empty(RCODE.NOERROR, true), authorities: [soa] };
  const answers = records.map((record) => ({ owner: question.labels, ttl, record }));
  const additionals: WireRecord[] = [];
  const seen = new Set<string>();
  for (const { record } of answers) {
    if (record.type !== 'SRV' || seen.has(record.data.target)) continue;
    seen.add(record.data.target);
    const owner = labelsOf(record.data.target);
    for (const glue of zone.addressesOf(record.data.target)) additionals.push({ owner, ttl, record: glue });
  }
  return { rcode: RCODE.NOERROR, authoritative: true, answers, authorities: [], additionals };
}

/** The size limit of a response: 65,535 over TCP; over UDP the client's EDNS size (at least 512), else 512. */
export function responseLimit(query: WireQuery, transport: Transport): number {
  if (transport === 'tcp') return MAX_MESSAGE_SIZE;
  if (!query.edns) return CLASSIC_UDP_SIZE;
  return Math.min(Math.max(query.edns.udpPayloadSize, CLASSIC_UDP_SIZE), MAX_UDP_SIZE);
}

/**
 * Answers DNS queries from a {@link TestCluster}. Keeps a {@link Zone} snapshot and the
 * encoded responses for the cluster's current version (and TTL): a change to the model is
 * seen at the next query, and asking the same question again (a benchmark asking for
 * 1,000 SRV records) costs a copy.
 */
export class Responder {
  readonly #cluster: TestCluster;
  readonly #options: ResponderOptions;
  #zone: Zone | null = null;
  #generation = '';
  readonly #cache = new Map<string, Buffer>();
  #cacheBytes = 0;

  constructor(cluster: TestCluster, options: ResponderOptions = {}) {
    this.#cluster = cluster;
    this.#options = options;
  }

  /** TTL in force: the option, else the cluster's. */
  get ttl(): number {
    return this.#options.ttl ?? this.#cluster.ttl;
  }

  /** The zone snapshot of the cluster's current version. */
  get zone(): Zone {
    this.#refresh();
    return this.#zone!;
  }

  /** Drops the cached zone and responses. */
  clearCache(): void {
    this.#zone = null;
    this.#generation = '';
    this.#cache.clear();
    this.#cacheBytes = 0;
  }

  /**
   * The response to a query read by {@link readQuery}: FORMERR for a malformed one, NOTIMP
   * for opcodes other than QUERY, BADVERS for EDNS versions above 0, else the zone's answer,
   * truncated to the transport's limit (see {@link writeResponse} for how).
   */
  answer(query: WireQuery, transport: Transport, overrides: AnswerOverrides = {}): Answer {
    const payload = this.#options.ednsPayloadSize ?? 1232;
    const limit = responseLimit(query, transport);
    const write = (q: WireQuery, response: WireResponse, forceTruncate = false): Answer => ({
      response: writeResponse(q, response, {
        limit,
        overflow: transport === 'tcp' ? 'cut' : 'empty',
        forceTruncate,
        ednsPayloadSize: payload,
      }),
      rcode: RCODE_NAMES[response.rcode] ?? 'NOERROR',
      truncated: false,
    });
    const finish = (a: Answer): Answer => ({ ...a, truncated: (a.response.readUInt16BE(2) & 0x0200) !== 0 });
    // RFC 6891 7: a malformed query gets FORMERR without OPT.
    if (query.malformed) return finish(write({ ...query, edns: null }, empty(RCODE.FORMERR)));
    if (overrides.rcode) return finish(write(query, empty(RCODE[overrides.rcode])));
    if (query.opcode !== 0) return finish(write(query, empty(RCODE.NOTIMP)));
    if (query.edns && query.edns.version > 0) return finish(write(query, empty(BADVERS)));
    const question = query.question!;
    this.#refresh();
    if (overrides.truncate) {
      return finish(write(query, resolveQuestion(this.#zone!, question, this.ttl), true));
    }
    const key = cacheKey(query, question, limit);
    const cached = this.#cache.get(key);
    if (cached) return finish({ response: withId(cached, query.id), rcode: rcodeOf(cached), truncated: false });
    const answer = finish(write(query, resolveQuestion(this.#zone!, question, this.ttl)));
    // Bounded: a flood of distinct questions must not grow memory.
    if (this.#cache.size >= 4096 || this.#cacheBytes + answer.response.length > 32 * 1024 * 1024) {
      this.#cache.clear();
      this.#cacheBytes = 0;
    }
    this.#cache.set(key, answer.response);
    this.#cacheBytes += answer.response.length;
    return { ...answer, response: Buffer.from(answer.response) };
  }

  /** Reads and answers one message; null when it is too short to answer (no header). */
  answerPacket(packet: Uint8Array, transport: Transport, overrides: AnswerOverrides = {}): Answer | null {
    const query = readQuery(packet);
    return query ? this.answer(query, transport, overrides) : null;
  }

  #refresh(): void {
    const generation = `${this.#cluster.version}/${this.ttl}`;
    if (this.#zone && generation === this.#generation) return;
    if (!this.#zone || this.#zone.version !== this.#cluster.version) this.#zone = new Zone(this.#cluster);
    this.#generation = generation;
    this.#cache.clear();
    this.#cacheBytes = 0;
  }
}

function cacheKey(query: WireQuery, question: WireQuestion, limit: number): string {
  const edns = query.edns ? `${query.edns.version}/${query.edns.dnssecOk ? 1 : 0}` : '-';
  const flags = `${query.recursionDesired ? 1 : 0}${query.checkingDisabled ? 1 : 0}`;
  return `${limit} ${edns} ${flags} ${question.type} ${question.class} ${question.labels.map((l) => `${l.length}:${l}`).join('')}`;
}

function withId(message: Buffer, id: number): Buffer {
  const copy = Buffer.from(message);
  copy.writeUInt16BE(id, 0);
  return copy;
}

function rcodeOf(message: Buffer): RcodeName {
  return RCODE_NAMES[message.readUInt16BE(2) & 0xf] ?? 'NOERROR';
}

/**
 * Answers one DNS message from a cluster, without any cache: the pure form of
 * {@link Responder} for tests and tools. Null when the message is too short to answer.
 */
export function answerPacket(
  packet: Uint8Array,
  cluster: TestCluster,
  transport: Transport,
  options: ResponderOptions = {},
): Answer | null {
  return new Responder(cluster, options).answerPacket(packet, transport);
}
