import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { questionText, Responder, type RcodeName, type Transport } from './answer.js';
import type { TestCluster } from './cluster.js';
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import { FaultSet, type Fault, type FaultEffects } from './faults.js';
import { readQuery } from './wire.js';

/** What {@link createTestServer} takes. */
export interface TestServerOptions {
  /** The model to answer from; every change is seen at the next query. */
  cluster: TestCluster;
  /** IP address to listen on (default `127.0.0.1`; `::1` for IPv6). */
  host?: string;
  /** Port for both UDP and TCP (default 0: a free port, kept across stop/start). */
  port?: number;
  /** TTL of answers in seconds, overriding `cluster.ttl` (0..3600). */
  ttl?: number;
  /** How many entries {@link TestDnsServer.queries} keeps, the newest (default 10,000). */
  queryLogLimit?: number;
  /** Idle TCP connections are closed after this many milliseconds (default 10,000). */
  tcpIdleTimeout?: number;
  /** EDNS UDP payload size advertised in answers (default 1232). */
  ednsPayloadSize?: number;
}

/** One message the server received. */
export interface QueryLogEntry {
  /** Name asked, as sent, without trailing dot; `''` when the message had no readable question. */
  name: string;
  /** `A`, `SRV`, ... or `TYPE<n>`; `''` without a readable question. */
  type: string;
  /** `IN`, ... or `CLASS<n>`; `''` without a readable question. */
  class: string;
  transport: Transport;
  /** The query ID; -1 when the message was shorter than 2 bytes. */
  id: number;
  /** Rcode of the answer sent; null when none was sent (dropped, or too short to answer). */
  rcode: RcodeName | null;
  /** TC was set in the answer. */
  truncated: boolean;
  /** Client address, `127.0.0.1:5353` or `[::1]:5353`. */
  from: string;
  /** When it arrived (ms since the epoch). */
  time: number;
  /** Fault fields that acted on it (`['drop']`, `['delayMs', 'rcode']`); empty for a normal answer. */
  faults: string[];
}

/** A DNS server on loopback answering like a cluster's DNS. See {@link createTestServer}. */
export interface TestDnsServer {
  /** `['127.0.0.1:40123']` (IPv6: `['[::1]:40123']`): what `servers` options take. */
  readonly servers: string[];
  readonly host: string;
  /** The port (UDP and TCP); kept across {@link stop} and {@link start}. */
  readonly port: number;
  /** The query log, oldest first, at most `queryLogLimit` entries. A live array: `queries.length = 0` clears it. */
  readonly queries: QueryLogEntry[];
  /** Errors caught in the server's handlers (at most the last 100); a correct server keeps this empty. */
  readonly internalErrors: readonly unknown[];
  /** True while the sockets are open. */
  readonly listening: boolean;
  /** Adds a fault for the next `count` matching queries (default: until {@link clearFaults}). */
  fault(fault: Fault): void;
  /** Removes every fault. */
  clearFaults(): void;
  /** Closes the sockets (the port number is kept): the server is down. Pending delayed answers are dropped. */
  stop(): Promise<void>;
  /** Binds the same port again after {@link stop}: the server is back. */
  start(): Promise<void>;
  /** Closes everything; nothing keeps the event loop alive afterwards. The server cannot start again. */
  close(): Promise<void>;
}

const noop = (): void => {};

/** `host:port`, with brackets around an IPv6 host. */
export function formatHostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max)) {
    throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
    const fail = (err: Error): void => {
      try {
        socket.close();
      } catch {
        // never bound: nothing to close
      }
      reject(err);
    };
    socket.once('error', fail);
    socket.bind({ port, address: host, exclusive: true }, () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

function listenTcp(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => reject(err);
    server.once('error', fail);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

const isAddressInUse = (err: unknown): boolean => (err as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE';

/** Most bytes of answers waiting on a TCP connection before the server stops reading it. */
const TCP_WRITE_HIGH_WATER = 1024 * 1024;

class DnsTestServer implements TestDnsServer {
  readonly host: string;
  readonly queries: QueryLogEntry[] = [];
  readonly #internalErrors: unknown[] = [];
  readonly #responder: Responder;
  readonly #faults = new FaultSet();
  readonly #logLimit: number;
  readonly #idleTimeout: number;
  #port: number;
  #udp: dgram.Socket | null = null;
  #tcp: net.Server | null = null;
  readonly #connections = new Set<net.Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;
  /** start/stop/close run one at a time. */
  #op: Promise<void> = Promise.resolve();

  constructor(options: TestServerOptions) {
    const { cluster } = options;
    if (!cluster || typeof cluster.endpoints !== 'function') {
      throw new InvalidArgumentError('createTestServer needs { cluster }: a TestCluster from createTestCluster()');
    }
    this.host = options.host ?? '127.0.0.1';
    if (net.isIP(this.host) === 0) throw new InvalidArgumentError(`host must be an IP address, got ${String(this.host)}`);
    this.#port = options.port ?? 0;
    checkInteger('port', this.#port, 0, 65535);
    if (options.ttl !== undefined) checkInteger('ttl', options.ttl, 0, 3600);
    this.#logLimit = options.queryLogLimit ?? 10_000;
    checkInteger('queryLogLimit', this.#logLimit, 0, Number.MAX_SAFE_INTEGER);
    this.#idleTimeout = options.tcpIdleTimeout ?? 10_000;
    checkInteger('tcpIdleTimeout', this.#idleTimeout, 1, 2 ** 31 - 1);
    if (options.ednsPayloadSize !== undefined) checkInteger('ednsPayloadSize', options.ednsPayloadSize, 512, 65535);
    this.#responder = new Responder(cluster, {
      ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
      ...(options.ednsPayloadSize !== undefined ? { ednsPayloadSize: options.ednsPayloadSize } : {}),
    });
  }

  get port(): number {
    return this.#port;
  }

  get servers(): string[] {
    return [formatHostPort(this.host, this.#port)];
  }

  get listening(): boolean {
    return this.#udp !== null;
  }

  get internalErrors(): readonly unknown[] {
    return this.#internalErrors;
  }

  fault(fault: Fault): void {
    this.#faults.add(fault);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  start(): Promise<void> {
    return this.#serial(() => this.#start());
  }

  stop(): Promise<void> {
    return this.#serial(() => this.#stop());
  }

  close(): Promise<void> {
    return this.#serial(async () => {
      this.#closed = true;
      this.#faults.clear();
      await this.#stop();
    });
  }

  #serial(op: () => Promise<void>): Promise<void> {
    const next = this.#op.then(op);
    this.#op = next.catch(noop);
    return next;
  }

  async #start(): Promise<void> {
    if (this.#closed) throw Object.assign(new Error('the test DNS server is closed'), { code: 'ERR_SERVER_CLOSED' });
    if (this.#udp) return;
    // Port 0: UDP picks a free port, TCP must get the same one; retry when TCP finds it taken.
    for (let attempt = 0; ; attempt++) {
      const udp = await bindUdp(this.host, this.#port);
      const port = udp.address().port;
      const tcp = net.createServer({ allowHalfOpen: true, noDelay: true });
      try {
        await listenTcp(tcp, this.host, port);
      } catch (err) {
        tcp.close();
        await new Promise<void>((resolve) => udp.close(() => resolve()));
        if (this.#port === 0 && isAddressInUse(err) && attempt < 20) continue;
        throw err;
      }
      this.#port = port;
      this.#udp = udp;
      this.#tcp = tcp;
      udp.on('message', (msg, rinfo) => this.#safe(() => this.#onDatagram(udp, msg, rinfo)));
      udp.on('error', (err) => this.#recordError(err));
      tcp.on('connection', (socket) => this.#safe(() => this.#onConnection(socket)));
      tcp.on('error', (err) => this.#recordError(err));
      return;
    }
  }

  async #stop(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const socket of this.#connections) socket.destroy();
    this.#connections.clear();
    const udp = this.#udp;
    const tcp = this.#tcp;
    this.#udp = null;
    this.#tcp = null;
    await Promise.all([
      udp && new Promise<void>((resolve) => udp.close(() => resolve())),
      tcp && new Promise<void>((resolve) => tcp.close(() => resolve())),
    ]);
  }

  #onDatagram(udp: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const out = this.#handle(msg, 'udp', formatHostPort(rinfo.address, rinfo.port));
    if (!out) return;
    this.#later(out.delayMs, () => {
      // The socket may have been closed by stop() meanwhile.
      if (this.#udp === udp) udp.send(out.bytes, rinfo.port, rinfo.address, noop);
    });
  }

  #onConnection(socket: net.Socket): void {
    socket.on('error', noop);
    if (this.#faults.refuseConnection()) {
      socket.resetAndDestroy();
      return;
    }
    this.#connections.add(socket);
    socket.on('close', () => this.#connections.delete(socket));
    socket.setTimeout(this.#idleTimeout, () => socket.destroy());
    const from = formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    let buffered: Buffer = Buffer.alloc(0);
    let pending = 0;
    let ended = false;
    const send = (bytes: Buffer): void => {
      if (socket.destroyed || !socket.writable) return;
      const frame = Buffer.allocUnsafe(bytes.length + 2);
      frame.writeUInt16BE(bytes.length, 0);
      bytes.copy(frame, 2);
      socket.write(frame);
    };
    socket.on('data', (chunk: Buffer) =>
      this.#safe(() => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        // Several queries per connection, possibly in one segment, possibly split across many.
        while (buffered.length >= 2) {
          const length = buffered.readUInt16BE(0);
          if (buffered.length < length + 2) break;
          const message = buffered.subarray(2, length + 2);
          buffered = buffered.subarray(length + 2);
          const out = this.#handle(message, 'tcp', from);
          if (!out) continue;
          pending++;
          this.#later(out.delayMs, () => {
            pending--;
            send(out.bytes);
            if (ended && pending === 0) socket.end();
          });
        }
        // A client that writes and never reads must not fill memory with its answers.
        if (socket.writableLength > TCP_WRITE_HIGH_WATER) {
          socket.pause();
          socket.once('drain', () => socket.resume());
        }
      }),
    );
    // Half-close (allowHalfOpen): answer what was asked, then close.
    socket.on('end', () => {
      ended = true;
      if (pending === 0) socket.end();
    });
  }

  /** Reads, logs, applies faults and answers one message: the bytes to send and when, or null. */
  #handle(message: Buffer, transport: Transport, from: string): { bytes: Buffer; delayMs: number } | null {
    const query = readQuery(message);
    const question = query?.question ? questionText(query.question) : null;
    const effects: FaultEffects | null = this.#faults.forQuery(question?.name ?? null, transport);
    const entry: QueryLogEntry = {
      name: question?.name ?? '',
      type: question?.type ?? '',
      class: question?.class ?? '',
      transport,
      id: query ? query.id : message.length >= 2 ? message.readUInt16BE(0) : -1,
      rcode: null,
      truncated: false,
      from,
      time: Date.now(),
      faults: effects?.applied ?? [],
    };
    this.#log(entry);
    if (!query || effects?.drop) return null;
    const answer = this.#responder.answer(query, transport, {
      ...(effects?.rcode ? { rcode: effects.rcode } : {}),
      ...(effects?.truncate ? { truncate: true } : {}),
    });
    entry.rcode = answer.rcode;
    entry.truncated = answer.truncated;
    let bytes = answer.response;
    if (effects?.wrongId) bytes.writeUInt16BE((query.id + 1 + randomInt(0xffff)) & 0xffff, 0);
    if (effects?.garbage) bytes = randomBytes(bytes.length);
    return { bytes, delayMs: effects?.delayMs ?? 0 };
  }

  #later(delayMs: number, fn: () => void): void {
    if (delayMs <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#safe(fn);
    }, delayMs);
    this.#timers.add(timer);
  }

  #log(entry: QueryLogEntry): void {
    if (this.#logLimit === 0) return;
    this.queries.push(entry);
    // shift() is O(1) in V8 (left trim); splice(0, n) copies the whole array each time.
    while (this.queries.length > this.#logLimit) this.queries.shift();
  }

  /** One bad packet must never throw out of an event handler. */
  #safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#recordError(err);
    }
  }

  #recordError(err: unknown): void {
    this.#internalErrors.push(err);
    if (this.#internalErrors.length > 100) this.#internalErrors.shift();
  }
}

/**
 * Starts a DNS server on loopback (UDP and TCP on one port) that answers from a
 * {@link TestCluster} as a cluster's DNS does: see `answer.ts` for the records and
 * rcodes, `wire.ts` for truncation. Resolves once both sockets listen.
 *
 * Truncation: over UDP an answer above the limit (the client's EDNS size, at least 512;
 * 512 without EDNS) has TC set and every section empty; over TCP an answer above 65,535
 * bytes keeps the records that fit (up to a record boundary) and sets TC. Glue that does
 * not fit is left out without TC.
 */
export async function createTestServer(options: TestServerOptions): Promise<TestDnsServer> {
  const server = new DnsTestServer(options);
  await server.start();
  return server;
}
