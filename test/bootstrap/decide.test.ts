import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/bootstrap/decide.ts';
import type { ProbeAnswer, RoundView } from '../../src/bootstrap/decide.ts';
import { makePeer } from '../../src/peer/index.ts';
import type { Peer } from '../../src/peer/index.ts';

const identity = { addresses: new Set<string>(), hostname: 'not-a-pod' };
const peer = (name: string, address: string): Peer => makePeer({ host: `${name}.app.default.svc.cluster.local`, address, port: 7626, ttl: 5 }, identity);
const [p0, p1, p2] = [peer('web-0', '10.0.0.9'), peer('web-1', '10.0.0.2'), peer('web-2', '10.0.0.1')] as [Peer, Peer, Peer];
const none: ProbeAnswer = { kind: 'none' };
const unknown: ProbeAnswer = { kind: 'unknown', error: new Error('ECONNREFUSED') };

function view(self: Peer, overrides: Partial<RoundView> = {}): RoundView {
  const peers = overrides.peers ?? [p0, p1, p2];
  return {
    peers,
    answers: new Map(peers.filter((p) => p !== self).map((p) => [p, none])),
    isSelf: (p) => p === self,
    min: 3,
    newCluster: true,
    formedBefore: false,
    stable: true,
    ...overrides,
  };
}

describe('decide(): the rules of one round', () => {
  test('the lowest (ordinal, then address) of a stable set of min forms when every other peer says "no cluster"', () => {
    assert.deepEqual(decide(view(p0)), { action: 'form' });
    assert.equal(decide(view(p1)).action, 'wait');
    assert.match((decide(view(p1)) as { reason: string }).reason, /web-0, the lowest/);
    // Without ordinals, the lowest address.
    const a = makePeer({ host: null, address: '10.0.0.7', port: 1, ttl: 5 }, identity);
    const b = makePeer({ host: null, address: '10.0.0.3', port: 1, ttl: 5 }, identity);
    assert.deepEqual(decide(view(b, { peers: [a, b], min: 2 })), { action: 'form' });
    assert.equal(decide(view(a, { peers: [a, b], min: 2 })).action, 'wait');
  });

  test('any peer that names members: join them, whatever else holds', () => {
    const answers = new Map<Peer, ProbeAnswer>([
      [p1, unknown],
      [p2, { kind: 'members', members: ['10.0.0.1:7626', '10.0.0.5:7626'] }],
    ]);
    const join = { action: 'join', seeds: ['10.0.0.1:7626', '10.0.0.5:7626'] };
    assert.deepEqual(decide(view(p0, { answers })), join);
    assert.deepEqual(decide(view(p0, { answers, stable: false, newCluster: false, formedBefore: true, min: 9 })), join);
  });

  test('an unknown answer (error, timeout) is never "no cluster": no form', () => {
    const verdict = decide(view(p0, { answers: new Map<Peer, ProbeAnswer>([[p1, none], [p2, unknown]]) }));
    assert.equal(verdict.action, 'wait');
    assert.match((verdict as { reason: string }).reason, /web-2/);
    // A peer not asked at all is unknown too.
    assert.equal(decide(view(p0, { answers: new Map<Peer, ProbeAnswer>([[p1, none]]) })).action, 'wait');
  });

  test('no form below min, when not stable, with newCluster false, after an earlier form, or when self is not in the set', () => {
    assert.equal(decide(view(p0, { peers: [p0, p1] })).action, 'wait');
    assert.equal(decide(view(p0, { stable: false })).action, 'wait');
    assert.equal(decide(view(p0, { newCluster: false })).action, 'wait');
    assert.match((decide(view(p0, { formedBefore: true })) as { reason: string }).reason, /latch/);
    const outsider = peer('web-9', '10.0.0.99');
    assert.match((decide(view(outsider, { min: 1 })) as { reason: string }).reason, /not in the set/);
  });
});
