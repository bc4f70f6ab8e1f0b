import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createFakeKubernetesApi, createTestCluster } from '../../src/testing/index.ts';
import type { FakeKubernetesApi, StatefulSet, TestCluster } from '../../src/testing/index.ts';
import { until } from '../helpers/handles.ts';

// Real kubectl (Debian package `kubectl`) against the fake API over TLS, with a kubeconfig the fake wrote.
const run = promisify(execFile);

let dir: string;
let cluster: TestCluster;
let set: StatefulSet;
let api: FakeKubernetesApi;
let env: NodeJS.ProcessEnv;

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', args, { env, timeout: 60_000 });
  return stdout;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'headless-sd-kubectl-'));
  cluster = await createTestCluster();
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
  set = cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 3 });
  api = await createFakeKubernetesApi({ cluster, tls: true, token: 'kubectl-token', maxEndpointsPerSlice: 2 });
  await writeFile(join(dir, 'config'), api.kubeconfigText());
  // HOME keeps kubectl's discovery cache in the temp dir.
  env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'config') };
});

after(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

describe('kubectl against the fake API', () => {
  test('get endpointslices: the columns kubectl shows for EndpointSlices, with an AGE', async () => {
    const out = await kubectl('get', 'endpointslices');
    const lines = out.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE$/);
    assert.equal(lines.length, 3, out);
    const rows = lines.slice(1).map((l) => l.split(/\s+/));
    assert.ok(rows.every((r) => /^nginx-[a-z0-9]{5}$/.test(r[0]!) && r[1] === 'IPv4' && r[2] === '80' && /^\d+[smhd]/.test(r[4]!)), out);
    assert.deepEqual(rows.map((r) => r[3]).join(',').split(',').sort(), set.pods.map((p) => p.addresses[0]).sort());
    // Every namespace: kubectl adds the NAMESPACE column from the rows' metadata.
    const all = await kubectl('get', 'endpointslices', '--all-namespaces');
    assert.match(all, /^NAMESPACE\s+NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE\n/);
    assert.equal(all.trim().split('\n').filter((l) => l.startsWith('default ')).length, 2, all);
    // The token went with every request, over TLS.
    assert.ok(api.requests.length > 0 && api.requests.every((r) => r.token === 'kubectl-token'));
  });

  test('get endpointslices -o json: an EndpointSlice list kubectl decodes, with creationTimestamp', async () => {
    const list = JSON.parse(await kubectl('get', 'endpointslices', '-o', 'json')) as {
      items: { kind: string; metadata: { name: string; creationTimestamp: string }; endpoints: { targetRef: { name: string } }[] }[];
    };
    assert.equal(list.items.length, 2);
    assert.ok(list.items.every((s) => s.kind === 'EndpointSlice' && !Number.isNaN(Date.parse(s.metadata.creationTimestamp))));
    assert.deepEqual(list.items.flatMap((s) => s.endpoints.map((e) => e.targetRef.name)).sort(), ['web-0', 'web-1', 'web-2']);
    // By name, and with a label selector in set form.
    const name = list.items[0]!.metadata.name;
    const one = JSON.parse(await kubectl('get', 'endpointslice', name, '-o', 'json')) as { metadata: { name: string } };
    assert.equal(one.metadata.name, name);
    const selected = JSON.parse(await kubectl('get', 'endpointslices', '-l', 'kubernetes.io/service-name in (nginx,other)', '-o', 'json')) as { items: unknown[] };
    assert.equal(selected.items.length, 2);
  });

  test('get --raw with limit=1: a page and a continue token', async () => {
    const page = JSON.parse(await kubectl('get', '--raw', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?limit=1')) as {
      kind: string;
      metadata: { continue?: string; remainingItemCount?: number };
      items: unknown[];
    };
    assert.equal(page.kind, 'EndpointSliceList');
    assert.equal(page.items.length, 1);
    assert.ok(page.metadata.continue, 'a continue token');
    assert.equal(page.metadata.remainingItemCount, 1);
  });

  test('get endpointslices -w: the watch shows a scale', async () => {
    const child = spawn('kubectl', ['get', 'endpointslices', '-w'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    try {
      await until(() => out.trim().split('\n').length >= 3 && api.openWatches > 0, `kubectl's list and watch (stderr: ${err})`, 60_000);
      set.scale(5); // web-3 fills the second slice, web-4 opens a third
      const fifth = set.pods[4]!.addresses[0]!;
      await until(() => out.includes(fifth), `the watch to show ${fifth} (stdout: ${out}, stderr: ${err})`, 60_000);
      assert.match(out, /^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE\n/);
    } finally {
      child.kill();
      await exited;
      set.scale(3);
    }
  });
});
