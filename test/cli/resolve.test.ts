import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createFakeKubernetesApi, createTestCluster, createTestServer } from '../../src/testing/index.ts';
import type { FakeKubernetesApi } from '../../src/testing/index.ts';
import type { TestDnsServer } from '../../src/testing/index.ts';
import type { Peer } from '../../src/index.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { assertExit, runCli } from './child.ts';

// One cluster: nginx with web-0..2 ready; idle whose only pods are not ready.
let dns: TestDnsServer;
let dropping: TestDnsServer;
let api: FakeKubernetesApi;
let handlesBefore: Map<string, number>;
let server: string;

before(async () => {
  handlesBefore = activeResources();
  const cluster = await createTestCluster({ ttl: 5 });
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
  cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 3 });
  cluster.setService({ name: 'idle', ports: [{ name: 'web', port: 80 }] });
  cluster.statefulSet({ name: 'idle', serviceName: 'idle', replicas: 2, ready: false });
  dns = await createTestServer({ cluster });
  dropping = await createTestServer({ cluster });
  dropping.fault({ drop: true });
  server = dns.servers[0]!;
  api = await createFakeKubernetesApi({ cluster });
});

after(async () => {
  await dns.close();
  await dropping.close();
  await api.close();
  await assertNoLeaks(handlesBefore);
});

describe('headless-sd resolve (child process)', () => {
  test('prints the peer table and exits 0', { timeout: 30_000 }, async () => {
    const r = await runCli(['resolve', 'nginx', '--namespace', 'default', '--port', 'web', '--server', server]);
    assertExit(r, 0, 'resolve');
    assert.equal(r.stderr, '');
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME +ORDINAL +ADDRESS +PORT +HOST +TTL +SELF$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/ +/)),
      [0, 1, 2].map((i) => [`web-${i}`, String(i), `127.1.0.${i + 1}`, '80', `web-${i}.nginx.default.svc.cluster.local`, '5', '-']),
    );
    // Aligned: ADDRESS starts at the same column on every line.
    const at = lines[0]!.indexOf('ADDRESS');
    for (const line of lines.slice(1)) assert.match(line.slice(at), /^127\./);
  });

  test('--json prints a JSON array of peers; a port number asks A records', { timeout: 30_000 }, async () => {
    const [srv, a] = await Promise.all([
      runCli(['resolve', 'nginx', '-n', 'default', '-p', 'web', '-s', server, '--json']),
      runCli(['resolve', 'nginx.default', '--port', '8080', '--server', server, '--json', '--family', '4']),
    ]);
    assertExit(srv, 0, 'resolve --json');
    const peers = JSON.parse(srv.stdout) as Peer[];
    assert.deepEqual(
      peers.map((p) => [p.name, p.ordinal, p.address, p.port, p.host, p.weight]),
      [0, 1, 2].map((i) => [`web-${i}`, i, `127.1.0.${i + 1}`, 80, `web-${i}.nginx.default.svc.cluster.local`, 33]),
    );
    assertExit(a, 0, 'resolve --port 8080');
    const byAddress = JSON.parse(a.stdout) as Peer[];
    assert.deepEqual(
      byAddress.map((p) => [p.host, p.address, p.port]),
      [1, 2, 3].map((i) => [null, `127.1.0.${i}`, 8080]),
    );
  });

  test('exit 1: a Service with no ready pods, one clear line on stderr', { timeout: 30_000 }, async () => {
    const [idle, allowed] = await Promise.all([
      runCli(['resolve', 'idle', '-n', 'default', '-p', 'web', '-s', server]),
      runCli(['resolve', 'idle', '-n', 'default', '-p', 'web', '-s', server, '--allow-empty', '--json']),
    ]);
    assertExit(idle, 1, 'no ready pods');
    assert.equal(idle.stdout, '');
    assert.match(idle.stderr, /^headless-sd: service idle has no ready endpoints .*NXDOMAIN.*--allow-empty.*\n$/);
    assertExit(allowed, 0, '--allow-empty');
    assert.deepEqual(JSON.parse(allowed.stdout), []);
  });

  test('exit 2: unknown flag, missing Service, bad value', { timeout: 30_000 }, async () => {
    const results = await Promise.all([
      runCli(['resolve', 'nginx', '--bogus']),
      runCli(['resolve']),
      runCli(['resolve', 'nginx', '--family', '5', '-s', server]),
      runCli(['resolve', 'nginx', '--server', 'not-an-ip']),
    ]);
    for (const [i, r] of results.entries()) {
      assertExit(r, 2, `usage case ${i}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^headless-sd resolve: .+\nRun 'headless-sd resolve --help' for usage\.\n$/);
    }
    assert.match(results[1]!.stderr, /missing the Service name/);
  });

  test('exit 3: a server that drops every query; --debug adds the stack and the queries', { timeout: 30_000 }, async () => {
    const base = ['resolve', 'nginx', '-n', 'default', '-p', 'web', '-s', dropping.servers[0]!, '--timeout', '100', '--attempts', '2'];
    const [quiet, debug] = await Promise.all([runCli(base), runCli([...base, '--debug'])]);
    assertExit(quiet, 3, 'dropping server');
    assert.match(quiet.stderr, /^headless-sd: .*ETIMEOUT.*\n$/);
    assertExit(debug, 3, 'dropping server --debug');
    assert.match(debug.stderr, /^headless-sd: debug: udp 127\.0\.0\.1:\d+ SRV _web\._tcp\.nginx\.default\.svc\.cluster\.local -> ETIMEOUT/m);
    assert.match(debug.stderr, /\[ETIMEOUT\] DnsError: .*\n\s+at /);
  });

  test('--source kubernetes --api-url: the EndpointSlice API; an API that is down exits 3', { timeout: 30_000 }, async () => {
    const down = await createFakeKubernetesApi({ cluster: await createTestCluster() });
    const downUrl = down.url;
    await down.close();
    const [ok, unreachable] = await Promise.all([
      runCli(['resolve', 'nginx', '-n', 'default', '-p', 'web', '--source', 'kubernetes', '--api-url', api.url, '--json']),
      runCli(['resolve', 'nginx', '-n', 'default', '--source', 'kubernetes', '--api-url', downUrl, '--timeout', '2s']),
    ]);
    assertExit(ok, 0, 'kubernetes source');
    assert.deepEqual(
      (JSON.parse(ok.stdout) as Peer[]).map((p) => [p.name, p.address, p.port]),
      [0, 1, 2].map((i) => [`web-${i}`, `127.1.0.${i + 1}`, 80]),
    );
    assertExit(unreachable, 3, 'API down');
    assert.match(unreachable.stderr, /^headless-sd: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ .*\n$/);
  });

  test('--help of resolve and watch', { timeout: 30_000 }, async () => {
    const [resolveHelp, watchHelp, top] = await Promise.all([runCli(['resolve', '--help']), runCli(['watch', '-h']), runCli(['--help'])]);
    assertExit(resolveHelp, 0, 'resolve --help');
    assert.match(resolveHelp.stdout, /^Usage: headless-sd resolve <service> \[options\]/);
    assert.match(resolveHelp.stdout, /--port PORT/);
    assert.match(resolveHelp.stdout, /Exit status:/);
    assertExit(watchHelp, 0, 'watch --help');
    assert.match(watchHelp.stdout, /^Usage: headless-sd watch <service> \[options\]/);
    assert.match(watchHelp.stdout, /--min-interval/);
    assertExit(top, 0, '--help');
    assert.match(top.stdout, /^ {2}resolve +.+\n {2}watch +.+\n {2}serve +/m);
  });
});
