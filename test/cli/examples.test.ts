import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDemoCluster, createTestServer } from '../../src/testing/index.ts';
import { runToSuccess, startNode } from './child.ts';
import { sendSignal } from '../helpers/runtime.ts';

describe('examples', () => {
  test('npm run demo: exits 0 by itself and names every peer it sees', { timeout: 40_000 }, async () => {
    const out = await runToSuccess('examples/demo.ts');
    for (const name of ['web-0', 'web-1', 'web-2', 'web-3', 'web-4']) assert.match(out, new RegExp(`\\b${name}\\b`), name);
    assert.match(out, /^\+ web-3 127\.\d+\.\d+\.\d+:80$/m);
    assert.match(out, /^- web-4 127\.\d+\.\d+\.\d+:80$/m);
    assert.match(out, /^- web-1 127\.\d+\.\d+\.\d+:80$/m);
    assert.match(out, /^> done/m);
    assert.equal(/\u001b\[/.test(out), false, 'no colors when stdout is not a terminal');
  });

  test('npm run example:local: three members find each other and the runner exits 0', { timeout: 90_000 }, async () => {
    const out = await runToSuccess('examples/local-cluster/run.ts');
    for (const [name, others] of [
      ['app-0', 'app-1, app-2'],
      ['app-1', 'app-0, app-2'],
      ['app-2', 'app-0, app-1'],
    ]) {
      assert.match(out, new RegExp(`\\[${name}\\] ${name}: knows ${others}$`, 'm'));
    }
    assert.match(out, /^all 3 members know the other 2/m);
  });

  test('examples/watch-peers.ts keeps its peer list and stops on SIGTERM', { timeout: 30_000 }, async () => {
    const cluster = await createDemoCluster({ ttl: 1 });
    const dns = await createTestServer({ cluster });
    const app = startNode('examples/watch-peers.ts', [], { DNS_SERVERS: dns.servers[0]!, POD_NAMESPACE: 'default' });
    try {
      await app.waitForLine((l) => l.startsWith('now 3 peers'), 'the first set');
      assert.deepEqual(
        app.stdout.filter((l) => l.startsWith('joined:')).map((l) => l.split(' ')[1]),
        ['web-0', 'web-1', 'web-2'],
      );
      cluster.setReady('web-2', false);
      assert.match(await app.waitForLine((l) => l.startsWith('left:'), 'a left line'), /^left: +web-2 127\.\d+\.\d+\.\d+:80$/);
    } finally {
      sendSignal(app.process, 'SIGTERM');
    }
    const { code } = await app.exited;
    await dns.close();
    assert.equal(code, 0, app.stderr.join('\n'));
    assert.equal(app.stdout.at(-1), 'stopped watching');
  });
});
