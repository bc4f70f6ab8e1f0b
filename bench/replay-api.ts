/**
 * A Kubernetes API stand-in that costs nearly nothing: it answers EndpointSlice lists with bytes
 * recorded from the fake API (`createFakeKubernetesApi`) and pushes recorded watch events when
 * told. The fake API re-renders every slice of a Service on each change (tens of ms at 10,000
 * pods), which would otherwise be what a benchmark of the client measures.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeKubernetesApi, TestCluster } from '../src/testing/index.ts';

const LABEL = 'kubernetes.io/service-name';

/** What was recorded for one Service: the list body and the watch events of a change and its undo. */
export interface Recording {
  service: string;
  /** EndpointSliceList JSON, as the fake API sent it. */
  list: string;
  /** Watch event lines (no newline): first the change, then the undo, alternately replayable. */
  events: string[];
}

function endpointSlicesUrl(api: FakeKubernetesApi, service: string, params: Record<string, string> = {}): URL {
  const url = new URL('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', api.url);
  url.searchParams.set('labelSelector', `${LABEL}=${service}`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url;
}

/**
 * Lists `service` on the fake API, then watches it while `change()` and `undo()` run on the model,
 * recording the list body and the events they cause.
 */
export async function record(
  api: FakeKubernetesApi,
  service: string,
  change: () => void,
  undo: () => void,
): Promise<Recording> {
  const list = await (await fetch(endpointSlicesUrl(api, service))).text();
  const { metadata } = JSON.parse(list) as { metadata: { resourceVersion: string } };
  const controller = new AbortController();
  const watches = api.openWatches;
  const pending = fetch(endpointSlicesUrl(api, service, { watch: '1', resourceVersion: metadata.resourceVersion }), {
    signal: controller.signal,
  });
  // The fake API may hold the headers until the first event: change the model once the watch is open.
  while (api.openWatches === watches) await sleep(5);
  change();
  const res = await pending;
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: string[] = [];
  let text = '';
  // One step at a time: the model's changes made in one tick reach the API as one.
  for (const next of [undo, null]) {
    const want = events.length + 1;
    while (events.length < want) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the fake API ended the watch early');
      text += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = text.indexOf('\n')) !== -1) {
        const line = text.slice(0, nl).trim();
        text = text.slice(nl + 1);
        if (line !== '' && !line.includes('"BOOKMARK"')) events.push(line);
      }
    }
    next?.();
  }
  controller.abort();
  await reader.cancel().catch(() => {});
  return { service, list, events: events.slice(0, 2) };
}

/** The replaying server. */
export interface ReplayApi {
  url: string;
  /** Resolves once `n` watches are open. */
  watching(n: number): Promise<void>;
  /** Sends event `index` of `service`'s recording to its open watches, with a fresh resourceVersion. */
  push(service: string, index: number): void;
  close(): Promise<void>;
}

/** Serves `recordings` on 127.0.0.1 (HTTP). */
export async function startReplayApi(recordings: Recording[]): Promise<ReplayApi> {
  const byService = new Map(recordings.map((r) => [r.service, r]));
  const watches = new Map<string, Set<http.ServerResponse>>();
  let version = 1_000_000;
  let waiter: (() => void) | null = null;
  const open = (): number => [...watches.values()].reduce((n, s) => n + s.size, 0);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const service = (url.searchParams.get('labelSelector') ?? '').replace(`${LABEL}=`, '');
    const rec = byService.get(service);
    if (rec === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404}');
      return;
    }
    if (url.searchParams.has('sendInitialEvents')) {
      // As an API server without the WatchList feature: the client lists instead.
      res.writeHead(422, { 'content-type': 'application/json' }).end('{"kind":"Status","code":422,"reason":"Invalid"}');
      return;
    }
    if (url.searchParams.get('watch') !== '1' && url.searchParams.get('watch') !== 'true') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(rec.list);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    let set = watches.get(service);
    if (set === undefined) watches.set(service, (set = new Set()));
    set.add(res);
    res.on('close', () => set.delete(res));
    waiter?.();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async watching(n) {
      while (open() < n) await new Promise<void>((resolve) => (waiter = resolve));
      waiter = null;
    },
    push(service, index) {
      const rec = byService.get(service)!;
      const line = rec.events[index]!.replace(/"resourceVersion":"\d+"/, `"resourceVersion":"${++version}"`);
      for (const res of watches.get(service) ?? []) res.write(`${line}\n`);
    },
    async close() {
      for (const set of watches.values()) for (const res of set) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A cluster with headless Services `big` (10,000 pods) and `k1` (1,000 pods), port `web`. */
export function populate(cluster: TestCluster): void {
  for (const [name, replicas] of [
    ['big', 10_000],
    ['k1', 1_000],
  ] as const) {
    cluster.setService({ name, ports: [{ name: 'web', port: 80 }] });
    cluster.statefulSet({ name, serviceName: name, replicas });
  }
}
