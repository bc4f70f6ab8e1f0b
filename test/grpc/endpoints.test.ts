import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTarget, toEndpoints } from '../../src/grpc/index.ts';
import { makePeer } from '../../src/peer/index.ts';
import type { PeerInit } from '../../src/peer/index.ts';

const NOBODY = { addresses: new Set<string>(), hostname: 'test-runner' };
const peer = (init: Partial<PeerInit> & { address: string }) => makePeer({ host: null, port: 50051, ttl: 5, ...init }, NOBODY);

test('endpoints: one per pod with each of its addresses (dual stack); IPv6 as grpc-js takes it; terminating and not-ready peers left out', () => {
  const endpoints = toEndpoints([
    peer({ host: 'web-0.nginx.default.svc.cluster.local', address: '10.0.0.1' }),
    peer({ host: 'web-0.nginx.default.svc.cluster.local', address: 'fd00::1' }),
    peer({ host: 'web-1.nginx.default.svc.cluster.local', address: 'fd00::2' }),
    peer({ host: null, address: '10.0.0.9' }),
    peer({ host: 'web-2.nginx.default.svc.cluster.local', address: '10.0.0.3', ready: false, serving: true, terminating: true }),
    peer({ host: 'web-3.nginx.default.svc.cluster.local', address: '10.0.0.4', ready: false }),
  ]);
  assert.deepEqual(endpoints, [
    { addresses: [{ host: '10.0.0.1', port: 50051 }, { host: 'fd00::1', port: 50051 }] },
    { addresses: [{ host: 'fd00::2', port: 50051 }] },
    { addresses: [{ host: '10.0.0.9', port: 50051 }] },
  ]);
  // Only terminating peers left: they still serve, so the channel keeps them rather than nothing.
  const draining = peer({ host: 'web-2', address: '10.0.0.3', ready: false, serving: true, terminating: true });
  assert.deepEqual(toEndpoints([draining]), [{ addresses: [{ host: '10.0.0.3', port: 50051 }] }]);
  assert.deepEqual(toEndpoints([]), []);
});

test('targets: service, namespace, port and query options; registration options under the query', () => {
  const t = parseTarget('', 'nginx.default:grpc?servers=127.0.0.1:5300,[::1]:53&minInterval=250&source=kubernetes&includeNotReady=true', { namespace: 'other', maxInterval: 5000 });
  assert.equal(t.service, 'nginx');
  assert.equal(t.port, 'grpc');
  assert.deepEqual(t.options, { servers: ['127.0.0.1:5300', '[::1]:53'], minInterval: 250, source: 'kubernetes', includeNotReady: true, namespace: 'default' });
  assert.equal(t.authority, 'nginx.default.svc.cluster.local');
  const bare = parseTarget(undefined, 'nginx:8080', { namespace: 'prod', clusterDomain: 'example.org.' });
  assert.deepEqual([bare.service, bare.port, bare.options, bare.authority], ['nginx', 8080, {}, 'nginx.prod.svc.example.org:8080']);
  const fqdn = parseTarget(undefined, 'Nginx.Default.svc.cluster.local.:grpc', {});
  assert.deepEqual([fqdn.service, fqdn.authority], ['Nginx.Default.svc.cluster.local', 'nginx.default.svc.cluster.local']);
});
