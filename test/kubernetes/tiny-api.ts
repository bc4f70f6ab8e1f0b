import { once } from 'node:events';
import http from 'node:http';
import type { EndpointSlice, SliceEndpoint } from '../../src/kubernetes/endpoint-slices.ts';

/** A hand-written API server on 127.0.0.1, for answers the fake API would never give. */
export interface TinyApi {
  url: string;
  /** Every request's URL, in order. */
  requests: URL[];
  /** Watch requests so far. */
  readonly watches: number;
  close(): Promise<void>;
}

/** Serves `handle`; list requests and watch requests alike (see `url.searchParams.get('watch')`). */
export async function tinyApi(handle: (url: URL, res: http.ServerResponse, requests: URL[]) => void | Promise<void>): Promise<TinyApi> {
  const requests: URL[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url);
    res.on('error', () => {});
    void Promise.resolve(handle(url, res, requests)).catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get watches() {
      return requests.filter((u) => u.searchParams.get('watch') === '1').length;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** True for a watch request. */
export const isWatch = (url: URL): boolean => url.searchParams.get('watch') === '1';

/** A slice of service nginx, port web 80/TCP, with ready pods `web-<i>` at 10.0.0.<i+1>. */
export function webSlice(name: string, rv: string, pods: number[], extra: Partial<SliceEndpoint> = {}): EndpointSlice {
  return {
    metadata: { name, resourceVersion: rv, labels: { 'kubernetes.io/service-name': 'nginx' } },
    addressType: 'IPv4',
    endpoints: pods.map((i) => ({ addresses: [`10.0.0.${i + 1}`], conditions: { ready: true }, hostname: `web-${i}`, ...extra })),
    ports: [{ name: 'web', port: 80, protocol: 'TCP' }],
  };
}

/** An EndpointSliceList body. */
export function listBody(rv: string, items: unknown[], next?: string): string {
  return JSON.stringify({ kind: 'EndpointSliceList', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: rv, ...(next ? { continue: next } : {}) }, items });
}

/** One watch event line. */
export const eventLine = (type: string, object: unknown): string => `${JSON.stringify({ type, object })}\n`;

/** The bookmark that ends a watch-list's initial events. */
export const initialEventsEnd = (rv: string): string =>
  eventLine('BOOKMARK', { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: rv, annotations: { 'k8s.io/initial-events-end': 'true' } } });
