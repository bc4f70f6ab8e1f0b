// A real node:http server on each pod address of a test cluster: answers the pod's name.
import { createServer } from 'node:http';
import type { Server } from 'node:http';

/** One pod's server. */
export interface PodHttpServer {
  pod: string;
  address: string;
  server: Server;
  /** Request ids (x-call-id) it received, answered or not. */
  received: Set<string>;
}

/** Serves GET / with the pod's name after `delayMs` (requests are in flight when pods go). */
export async function startPodServer(pod: string, address: string, port: number, delayMs = 2): Promise<PodHttpServer> {
  const state: PodHttpServer = { pod, address, server: createServer(), received: new Set() };
  state.server.on('request', (req, res) => {
    const id = req.headers['x-call-id'];
    if (typeof id === 'string') state.received.add(id);
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(pod), delayMs);
  });
  await new Promise<void>((resolve, reject) => {
    state.server.once('error', reject);
    state.server.listen(port, address, () => resolve());
  });
  return state;
}

/** Stops at once, cutting connections (a killed pod). */
export function kill(state: PodHttpServer): void {
  state.server.close();
  state.server.closeAllConnections();
}

/** Stops taking connections and waits for the open ones to end (a pod that drains). */
export function drain(state: PodHttpServer): Promise<void> {
  return new Promise((resolve) => {
    state.server.close(() => resolve());
    state.server.closeIdleConnections();
  });
}
