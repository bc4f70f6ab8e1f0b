import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { main } from '../../src/cli.ts';
import type { CliIo } from '../../src/cli.ts';
import { runResolve } from '../../src/cli/resolve.ts';
import { escapeText, formatChange, formatPeerTable } from '../../src/cli/format.ts';
import { makePeer } from '../../src/peer/index.ts';
import { createTestCluster, createTestServer } from '../../src/testing/index.ts';
import type { TestDnsServer } from '../../src/testing/index.ts';
import { ROOT } from './child.ts';

let dns: TestDnsServer;
let big: TestDnsServer;
let server: string;

before(async () => {
  const cluster = createTestCluster();
  cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
  cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 3 });
  cluster.setService({ name: 'db', ports: [{ name: 'postgres', port: 5432 }] });
  dns = await createTestServer({ cluster });
  server = dns.servers[0]!;
  const many = createTestCluster();
  many.setService({ name: 'many', ports: [{ name: 'web', port: 80 }] });
  many.statefulSet({ name: 'many', serviceName: 'many', replicas: 800 });
  big = await createTestServer({ cluster: many });
});

after(async () => {
  await dns.close();
  await big.close();
});

async function run(argv: string[], extra: Partial<CliIo> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), ...extra });
  return { code, stdout, stderr };
}

function sh(script: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const childEnv = { ...process.env, ...env };
    delete childEnv.NODE_TEST_CONTEXT;
    execFile('bash', ['-c', script], { cwd: ROOT, env: childEnv, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('the CLI in a new user\'s first hour', () => {
  test('--version prints the package version', async () => {
    const version = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-v']) {
      const r = await run([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `${version}\n`);
    }
  });

  test('unknown flags and negative values get plain messages, exit 2', async () => {
    const unknown = await run(['resolve', 'nginx', '--prot', 'web']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^headless-sd resolve: unknown option --prot \(did you mean --port\?\)\n/);
    const negative = await run(['resolve', 'nginx', '--timeout', '-1']);
    assert.equal(negative.code, 2);
    assert.match(negative.stderr, /--timeout takes no negative value, got -1/);
    const missing = await run(['watch', 'nginx', '--server']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--server needs a value/);
    const serveExtra = await run(['serve', 'extra']);
    assert.equal(serveExtra.code, 2);
    assert.match(serveExtra.stderr, /unexpected argument extra/);
    for (const r of [unknown, negative, missing, serveExtra]) {
      const line = r.stderr.split('\n')[0]!;
      assert.equal((line.match(/'/g) ?? []).length % 2, 0, `balanced quotes: ${line}`);
      assert.doesNotMatch(line, /positional/);
    }
  });

  test('serve --host nonsense exits 2', async () => {
    const r = await run(['serve', '--host', 'nonsense', '--port', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--host must be an IP address/);
  });

  test('a name with a space is a name (printable ASCII), not EBADNAME', async () => {
    const r = await run(['resolve', 'no such', '--namespace', 'default', '--server', server]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /NXDOMAIN/);
  });

  test('off a cluster: the server asked, a missing resolv.conf, and --server are named', async () => {
    const r = { stdout: '', stderr: '' };
    const code = await runResolve({ timeout: '300', attempts: '1' }, ['nginx'], {
      stdout: (t) => (r.stdout += t),
      stderr: (t) => (r.stderr += t),
      resolvConf: '/nonexistent/resolv.conf',
    });
    assert.notEqual(code, 0);
    assert.match(r.stderr, /127\.0\.0\.1:53/);
    assert.match(r.stderr, /\/nonexistent\/resolv\.conf is missing/);
    assert.match(r.stderr, /--server/);
    const withServer = await run(['resolve', 'nothere', '--namespace', 'default', '--server', server]);
    assert.equal(withServer.code, 1);
    assert.match(withServer.stderr, new RegExp(server.replace(/\./g, '\\.')));
  });

  test('server text with control characters cannot forge table rows', () => {
    const evil = makePeer({ host: 'web-0.nginx\n\u001b[31mFAKE  0  6.6.6.6', address: '127.1.0.1', port: 80, ttl: 5 }, { addresses: new Set<string>(), hostname: 'nobody' });
    const table = formatPeerTable([evil]);
    assert.equal(table.trimEnd().split('\n').length, 2, 'a header and one row');
    assert.doesNotMatch(table, /\u001b/);
    assert.match(table, /\\n\\x1b\[31mfake/);
    const lines = formatChange({ peers: [evil], added: [evil], removed: [], updated: [] });
    assert.equal(lines.split('\n').length, 2);
    assert.equal(escapeText('a\u202eb\u0000c\u007f'), 'a\\u202eb\\x00c\\x7f');
  });

  test('resolve --json | head -c 10: no EPIPE stack, exit 0', { timeout: 120_000 }, async () => {
    const r = await sh(
      `node --import tsx src/cli.ts resolve many --namespace default --port web --server ${big.servers[0]} --json | head -c 10; echo " status=\${PIPESTATUS[0]}"`,
    );
    assert.equal(r.stderr, '', 'nothing on stderr');
    assert.equal(r.stdout, '[\n  {\n     status=0\n');
  });

  test("docs/cli.md's exit-status script works", { timeout: 120_000 }, async () => {
    const doc = readFileSync(`${ROOT}docs/cli.md`, 'utf8');
    const script = /## Exit status[\s\S]*?```sh\n([\s\S]*?)```/.exec(doc)![1]!;
    // `headless-sd` is the CLI of this checkout, asking the test server.
    const shim = (s: string): string => `headless-sd() { node --import tsx src/cli.ts "$@" --namespace default --server ${s}; }\n`;
    const none = await sh(shim(server) + script);
    assert.equal(none.stdout, 'no database pod is ready yet\n', none.stderr);
    const closedPort = await sh(`${shim('127.0.0.1:9')}${script}`);
    assert.match(closedPort.stdout, /^(cluster DNS did not answer|headless-sd failed with \d+)\n$/);
    assert.equal(closedPort.stdout, 'cluster DNS did not answer\n', closedPort.stderr);
  });
});
