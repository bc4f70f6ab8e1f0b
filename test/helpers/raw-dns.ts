/**
 * Raw DNS exchanges for tests of the test server: packets built and read with dns-packet,
 * sent with dgram/net on loopback. No dependency on the project's own client.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';

/** Where to send: a TestDnsServer has both fields. */
export interface Target {
  host: string;
  port: number;
}

/** Options of {@link makeQuery}. */
export interface QueryOptions {
  id?: number;
  /** EDNS UDP payload size, or false for no OPT record (default: no OPT). */
  edns?: number | false;
  /** EDNS version (default 0). */
  ednsVersion?: number;
  /** Header flags (default RD). */
  flags?: number;
  class?: 'IN' | 'CH' | 'HS' | 'ANY';
}

/** A query packet. */
export function makeQuery(name: string, type: string, options: QueryOptions = {}): Buffer {
  const packet: dnsPacket.Packet = {
    type: 'query',
    id: options.id ?? randomInt(0x10000),
    flags: options.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as dnsPacket.RecordType, class: options.class ?? 'IN' }],
  };
  if (options.edns !== undefined && options.edns !== false) {
    packet.additionals = [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: options.edns,
        ednsVersion: options.ednsVersion ?? 0,
      } as unknown as dnsPacket.Answer,
    ];
  }
  return dnsPacket.encode(packet);
}

/** Decodes a response. */
export function decode(buf: Buffer): dnsPacket.DecodedPacket {
  return dnsPacket.decode(buf);
}

/** The rcode of a response (header part). */
export function rcodeOf(response: dnsPacket.DecodedPacket): string {
  return (response as unknown as { rcode: string }).rcode;
}

/** Answer records of a type, data only. */
export function dataOf(records: dnsPacket.Answer[] | undefined, type: string): unknown[] {
  return (records ?? []).filter((r) => r.type === type).map((r) => (r as { data: unknown }).data);
}

const udpType = (host: string): 'udp4' | 'udp6' => (net.isIPv6(host) ? 'udp6' : 'udp4');

/**
 * Sends one UDP datagram and waits for the first answer that `accept` takes (default: same
 * ID as the query). Resolves null when none comes within `timeout` ms.
 */
export function udpExchange(
  target: Target,
  packet: Buffer,
  options: { timeout?: number; accept?: (response: Buffer) => boolean } = {},
): Promise<Buffer | null> {
  const id = packet.length >= 2 ? packet.readUInt16BE(0) : -1;
  const accept = options.accept ?? ((r: Buffer) => r.length >= 2 && r.readUInt16BE(0) === id);
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(udpType(target.host));
    const done = (value: Buffer | null, err?: Error): void => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => done(null), options.timeout ?? 2000);
    socket.on('message', (msg) => {
      if (accept(msg)) done(msg);
    });
    socket.on('error', (err) => done(null, err));
    socket.send(packet, target.port, target.host);
  });
}

/** Collects every datagram that arrives on one socket within `timeout` ms of sending. */
export function udpCollect(target: Target, packet: Buffer, timeout: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(udpType(target.host));
    const got: Buffer[] = [];
    socket.on('message', (msg) => got.push(msg));
    socket.on('error', () => {});
    socket.send(packet, target.port, target.host);
    setTimeout(() => {
      socket.close();
      resolve(got);
    }, timeout);
  });
}

/** A TCP connection that sends raw bytes and reads length-prefixed frames. */
export class TcpConnection {
  readonly socket: net.Socket;
  readonly frames: Buffer[] = [];
  closed = false;
  error: NodeJS.ErrnoException | null = null;
  #buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 2) {
        const length = this.#buffer.readUInt16BE(0);
        if (this.#buffer.length < length + 2) break;
        this.frames.push(this.#buffer.subarray(2, length + 2));
        this.#buffer = this.#buffer.subarray(length + 2);
      }
      this.#wake();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  /** Connects; rejects with the socket error (ECONNREFUSED...). */
  static connect(target: Target): Promise<TcpConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: target.host, port: target.port });
      const conn = new TcpConnection(socket);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(conn);
      });
      socket.once('error', reject);
    });
  }

  /** Writes raw bytes (no framing). */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Writes one message with its length prefix. */
  send(message: Buffer): void {
    const frame = Buffer.alloc(message.length + 2);
    frame.writeUInt16BE(message.length, 0);
    message.copy(frame, 2);
    this.socket.write(frame);
  }

  /** Waits until `count` frames arrived in all (or the connection closed, or `timeout`). */
  async waitFrames(count: number, timeout = 5000): Promise<Buffer[]> {
    const deadline = Date.now() + timeout;
    while (this.frames.length < count && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames.slice(0, count);
  }

  /** Waits for the connection to close (or `timeout`). */
  async waitClosed(timeout = 5000): Promise<boolean> {
    const deadline = Date.now() + timeout;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/** One query over TCP on a fresh connection. */
export async function tcpExchange(target: Target, packet: Buffer, timeout = 5000): Promise<Buffer | null> {
  const conn = await TcpConnection.connect(target);
  try {
    conn.send(packet);
    const [frame] = await conn.waitFrames(1, timeout);
    return frame ?? null;
  } finally {
    conn.close();
  }
}

/** Asks `name`/`type` over UDP (default) or TCP and decodes the answer; throws when none comes. */
export async function ask(
  target: Target,
  name: string,
  type: string,
  options: QueryOptions & { transport?: 'udp' | 'tcp'; timeout?: number } = {},
): Promise<dnsPacket.DecodedPacket> {
  const packet = makeQuery(name, type, options);
  const response =
    options.transport === 'tcp'
      ? await tcpExchange(target, packet, options.timeout)
      : await udpExchange(target, packet, { timeout: options.timeout ?? 2000 });
  if (!response) throw new Error(`no answer to ${name} ${type} from ${target.host}:${target.port}`);
  return decode(response);
}
