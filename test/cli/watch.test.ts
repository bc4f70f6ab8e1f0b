import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli.ts';
import type { CliIo } from '../../src/cli.ts';
import { createTestCluster, createTestServer } from '../../src/testing/index.ts';
import type { StatefulSet, TestCluster, TestDnsServer } from '../../src/testing/index.ts';
import type { PeerChange } from '../../src/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { assertExit, runCli, startNode } from './child.ts';
import { sendSignal } from '../helpers/runtime.ts';

let cluster: TestCluster;
let dns: TestDnsServer;
let server: string;
let handlesBefore: Map<string, number>;

/** A fresh StatefulSet of `replicas` behind its own headless Service, so tests do not share state. */
function service(name: string, replicas: number): StatefulSet {
  cluster.setService({ name, ports: [{ name: 'web', port: 80 }] });
  return cluster.statefulSet({ name, serviceName: name, replicas });
}

before(async () => {
  handlesBefore = activeResources();
  // TTL 1 s: watchers poll about every second.
  cluster = await createTestCluster({ ttl: 1 });
  dns = await createTestServer({ cluster });
  server = dns.servers[0]!;
});

after(async () => {
  await dns.close();
  await assertNoLeaks(handlesBefore);
});

const names = (change: PeerChange['peers']): (string | null)[] => change.map((p) => p.name);

describe('headless-sd watch', () => {
  test('--json: the initial set, a change after a scale, then SIGTERM exits 0', { timeout: 30_000 }, async () => {
    const set = service('njson', 2);
    const child = startNode('src/cli.ts', ['watch', 'njson', '-n', 'default', '-p', 'web', '-s', server, '--json', '--min-interval', '100ms']);
    try {
      const first = JSON.parse(await child.waitForLine(() => true, 'the initial set')) as PeerChange;
      assert.deepEqual(names(first.peers), ['njson-0', 'njson-1']);
      assert.deepEqual(names(first.added), ['njson-0', 'njson-1']);
      assert.deepEqual(first.removed, []);
      set.scale(3);
      const second = JSON.parse(await child.waitForLine((_, i) => i === 1, 'the change after scale(3)')) as PeerChange;
      assert.deepEqual(names(second.peers), ['njson-0', 'njson-1', 'njson-2']);
      assert.deepEqual(
        second.added.map((p) => [p.name, p.address, p.port]),
        [['njson-2', set.pods[2]!.addresses[0], 80]],
      );
      assert.deepEqual(second.removed, []);
    } finally {
      sendSignal(child.process, 'SIGTERM');
    }
    const { code, signal } = await child.exited;
    assert.equal(signal, null);
    assert.equal(code, 0, child.stderr.join('\n'));
    // Every line is one JSON object: NDJSON.
    for (const line of child.stdout) assert.doesNotThrow(() => JSON.parse(line), line);
    assert.deepEqual(child.stderr, []);
  });

  test('text: the table, then + and - lines; SIGINT exits 0', { timeout: 30_000 }, async () => {
    const set = service('ntext', 2);
    const child = startNode('src/cli.ts', ['watch', 'ntext', '-n', 'default', '-p', 'web', '-s', server]);
    try {
      await child.waitForLine((l) => l.startsWith('ntext-1 '), 'the table');
      assert.match(child.stdout[0]!, /^NAME +ORDINAL +ADDRESS +PORT +HOST +TTL +SELF$/);
      const address = set.pods[1]!.addresses[0];
      set.scale(1);
      assert.equal(await child.waitForLine((l) => l.startsWith('- '), 'a - line'), `- ntext-1 ${address}:80`);
      set.scale(2);
      assert.match(await child.waitForLine((l) => l.startsWith('+ '), 'a + line'), /^\+ ntext-1 127\.\d+\.\d+\.\d+:80$/);
    } finally {
      sendSignal(child.process, 'SIGINT');
    }
    const { code } = await child.exited;
    assert.equal(code, 0, child.stderr.join('\n'));
  });

  test('a first resolution that fails exits as resolve would: 1 for no such Service, 3 for no answer', { timeout: 30_000 }, async () => {
    const dropping = await createTestServer({ cluster });
    dropping.fault({ drop: true });
    try {
      const [missing, silent] = await Promise.all([
        runCli(['watch', 'nothing-here', '-n', 'default', '-p', 'web', '-s', server]),
        runCli(['watch', 'nothing-here', '-n', 'default', '-s', dropping.servers[0]!, '--timeout', '100', '--attempts', '1']),
      ]);
      assertExit(missing, 1, 'watch of a missing Service');
      assert.match(missing.stderr, /^headless-sd: service nothing-here has no ready endpoints/);
      assertExit(silent, 3, 'watch with a silent server');
      assert.match(silent.stderr, /^headless-sd: .*ETIMEOUT/);
    } finally {
      await dropping.close();
    }
  });

  test('in process: errors after the first set are reported and the set is kept; abort closes everything', { timeout: 30_000 }, async () => {
    const before = activeResources();
    const set = service('ninproc', 1);
    const flaky = await createTestServer({ cluster });
    const controller = new AbortController();
    let out = '';
    let err = '';
    const io: CliIo & { color: boolean } = {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      signal: controller.signal,
      color: false,
    };
    const done = main(['watch', 'ninproc', '-n', 'default', '-p', 'web', '-s', flaky.servers[0]!, '--timeout', '100', '--attempts', '1', '--min-interval', '100ms', '--max-interval', '300ms'], io);
    try {
      await until(() => out.includes('ninproc-0 '), 'the table');
      flaky.fault({ rcode: 'SERVFAIL' });
      await until(() => /ESERVFAIL|SERVFAIL/.test(err), 'an error line');
      assert.match(err, /^headless-sd: .*SERVFAIL.* \(still watching; keeping the last 1 peers\)$/m);
      flaky.clearFaults();
      set.scale(2);
      await until(() => out.includes('+ ninproc-1 '), 'the + line after recovery');
    } finally {
      controller.abort();
    }
    assert.equal(await done, 0);
    await flaky.close();
    await assertNoLeaks(before);
  });
});
