import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubernetesApiError } from '../../src/kubernetes/errors.ts';
import { DEFAULT_PAGE_SIZE } from '../../src/kubernetes/list.ts';
import { listKubernetesPeers } from '../../src/kubernetes/source.ts';
import type { KubernetesSourceOptions } from '../../src/kubernetes/source.ts';
import { InvalidArgumentError } from '../../src/dns/invalid-argument.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { namesOf, recordWatch } from './fixture.ts';
import { eventLine, isWatch, listBody, tinyApi, webSlice } from './tiny-api.ts';
import type { TinyApi } from './tiny-api.ts';

const FIVE = Array.from({ length: 5 }, (_, i) => webSlice(`nginx-${i}`, '20', [i]));
const expired = JSON.stringify({
  kind: 'Status',
  status: 'Failure',
  reason: 'Expired',
  code: 410,
  message: 'The provided continue parameter is too old to display a consistent list result.',
});

/** Serves FIVE in pages of `limit` with continue tokens `c<offset>`; `expire(token)` says whether to answer 410 instead. */
function pagedApi(expire: (token: string) => boolean = () => false): Promise<TinyApi> {
  return tinyApi((url, res) => {
    if (isWatch(url)) return void res.writeHead(200).flushHeaders();
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const token = url.searchParams.get('continue');
    if (token !== null && expire(token)) return void res.writeHead(410, { 'content-type': 'application/json' }).end(expired);
    const from = token === null ? 0 : Number(token.slice(1));
    const to = limit > 0 ? Math.min(FIVE.length, from + limit) : FIVE.length;
    res.end(listBody('20', FIVE.slice(from, to), to < FIVE.length ? `c${to}` : undefined));
  });
}

const list = (api: TinyApi, extra: Partial<KubernetesSourceOptions> = {}) =>
  listKubernetesPeers({ service: 'nginx', namespace: 'default', port: 'web', kubernetes: { url: api.url }, ...extra });
const pages = (api: TinyApi) => api.requests.filter((u) => !isWatch(u)).map((u) => `${u.searchParams.get('limit')}:${u.searchParams.get('continue')}`);

describe('paged lists', () => {
  test('limit and continue: every page is read, in order, into one set', async () => {
    const api = await pagedApi();
    try {
      assert.deepEqual(namesOf(await list(api, { pageSize: 2 })), ['web-0', 'web-1', 'web-2', 'web-3', 'web-4']);
      assert.deepEqual(pages(api), ['2:null', '2:c2', '2:c4']);
      await list(api);
      assert.equal(pages(api).at(-1), `${DEFAULT_PAGE_SIZE}:null`, `pages of ${DEFAULT_PAGE_SIZE} by default`);
      await list(api, { pageSize: 0 });
      assert.equal(pages(api).at(-1), 'null:null', 'pageSize 0: one request, no limit');
    } finally {
      await api.close();
    }
  });

  test('an expired continue token (410): the list starts over; expired again: one request without limit', async () => {
    let expiries = 1;
    const api = await pagedApi((token) => token === 'c4' && expiries-- > 0);
    try {
      assert.equal((await list(api, { pageSize: 2 })).length, 5);
      assert.deepEqual(pages(api), ['2:null', '2:c2', '2:c4', '2:null', '2:c2', '2:c4']);
      api.requests.length = 0;
      expiries = 2;
      assert.equal((await list(api, { pageSize: 2 })).length, 5);
      assert.deepEqual(pages(api), ['2:null', '2:c2', '2:c4', '2:null', '2:c2', '2:c4', 'null:null']);
    } finally {
      await api.close();
    }
  });

  test('the watch lists in pages too', async () => {
    const api = await pagedApi();
    const r = recordWatch({ kubernetes: { url: api.url }, namespace: 'default', watchList: false, pageSize: 2, minBackoff: 60_000, maxBackoff: 60_000 });
    try {
      assert.equal((await r.waitForSets(1, 'the list')).length, 5);
      assert.deepEqual(pages(api), ['2:null', '2:c2', '2:c4']);
      assert.deepEqual([r.watch.stats.lists, r.watch.stats.pages], [1, 3]);
    } finally {
      r.watch.close();
      await api.close();
    }
  });

  test('a list answer larger than maxListBytes: EBADRESP, read no further', async () => {
    const before = activeResources();
    const api = await tinyApi((_url, res) => {
      // Far more than the cap, and more than the socket buffers: the client must stop reading.
      res.write(listBody('1', []).slice(0, -2));
      const filler = `,${JSON.stringify(webSlice('nginx-x', '1', [0]))}`;
      const pump = (): void => {
        while (!res.destroyed && res.write(filler.replace('nginx-x', `nginx-${Math.random().toString(36).slice(2)}`)));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    try {
      await assert.rejects(list(api, { maxListBytes: 64 * 1024 }), (err: unknown) => {
        assert.ok(err instanceof KubernetesApiError);
        assert.equal(err.code, 'EBADRESP');
        assert.match(err.message, /larger than 65536 bytes \(maxListBytes\)/);
        return true;
      });
      for (const bad of [0, -1, 1.5, Number.NaN, '1']) {
        await assert.rejects(list(api, { maxListBytes: bad as number }), InvalidArgumentError);
        await assert.rejects(list(api, { pageSize: bad === 0 ? -5 : (bad as number) }), InvalidArgumentError);
      }
    } finally {
      await api.close();
    }
    await assertNoLeaks(before);
  });

  test('a slice with 200,000 addresses: listed and watched without overflowing the stack', async () => {
    const addresses = Array.from({ length: 200_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const huge = { ...webSlice('nginx-big', '30', []), endpoints: [{ addresses, conditions: { ready: true } }] };
    const api = await tinyApi((url, res) => {
      if (!isWatch(url)) return void res.end(listBody('30', [huge]));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(eventLine('MODIFIED', { ...huge, metadata: { ...huge.metadata, resourceVersion: '31' }, endpoints: [{ addresses: addresses.slice(1) }] }));
    });
    const r = recordWatch({ kubernetes: { url: api.url }, namespace: 'default', watchList: false, minBackoff: 60_000, maxBackoff: 60_000 });
    try {
      assert.equal((await list(api)).length, 200_000);
      assert.equal((await r.waitForSets(1, 'the list')).length, 200_000);
      const second = await r.waitForSets(2, 'the event');
      assert.equal(second.length, 199_999);
      assert.ok(!second.some((p) => p.address === '10.0.0.0'));
      assert.deepEqual(r.errors, []);
    } finally {
      r.watch.close();
      await api.close();
    }
  });
});
