import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main, type CliIo } from '../../src/cli.ts';
import { parsePodsSpec } from '../../src/testing/index.ts';
import { dig } from '../helpers/dig.ts';
import { ask } from '../helpers/raw-dns.ts';
import { sendSignal, tsArgs } from '../helpers/runtime.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs main() in process and collects what it writes. */
async function run(argv: string[], signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), ...(signal ? { signal } : {}) };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

describe('headless-sd bin', () => {
  test('help and usage errors', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /serve/);
    const serveHelp = await run(['serve', '--help']);
    assert.equal(serveHelp.code, 0);
    assert.match(serveHelp.stdout, /--pods LIST/);
    assert.equal((await run([])).code, 2);
    for (const argv of [
      ['nope'],
      ['serve', '--bogus'],
      ['serve', 'extra'],
      ['serve', '--port', 'abc'],
      ['serve', '--port', '70000'],
      ['serve', '--ttl', '-1'],
      ['serve', '--demo', '--pods', 'a=1'],
      ['serve', '--pods', 'A=1'],
      ['serve', '--pods', 'a=x'],
      ['serve', '--ip-families', 'IPv5'],
    ]) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.notEqual(r.stderr, '', argv.join(' '));
    }
  });

  test('serve in process: --pods, answers, stops on the signal with 0', async () => {
    const controller = new AbortController();
    let out = '';
    const io: CliIo = { stdout: (t) => (out += t), stderr: () => {}, signal: controller.signal };
    const done = main(['serve', '--port', '0', '--pods', 'nginx=3,db=2', '--ttl', '7'], io);
    while (!/listening on/.test(out)) await new Promise((resolve) => setTimeout(resolve, 5));
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const r = await ask({ host: '127.0.0.1', port }, '_web._tcp.db.default.svc.cluster.local', 'SRV');
    assert.equal(r.answers!.length, 2);
    assert.equal((r.answers![0] as { ttl?: number }).ttl, 7);
    controller.abort();
    assert.equal(await done, 0);
  });

  test('a port in use exits 1', async () => {
    const controller = new AbortController();
    let out = '';
    const first = main(['serve', '--port', '0'], { stdout: (t) => (out += t), stderr: () => {}, signal: controller.signal });
    while (!/listening on/.test(out)) await new Promise((resolve) => setTimeout(resolve, 5));
    const port = /listening on 127\.0\.0\.1:(\d+)/.exec(out)![1]!;
    const second = await run(['serve', '--port', port]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /EADDRINUSE/);
    controller.abort();
    assert.equal(await first, 0);
  });

  test('serve as a child process: prints its port, dig answers, SIGTERM exits 0', async () => {
    const child = spawn(process.execPath, [...tsArgs('src/cli.ts'), 'serve', '--port', '0', '--demo'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d));
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d;
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
        if (m && out.includes('try: dig')) resolve(Number(m[1]));
      });
      void exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
    });
    try {
      assert.match(out, new RegExp(`try: dig @127\\.0\\.0\\.1 -p ${port} SRV _web\\._tcp\\.nginx\\.default\\.svc\\.cluster\\.local`));
      const r = await dig({ host: '127.0.0.1', port }, ['SRV', '_web._tcp.nginx.default.svc.cluster.local']);
      assert.deepEqual(
        r.answer.map((a) => a.data.split(' ').at(-1)).sort(),
        ['web-0', 'web-1', 'web-2'].map((h) => `${h}.nginx.default.svc.cluster.local.`),
      );
    } finally {
      sendSignal(child, 'SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  test('parsePodsSpec', () => {
    assert.deepEqual(parsePodsSpec('nginx=3, web=5'), [
      { name: 'nginx', replicas: 3 },
      { name: 'web', replicas: 5 },
    ]);
    for (const bad of ['', 'a', 'a=1,a=2', 'a=-1', '-a=1', 'a=100001']) {
      assert.throws(() => parsePodsSpec(bad), { code: 'ERR_INVALID_ARG_VALUE' }, bad);
    }
  });
});
