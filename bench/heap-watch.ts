/**
 * What a watcher's heap holds, by kind of object: `tsx bench/heap-watch.ts [pods]`. A heap
 * snapshot before the watcher and one once it holds the set; the difference of self sizes per
 * constructor / string kind, per endpoint.
 */
import v8 from 'node:v8';
import { watchPeers } from '../src/discovery/watcher.ts';
import { startWorkerApi } from './api-host.ts';
import { gcFunction, settledHeap } from './gc.ts';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: (string | string[])[] } };
  nodes: number[];
  strings: string[];
}

/** Self size per "type:name" (names of strings folded to their type). */
function histogram(): Map<string, number> {
  const chunks: Buffer[] = [];
  const stream = v8.getHeapSnapshot();
  return new Promise<Map<string, number>>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => {
      const snap = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Snapshot;
      const fields = snap.snapshot.meta.node_fields;
      const types = snap.snapshot.meta.node_types[0] as string[];
      const width = fields.length;
      const [ti, ni, si] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
      const out = new Map<string, number>();
      for (let i = 0; i < snap.nodes.length; i += width) {
        const type = types[snap.nodes[i + ti!]!]!;
        const raw = snap.strings[snap.nodes[i + ni!]!]!;
        const name = type === 'string' ? `${raw.length < 8 ? '<8' : raw.length < 16 ? '<16' : raw.length < 32 ? '<32' : raw.length < 64 ? '<64' : raw.length < 1024 ? '<1k' : '>=1k'} ${raw.slice(0, 12)}` : type === 'concatenated string' || type === 'sliced string' || type === 'number' ? '' : raw;
        const key = `${type}:${name.slice(0, 60)}`;
        out.set(key, (out.get(key) ?? 0) + snap.nodes[i + si!]!);
      }
      resolve(out);
    });
  }) as unknown as Map<string, number>;
}

const pods = Number(process.argv[2] ?? 10_000);
const service = `k${pods / 1000}`;
const gc = gcFunction();
const api = await startWorkerApi([{ name: service, pods }]);
const warm = watchPeers(service, { source: 'kubernetes', namespace: 'default', port: 'web', kubernetes: { url: api.url, ca: api.ca! } });
warm.on('error', () => {});
await warm.ready;
warm.close();
await new Promise((r) => setTimeout(r, 300));
await settledHeap(gc, 30);
const before = await histogram();
const h0 = await settledHeap(gc, 30);
const watcher = watchPeers(service, { source: 'kubernetes', namespace: 'default', port: 'web', kubernetes: { url: api.url, ca: api.ca! } });
watcher.on('error', () => {});
await watcher.ready;
await new Promise((r) => setTimeout(r, 300));
const h1 = await settledHeap(gc, 30);
const after = await histogram();
console.log(`heapUsed per endpoint: ${((h1 - h0) / pods).toFixed(0)} B`);
const rows = [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, d]) => Math.abs(d) / pods >= 2).sort((a, b) => b[1] - a[1]);
for (const [k, d] of rows) console.log(`${(d / pods).toFixed(1).padStart(7)} B  ${k}`);
watcher.close();
await api.close();
