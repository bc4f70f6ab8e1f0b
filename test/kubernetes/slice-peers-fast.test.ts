/**
 * The short way from an endpoint to a Peer (IPv4, plain lower-case hostnames) must give what
 * the general way (`slicePeerInits` then `makePeer`) gives, for every kind of endpoint.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { isIPv4Text, slicePeerInits, slicePeers } from '../../src/kubernetes/endpoint-slices.ts';
import type { EndpointSlice, SliceEndpoint, SlicePeerOptions } from '../../src/kubernetes/endpoint-slices.ts';
import { makePeer, normalizePeers } from '../../src/peer/index.ts';
import type { SelfIdentity } from '../../src/peer/index.ts';

const options: SlicePeerOptions = { service: 'db', namespace: 'prod', clusterDomain: 'cluster.local', port: 'web', protocol: 'tcp', family: 0, includeNotReady: true };
const self: SelfIdentity = { addresses: new Set(['10.0.0.7']), hostname: 'db-3' };

/** A deterministic generator, so a failure names its case. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

function endpoint(r: () => number, i: number): SliceEndpoint {
  const hostname = pick(r, [`db-${i}`, `db-${i}`, 'DB-1', 'web', `x-${'9'.repeat(10)}`, `a-0${i}`, null, undefined, '']);
  const address = pick(r, [`10.0.${i % 256}.${(i * 7) % 256}`, '10.0.0.7', '010.0.0.1', '10.0.0.256', 'fd00::1', '1.2.3', '255.255.255.255', '0.0.0.0']);
  const name = pick(r, [hostname ?? 'pod', 'other-pod', 7 as unknown as string]);
  return {
    addresses: r() < 0.1 ? [address, `10.9.0.${i % 200}`] : [address],
    conditions: pick(r, [{ ready: true }, { ready: false, serving: true, terminating: true }, {}, null, { ready: true, serving: false }]),
    ...(hostname !== undefined ? { hostname } : {}),
    ...(r() < 0.8 ? { targetRef: { kind: pick(r, ['Pod', 'Node']), name, uid: pick(r, [`uid-${i}`, undefined]) } } : {}),
    ...(r() < 0.7 ? { nodeName: pick(r, ['node-a', 'ip-10-0-0-1.ec2.internal']) } : {}),
    ...(r() < 0.5 ? { zone: pick(r, ['zone-a', 'zone-b']) } : {}),
  } as SliceEndpoint;
}

describe('slice peers, the short way', () => {
  test('gives what slicePeerInits + makePeer give, for 2,000 random endpoints', () => {
    const r = random(20);
    for (let n = 0; n < 40; n++) {
      const slice: EndpointSlice = {
        metadata: { name: `db-${n}`, resourceVersion: '1' },
        addressType: 'IPv4',
        endpoints: Array.from({ length: 50 }, (_, i) => endpoint(r, n * 50 + i)),
        ports: [{ name: 'web', port: 80, protocol: 'TCP' }],
      };
      const general = normalizePeers(slicePeerInits(slice, options).map((init) => makePeer(init, self)));
      const fast = slicePeers(slice, options, self, new Map());
      assert.deepStrictEqual(fast, general, `slice ${n}`);
      for (const p of fast) assert.ok(Object.isFrozen(p) && (p.pod === null || Object.isFrozen(p.pod)));
    }
  });

  test('isIPv4Text agrees with isIP', () => {
    const cases = ['1.2.3.4', '0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..2.3', '1.2.3.', '.1.2.3', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.a', '1234.1.1.1', '', '::1', '10.0.0.10', '192.168.001.1'];
    const r = random(4);
    for (let i = 0; i < 2000; i++) {
      const chars = '0123456789.';
      let s = '';
      for (let n = Math.floor(r() * 16); n > 0; n--) s += chars[Math.floor(r() * chars.length)];
      cases.push(s);
    }
    for (const c of cases) assert.equal(isIPv4Text(c), isIP(c) === 4, JSON.stringify(c));
  });

  test('a node name many endpoints repeat is one string', () => {
    const pool = new Map<string, string>();
    const slice: EndpointSlice = {
      metadata: { name: 'db-a' },
      addressType: 'IPv4',
      endpoints: JSON.parse(JSON.stringify([0, 1, 2].map((i) => ({ addresses: [`10.0.0.${i}`], hostname: `db-${i}`, nodeName: 'ip-10-0-0-1.ec2.internal' })))),
      ports: [{ name: 'web', port: 80 }],
    };
    slicePeers(slice, options, self, pool);
    assert.deepEqual([...pool.keys()], ['ip-10-0-0-1.ec2.internal']);
  });
});
