import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsError, InvalidArgumentError, KubernetesApiError, waitForPeers, watchPeers } from '../../src/index.ts';
import type { PeerChange } from '../../src/index.ts';
import { isPermanentError, WATCH_ERROR_WARNING } from '../../src/discovery/watcher.ts';
import { createFakeKubernetesApi } from '../../src/testing/index.ts';
import { nginxFixture } from '../helpers/fixtures.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { startNode } from '../cli/child.ts';

const fast = { minInterval: 20, maxInterval: 100, timeout: 200, attempts: 1 } as const;

/** Collects the process warnings of one kind while `run` runs. */
async function warningsDuring(run: () => Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const onWarning = (w: Error): void => {
    if ((w as { code?: string }).code === WATCH_ERROR_WARNING) seen.push(w);
  };
  process.on('warning', onWarning);
  try {
    await run();
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

describe('leaving a for await loop closes the watcher', () => {
  for (const mode of ['break', 'return']) {
    test(`a program that ${mode}s out of the loop exits by itself`, async () => {
      const f = await nginxFixture();
      try {
        const child = startNode('test/discovery/watch-break.child.ts', [f.servers[0]!, mode]);
        const limit = setTimeout(() => child.process.kill('SIGKILL'), 60_000);
        const { code, signal } = await child.exited;
        clearTimeout(limit);
        assert.equal(signal, null, `the program did not exit by itself: ${child.stderr.join('\n')}`);
        assert.equal(code, 0, child.stderr.join('\n'));
        assert.deepEqual(child.stdout, ['peers nginx-0,nginx-1,nginx-2', 'closed true']);
      } finally {
        await f.close();
      }
    });
  }

  test('break in process: the watcher is closed, its loop stopped, nothing left running', async () => {
    const f = await nginxFixture();
    const before = activeResources();
    const watcher = watchPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, ...fast });
    const closed = new Promise<void>((resolve) => watcher.once('close', resolve));
    const got: PeerChange[] = [];
    for await (const change of watcher) {
      got.push(change);
      break;
    }
    await closed;
    assert.equal(got.length, 1);
    assert.equal(watcher.closed, true);
    await assertNoLeaks(before);
    await f.close();
  });
});

describe('errors nobody listens for are process warnings', () => {
  test('a typo in the Service name: one warning per error code, the watcher goes on', async () => {
    const f = await nginxFixture();
    const watcher = watchPeers('ngnix', { port: 'web', namespace: 'default', servers: f.servers, ...fast });
    try {
      const warnings = await warningsDuring(async () => {
        await until(() => f.dns.queries.filter((q) => /ngnix/.test(q.name)).length >= 4, 'several polls of the typo');
      });
      assert.equal(warnings.length, 1, 'once per kind of error, not once per poll');
      assert.match(warnings[0]!.message, /watchPeers\("ngnix"\)/);
      assert.match(warnings[0]!.message, /ngnix/);
      assert.equal(warnings[0]!.name, 'HeadlessSdWarning');
      assert.equal(watcher.closed, false, 'NXDOMAIN may be pods not ready yet: the watcher keeps trying');
    } finally {
      watcher.close();
      await f.close();
    }
  });

  test('with an error listener there is no warning', async () => {
    const f = await nginxFixture();
    const watcher = watchPeers('nothere', { port: 'web', namespace: 'default', servers: f.servers, ...fast });
    const errors: Error[] = [];
    watcher.on('error', (e) => errors.push(e));
    try {
      const warnings = await warningsDuring(async () => {
        await until(() => errors.length >= 2, 'two errors');
      });
      assert.equal(warnings.length, 0);
      assert.ok(errors[0] instanceof DnsError);
    } finally {
      watcher.close();
      await f.close();
    }
  });
});

describe('errors no retry can fix end a watcher before its first set', () => {
  test('which errors are permanent', () => {
    assert.equal(isPermanentError(new InvalidArgumentError('x')), true);
    assert.equal(isPermanentError(new DnsError('EBADNAME', 'bad')), true);
    assert.equal(isPermanentError(new DnsError('ENOTFOUND', 'nx')), false);
    assert.equal(isPermanentError(new DnsError('ETIMEOUT', 'slow')), false);
    assert.equal(isPermanentError(new KubernetesApiError('EUNAUTHORIZED', '401')), true);
    assert.equal(isPermanentError(new KubernetesApiError('EFORBIDDEN', '403')), true);
    assert.equal(isPermanentError(new KubernetesApiError('ECONNECTION', 'down')), false);
  });

  test('401 from the API: ready rejects, the iterator throws, waitForPeers rejects', async () => {
    const f = await nginxFixture();
    const api = await createFakeKubernetesApi({ cluster: f.cluster, token: 'right' });
    const before = activeResources();
    try {
      const options = { source: 'kubernetes', namespace: 'default', port: 'web', kubernetes: { url: api.url, token: 'wrong' }, minInterval: 20, maxInterval: 100, timeout: 2000 } as const;
      const watcher = watchPeers('nginx', options);
      watcher.on('error', () => {});
      await assert.rejects(watcher.ready, (err: Error) => err instanceof KubernetesApiError && err.code === 'EUNAUTHORIZED');
      assert.equal(watcher.closed, true);

      const iterated = watchPeers('nginx', options);
      const warnings = await warningsDuring(async () => {
        await assert.rejects(
          (async () => {
            for await (const change of iterated) assert.fail(`no change expected, got ${change.peers.length}`);
          })(),
          (err: Error) => err instanceof KubernetesApiError && err.code === 'EUNAUTHORIZED',
        );
      });
      assert.ok(warnings.length <= 1);

      await assert.rejects(
        waitForPeers('nginx', { ...options, waitTimeout: 60_000 }),
        (err: Error) => err instanceof KubernetesApiError && err.code === 'EUNAUTHORIZED',
      );
      await assertNoLeaks(before);
    } finally {
      await api.close();
      await f.close();
    }
  });
});

describe('waitForPeers: waitTimeout shorter than stableFor', () => {
  test('the message says the set never stayed unchanged long enough', async () => {
    const f = await nginxFixture();
    try {
      await assert.rejects(
        waitForPeers('nginx', { port: 'web', namespace: 'default', servers: f.servers, min: 3, stableFor: 60_000, waitTimeout: 300, ...fast }),
        (err: Error) => {
          assert.ok(err instanceof DnsError);
          assert.equal(err.code, 'ETIMEOUT');
          assert.match(err.message, /never stayed unchanged for stableFor \(60000 ms\)/);
          assert.match(err.message, /longer than waitTimeout \(300 ms\)/);
          return true;
        },
      );
    } finally {
      await f.close();
    }
  });
});
