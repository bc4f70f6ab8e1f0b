import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBootstrapProbe, isBootstrapError } from '../../src/bootstrap/index.ts';
import { InvalidArgumentError } from '../../src/index.ts';
import { makePeer } from '../../src/peer/index.ts';
import type { Peer } from '../../src/index.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';

const identity = { addresses: new Set<string>(), hostname: 'not-a-pod' };
const peerAt = (address: string, port: number | null): Peer => makePeer({ host: 'web-0.app.default.svc.cluster.local', address, port, ttl: 5 }, identity);

/** A server that answers every request with `respond`. */
async function rawServer(respond: http.RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(respond);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(isBootstrapError(error), String(error));
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('createBootstrapProbe()', () => {
  test('the server answers the members it knows; the client reads them', async () => {
    const before = activeResources();
    const server = createBootstrapProbe();
    const { port } = await server.listen({ host: '127.0.0.1' });
    const client = createBootstrapProbe({ port });
    const peer = peerAt('127.0.0.1', 80);
    assert.equal(await client.probe(peer, new AbortController().signal), null);
    server.setMembers(['10.0.0.1:2552', '10.0.0.2:2552']);
    assert.deepEqual(await client.probe(peer, new AbortController().signal), ['10.0.0.1:2552', '10.0.0.2:2552']);
    assert.deepEqual(server.members, ['10.0.0.1:2552', '10.0.0.2:2552']);
    // Without a port option the client asks the peer's own port.
    assert.deepEqual(await createBootstrapProbe().probe(peerAt('127.0.0.1', port), AbortSignal.timeout(5000)), ['10.0.0.1:2552', '10.0.0.2:2552']);
    const other = await fetch(`http://127.0.0.1:${port}/other`);
    assert.equal(other.status, 404);
    const post = await fetch(`http://127.0.0.1:${port}/bootstrap/members`, { method: 'POST' });
    assert.equal(post.status, 405);
    await client.close();
    await server.close();
    await assertNoLeaks(before);
  });

  test('handle() mounts the endpoint in an app server', async () => {
    const probe = createBootstrapProbe({ path: '/cluster/members', members: ['a'] });
    const app = await rawServer((req, res) => {
      if (!probe.handle(req, res)) res.writeHead(200).end('app');
    });
    assert.deepEqual(await createBootstrapProbe({ port: app.port, path: '/cluster/members' }).probe(peerAt('127.0.0.1', null), AbortSignal.timeout(5000)), ['a']);
    assert.equal(await (await fetch(`http://127.0.0.1:${app.port}/`)).text(), 'app');
    await app.close();
  });

  test('bad answers, refused connections, timeouts and aborts are typed errors', async () => {
    const before = activeResources();
    const answers: Record<string, (res: http.ServerResponse) => void> = {
      '/status': (res) => res.writeHead(500).end('{"members":null}'),
      '/json': (res) => res.writeHead(200).end('not json'),
      '/shape': (res) => res.writeHead(200).end('{"members":[1,2]}'),
      '/empty': (res) => res.writeHead(200).end('{"members":[]}'),
      '/big': (res) => res.writeHead(200).end(`{"members":["${'x'.repeat(2 << 20)}"]}`),
      '/silent': () => {},
    };
    const server = await rawServer((req, res) => answers[req.url!]!(res));
    const peer = peerAt('127.0.0.1', server.port);
    const ask = (path: string, signal = AbortSignal.timeout(10_000)) => createBootstrapProbe({ path, timeout: 300 }).probe(peer, signal);
    await rejectsWith(ask('/status'), 'EPROBE', /HTTP status 500/);
    await rejectsWith(ask('/json'), 'EPROBE', /not \{"members"/);
    await rejectsWith(ask('/shape'), 'EPROBE');
    await rejectsWith(ask('/empty'), 'EPROBE');
    await rejectsWith(ask('/big'), 'EPROBE', /larger than/);
    await rejectsWith(ask('/silent'), 'ETIMEOUT', /no answer in 300 ms/);
    const controller = new AbortController();
    const pending = createBootstrapProbe({ path: '/silent', timeout: 10_000 }).probe(peer, controller.signal);
    setTimeout(() => controller.abort(), 50);
    await rejectsWith(pending, 'ECANCELLED');
    await rejectsWith(ask('/status', AbortSignal.abort()), 'ECANCELLED');
    await server.close();
    await rejectsWith(ask('/status'), 'EPROBE', /ECONNREFUSED/);
    await rejectsWith(createBootstrapProbe().probe(peerAt('127.0.0.1', null), AbortSignal.timeout(1000)), 'EPROBE', /no port/);
    await assertNoLeaks(before);
  });

  test('bad options throw InvalidArgumentError', () => {
    for (const bad of [{ port: -1 }, { port: 70000 }, { path: 'members' }, { path: '/a b' }, { timeout: 0 }, { members: [] }, { members: [''] }]) {
      assert.throws(() => createBootstrapProbe(bad as never), InvalidArgumentError, JSON.stringify(bad));
    }
    assert.throws(() => createBootstrapProbe().setMembers([] as never), InvalidArgumentError);
  });
});
