import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { endpointSliceProblem } from '../../src/kubernetes/endpoint-slices.ts';
import { listKubernetesPeers } from '../../src/kubernetes/source.ts';
import { KubernetesApiError } from '../../src/kubernetes/errors.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { namesOf, withWatch } from './fixture.ts';
import type { Recorder } from './fixture.ts';
import { eventLine, isWatch, listBody, tinyApi, webSlice } from './tiny-api.ts';

const PORTS = '[{"name":"web","port":80,"protocol":"TCP"}]';
/** A MODIFIED event of slice nginx-a at `rv`, written by hand so that it can hold what JSON.stringify would not. */
const raw = (rv: string, endpoints: string, ports = PORTS): string =>
  `{"type":"MODIFIED","object":{"metadata":{"name":"nginx-a","resourceVersion":"${rv}"},"addressType":"IPv4","endpoints":${endpoints},"ports":${ports}}}\n`;
const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** The malformed objects an adversarial review sent, one per event, with what the skip must say. */
const MALFORMED: [string, string, RegExp][] = [
  ['a port name of the wrong type', raw('6', '[{"addresses":["10.0.0.9"]}]', '[{"name":42,"port":80,"protocol":"TCP"}]'), /ports\[0\]\.name is 42/],
  ['a hostname that is a deeply nested array', raw('7', `[{"addresses":["10.0.0.9"],"hostname":${nested(50_000)}}]`), /hostname is a list/],
  ['addresses that are not strings', raw('8', '[{"addresses":[10,{"a":1}]}]'), /addresses\[0\] is 10/],
  ['a huge port number', raw('9', '[{"addresses":["10.0.0.9"]}]', '[{"name":"web","port":1e400,"protocol":"TCP"}]'), /port is Infinity/],
  ['a hostname with terminal escapes', raw('10', '[{"addresses":["10.0.0.9"],"hostname":"web-9\\u001b[2J"}]'), /hostname .* not a DNS label/],
  ['conditions that are not booleans', raw('11', '[{"addresses":["10.0.0.9"],"conditions":{"ready":"yes"}}]'), /conditions\.ready is "yes"/],
  ['a targetRef name that is an object', raw('12', '[{"addresses":["10.0.0.9"],"targetRef":{"kind":"Pod","name":{}}}]'), /targetRef\.name is an object/],
];

/**
 * Serves a list of web-`pods`, then watch streams that end at once with `body` each time; asserts
 * that the watch reconnects with backoff, then runs `check`.
 */
async function reconnectsBackOff(pods: number[], body: string | undefined, check: (r: Recorder) => void): Promise<void> {
  const api = await tinyApi((url, res) => {
    if (!isWatch(url)) return void res.end(listBody('5', [webSlice('nginx-a', '5', pods)]));
    res.writeHead(200, { 'content-type': 'application/json' });
    if (body === undefined) res.end();
    else res.end(body);
  });
  await withWatch(api, { watchList: false, minBackoff: 200, maxBackoff: 400 }, async (r) => {
    await r.waitForSets(1, 'the list');
    await until(() => api.watches >= 3, 'a few reconnects');
    await sleep(2000);
    // Before the fix: about 900 watch requests a second. Backing off from 200 ms: about 10 in 2 s.
    assert.ok(api.watches <= 20, `${api.watches} watch requests in about 2 s`);
    check(r);
  });
}

describe('malformed objects in an EndpointSlice watch', () => {
  test('each is skipped and reported once; the stream goes on; no reconnect; the good set is kept', async () => {
    const before = activeResources();
    const api = await tinyApi((url, res) => {
      if (!isWatch(url)) return void res.end(listBody('5', [webSlice('nginx-a', '5', [0, 1])]));
      res.writeHead(200, { 'content-type': 'application/json' });
      if (url.searchParams.get('resourceVersion') !== '5') return; // a reconnect: kept open, quiet
      for (const [, line] of MALFORMED) res.write(line);
      // Own `__proto__` keys are data, not a prototype: the slice is fine and nothing is polluted.
      res.write(raw('13', '[{"addresses":["10.0.0.1"],"hostname":"web-0","conditions":{"__proto__":{"ready":false},"ready":true}},{"addresses":["10.0.0.3"],"hostname":"web-2","__proto__":{"polluted":1}}]'));
    });
    await withWatch(api, { watchList: false, minBackoff: 500, maxBackoff: 1000 }, async (r) => {
      await r.waitForSets(2, 'the good event after the bad ones');
      assert.deepEqual(namesOf(r.sets[0]!), ['web-0', 'web-1']);
      assert.deepEqual(namesOf(r.sets[1]!), ['web-0', 'web-2']);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(r.errors.length, MALFORMED.length, r.errors.map((e) => e.message).join('\n'));
      MALFORMED.forEach(([what, , pattern], i) => {
        const e = r.errors[i]!;
        assert.ok(e instanceof KubernetesApiError, what);
        assert.equal(e.code, 'EBADRESP', what);
        assert.match(e.message, /MODIFIED watch event was skipped/, what);
        assert.match(e.message, pattern, what);
      });
      assert.equal(r.watch.resourceVersion, '13', 'every event counted once applied or skipped');
      assert.equal(r.watch.stats.skipped, MALFORMED.length);
      await sleep(1500);
      assert.equal(api.watches, 1, 'one watch: nothing replayed, nothing reconnected');
      assert.equal(r.errors.length, MALFORMED.length, 'each reported once');
      assert.equal(r.sets.length, 2);
    });
    await assertNoLeaks(before);
  });

  test('a server that replays one malformed event and ends the stream each time: reconnects back off, the set is kept', async () => {
    // Whatever version it is asked for: the same bad event, then the end.
    await reconnectsBackOff([0, 1], MALFORMED[1]![1], (r) => {
      assert.equal(r.sets.length, 1, 'the good set is kept, never replaced');
      assert.deepEqual(namesOf(r.last!), ['web-0', 'web-1']);
      const skips = r.errors.filter((e) => /skipped/.test(e.message));
      assert.equal(skips.length, 1, 'the same bad event is reported once');
      assert.ok(r.errors.every((e) => e instanceof KubernetesApiError));
      assert.ok(r.errors.some((e) => e.code === 'ECONNECTION' && /ended after/.test(e.message)), 'the short streams are failures');
    });
  });

  test('a stream that ends at once with nothing in it, every time: backs off instead of spinning', async () => {
    await reconnectsBackOff([0], undefined, (r) => {
      assert.equal(r.watch.stats.lists, 1, 'no relist: the version is still good');
    });
  });

  test('a list with a malformed slice: the watch keeps the good ones and reports it; peers() rejects EBADRESP', async () => {
    const bad = JSON.parse(MALFORMED[0]![1]).object;
    bad.metadata.name = 'nginx-b';
    const api = await tinyApi((url, res) => {
      if (!isWatch(url)) return void res.end(listBody('5', [webSlice('nginx-a', '5', [0, 1]), bad]));
      res.writeHead(200, { 'content-type': 'application/json' });
    });
    await withWatch(api, { watchList: false, minBackoff: 500, maxBackoff: 1000 }, async (r) => {
      assert.deepEqual(namesOf(await r.waitForSets(1, 'the list')), ['web-0', 'web-1']);
      assert.equal(r.errors.length, 1);
      assert.match(r.errors[0]!.message, /slice nginx-b: ports\[0\]\.name is 42/);
      await assert.rejects(
        listKubernetesPeers({ service: 'nginx', namespace: 'default', port: 'web', kubernetes: { url: api.url } }),
        (err: unknown) => err instanceof KubernetesApiError && err.code === 'EBADRESP' && /nginx-b/.test(err.message),
      );
    });
  });

  test('endpointSliceProblem checks every field read, in linear time and without recursion', () => {
    const ok = webSlice('nginx-a', '1', [0]);
    assert.equal(endpointSliceProblem(ok), null);
    const withEndpoint = (e: Record<string, unknown>) => ({ ...ok, endpoints: [{ addresses: ['10.0.0.1'], ...e }] });
    const withPort = (p: Record<string, unknown>) => ({ ...ok, ports: [{ name: 'web', port: 80, protocol: 'TCP', ...p }] });
    const cases: [unknown, RegExp][] = [
      [withPort({ name: 42 }), /name is 42/],
      [withPort({ port: 0 }), /port is 0/],
      [withPort({ port: 65536 }), /port is 65536/],
      [withPort({ port: 80.5 }), /port is 80.5/],
      [withPort({ port: '80' }), /port is "80"/],
      [withPort({ protocol: ['TCP'] }), /protocol is a list/],
      [withEndpoint({ hostname: 'Web_0' }), /not a DNS label/],
      [withEndpoint({ hostname: 'a'.repeat(64) }), /not a DNS label/],
      [withEndpoint({ addresses: 'x' }), /no addresses list/],
      [withEndpoint({ conditions: [] }), /conditions is a list/],
      [withEndpoint({ conditions: { serving: 1 } }), /serving is 1/],
      [withEndpoint({ conditions: { terminating: 'true' } }), /terminating is "true"/],
      [withEndpoint({ zone: 5 }), /zone is 5/],
      [withEndpoint({ nodeName: 'n\n1' }), /control characters/],
      [withEndpoint({ targetRef: 'Pod/web-0' }), /targetRef is "Pod\/web-0"/],
      [withEndpoint({ targetRef: { kind: 'Pod', uid: 7 } }), /targetRef\.uid is 7/],
      [{ ...ok, metadata: { name: 'Bad Name' } }, /not a DNS subdomain/],
      [{ ...ok, metadata: { name: 'a', resourceVersion: 5 } }, /resourceVersion is 5/],
      [{ ...ok, ports: {} }, /ports is not a list/],
    ];
    for (const [value, pattern] of cases) assert.match(endpointSliceProblem(value) ?? 'null', pattern);
    // Null and missing optional fields are what the API sends for "unset".
    assert.equal(endpointSliceProblem(withEndpoint({ hostname: null, conditions: { ready: null }, zone: null, targetRef: null })), null);
    assert.equal(endpointSliceProblem(withPort({ name: null, port: null, protocol: null })), null);
  });
});
