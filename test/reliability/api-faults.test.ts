/**
 * Fault matrix of the Kubernetes API source: connection reset, HTTP 500, a slow stream, a 410
 * storm, the API down and back. peers() gives the set or its typed error within its timeout
 * (+10%); a watcher keeps its set, emits `error`, and recovers when the fault ends.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { peers, watchPeers } from '../../src/index.ts';
import type { Peer } from '../../src/index.ts';
import { KubernetesApiError } from '../../src/kubernetes/errors.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { apiFixture, type ApiFixture } from '../kubernetes/fixture.ts';
import { assertRecoversWithScaleUp, assertWithinBound, logWatcher, lookupBound, record, recorded, tally } from './support.ts';

const TIMEOUT = 400;
const MIN_INTERVAL = 50;
const keys = (ps: readonly Peer[]): string[] => ps.map((p) => `${p.host}|${p.address}|${p.port}`);

interface ApiFaultCase {
  name: string;
  /** Starts the fault for peers() (a list). */
  onList(f: ApiFixture): void | Promise<void>;
  /** Starts the fault for a running watcher (its stream is broken so that it reconnects into the fault). */
  onWatch(f: ApiFixture): void | Promise<void>;
  /** Ends the fault (default: clearFaults). */
  clear?(f: ApiFixture): void | Promise<void>;
  codes: string[];
  /** Errors the watcher must report under the fault (default 2: it keeps retrying). */
  watcherErrors?: number;
}

const cases: ApiFaultCase[] = [
  {
    name: 'connection reset',
    onList: (f) => f.api.fail({ reset: true }),
    onWatch: (f) => {
      f.api.fail({ reset: true });
      f.api.dropWatches();
    },
    codes: ['ECONNECTION'],
  },
  {
    name: 'HTTP 500',
    onList: (f) => f.api.fail({ status: 500 }),
    onWatch: (f) => {
      f.api.fail({ status: 500 });
      f.api.dropWatches();
    },
    codes: ['EHTTP', 'ECONNECTION'],
  },
  {
    name: 'slow stream',
    onList: (f) => f.api.fail({ delayMs: TIMEOUT * 4, on: 'list' }),
    onWatch: (f) => {
      f.api.fail({ delayMs: 1000, on: 'watch' });
      f.api.dropWatches();
    },
    // The list times out; the watcher's broken stream is its only error, the slow one just delays events.
    codes: ['ETIMEOUT', 'ECONNECTION'],
    watcherErrors: 1,
  },
  {
    name: '410 storm',
    onList: (f) => {
      f.api.compact();
      f.api.fail({ status: 410 });
    },
    onWatch: (f) => {
      f.api.compact();
      f.api.fail({ status: 410, on: 'watch' });
      f.api.dropWatches();
    },
    codes: ['EGONE', 'ECONNECTION'],
  },
  {
    name: 'API down, then back',
    onList: (f) => f.api.stop(),
    onWatch: (f) => f.api.stop(),
    clear: (f) => f.api.start(),
    codes: ['ECONNECTION'],
  },
];

describe('Kubernetes API fault matrix', () => {
  for (const c of cases) {
    test(`${c.name}: peers() gives the set or a typed error in time; a watcher keeps its set and recovers`, recorded('faults (API)', c.name, async () => {
      const before = activeResources();
      const f = await apiFixture();
      const options = { source: 'kubernetes', kubernetes: f.kubernetes, port: 'web', namespace: 'default', timeout: TIMEOUT } as const;
      try {
        const expected = keys(await peers('nginx', options));
        assert.equal(expected.length, 3);

        await c.onList(f);
        const start = performance.now();
        const code = await peers('nginx', options).then(
          () => assert.fail(`${c.name}: peers() resolved under the fault`),
          (err: unknown) => {
            assert.ok(err instanceof KubernetesApiError, `not a KubernetesApiError: ${String(err)}`);
            assert.ok(c.codes.includes(err.code), `${c.name}: ${err.code} (${err.message})`);
            return err.code;
          },
        );
        const elapsed = performance.now() - start;
        assertWithinBound(elapsed, TIMEOUT, 1, `peers() under ${c.name}`);
        await (c.clear ?? ((x: ApiFixture) => x.api.clearFaults()))(f);
        assert.deepEqual(keys(await peers('nginx', options)), expected, 'peers() after the fault');
        record('faults (API)', `${c.name} / peers()`, `${code} in ${elapsed.toFixed(0)} ms (bound ${lookupBound(TIMEOUT, 1)} ms); right set after`);

        const watcher = watchPeers('nginx', { ...options, minInterval: MIN_INTERVAL, maxInterval: 300 });
        const log = logWatcher(watcher);
        const { changes, errors } = log;
        try {
          assert.deepEqual(keys(await watcher.ready), expected);
          await until(() => changes.length === 1, 'the initial change');
          await until(() => f.api.openWatches === 1, 'the watch stream');
          const requestsAt = f.api.requests.length;
          const faultStart = performance.now();
          await c.onWatch(f);
          await until(() => errors.length >= (c.watcherErrors ?? 2), `errors under ${c.name}`);
          // Under the fault a while longer: the set stays, and the retries back off (no busy loop).
          await new Promise((resolve) => setTimeout(resolve, 600));
          for (const e of errors) assert.ok(e instanceof KubernetesApiError && c.codes.includes(e.code), `watcher error ${String(e)}`);
          assert.deepEqual(keys(watcher.peers), expected, 'the set is kept under the fault');
          assert.equal(changes.length, 1, 'no change event under the fault');
          const window = performance.now() - faultStart;
          const requests = f.api.requests.length - requestsAt;
          // Each attempt makes at most 3 requests (watch, relist, watch), and waits at least minInterval after a failure.
          const most = 3 * (Math.ceil(window / MIN_INTERVAL) + 2);
          assert.ok(requests <= most, `${requests} requests in ${window.toFixed(0)} ms: more than ${most}, the retries do not back off`);
          const errorCodes = tally(errors.map((e) => (e as KubernetesApiError).code));
          await (c.clear ?? ((x: ApiFixture) => x.api.clearFaults()))(f);
          await assertRecoversWithScaleUp(f.set, watcher, log, 'web-3');
          record('faults (API)', `${c.name} / watcher`, `set kept, errors: ${errorCodes}; ${requests} requests in ${window.toFixed(0)} ms (backoff); recovered (scale 3 -> 4 seen)`);
        } finally {
          watcher.close();
        }
      } finally {
        await f.close();
      }
      await assertNoLeaks(before);
    }));
  }

  test('slow stream: a change made while the watch stream is held arrives when it flows again, without error or loss', recorded('faults (API)', 'slow stream / watcher', async () => {
    const before = activeResources();
    const f = await apiFixture();
    const watcher = watchPeers('nginx', { source: 'kubernetes', kubernetes: f.kubernetes, port: 'web', namespace: 'default', minInterval: MIN_INTERVAL, maxInterval: 300 });
    const errors: Error[] = [];
    watcher.on('error', (e) => errors.push(e));
    try {
      await watcher.ready;
      await until(() => f.api.openWatches === 1, 'the watch stream');
      // The next watch is held 1 s before its first byte of body.
      f.api.fail({ delayMs: 1000, on: 'watch', count: 1 });
      f.api.endWatches(); // a normal end: the watcher resumes at once, into the slow stream
      await until(() => f.api.requests.some((r) => r.faults.includes('delayMs')), 'the slow watch');
      f.set.scale(4);
      await until(() => watcher.peers.length === 4, 'the change after the held stream flows');
      assert.deepEqual(errors, [], 'a slow stream is not an error');
      record('faults (API)', 'slow stream / watcher (held 1 s, change made meanwhile)', 'no error; the change arrived when the stream flowed');
    } finally {
      watcher.close();
      await f.close();
    }
    await assertNoLeaks(before);
  }));
});
