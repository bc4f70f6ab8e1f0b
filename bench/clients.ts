/**
 * The three DNS clients compared, behind one small shape: headless-sd's DnsClient, node:dns
 * (`dns.promises.Resolver` with setServers) and dns-socket. Each does its natural "give me the
 * records" call; all advertise EDNS(0) 1232 so the server sends the same answers to all three.
 */
import { createRequire } from 'node:module';
import { promises as dns } from 'node:dns';
import type dnsPacket from 'dns-packet';
import { DnsClient } from '../src/dns/client.ts';

/** One client under test. */
export interface BenchClient {
  readonly name: string;
  /** SRV records of `name`. */
  srv(name: string): Promise<unknown>;
  /** A records of `name` (over TCP when the UDP answer is truncated), or null when the client cannot. */
  readonly a: ((name: string) => Promise<unknown>) | null;
  close(): void;
}

/** Per-try timeout given to every client: nothing is lost on loopback, so it never fires. */
const TIMEOUT = 2000;

/** headless-sd's client (one shared instance, as an app would hold it). */
export function ours(servers: string[]): BenchClient & { client: DnsClient } {
  const client = new DnsClient({ servers, search: [], ndots: 1, timeout: TIMEOUT, attempts: 2 });
  return {
    name: 'headless-sd',
    client,
    srv: (name) => client.resolveSrv(name),
    a: (name) => client.resolve4(name),
    close: () => client.close(),
  };
}

/** node:dns: a Resolver (c-ares) pointed at the server; c-ares retries truncated answers over TCP. */
export function nodeDns(servers: string[]): BenchClient & { resolver: dns.Resolver } {
  const resolver = new dns.Resolver({ timeout: TIMEOUT, tries: 2 });
  resolver.setServers(servers);
  return {
    name: 'node:dns',
    resolver,
    srv: (name) => resolver.resolveSrv(name),
    a: (name) => resolver.resolve4(name),
    close: () => resolver.cancel(),
  };
}

/** What dns-socket exports (it ships no types). */
interface DnsSocket {
  query(
    query: { questions: dnsPacket.Question[]; additionals?: unknown[] },
    port: number,
    host: string,
    cb: (err: Error | null, res: dnsPacket.Packet) => void,
  ): number;
  destroy(cb?: () => void): void;
}
type DnsSocketFactory = (opts?: { timeout?: number; retries?: number }) => DnsSocket;

const require = createRequire(import.meta.url);

/** dns-socket: one UDP socket, dns-packet decoding; no TCP, so it has no answer for big sets. */
export function dnsSocket(servers: string[]): BenchClient {
  const factory = require('dns-socket') as DnsSocketFactory;
  const socket = factory({ timeout: TIMEOUT * 2, retries: 1 });
  const [host, portText] = servers[0]!.split(':') as [string, string];
  const port = Number(portText);
  const edns = [{ type: 'OPT', name: '.', udpPayloadSize: 1232 }];
  const ask = (type: dnsPacket.RecordType, name: string): Promise<dnsPacket.Packet> =>
    new Promise((resolve, reject) => {
      socket.query({ questions: [{ type, name }], additionals: edns }, port, host, (err, res) => (err ? reject(err) : resolve(res)));
    });
  return {
    name: 'dns-socket',
    srv: (name) => ask('SRV', name),
    a: null,
    close: () => socket.destroy(),
  };
}
