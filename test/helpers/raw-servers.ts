/**
 * Tiny scripted DNS servers on loopback for client tests: each query goes to a handler that
 * decides what bytes to send back (forged, late, truncated, garbage, nothing).
 */
import dgram, { type RemoteInfo } from 'node:dgram';
import net from 'node:net';

/** A query received by a raw server. */
export interface RawQuery {
  msg: Buffer;
  id: number;
  /** `address:port` of the client socket. */
  from: string;
  rinfo: RemoteInfo;
}

/** What a UDP handler can do with a query. */
export interface UdpReply {
  /** Sends bytes to the client from the server's own socket. */
  send(buf: Buffer): void;
  /** Sends bytes to the client from another socket (another source port): a forgery. */
  sendFromOtherPort(buf: Buffer): void;
}

/** A scripted UDP server. */
export interface RawUdpServer {
  port: number;
  host: string;
  /** `['127.0.0.1:PORT']` */
  servers: string[];
  queries: RawQuery[];
  close(): Promise<void>;
}

function bind(type: 'udp4' | 'udp6', host: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(type);
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** Starts a UDP server calling `handler` for each datagram. */
export async function rawUdpServer(
  handler: (query: RawQuery, reply: UdpReply) => void,
  host = '127.0.0.1',
): Promise<RawUdpServer> {
  const type = net.isIPv6(host) ? 'udp6' : 'udp4';
  const socket = await bind(type, host);
  const other = await bind(type, host);
  const queries: RawQuery[] = [];
  socket.on('message', (msg, rinfo) => {
    const query: RawQuery = {
      msg,
      id: msg.length >= 2 ? msg.readUInt16BE(0) : -1,
      from: `${rinfo.address}:${rinfo.port}`,
      rinfo,
    };
    queries.push(query);
    handler(query, {
      send: (buf) => socket.send(buf, rinfo.port, rinfo.address),
      sendFromOtherPort: (buf) => other.send(buf, rinfo.port, rinfo.address),
    });
  });
  const port = socket.address().port;
  return {
    port,
    host,
    servers: [net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`],
    queries,
    close: async () => {
      await new Promise<void>((r) => socket.close(() => r()));
      await new Promise<void>((r) => other.close(() => r()));
    },
  };
}

/** A UDP port with nothing behind it (bound, then closed): queries get ICMP port unreachable. */
export async function deadUdpPort(): Promise<number> {
  const socket = await bind('udp4', '127.0.0.1');
  const { port } = socket.address();
  await new Promise<void>((r) => socket.close(() => r()));
  return port;
}

/** One TCP connection of a scripted TCP server. */
export interface RawTcpConnection {
  socket: net.Socket;
  /** Queries received on it (frames without their length prefix), in order. */
  queries: Buffer[];
  closed: boolean;
}

/** A scripted TCP server: the handler sees each framed query. */
export interface RawTcpServer {
  port: number;
  servers: string[];
  connections: RawTcpConnection[];
  close(): Promise<void>;
}

/** Frames a message with its 2-byte length. */
export function frame(msg: Buffer): Buffer {
  const out = Buffer.alloc(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}

/** Starts a TCP server on `port` (0: any) calling `handler` with each query. */
export async function rawTcpServer(
  handler: (query: Buffer, conn: RawTcpConnection) => void,
  port = 0,
): Promise<RawTcpServer> {
  const connections: RawTcpConnection[] = [];
  const server = net.createServer((socket) => {
    const conn: RawTcpConnection = { socket, queries: [], closed: false };
    connections.push(conn);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        conn.queries.push(msg);
        handler(msg, conn);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => (conn.closed = true));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as net.AddressInfo;
  return {
    port: addr.port,
    servers: [`127.0.0.1:${addr.port}`],
    connections,
    close: async () => {
      for (const c of connections) c.socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A UDP and a TCP scripted server on the same port, like one DNS server. */
export interface RawServerPair {
  port: number;
  servers: string[];
  udp: RawUdpServer;
  tcp: RawTcpServer;
  close(): Promise<void>;
}

/** Starts {@link rawUdpServer} and {@link rawTcpServer} on one port (retrying if TCP's is taken). */
export async function rawServerPair(
  udpHandler: (query: RawQuery, reply: UdpReply) => void,
  tcpHandler: (query: Buffer, conn: RawTcpConnection) => void,
): Promise<RawServerPair> {
  for (let i = 0; ; i++) {
    const udp = await rawUdpServer(udpHandler);
    try {
      const tcp = await rawTcpServer(tcpHandler, udp.port);
      return {
        port: udp.port,
        servers: udp.servers,
        udp,
        tcp,
        close: async () => {
          await udp.close();
          await tcp.close();
        },
      };
    } catch (err) {
      await udp.close();
      if (i > 20) throw err;
    }
  }
}
