/**
 * peers() and watchPeers() through real DNS caches, as a pod meets them in a cluster (NodeLocal
 * DNSCache, CoreDNS `cache`): Debian's unbound and dnsmasq on loopback in front of knotd.
 * unbound sends no SRV glue; both count TTLs down in whole seconds and keep negative answers
 * for the SOA's negative TTL. The zone's TTL is 2 s and its negative TTL 3 s.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { peers, watchPeers } from '../../src/index.ts';
import type { PeerChange } from '../../src/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { NEGATIVE_TTL, RecordingClient, recordWire, startCacheFixture, type CacheFixture } from '../helpers/cache-fixture.ts';
import type { CacheKind } from '../helpers/caches.ts';
import type { ZoneServiceSpec } from '../helpers/cluster-zone.ts';

const TTL = 2;
const POD_SEARCH = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];
const fqdn = (pod: string, svc: string): string => `${pod}.${svc}.default.svc.cluster.local`;
const srv = (svc: string): string => `_web._tcp.${svc}.default.svc.cluster.local`;

function service(name: string, net: number, pods: number, more: Partial<ZoneServiceSpec> = {}): ZoneServiceSpec {
  return { name, pods, ports: [{ name: 'web', port: 80 }], ttl: TTL, ipv4: (i) => `10.${net}.${i >> 8}.${i & 255}`, ...more };
}

const SERVICES = {
  nginx: service('nginx', 1, 3),
  stale: service('stale', 2, 3),
  blip: service('blip', 3, 2),
  steady: service('steady', 4, 3),
  zero: service('zero', 5, 2, { ttl: 0 }),
  big: service('big', 6, 100),
  late: service('late', 7, 3, { omitPodRecords: [2] }),
};

let handlesBefore: Map<string, number>;
before(() => {
  handlesBefore = activeResources();
});
after(async () => {
  await assertNoLeaks(handlesBefore);
});

for (const kind of ['unbound', 'dnsmasq'] as CacheKind[]) {
  describe(`through ${kind}`, () => {
    let f: CacheFixture;
    const clients: RecordingClient[] = [];
    const client = (pod = false): RecordingClient => {
      const c = new RecordingClient({ servers: f.cache.servers, timeout: 2000, attempts: 3, ...(pod ? { search: POD_SEARCH, ndots: 5 } : { search: [], ndots: 1 }) });
      clients.push(c);
      return c;
    };

    before(async () => {
      f = await startCacheFixture(kind, Object.values(SERVICES));
      // A Service whose SRV target is the bare name `kubernetes.`: through the search list it
      // would become kubernetes.default.svc.cluster.local, the API server.
      f.zone.extra = [`_web._tcp.evil.default.svc ${TTL} IN SRV 0 100 443 kubernetes.`];
      await f.zone.set(null, '-');
    });
    after(async () => {
      for (const c of clients) c.close();
      await f.close();
    });

    test('A: SRV targets are asked by their absolute name, never through the search list', async () => {
      const c = client(true);
      const wire = recordWire(f.cache.servers[0]!);
      try {
        const list = await peers('nginx', { port: 'web', client: c });
        assert.deepEqual(list.map((p) => [p.host, p.address]), [0, 1, 2].map((i) => [fqdn(`web-${i}`, 'nginx'), `10.1.0.${i}`]));
        const allowed = new Set([srv('nginx'), ...[0, 1, 2].map((i) => fqdn(`web-${i}`, 'nginx'))]);
        for (const e of wire.log) assert.ok(allowed.has(e.name), `asked ${e.type} ${e.name}`);
        // One SRV query; without glue (unbound) A and AAAA of each target.
        assert.ok(wire.log.length <= 1 + 3 * 2, `${wire.log.length} queries`);

        const from = wire.log.length;
        const evil = await peers('evil', { port: 'web', client: c, allowEmpty: true });
        assert.deepEqual(evil, [], 'the target kubernetes. has no address; the API server is not a peer');
        const names = [...new Set(wire.log.slice(from).map((e) => e.name))].sort();
        assert.deepEqual(names, ['_web._tcp.evil.default.svc.cluster.local', 'kubernetes']);
      } finally {
        wire.stop();
      }
    });

    test('F: family 0 searches once: A and AAAA of the name that answers, nothing else', async () => {
      const c = client(true);
      const wire = recordWire(f.cache.servers[0]!);
      try {
        const list = await peers('nginx', { client: c });
        assert.deepEqual(list.map((p) => p.address), ['10.1.0.0', '10.1.0.1', '10.1.0.2']);
        assert.deepEqual(
          wire.log.map((e) => `${e.type} ${e.name}`).sort(),
          ['A nginx.default.svc.cluster.local', 'AAAA nginx.default.svc.cluster.local'],
        );
      } finally {
        wire.stop();
      }
    });

    test('B: a listed target whose lookup says NXDOMAIN keeps its address, is asked again, and is no change', async () => {
      const c = client();
      const w = watchPeers('stale', { port: 'web', namespace: 'default', client: c, family: 4 });
      const changes: PeerChange[] = [];
      try {
        await w.ready;
        w.on('change', (change) => changes.push(change));
        const web1 = fqdn('web-1', 'stale');
        assert.equal(w.peers.find((p) => p.host === web1)?.address, '10.2.0.1');
        // web-1 is replaced: the Service lists its new address, but its own name says NXDOMAIN.
        const moved = (i: number): string => (i === 1 ? '10.2.9.1' : `10.2.0.${i}`);
        const mark = c.log.length;
        await f.zone.set({ ...SERVICES.stale, ipv4: moved, omitPodRecords: [1] });
        await until(
          () => c.asked(mark, web1, 'A').filter((e) => e.response?.rcode === 'NXDOMAIN').length >= 2,
          'web-1 asked again after an NXDOMAIN',
          40_000,
        );
        assert.equal(changes.length, 0, 'no change for web-1');
        assert.equal(w.peers.find((p) => p.host === web1)?.address, '10.2.0.1');
        // Its name comes back: the new address is picked up on the retry.
        await f.zone.set({ ...SERVICES.stale, ipv4: moved });
        await until(() => w.peers.some((p) => p.host === web1 && p.address === '10.2.9.1'), 'the new address', 40_000);
        assert.equal(changes.length, 1);
        assert.deepEqual(changes[0]!.removed.map((p) => p.address), ['10.2.0.1']);
        assert.deepEqual(changes[0]!.added.map((p) => p.address), ['10.2.9.1']);
      } finally {
        w.close();
      }
    });

    test('B: peers() waits out a cached NXDOMAIN of a listed target and asks once more', async () => {
      const c = client();
      const web2 = fqdn('web-2', 'late');
      // Someone asked for web-2 before its pod was there: the cache holds the NXDOMAIN.
      assert.equal((await c.query(`${web2}.`, 'A')).rcode, 'NXDOMAIN');
      await f.zone.set({ ...SERVICES.late, omitPodRecords: [] });
      const list = await peers('late', { port: 'web', namespace: 'default', client: c, family: 4 });
      assert.deepEqual(list.map((p) => p.address), ['10.7.0.0', '10.7.0.1', '10.7.0.2']);
    });

    test('C: a 0.3 s "no ready pods" blip does not empty the set: the confirmation waits out the negative TTL', async () => {
      const c = client();
      const w = watchPeers('blip', { port: 'web', namespace: 'default', client: c, family: 4 });
      const changes: PeerChange[] = [];
      try {
        await w.ready;
        w.on('change', (change) => changes.push(change));
        const mark = c.log.length;
        await f.zone.set(null, 'blip');
        await until(() => c.asked(mark, srv('blip'), 'SRV').some((e) => e.response?.rcode === 'NXDOMAIN'), 'the cache says NXDOMAIN', 40_000);
        await sleep(300);
        await f.zone.set(SERVICES.blip);
        const negative = c.asked(mark, srv('blip'), 'SRV').find((e) => e.response?.rcode === 'NXDOMAIN')!;
        const answer = negative.response!.authorities.find((r) => r.type === 'SOA');
        assert.ok(answer && answer.ttl <= NEGATIVE_TTL, 'the negative answer carries the SOA');
        await until(
          () => c.asked(mark, srv('blip'), 'SRV').some((e) => e.at > negative.at && e.response?.rcode === 'NOERROR'),
          'the confirming poll',
          40_000,
        );
        assert.deepEqual(changes, [], 'no change: the set was never emptied');
        assert.equal(w.peers.length, 2);
      } finally {
        w.close();
      }
    });

    test('D/E: every poll comes after the cached TTL ran out: fresh answers, no poll on the countdown', async () => {
      const c = client();
      const w = watchPeers('steady', { port: 'web', namespace: 'default', client: c, family: 4 });
      try {
        await w.ready;
        const mark = c.log.length;
        await until(() => c.asked(mark, srv('steady'), 'SRV').filter((e) => e.response).length >= 3, 'three polls', 40_000);
        const polls = c.asked(mark, srv('steady'), 'SRV').filter((e) => e.response);
        for (const e of polls) {
          assert.deepEqual(e.response!.answers.map((r) => r.ttl), [TTL, TTL, TTL], 'a fresh answer, not a countdown');
        }
        // A change is seen: a pod added.
        await f.zone.set({ ...SERVICES.steady, pods: 4 });
        await until(() => w.peers.length === 4, 'the fourth pod', 40_000);
      } finally {
        w.close();
      }
    });

    test('E: TTL 0 and minInterval 0 is no busy loop', async () => {
      const c = client();
      const w = watchPeers('zero', { port: 'web', namespace: 'default', client: c, family: 4, minInterval: 0, maxInterval: 0 });
      const wire = recordWire(f.cache.servers[0]!);
      try {
        await w.ready;
        const mark = wire.log.length;
        await sleep(3000);
        const polls = wire.log.slice(mark).filter((e) => e.type === 'SRV').length;
        assert.ok(polls <= 3000 / 100 + 2, `${polls} polls in 3 s`);
      } finally {
        w.close();
        wire.stop();
      }
    });

    test('cost: a poll in which nothing changed costs a few queries, whatever the size; a moved pod costs one more', async () => {
      const c = client();
      const w = watchPeers('big', { port: 'web', namespace: 'default', client: c, family: 4 });
      try {
        await w.ready;
        assert.equal(w.peers.length, 100);
        const wire = recordWire(f.cache.servers[0]!);
        try {
          await until(() => wire.log.filter((e) => e.type === 'SRV').length >= 3, 'three polls', 40_000);
          const polls = wire.log.filter((e) => e.type === 'SRV').length;
          const steady = wire.log.filter((e) => e.transport === 'udp' || e.type !== 'SRV');
          // SRV (over TCP: 100 records do not fit UDP) and the Service's A set: about 2 a poll, not 101.
          assert.ok(steady.length <= 2 * polls + 2, `${steady.length} queries in ${polls} polls`);
          assert.ok(wire.log.every((e) => !e.name.startsWith('web-')), 'no target asked again');

          const moved = wire.log.length;
          await f.zone.set({ ...SERVICES.big, ipv4: (i) => (i === 7 ? '10.6.9.7' : `10.6.0.${i}`) });
          await until(() => w.peers.some((p) => p.address === '10.6.9.7'), 'the moved pod', 40_000);
          // Without glue (unbound) web-7 is asked, as the one whose address left the Service's set.
          const targets = new Set(wire.log.slice(moved).filter((e) => e.name.startsWith('web-')).map((e) => e.name));
          assert.ok([...targets].every((n) => n === fqdn('web-7', 'big')), `asked ${[...targets].join(', ')}`);
        } finally {
          wire.stop();
        }
      } finally {
        w.close();
      }
    });
  });
}
