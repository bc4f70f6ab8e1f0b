/** The CLI from a laptop: --kubeconfig and --context against the fake API over TLS, and the flag checks. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parsePeerArgs } from '../../src/cli/args.ts';
import { CliUsageError } from '../../src/cli/exit-codes.ts';
import { startNode } from '../cli/child.ts';
import { apiFixture } from './fixture.ts';
import { sendSignal } from '../helpers/runtime.ts';

const notInPod = { KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '', KUBECONFIG: '/nonexistent/kubeconfig' };

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startNode('src/cli.ts', args, { ...notInPod, ...env });
  const { code } = await child.exited;
  return { code, stdout: child.stdout.join('\n'), stderr: child.stderr.join('\n') };
}

describe('CLI: --kubeconfig, --context, --source', () => {
  test('resolve and watch reach the fake API through --kubeconfig and --context', { timeout: 60_000 }, async () => {
    const f = await apiFixture({ tls: true, token: 'cli-token' });
    try {
      const path = await f.api.kubeconfig({ name: 'kind-test', namespace: 'default' });
      const r = await cli(['resolve', 'nginx', '--source', 'kubernetes', '--kubeconfig', path, '--context', 'kind-test', '-p', 'web', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as { name: string }[]).map((p) => p.name), ['web-0', 'web-1', 'web-2']);
      assert.equal(f.api.requests.at(-1)!.token, 'cli-token');
      // KUBECONFIG works too, and a context that is not there says which ones are.
      const viaEnv = await cli(['resolve', 'nginx', '--source', 'auto', '-p', 'web', '--json'], { KUBECONFIG: path });
      assert.equal(viaEnv.code, 0, viaEnv.stderr);
      const wrong = await cli(['resolve', 'nginx', '--source', 'kubernetes', '--kubeconfig', path, '--context', 'nope']);
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /context "nope" is not in kubeconfig .*\(contexts: kind-test\)/);
      // watch: the first set from the API, then a change, until SIGTERM.
      const child = startNode('src/cli.ts', ['watch', 'nginx', '--source', 'kubernetes', '--kubeconfig', path, '-p', 'web', '--json'], notInPod);
      try {
        await child.waitForLine((l) => (JSON.parse(l) as { peers: unknown[] }).peers.length === 3, 'the first set', 30_000);
        f.set.scale(4);
        await child.waitForLine((l) => (JSON.parse(l) as { added: { name: string }[] }).added.some((p) => p.name === 'web-3'), 'web-3 added', 30_000);
      } finally {
        sendSignal(child.process, 'SIGTERM');
        await child.exited;
      }
    } finally {
      await f.close();
    }
  });

  test('kubectl reads the kubeconfig the fake writes (CA data, client certificate or token)', { timeout: 60_000 }, async () => {
    const home = await mkdtemp(join(tmpdir(), 'headless-sd-kubectl-home-'));
    try {
      for (const options of [{ tls: true, clientCertificate: true }, { tls: true, token: 'kubectl-token' }]) {
        const f = await apiFixture(options);
        try {
          const path = await f.api.kubeconfig();
          const raw = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dnginx';
          // HOME points at a temp dir: kubectl's caches stay out of the user's.
          const { stdout } = await promisify(execFile)('kubectl', ['--kubeconfig', path, 'get', '--raw', raw], { env: { ...process.env, HOME: home } });
          const list = JSON.parse(stdout) as { kind: string; items: { endpoints: unknown[] }[] };
          assert.equal(list.kind, 'EndpointSliceList');
          assert.equal(list.items.flatMap((i) => i.endpoints).length, 3);
        } finally {
          await f.close();
        }
      }
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  test('flag checks', () => {
    const usage = (args: Record<string, string>, pattern: RegExp): void => {
      assert.throws(() => parsePeerArgs(args, ['nginx']), (err: unknown) => err instanceof CliUsageError && pattern.test(err.message));
    };
    usage({ kubeconfig: '/k' }, /--kubeconfig needs --source kubernetes or --source auto/);
    usage({ context: 'c', source: 'dns' }, /--context needs --source kubernetes or --source auto/);
    usage({ source: 'kubernetes', 'api-url': 'http://127.0.0.1:8001', context: 'c' }, /--api-url names the API server itself/);
    usage({ source: 'sometimes' }, /--source must be one of dns, kubernetes, auto/);
    const auto = parsePeerArgs({ source: 'auto', kubeconfig: '/k', context: 'c', server: '127.0.0.1:53' }, ['nginx']);
    assert.deepEqual(auto.options.kubernetes, { kubeconfig: '/k', context: 'c' });
    assert.equal(auto.options.source, 'auto');
    assert.deepEqual(auto.options.servers, ['127.0.0.1:53']);
  });
});
