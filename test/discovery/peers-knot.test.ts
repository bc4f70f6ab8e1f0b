/**
 * peers() against a real authoritative server no one here wrote: knotd on loopback. Its SRV
 * answers carry glue for targets in the zone and none for targets in another zone, so both
 * paths of peers() (glue, and lookups when glue is missing) meet a real server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DnsClient, peers } from '../../src/index.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { startKnot, type KnotServer } from '../helpers/knot.ts';

const CLUSTER_ZONE = `
nginx.default.svc 5 IN A 127.1.0.1
nginx.default.svc 5 IN A 127.1.0.2
nginx.default.svc 5 IN A 127.1.0.3
_web._tcp.nginx.default.svc 5 IN SRV 0 33 80 nginx-0.nginx.default.svc.cluster.local.
_web._tcp.nginx.default.svc 5 IN SRV 0 33 80 nginx-1.nginx.default.svc.cluster.local.
_web._tcp.nginx.default.svc 5 IN SRV 0 33 80 nginx-2.nginx.default.svc.cluster.local.
nginx-0.nginx.default.svc 5 IN A 127.1.0.1
nginx-1.nginx.default.svc 5 IN A 127.1.0.2
nginx-2.nginx.default.svc 5 IN A 127.1.0.3
_db._tcp.far.default.svc 5 IN SRV 0 50 5432 far-0.pods.example.
_db._tcp.far.default.svc 5 IN SRV 0 50 5432 far-1.pods.example.
_db._tcp.far.default.svc 5 IN SRV 0 50 5432 far-2.pods.example.
`;
// Targets in another zone: knotd sends no glue for them. far-2 has no address at all.
const PODS_ZONE = `
far-0 5 IN A 127.2.0.1
far-1 5 IN A 127.2.0.2
far-1 5 IN AAAA fd00::2:2
`;

let knot: KnotServer;
let handlesBefore: Map<string, number>;

before(async () => {
  handlesBefore = activeResources();
  knot = await startKnot({
    zones: [
      { origin: 'cluster.local', records: CLUSTER_ZONE },
      { origin: 'pods.example', records: PODS_ZONE },
    ],
  });
});

after(async () => {
  await knot.close();
  await assertNoLeaks(handlesBefore);
});

describe('peers() over knotd', () => {
  test("the Kubernetes docs' example: nginx-0..2 with hosts, ordinals and port 80, from the SRV glue", async () => {
    const list = await peers('nginx', { port: 'web', namespace: 'default', servers: knot.servers });
    assert.deepEqual(
      list.map((p) => [p.host, p.ordinal, p.address, p.port, p.weight]),
      [0, 1, 2].map((n) => [`nginx-${n}.nginx.default.svc.cluster.local`, n, `127.1.0.${n + 1}`, 80, 33]),
    );
  });

  test('glue missing: targets are looked up (A and AAAA); a target without an address is left out', async () => {
    const client = new DnsClient({ servers: knot.servers });
    try {
      const list = await peers('far', { port: 'db', namespace: 'default', client });
      assert.deepEqual(
        list.map((p) => [p.host, p.address, p.family, p.port]),
        [
          ['far-0.pods.example', '127.2.0.1', 4, 5432],
          ['far-1.pods.example', '127.2.0.2', 4, 5432],
          ['far-1.pods.example', 'fd00::2:2', 6, 5432],
        ],
      );
      // One SRV query, then A and AAAA of each of the 3 targets.
      assert.equal(client.stats.queries, 1 + 3 * 2);
      const v4 = await peers('far', { port: 'db', namespace: 'default', client, family: 4 });
      assert.deepEqual(v4.map((p) => p.address), ['127.2.0.1', '127.2.0.2']);
    } finally {
      client.close();
    }
  });

  test('a port number asks A of the service; short names go through a resolv.conf search list with ndots:5', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hsd-knot-resolv-'));
    try {
      const resolvConf = join(dir, 'resolv.conf');
      writeFileSync(resolvConf, 'search default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
      const byNumber = await peers('nginx', { port: 8080, servers: knot.servers, resolvConf });
      assert.deepEqual(byNumber.map((p) => [p.address, p.port, p.host]), [1, 2, 3].map((n) => [`127.1.0.${n}`, 8080, null]));
      const byName = await peers('nginx.default', { port: 'web', servers: knot.servers, resolvConf });
      assert.equal(byName.length, 3);
      await assert.rejects(peers('nosuch', { port: 'web', servers: knot.servers, resolvConf }), { code: 'ENOTFOUND' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
