import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type http from 'node:http';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { namesOf, withWatch } from './fixture.ts';
import { eventLine, initialEventsEnd, isWatch, listBody, tinyApi, webSlice } from './tiny-api.ts';

const isWatchList = (u: URL): boolean => isWatch(u) && u.searchParams.get('sendInitialEvents') === 'true';
const kinds = (requests: URL[]): string[] => requests.map((u) => (isWatchList(u) ? 'watch-list' : isWatch(u) ? `watch@${u.searchParams.get('resourceVersion')}` : 'list'));
const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
const QUICK = { minBackoff: 20, maxBackoff: 50 };

describe('streaming watch-list (sendInitialEvents)', () => {
  test('the set is known at the initial-events-end bookmark, not before; no list request; then changes stream on', async () => {
    const before = activeResources();
    let stream: http.ServerResponse | null = null;
    const api = await tinyApi((url, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (!isWatchList(url)) return; // nothing else is expected
      stream = res;
      res.write(eventLine('ADDED', webSlice('nginx-a', '7', [0, 1])));
      res.write(eventLine('ADDED', webSlice('nginx-b', '9', [2])));
    });
    await withWatch(api, { ...QUICK }, async (r) => {
      await until(() => stream !== null, 'the watch-list request');
      const q = api.requests[0]!.searchParams;
      assert.equal(q.get('resourceVersionMatch'), 'NotOlderThan');
      assert.equal(q.get('allowWatchBookmarks'), 'true');
      assert.equal(q.get('resourceVersion'), null, 'the newest state');
      await sleep(200);
      assert.equal(r.sets.length, 0, 'the initial events are not a set until the bookmark');
      stream!.write(eventLine('BOOKMARK', { kind: 'EndpointSlice', metadata: { resourceVersion: '9' } }));
      await sleep(100);
      assert.equal(r.sets.length, 0, 'a bookmark without the annotation is not the end');
      stream!.write(initialEventsEnd('10'));
      assert.deepEqual(namesOf(await r.waitForSets(1, 'the set')), ['web-0', 'web-1', 'web-2']);
      assert.equal(r.watch.resourceVersion, '10');
      stream!.write(eventLine('DELETED', webSlice('nginx-b', '11', [2])));
      assert.deepEqual(namesOf(await r.waitForSets(2, 'the change')), ['web-0', 'web-1']);
      assert.deepEqual(kinds(api.requests), ['watch-list']);
      assert.deepEqual([r.watch.stats.lists, r.watch.stats.pages, r.watch.stats.watchList], [1, 0, true]);
      assert.deepEqual(r.errors, []);
    });
    await assertNoLeaks(before);
  });

  test('a server that refuses it (422): list then watch, remembered after a 410', async () => {
    let gone = true;
    const api = await tinyApi((url, res) => {
      if (isWatchList(url)) {
        const body = status(422, 'Invalid', 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch');
        return void res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      }
      if (!isWatch(url)) return void res.end(listBody('5', [webSlice('nginx-a', '5', [0])]));
      res.writeHead(200, { 'content-type': 'application/json' });
      if (gone) {
        gone = false;
        res.write(eventLine('MODIFIED', webSlice('nginx-a', '6', [0, 1])));
        res.end(eventLine('ERROR', status(410, 'Expired', 'too old resource version: 6 (7)')));
      }
    });
    await withWatch(api, { ...QUICK }, async (r) => {
      await r.waitForSets(3, 'the set, the change, the relist');
      await until(() => api.requests.length >= 5, 'the relist and the watch after the 410');
      assert.deepEqual(kinds(api.requests), ['watch-list', 'list', 'watch@5', 'list', 'watch@5']);
      assert.equal(r.watch.stats.watchList, false);
      assert.deepEqual(r.errors, [], 'a refused watch-list is no error: the list is the answer');
    });
  });

  test('an ERROR event instead of the initial events: list then watch', async () => {
    const api = await tinyApi((url, res) => {
      if (!isWatch(url)) return void res.end(listBody('5', [webSlice('nginx-a', '5', [0, 1])]));
      res.writeHead(200, { 'content-type': 'application/json' });
      if (isWatchList(url)) res.end(eventLine('ERROR', status(400, 'BadRequest', 'sendInitialEvents is not supported')));
    });
    await withWatch(api, { ...QUICK }, async (r) => {
      assert.deepEqual(namesOf(await r.waitForSets(1, 'the set')), ['web-0', 'web-1']);
      await until(() => api.requests.length >= 3, 'the watch');
      assert.deepEqual(kinds(api.requests), ['watch-list', 'list', 'watch@5']);
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0]!.status, 400);
    });
  });

  test('a server that ignores it (initial events, no bookmark): list then watch after the list timeout', async () => {
    const api = await tinyApi((url, res) => {
      if (!isWatch(url)) return void res.end(listBody('5', [webSlice('nginx-a', '5', [0, 1])]));
      res.writeHead(200, { 'content-type': 'application/json' });
      if (isWatchList(url)) res.write(eventLine('ADDED', webSlice('nginx-a', '5', [0, 1])));
    });
    await withWatch(api, { timeout: 300, ...QUICK }, async (r) => {
      assert.deepEqual(namesOf(await r.waitForSets(1, 'the set')), ['web-0', 'web-1']);
      await until(() => api.requests.length >= 3, 'the watch');
      assert.deepEqual(kinds(api.requests), ['watch-list', 'list', 'watch@5']);
      assert.equal(r.sets.length, 1);
    });
  });

  test('a stream that breaks during the initial events: nothing reported, the next attempt starts over', async () => {
    let attempts = 0;
    const api = await tinyApi((url, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (!isWatchList(url)) return;
      res.write(eventLine('ADDED', webSlice('nginx-a', '7', [0])));
      if (++attempts === 1) return void setImmediate(() => res.destroy());
      res.write(eventLine('ADDED', webSlice('nginx-b', '8', [1])));
      res.write(initialEventsEnd('8'));
    });
    await withWatch(api, { ...QUICK }, async (r) => {
      assert.deepEqual(namesOf(await r.waitForSets(1, 'the set')), ['web-0', 'web-1']);
      assert.deepEqual(kinds(api.requests), ['watch-list', 'watch-list']);
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0]!.code, 'ECONNECTION');
    });
  });
});
