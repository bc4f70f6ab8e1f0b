import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  endpointIncluded,
  endpointSliceProblem,
  peersFromSlices,
  slicePeerInits,
} from '../../src/kubernetes/endpoint-slices.ts';
import type { EndpointSlice, SliceEndpoint, SlicePeerOptions } from '../../src/kubernetes/endpoint-slices.ts';
import { EndpointSliceIndex } from '../../src/kubernetes/slice-index.ts';
import { diffPeers } from '../../src/peer/index.ts';
import { NOBODY, keysOf, namesOf } from './fixture.ts';

const base: SlicePeerOptions = {
  service: 'nginx',
  namespace: 'default',
  clusterDomain: 'cluster.local',
  port: 'web',
  protocol: 'tcp',
  family: 0,
  includeNotReady: false,
};

let rv = 1;
function slice(name: string, addressType: string, endpoints: SliceEndpoint[], ports = [{ name: 'web', port: 80, protocol: 'TCP' }]): EndpointSlice {
  return { metadata: { name, resourceVersion: String(rv++) }, addressType, endpoints, ports };
}
const ep = (hostname: string | null, address: string, conditions: SliceEndpoint['conditions'] = { ready: true }): SliceEndpoint => ({
  addresses: [address],
  conditions,
  ...(hostname ? { hostname } : {}),
});

describe('slices -> peers', () => {
  test('ready endpoints, host from hostname, port by name, priority/weight/ttl 0', () => {
    const s = slice('nginx-a', 'IPv4', [ep('web-1', '10.0.0.2'), ep('web-0', '10.0.0.1'), ep('web-2', '10.0.0.3', { ready: false })]);
    const peers = peersFromSlices([s], base, NOBODY);
    assert.deepEqual(peers, [
      { host: 'web-0.nginx.default.svc.cluster.local', name: 'web-0', address: '10.0.0.1', family: 4, port: 80, priority: 0, weight: 0, ordinal: 0, ttl: 0, self: false, ready: true, serving: true, terminating: false, zone: null, nodeName: null, pod: null },
      { host: 'web-1.nginx.default.svc.cluster.local', name: 'web-1', address: '10.0.0.2', family: 4, port: 80, priority: 0, weight: 0, ordinal: 1, ttl: 0, self: false, ready: true, serving: true, terminating: false, zone: null, nodeName: null, pod: null },
    ]);
  });

  test('no hostname: host null; a port number is set on every peer; no port: null', () => {
    const s = slice('nginx-a', 'IPv4', [ep(null, '10.0.0.9')]);
    assert.deepEqual(keysOf(peersFromSlices([s], { ...base, port: 8080 }, NOBODY)), ['|10.0.0.9|8080']);
    assert.deepEqual(keysOf(peersFromSlices([s], { ...base, port: null }, NOBODY)), ['|10.0.0.9|']);
  });

  test('a named port is matched by name and protocol; a slice without it gives no peers', () => {
    const ports = [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns', port: 5353, protocol: 'TCP' },
    ];
    const s = slice('nginx-a', 'IPv4', [ep('web-0', '10.0.0.1')], ports);
    assert.equal(peersFromSlices([s], { ...base, port: 'dns', protocol: 'udp' }, NOBODY)[0]!.port, 53);
    assert.equal(peersFromSlices([s], { ...base, port: 'dns', protocol: 'tcp' }, NOBODY)[0]!.port, 5353);
    assert.deepEqual(peersFromSlices([s], { ...base, port: 'web' }, NOBODY), []);
    // A slice with no protocol on the port means TCP.
    const noProto = slice('nginx-b', 'IPv4', [ep('web-0', '10.0.0.1')], [{ name: 'web', port: 81 } as never]);
    assert.equal(peersFromSlices([noProto], base, NOBODY)[0]!.port, 81);
  });

  test('family filters by addressType; FQDN slices and mismatched addresses are ignored', () => {
    const v4 = slice('a', 'IPv4', [ep('web-0', '10.0.0.1'), ep('web-1', 'fd00::1')]);
    const v6 = slice('b', 'IPv6', [ep('web-0', 'fd00::1'), ep('web-1', 'FD00::2')]);
    const fqdn = slice('c', 'FQDN', [ep('web-0', 'example.com')]);
    assert.deepEqual(keysOf(peersFromSlices([v4, v6, fqdn], { ...base, family: 4 }, NOBODY)), ['web-0.nginx.default.svc.cluster.local|10.0.0.1|80']);
    assert.deepEqual(keysOf(peersFromSlices([v4, v6, fqdn], { ...base, family: 6 }, NOBODY)), [
      'web-0.nginx.default.svc.cluster.local|fd00::1|80',
      'web-1.nginx.default.svc.cluster.local|fd00::2|80',
    ]);
    assert.equal(peersFromSlices([v4, v6, fqdn], base, NOBODY).length, 3);
  });

  test('union of slices: sorted by ordinal, duplicates (a pod in two slices while it moves) once', () => {
    const a = slice('a', 'IPv4', [ep('web-10', '10.0.0.11'), ep('web-2', '10.0.0.3')]);
    const b = slice('b', 'IPv4', [ep('web-1', '10.0.0.2'), ep('web-2', '10.0.0.3')]);
    assert.deepEqual(namesOf(peersFromSlices([a, b], base, NOBODY)), ['web-1', 'web-2', 'web-10']);
  });

  test('conditions: missing ready means ready; includeNotReady takes all but terminated ones', () => {
    assert.equal(endpointIncluded({ addresses: ['1.1.1.1'] }, false), true);
    assert.equal(endpointIncluded({ addresses: ['1.1.1.1'], conditions: { ready: false } }, false), false);
    assert.equal(endpointIncluded({ addresses: ['1.1.1.1'], conditions: { ready: false, serving: false } }, true), true);
    assert.equal(endpointIncluded({ addresses: ['1.1.1.1'], conditions: { ready: false, serving: true, terminating: true } }, true), true);
    assert.equal(endpointIncluded({ addresses: ['1.1.1.1'], conditions: { ready: false, serving: false, terminating: true } }, true), false);
    const s = slice('a', 'IPv4', [ep('web-0', '10.0.0.1'), ep('web-1', '10.0.0.2', { ready: false, serving: false })]);
    assert.deepEqual(namesOf(peersFromSlices([s], { ...base, includeNotReady: true }, NOBODY)), ['web-0', 'web-1']);
  });

  test('self: an address of this machine or its host name', () => {
    const s = slice('a', 'IPv4', [ep('web-0', '10.0.0.1'), ep('web-1', '10.0.0.2')]);
    const self = { addresses: new Set(['10.0.0.2']), hostname: 'web-0' };
    assert.deepEqual(
      peersFromSlices([s], base, self).map((p) => p.self),
      [true, true],
    );
    assert.deepEqual(
      slicePeerInits(s, base).map((i) => i.host),
      ['web-0.nginx.default.svc.cluster.local', 'web-1.nginx.default.svc.cluster.local'],
    );
  });

  test('endpointSliceProblem says what is wrong with a malformed slice', () => {
    assert.equal(endpointSliceProblem(slice('a', 'IPv4', [])), null);
    assert.equal(endpointSliceProblem({ metadata: { name: 'a' }, addressType: 'IPv4', endpoints: null }), null);
    assert.match(endpointSliceProblem(null)!, /not an object/);
    assert.match(endpointSliceProblem({ metadata: {}, addressType: 'IPv4' })!, /metadata.name/);
    assert.match(endpointSliceProblem({ metadata: { name: 'a' } })!, /addressType/);
    assert.match(endpointSliceProblem({ metadata: { name: 'a' }, addressType: 'IPv4', endpoints: [1] })!, /endpoints/);
    assert.match(endpointSliceProblem({ metadata: { name: 'a' }, addressType: 'IPv4', endpoints: [{}] })!, /addresses/);
  });
});

describe('EndpointSliceIndex', () => {
  const hundredSlices = (): EndpointSlice[] =>
    Array.from({ length: 100 }, (_, s) =>
      slice(
        `nginx-${s}`,
        'IPv4',
        Array.from({ length: 100 }, (_, i) => ep(`web-${s * 100 + i}`, `10.${s}.0.${i + 1}`)),
      ),
    );

  test('one slice changed: only it is recomputed, other peers keep their objects', () => {
    const index = new EndpointSliceIndex(base, NOBODY);
    const slices = hundredSlices();
    assert.equal(index.replace(slices)!.added.length, 10_000);
    assert.equal(index.recomputed, 100);
    const before = index.peers;
    assert.equal(before.length, 10_000);

    const changed = structuredClone(slices[42]!);
    changed.metadata.resourceVersion = String(rv++);
    changed.endpoints![7]!.conditions = { ready: false };
    const delta = index.set(changed)!;
    assert.deepEqual(namesOf(delta.removed), ['web-4207'], 'the change is the one peer');
    assert.deepEqual([delta.added, delta.updated], [[], []]);
    assert.equal(index.recomputed, 101, 'one slice recomputed, not 100');
    const after = index.peers;
    assert.equal(after.length, 9_999);
    assert.ok(!after.some((p) => p.name === 'web-4207'));
    const previous = new Set(before);
    const same = after.filter((p) => previous.has(p)).length;
    assert.equal(same, 9_999, 'every peer that did not change keeps its Peer object, in the changed slice too');
  });

  test('no change, no recompute: same resourceVersion skipped; new version with the same peers is not a change', () => {
    const index = new EndpointSliceIndex(base, NOBODY);
    const slices = hundredSlices().slice(0, 3);
    index.replace(slices);
    const peers = index.peers;
    // A relist repeating the same versions.
    assert.equal(index.replace(slices), null);
    assert.equal(index.recomputed, 3);
    // New version, same peers (e.g. a not-ready endpoint's node changed).
    const bumped = { ...structuredClone(slices[1]!), metadata: { ...slices[1]!.metadata, resourceVersion: String(rv++) } };
    assert.equal(index.set(bumped), null);
    assert.equal(index.recomputed, 4);
    assert.equal(index.peers, peers, 'the union is not rebuilt');
  });

  test('delete and relist: slices gone from the list are removed', () => {
    const index = new EndpointSliceIndex(base, NOBODY);
    const slices = hundredSlices().slice(0, 3);
    index.replace(slices);
    assert.equal(index.delete('nginx-1')!.removed.length, 100);
    assert.equal(index.delete('nginx-1'), null);
    assert.equal(index.peers.length, 200);
    assert.equal(index.replace([slices[0]!])!.removed.length, 100);
    assert.deepEqual(index.names, ['nginx-0']);
    assert.equal(index.peers.length, 100);
    // An empty slice going away changes nothing.
    index.set(slice('empty', 'IPv4', []));
    assert.equal(index.delete('empty'), null);
  });
});

describe('EndpointSliceIndex against a full recompute', () => {
  test('random events over slices that share pods: the union and each change equal a full recompute and a full diff', () => {
    // A small deterministic generator: the same run every time.
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const index = new EndpointSliceIndex({ ...base, includeNotReady: true }, NOBODY);
    const current = new Map<string, EndpointSlice>();
    let version = 1_000;
    const key = (p: { host: string | null; address: string; port: number | null }) => `${p.host}|${p.address}|${p.port}`;
    for (let step = 0; step < 400; step++) {
      const name = `s-${random(4)}`;
      // A snapshot: the index splices its own array in place.
      const before = [...index.peers];
      let delta;
      if (random(6) === 0) {
        delta = index.delete(name);
        current.delete(name);
      } else {
        // 0..40 pods out of 60, so slices overlap (a pod moving between slices), with random conditions and zones.
        const pods = Array.from({ length: random(40) }, () => random(60));
        const endpoints = pods.map((i) => ({
          ...ep(`web-${i}`, `10.0.0.${i + 1}`, { ready: random(3) !== 0, serving: random(2) === 0 }),
          zone: `z-${random(2)}`,
        }));
        const s: EndpointSlice = { metadata: { name, resourceVersion: String(version++) }, addressType: 'IPv4', endpoints, ports: [{ name: 'web', port: 80, protocol: 'TCP' }] };
        delta = step % 50 === 49 ? index.replace([...current.values()].filter((c) => c.metadata.name !== name).concat(s)) : index.set(s);
        current.set(name, s);
      }
      const after = index.peers;
      assert.deepEqual(after.map(key), peersFromSlices(current.values(), { ...base, includeNotReady: true }, NOBODY).map(key), `step ${step}: the union`);
      const full = diffPeers(before, after);
      assert.deepEqual(
        [delta?.added ?? [], delta?.removed ?? [], delta?.updated ?? []].map((l) => l.map(key)),
        [full.added, full.removed, full.updated].map((l) => l.map(key)),
        `step ${step}: the change`,
      );
      for (const p of after) assert.ok(Object.isFrozen(p));
    }
  });
});
