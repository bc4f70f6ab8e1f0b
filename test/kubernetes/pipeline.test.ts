import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import type http from 'node:http';
import { peers, watchPeers } from '../../src/index.ts';
import { InvalidArgumentError } from '../../src/dns/invalid-argument.ts';
import { KubernetesApiError } from '../../src/kubernetes/errors.ts';
import { HEAD_LIMIT, readListHead } from '../../src/kubernetes/list-head.ts';
import { listKubernetesPeers } from '../../src/kubernetes/source.ts';
import type { KubernetesSourceOptions } from '../../src/kubernetes/source.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { apiFixture, expectedPeers, keysOf, namesOf, recordWatch, withWatch } from './fixture.ts';
import type { ApiFixture } from './fixture.ts';
import { eventLine, initialEventsEnd, isWatch, listBody, tinyApi, webSlice } from './tiny-api.ts';

const list = (f: { kubernetes: KubernetesSourceOptions['kubernetes'] }, extra: Partial<KubernetesSourceOptions> = {}) =>
  listKubernetesPeers({ service: 'nginx', namespace: 'default', port: 'web', kubernetes: f.kubernetes, ...extra });

/** The list requests the fake API saw, as `limit:continue?` (continue shown as present or not). */
const listRequests = (f: ApiFixture): string[] =>
  f.api.requests.filter((r) => !r.watch).map((r) => `${r.query.limit ?? '-'}:${r.query.continue ? 'c' : '-'}:${r.status ?? 'reset'}`);

/** 23 pods in slices of 2 endpoints: 12 slices, so pages of 3 are 4 requests. */
const small = (): Promise<ApiFixture> => apiFixture({ replicas: 23, maxEndpointsPerSlice: 2, tls: true });

describe('paged lists as a pipeline', () => {
  test('pages of the fake API: every page requested in turn, the set equal to the unpaged list', async () => {
    const before = activeResources();
    const f = await small();
    try {
      const whole = await list(f, { pageSize: 0 });
      assert.deepEqual(keysOf(whole), keysOf(expectedPeers(f.cluster)));
      f.api.requests.length = 0;
      for (const pageSize of [1, 3, 5, 11, 12, 100]) {
        const paged = await list(f, { pageSize });
        assert.deepEqual(keysOf(paged), keysOf(whole), `pages of ${pageSize}`);
        assert.ok(paged.every((p) => Object.isFrozen(p)));
        const pages = Math.ceil(12 / pageSize);
        assert.deepEqual(
          listRequests(f),
          Array.from({ length: pages }, (_, i) => `${pageSize}:${i === 0 ? '-' : 'c'}:200`),
          `pages of ${pageSize}`,
        );
        f.api.requests.length = 0;
      }
    } finally {
      await f.close();
    }
    await assertNoLeaks(before);
  });

  test('the next page is asked for while this one still streams in (its continue token read from the head)', async () => {
    const before = activeResources();
    let released = false;
    const api = await tinyApi(async (url, res, requests) => {
      const token = url.searchParams.get('continue');
      const [first, second] = [webSlice('nginx-a', '7', [0, 1]), webSlice('nginx-b', '7', [2])];
      if (token === null) {
        // The head and the first item, then nothing until page 2 was asked for.
        const body = listBody('7', [first], 'next');
        const cut = body.indexOf('"items":[') + 12;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(body.slice(0, cut));
        await until(() => requests.some((u) => u.searchParams.get('continue') === 'next'), 'the request of page 2 while page 1 streams', 20_000).catch(() => {});
        released = requests.some((u) => u.searchParams.get('continue') === 'next');
        res.end(body.slice(cut));
      } else res.end(listBody('7', [second]));
    });
    try {
      const got = await list({ kubernetes: { url: api.url } }, { pageSize: 1 });
      assert.deepEqual(keysOf(got).map((k) => k.split('.')[0]), ['web-0', 'web-1', 'web-2']);
      assert.ok(released, 'page 2 was asked for before page 1 had all arrived');
      assert.deepEqual(
        api.requests.map((u) => `${u.searchParams.get('limit')}:${u.searchParams.get('continue')}`),
        ['1:null', '1:next'],
      );
    } finally {
      await api.close();
    }
    await assertNoLeaks(before);
  });

  test('a head that says another token than the parsed page: the early request is dropped, the right one made', async () => {
    const api = await tinyApi((url, res) => {
      const token = url.searchParams.get('continue');
      if (token === null) {
        // A second "metadata" after the items: JSON.parse takes the last one, the head saw the first.
        const body = listBody('7', [webSlice('nginx-a', '7', [0])], 'wrong');
        res.end(`${body.slice(0, -1)},"metadata":{"resourceVersion":"7","continue":"right"}}`);
      } else if (token === 'wrong') res.writeHead(500).end('{}');
      else res.end(listBody('7', [webSlice('nginx-b', '7', [1])]));
    });
    try {
      const got = await list({ kubernetes: { url: api.url } }, { pageSize: 1 });
      assert.deepEqual(keysOf(got).map((k) => k.split('.')[0]), ['web-0', 'web-1']);
      assert.equal(api.requests.at(-1)!.searchParams.get('continue'), 'right');
    } finally {
      await api.close();
    }
  });

  test('metadata after the items (no head): the next page is asked for once the page is parsed', async () => {
    const api = await tinyApi((url, res) => {
      const token = url.searchParams.get('continue');
      const items = JSON.stringify([webSlice(token === null ? 'nginx-a' : 'nginx-b', '7', [token === null ? 0 : 1])]);
      res.end(`{"kind":"EndpointSliceList","items":${items},"metadata":{"resourceVersion":"7"${token === null ? ',"continue":"c1"' : ''}}}`);
    });
    try {
      assert.equal((await list({ kubernetes: { url: api.url } }, { pageSize: 1 })).length, 2);
      assert.deepEqual(api.requests.filter((u) => !isWatch(u)).map((u) => u.searchParams.get('continue')), [null, 'c1']);
    } finally {
      await api.close();
    }
  });

  test('a continue token that expires mid-list (410 of the fake API): the list starts over and sees the new snapshot', async () => {
    const f = await small();
    try {
      // Page 1's body waits 2 s: long enough to change the cluster and compact its history first.
      f.api.fail({ delayMs: 2000, count: 1, on: 'list' });
      const listing = list(f, { pageSize: 5 });
      await until(() => f.api.requests.some((r) => !r.watch), 'the first page request');
      f.set.scale(25);
      await tick();
      f.api.compact();
      const got = await listing;
      assert.equal(got.length, 25);
      assert.deepEqual(keysOf(got), keysOf(expectedPeers(f.cluster)));
      const log = listRequests(f);
      assert.deepEqual(log.slice(0, 3), ['5:-:200', '5:c:410', '5:-:200'], log.join(' '));
      assert.equal(log.filter((r) => r.endsWith(':200')).length, 1 + Math.ceil(13 / 5));
    } finally {
      await f.close();
    }
  });

  test('an abort mid-pipeline (two requests in flight) rejects CANCELLED and leaves nothing running', async () => {
    const before = activeResources();
    const stalled: http.ServerResponse[] = [];
    const api = await tinyApi((url, res) => {
      const body = listBody('7', [webSlice('nginx-a', '7', [0])], `c${url.searchParams.get('continue') ?? ''}x`);
      res.writeHead(200, { 'content-type': 'application/json' });
      // Every page sends its head, then stalls.
      res.write(body.slice(0, body.indexOf('"items":[') + 9));
      stalled.push(res);
    });
    const controller = new AbortController();
    try {
      const listing = list({ kubernetes: { url: api.url } }, { pageSize: 1, signal: controller.signal });
      await until(() => api.requests.length >= 2, 'page 2 asked for while page 1 stalls');
      controller.abort();
      await assert.rejects(listing, (err: unknown) => err instanceof KubernetesApiError && err.code === 'ECANCELLED');
      assert.equal(api.requests.length, 2, 'at most one request ahead');
      // The server hears of the closed connections when their FIN arrives: a loop turn or more (more on Deno).
      await until(() => stalled.every((res) => res.destroyed || res.socket === null || res.socket.destroyed), 'both connections dropped');
    } finally {
      await api.close();
    }
    await assertNoLeaks(before);
  });

  test('a timeout mid-pipeline rejects ETIMEOUT, every request ended', async () => {
    const before = activeResources();
    const api = await tinyApi((url, res) => {
      const body = listBody('7', [webSlice('nginx-a', '7', [0])], `c${url.searchParams.get('continue') ?? ''}x`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(body.slice(0, body.indexOf('"items":[') + 9));
    });
    try {
      await assert.rejects(list({ kubernetes: { url: api.url } }, { pageSize: 1, timeout: 300 }), (err: unknown) => {
        assert.ok(err instanceof KubernetesApiError);
        assert.equal(err.code, 'ETIMEOUT', err.message);
        return true;
      });
      assert.ok(api.requests.length <= 2);
    } finally {
      await api.close();
    }
    await assertNoLeaks(before);
  });

  test('a Content-Length above maxListBytes is refused before the body is read; one below it reads as before', async () => {
    const before = activeResources();
    const body = listBody('7', [webSlice('nginx-a', '7', [0, 1, 2])]);
    const api = await tinyApi((_url, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    try {
      await assert.rejects(list({ kubernetes: { url: api.url } }, { maxListBytes: body.length - 1 }), (err: unknown) => {
        assert.ok(err instanceof KubernetesApiError);
        assert.equal(err.code, 'EBADRESP');
        assert.match(err.message, new RegExp(`larger than ${body.length - 1} bytes \\(maxListBytes\\)`));
        return true;
      });
      assert.equal((await list({ kubernetes: { url: api.url } }, { maxListBytes: body.length })).length, 3);
    } finally {
      await api.close();
    }
    await assertNoLeaks(before);
  });

  test('bodies read right whatever their text: UTF-8 (split across chunks), ASCII, an escaped control character refused', async () => {
    const zones = ['zone-\u00fc\u4e2d', 'zone-a', 'zone-\u0007'];
    let zone = '';
    const api = await tinyApi((_url, res) => {
      const body = Buffer.from(listBody('7', [webSlice('nginx-a', '7', [0], { zone })]));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      // Byte by byte around the zone: a multi-byte character is split between chunks.
      const at = body.indexOf('zone-');
      res.write(body.subarray(0, at + 6));
      res.write(body.subarray(at + 6, at + 7));
      res.end(body.subarray(at + 7));
    });
    try {
      for (const z of zones.slice(0, 2)) {
        zone = z;
        assert.deepEqual((await list({ kubernetes: { url: api.url } })).map((p) => p.zone), [z]);
      }
      zone = zones[2]!;
      await assert.rejects(list({ kubernetes: { url: api.url } }), (err: unknown) => err instanceof KubernetesApiError && /control characters/.test(err.message));
    } finally {
      await api.close();
    }
  });

  test('peers() and watchPeers() pass kubernetes.pageSize, maxListBytes and watchList through', async () => {
    const before = activeResources();
    const f = await small();
    try {
      const got = await peers('nginx', { source: 'kubernetes', namespace: 'default', port: 'web', kubernetes: { ...f.kubernetes, pageSize: 4 } });
      assert.deepEqual(keysOf(got), keysOf(expectedPeers(f.cluster)));
      assert.deepEqual(listRequests(f), ['4:-:200', '4:c:200', '4:c:200']);
      await assert.rejects(
        peers('nginx', { source: 'kubernetes', namespace: 'default', port: 'web', kubernetes: { ...f.kubernetes, maxListBytes: 100 } }),
        (err: unknown) => err instanceof KubernetesApiError && err.code === 'EBADRESP' && /maxListBytes/.test(err.message),
      );
      f.api.requests.length = 0;
      const watcher = watchPeers('nginx', { source: 'kubernetes', namespace: 'default', port: 'web', kubernetes: { ...f.kubernetes, pageSize: 6, watchList: false } });
      try {
        const first = await watcher.ready;
        assert.equal(first.length, 23);
        assert.deepEqual(listRequests(f), ['6:-:200', '6:c:200']);
      } finally {
        watcher.close();
      }
      for (const bad of [{ pageSize: -1 }, { pageSize: 1.5 }, { maxListBytes: 0 }, { watchList: 'yes' }] as object[]) {
        const kubernetes = { ...f.kubernetes, ...bad };
        await assert.rejects(peers('nginx', { source: 'kubernetes', port: 'web', kubernetes }), InvalidArgumentError);
        assert.throws(() => watchPeers('nginx', { source: 'kubernetes', port: 'web', kubernetes }), InvalidArgumentError);
      }
    } finally {
      await f.close();
    }
    await assertNoLeaks(before);
  });

  test('the watch relists page by page: one set, reported once, equal to the unpaged list', async () => {
    const f = await small();
    const r = recordWatch({ kubernetes: f.kubernetes, namespace: 'default', watchList: false, pageSize: 5, minBackoff: 60_000, maxBackoff: 60_000 });
    try {
      const first = await r.waitForSets(1, 'the list');
      assert.deepEqual(keysOf(first), keysOf(expectedPeers(f.cluster)));
      assert.deepEqual(listRequests(f), ['5:-:200', '5:c:200', '5:c:200']);
      assert.deepEqual([r.watch.stats.lists, r.watch.stats.pages, r.sets.length], [1, 3, 1]);
      assert.deepEqual(r.errors, []);
    } finally {
      r.watch.close();
      await f.close();
    }
  });

  test('a watch-list builds its set event by event: modified, deleted and added slices before the end bookmark', async () => {
    let stream: http.ServerResponse | null = null;
    const api = await tinyApi((url, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (url.searchParams.get('sendInitialEvents') !== 'true') return;
      stream = res;
      res.write(eventLine('ADDED', webSlice('nginx-a', '7', [0, 1])));
      res.write(eventLine('ADDED', webSlice('nginx-b', '8', [2])));
      res.write(eventLine('MODIFIED', webSlice('nginx-a', '9', [0, 3])));
      res.write(eventLine('DELETED', webSlice('nginx-b', '10', [2])));
      res.write(eventLine('ADDED', webSlice('nginx-c', '11', [4])));
    });
    await withWatch(api, { minBackoff: 60_000, maxBackoff: 60_000 }, async (r) => {
      await until(() => stream !== null, 'the watch-list request');
      await until(() => r.watch.stats.slicesRecomputed >= 4, 'the initial events taken as they came');
      assert.equal(r.sets.length, 0, 'no set before the bookmark');
      stream!.write(initialEventsEnd('12'));
      assert.deepEqual(namesOf(await r.waitForSets(1, 'the set')), ['web-0', 'web-3', 'web-4']);
      assert.equal(r.watch.stats.slices, 2);
      assert.deepEqual(r.errors, []);
    });
  });
});

describe('list head', () => {
  const body = Buffer.from('{"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"12","continue":"eyJ2Ijoi\\"x"},"items":[{"a":1}]}');

  test('the metadata before items, from the bytes so far', () => {
    const end = body.indexOf('"items"');
    assert.deepEqual(readListHead(body, body.length), { resourceVersion: '12', continue: 'eyJ2Ijoi"x' });
    assert.deepEqual(readListHead(body, end + 9), { resourceVersion: '12', continue: 'eyJ2Ijoi"x' });
    for (let n = 0; n < end + 8; n++) assert.equal(readListHead(body, n), 'more', `${n} bytes`);
  });

  test('no head when it cannot be known early: no metadata before items, not an object, a bad token', () => {
    const head = (text: string) => readListHead(Buffer.from(text), text.length);
    assert.equal(head('{"kind":"x","items":[],"metadata":{"continue":"c"}}'), null);
    assert.equal(head('[1,2]'), null);
    assert.equal(head('{"metadata":{"continue":5},"items":[]}'), null);
    assert.equal(head('{"metadata":[],"items":[]}'), null);
    assert.deepEqual(head(' {\n "metadata" : { "resourceVersion" : "3" } ,\n "items" : [ ] }'), { resourceVersion: '3', continue: null });
    assert.deepEqual(head('{"metadata":{"continue":""},"items":[]}'), { resourceVersion: null, continue: null });
    assert.deepEqual(head('{"x":[{"y":"]}\\\\"}],"metadata":{"continue":"a"},"z":true,"items":[]}'), { resourceVersion: null, continue: 'a' });
    assert.ok(HEAD_LIMIT >= 4096);
  });
});
