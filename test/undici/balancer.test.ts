import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pool } from 'undici/index.js';
import { FIRST_BACKOFF, MAX_BACKOFF, markDown, markUp, pickUpstream } from '../../src/undici/balancer.ts';
import type { Upstream } from '../../src/undici/balancer.ts';
import { makePeer } from '../../src/peer/index.ts';

const upstream = (name: string, weight = 100): Upstream => ({
  peer: makePeer({ host: name, address: '10.0.0.1', port: 80, ttl: 0 }, { addresses: new Set(), hostname: 'x' }),
  origin: `http://${name}`,
  pool: {} as Pool,
  weight,
  current: 0,
  busy: false,
  downUntil: 0,
  backoff: FIRST_BACKOFF,
});

const share = (list: Upstream[], n: number, now = 0): Map<string, number> => {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const u = pickUpstream(list, now)!;
    counts.set(u.origin, (counts.get(u.origin) ?? 0) + 1);
  }
  return counts;
};

test('equal weights: plain round robin; weights give shares; busy upstreams are passed over while another is free', () => {
  const [a, b, c] = [upstream('a'), upstream('b'), upstream('c')];
  assert.deepEqual(Array.from({ length: 6 }, () => pickUpstream([a!, b!, c!], 0)!.origin), ['http://a', 'http://b', 'http://c', 'http://a', 'http://b', 'http://c']);
  const heavy = [upstream('x', 100), upstream('y', 25)];
  assert.deepEqual([...share(heavy, 500)], [['http://x', 400], ['http://y', 100]]);
  const busy = [upstream('p'), upstream('q')];
  busy[0]!.busy = true;
  assert.deepEqual([...share(busy, 10)], [['http://q', 10]]);
  busy[1]!.busy = true;
  assert.equal(share(busy, 10).size, 2, 'all busy: the pools queue');
  assert.equal(pickUpstream([], 0), null);
});

test('an upstream whose connection failed is passed over until its backoff ends, doubling to 30 s; a connect resets it', () => {
  const [a, b] = [upstream('a'), upstream('b')];
  markDown(a!, 1000);
  assert.equal(a!.downUntil, 1000 + FIRST_BACKOFF);
  assert.deepEqual([...share([a!, b!], 10, 1000)], [['http://b', 10]]);
  assert.equal(share([a!, b!], 10, 1000 + FIRST_BACKOFF).size, 2, 'tried again after the backoff');
  for (let i = 0; i < 20; i++) markDown(a!, 0);
  assert.equal(a!.backoff, MAX_BACKOFF);
  markDown(b!, 0);
  assert.equal(share([a!, b!], 10, 1).size, 2, 'every upstream down: all are tried');
  markUp(a!);
  assert.deepEqual([a!.downUntil, a!.backoff], [0, FIRST_BACKOFF]);
});
