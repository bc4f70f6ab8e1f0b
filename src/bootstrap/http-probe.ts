import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError } from '../dns/invalid-argument.js';
import { peerHostPort } from '../peer/index.js';
import type { Peer } from '../peer/index.js';
import { BootstrapError, BootstrapErrorCode } from './errors.js';
import type { BootstrapProbeFunction } from './options.js';

/** What {@link createBootstrapProbe} takes. */
export interface BootstrapProbeOptions {
  /** Port of every member's probe server: `listen()` uses it, the client asks peers on it (default: the peer's own port). */
  port?: number;
  /** Path of the members endpoint (default `/bootstrap/members`). */
  path?: string;
  /** How long the client waits for one answer, ms (default 1000). */
  timeout?: number;
  /** Members this process knows from the start (default null: in no cluster). */
  members?: readonly string[] | null;
}

/**
 * Both sides of the HTTP probe. Server: `GET <path>` answers
 * `{"members": ["10.1.2.3:2552", ...]}`, or `{"members": null}` while this process is in no
 * cluster. Client: {@link BootstrapProbe.probe}, for `bootstrap(..., { probe })`.
 */
export interface BootstrapProbe {
  /** The client side: asks `http://<peer address>:<port><path>` with a timeout and the round's signal. */
  readonly probe: BootstrapProbeFunction;
  /** The server side as a request listener: answers the members endpoint, 404 for other paths. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** For an app's own server: answers and returns true when the request is for the members endpoint. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** What the server answers now. */
  readonly members: readonly string[] | null;
  /** Sets what the server answers: the members after forming or joining; null when in no cluster. */
  setMembers(members: readonly string[] | null): void;
  /** Starts a server with {@link handler} (default host: all interfaces; default port: `options.port`). */
  listen(options?: { host?: string; port?: number }): Promise<AddressInfo>;
  /** Closes the server (if listening) and the client's idle connections. */
  close(): Promise<void>;
}

/** Largest answer the client reads: a list of members is small. */
const MAX_BODY = 1 << 20;

/**
 * The ready-made probe: an HTTP endpoint that says which members this process knows, and a
 * client that asks peers for it. Two lines wire it in:
 *
 * ```ts
 * const members = createBootstrapProbe({ port: 8558 });
 * await members.listen();                      // then: bootstrap(service, { min: 3, probe: members.probe })
 * members.setMembers(['10.1.2.3:2552']);       // once formed or joined
 * ```
 */
export function createBootstrapProbe(options: BootstrapProbeOptions = {}): BootstrapProbe {
  const port = options.port;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new InvalidArgumentError('port', port, 'an integer in 0..65535');
  const path = options.path ?? '/bootstrap/members';
  if (typeof path !== 'string' || !/^\/[\x21-\x7e]*$/.test(path)) throw new InvalidArgumentError('path', path, "a path such as '/bootstrap/members'");
  const timeout = options.timeout ?? 1000;
  if (!(typeof timeout === 'number' && Number.isFinite(timeout) && timeout >= 1 && timeout <= 2 ** 31 - 1)) {
    throw new InvalidArgumentError('timeout', timeout, 'a number of milliseconds in 1..2147483647');
  }
  let members = checkMembers(options.members ?? null);
  let server: http.Server | null = null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '';
    if (url !== path && !url.startsWith(`${path}?`)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    const body = JSON.stringify({ members });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (!handle(req, res)) res.writeHead(404).end();
  };

  return {
    probe: (peer, signal) => ask(peer, port ?? peer.port, path, timeout, agent, signal),
    handler,
    handle,
    get members() {
      return members;
    },
    setMembers(next) {
      members = checkMembers(next);
    },
    async listen(listenOptions = {}) {
      if (server) throw new InvalidArgumentError('listen() was called already');
      const listenPort = listenOptions.port ?? port ?? 0;
      const s = http.createServer(handler);
      s.keepAliveTimeout = 5000;
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen({ port: listenPort, host: listenOptions.host }, () => {
          s.off('error', reject);
          resolve();
        });
      }).catch((error: unknown) => {
        server = null;
        throw error;
      });
      return s.address() as AddressInfo;
    },
    async close() {
      agent.destroy();
      const s = server;
      server = null;
      if (!s || !s.listening) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
  };
}

function checkMembers(members: readonly string[] | null): readonly string[] | null {
  if (members === null) return null;
  if (!Array.isArray(members) || members.length === 0 || !members.every((m) => typeof m === 'string' && m !== '')) {
    throw new InvalidArgumentError('members', members, 'null or a non-empty list of non-empty strings');
  }
  return Object.freeze([...members]);
}

/** One GET of a peer's members endpoint. */
function ask(peer: Peer, port: number | null, path: string, timeout: number, agent: http.Agent, signal: AbortSignal): Promise<string[] | null> {
  const fail = (code: BootstrapError['code'], why: string, cause?: unknown): BootstrapError =>
    new BootstrapError(code, `probe of ${peer.name ?? peer.address} (http://${target}): ${why}`, { cause });
  let target: string;
  try {
    target = `${peerHostPort(peer, port)}${path}`;
  } catch (error) {
    target = `${peer.address}${path}`;
    return Promise.reject(fail(BootstrapErrorCode.PROBE, 'no port to ask: give createBootstrapProbe a port, or watch a port', error));
  }
  if (signal.aborted) return Promise.reject(fail(BootstrapErrorCode.CANCELLED, 'aborted', signal.reason));
  return new Promise<string[] | null>((resolve, reject) => {
    let settled = false;
    const finish = (error: BootstrapError | null, value: string[] | null = null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (error) {
        req.destroy();
        reject(error);
      } else resolve(value);
    };
    const onAbort = (): void => finish(fail(BootstrapErrorCode.CANCELLED, 'aborted', signal.reason));
    const timer = setTimeout(() => finish(fail(BootstrapErrorCode.TIMEOUT, `no answer in ${timeout} ms`)), timeout);
    signal.addEventListener('abort', onAbort, { once: true });
    const req = http.request(`http://${target}`, { method: 'GET', agent, headers: { accept: 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        finish(fail(BootstrapErrorCode.PROBE, `HTTP status ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) finish(fail(BootstrapErrorCode.PROBE, `answer larger than ${MAX_BODY} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        const members = parseAnswer(Buffer.concat(chunks).toString('utf8'));
        if (members === undefined) finish(fail(BootstrapErrorCode.PROBE, 'the answer is not {"members": null | [strings]}'));
        else finish(null, members);
      });
      res.on('error', (error) => finish(fail(BootstrapErrorCode.PROBE, error.message, error)));
    });
    req.on('error', (error: NodeJS.ErrnoException) => finish(fail(BootstrapErrorCode.PROBE, error.code ?? error.message, error)));
    req.end();
  });
}

/** The members of an answer, null, or undefined when it is malformed. */
function parseAnswer(text: string): string[] | null | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || !('members' in value)) return undefined;
  const { members } = value;
  if (members === null) return null;
  if (!Array.isArray(members) || members.length === 0 || !members.every((m) => typeof m === 'string' && m !== '')) return undefined;
  return members as string[];
}
