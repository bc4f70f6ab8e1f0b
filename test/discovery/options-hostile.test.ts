import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsClient, DnsError, InvalidArgumentError, peers, waitForPeers, watchPeers } from '../../src/index.ts';
import { createTestCluster } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';

// Nothing here reaches a socket: every call must throw before it asks anything. The server
// named is loopback all the same, so that a bug can only send a packet to this machine.
const SERVERS = ['127.0.0.1:9'];

const HOSTILE: unknown[] = [NaN, Infinity, -Infinity, -1, 2 ** 31, 1e300, '5', '', 'x', true, null, {}, [], () => 1, Symbol('s'), 10n];

/** Values each option takes (must not throw when given alone, beside `servers`). */
const VALID: Record<string, unknown> = {
  port: 'web',
  protocol: 'tcp',
  namespace: 'default',
  clusterDomain: 'cluster.local',
  family: 4,
  timeout: 100,
  attempts: 1,
  allowEmpty: true,
  includeNotReady: false,
  source: 'dns',
  minInterval: 10,
  maxInterval: 2000,
  min: 1,
  stableFor: 10,
  waitTimeout: 10,
};

/** Hostile values that happen to be valid for an option (a string port name, `null` port...). */
function acceptable(option: string, value: unknown): boolean {
  if (option === 'port') return value === null || value === 'x';
  // A namespace, a zone or a file path may well be called "5" or "x".
  if (option === 'namespace' || option === 'clusterDomain' || option === 'resolvConf') return value === '5' || value === 'x';
  if (option === 'allowEmpty') return value === true;
  return false;
}

type Call = 'peers' | 'watchPeers' | 'waitForPeers';

const OPTIONS: Record<Call, string[]> = {
  peers: ['port', 'protocol', 'namespace', 'clusterDomain', 'family', 'servers', 'timeout', 'attempts', 'signal', 'client', 'resolvConf', 'allowEmpty', 'source', 'kubernetes', 'includeNotReady'],
  watchPeers: [],
  waitForPeers: [],
};
OPTIONS.watchPeers = [...OPTIONS.peers, 'minInterval', 'maxInterval'];
OPTIONS.waitForPeers = [...OPTIONS.watchPeers, 'min', 'stableFor', 'waitTimeout'];

/** Calls `call` and returns what it threw or rejected with (null when it did neither at once). */
async function attempt(call: Call, options: unknown, service: unknown = 'nginx'): Promise<unknown> {
  try {
    if (call === 'peers') await peers(service as string, options as object);
    else if (call === 'watchPeers') watchPeers(service as string, options as object).close();
    else await waitForPeers(service as string, options as object);
  } catch (err) {
    return err;
  }
  return null;
}

describe('every option of peers(), watchPeers(), waitForPeers() with hostile values', () => {
  for (const call of ['peers', 'watchPeers', 'waitForPeers'] as const) {
    test(`${call}(): each hostile value of each option is an InvalidArgumentError`, async () => {
      const before = activeResources();
      for (const option of OPTIONS[call]) {
        for (const value of HOSTILE) {
          if (acceptable(option, value)) continue;
          const options = option === 'servers' ? { servers: value } : { servers: SERVERS, [option]: value };
          const err = await attempt(call, options);
          assert.ok(err instanceof InvalidArgumentError, `${call} ${option}: ${String(typeof value === 'symbol' ? 'symbol' : value)} gave ${String(err)}`);
          assert.equal((err as InvalidArgumentError).code, 'ERR_INVALID_ARG_VALUE');
        }
      }
      await assertNoLeaks(before);
    });

    test(`${call}(): unknown keys, __proto__, typos, non-object options`, async () => {
      const typo = await attempt(call, { servers: SERVERS, ports: 'web' });
      assert.ok(typo instanceof InvalidArgumentError);
      assert.match((typo as Error).message, /unknown .*option "ports": did you mean "port"\?/);
      const proto = await attempt(call, JSON.parse('{"servers":["127.0.0.1:9"],"__proto__":{"port":"web"}}'));
      assert.ok(proto instanceof InvalidArgumentError, String(proto));
      assert.match((proto as Error).message, /__proto__/);
      for (const options of [null, 5, 'port', [], () => 1]) {
        assert.ok((await attempt(call, options)) instanceof InvalidArgumentError, String(options));
      }
      for (const service of [5, null, {}]) {
        assert.ok((await attempt(call, { servers: SERVERS }, service)) instanceof InvalidArgumentError, String(service));
      }
      const qualified = await attempt(call, { servers: SERVERS, namespace: 'default' }, 'nginx.default');
      assert.ok(qualified instanceof InvalidArgumentError, String(qualified));
    });

    test(`${call}(): client with servers (or timeout, attempts, resolvConf) is refused, not dropped`, async () => {
      const client = new DnsClient({ servers: SERVERS });
      try {
        for (const extra of [{ servers: SERVERS }, { timeout: 100 }, { attempts: 2 }, { resolvConf: '/etc/resolv.conf' }]) {
          const err = await attempt(call, { client, ...extra });
          assert.ok(err instanceof InvalidArgumentError, JSON.stringify(extra));
          assert.match((err as Error).message, /the client's/);
        }
      } finally {
        client.close();
      }
    });
  }

  test('each option takes its valid value (the sweep above rejects for the value, not the key)', async () => {
    for (const [option, value] of Object.entries(VALID)) {
      const call: Call = ['min', 'stableFor', 'waitTimeout'].includes(option) ? 'waitForPeers' : ['minInterval', 'maxInterval'].includes(option) ? 'watchPeers' : 'peers';
      const err = await attempt(call, { servers: SERVERS, timeout: 50, attempts: 1, ...(call === 'waitForPeers' ? { waitTimeout: 10 } : {}), [option]: value });
      assert.ok(!(err instanceof InvalidArgumentError), `${option}: ${String(err)}`);
      assert.ok(err === null || err instanceof DnsError, `${option}: ${String(err)}`);
    }
  });

  test('durations above 2^31-1 ms are refused, not cut to 1 ms by Node', async () => {
    const big = 2 ** 31;
    for (const [call, option] of [
      ['watchPeers', 'minInterval'],
      ['watchPeers', 'maxInterval'],
      ['waitForPeers', 'stableFor'],
      ['waitForPeers', 'waitTimeout'],
      ['peers', 'timeout'],
    ] as const) {
      const err = await attempt(call, { servers: SERVERS, [option]: big });
      assert.ok(err instanceof InvalidArgumentError, `${option} ${big}`);
      assert.match((err as Error).message, new RegExp(option));
    }
    const ok = watchPeers('nginx', { servers: SERVERS, minInterval: 2 ** 31 - 1, maxInterval: 2 ** 31 - 1 });
    ok.close();
  });

  test("DNS options with source: 'kubernetes' are refused, not ignored", async () => {
    for (const extra of [{ servers: SERVERS }, { attempts: 2 }, { resolvConf: '/etc/resolv.conf' }, { client: new DnsClient({ servers: SERVERS }) }]) {
      const err = await attempt('peers', { source: 'kubernetes', kubernetes: { url: 'http://127.0.0.1:9' }, ...extra });
      assert.ok(err instanceof InvalidArgumentError, JSON.stringify(Object.keys(extra)));
      assert.match((err as Error).message, /are for DNS/);
      (extra as { client?: DnsClient }).client?.close();
    }
  });

  test('clusterDomain: 5 and a bad namespace are InvalidArgumentError', async () => {
    assert.ok((await attempt('peers', { servers: SERVERS, clusterDomain: 5 })) instanceof InvalidArgumentError);
    assert.ok((await attempt('peers', { servers: SERVERS, namespace: '..' })) instanceof InvalidArgumentError);
    assert.ok((await attempt('peers', { servers: SERVERS, namespace: 'a.b' })) instanceof InvalidArgumentError);
  });
});

describe('createTestCluster', () => {
  test('is synchronous, and await still works', async () => {
    const cluster = createTestCluster({ ttl: 7 });
    assert.equal(cluster.ttl, 7);
    const awaited = await createTestCluster();
    assert.equal(awaited.ttl, 5);
    assert.equal('then' in cluster, false, 'a cluster is not a thenable');
  });

  test('bad ttl, clusterDomain: InvalidArgumentError', () => {
    for (const ttl of [-1, 3601, 1.5, NaN, '5']) {
      assert.throws(() => createTestCluster({ ttl: ttl as number }), InvalidArgumentError, String(ttl));
    }
    assert.throws(() => createTestCluster({ clusterDomain: 5 as unknown as string }), InvalidArgumentError);
  });
});

describe('DnsError.syscall', () => {
  test('named as node:dns names it', async () => {
    assert.equal(new DnsError('ENOTFOUND', 'x', { rrtype: 'SRV' }).syscall, 'querySrv');
    assert.equal(new DnsError('ENOTFOUND', 'x', { rrtype: 'AAAA' }).syscall, 'queryAaaa');
    assert.equal(new DnsError('ENOTFOUND', 'x', { rrtype: 'A' }).syscall, 'queryA');
    assert.equal(new DnsError('ECANCELLED', 'x').syscall, undefined);
    const client = new DnsClient({ servers: SERVERS, timeout: 50, attempts: 1 });
    try {
      await assert.rejects(client.resolveSrv('_web._tcp.nginx.default.svc.cluster.local'), (err: DnsError) => err.syscall === 'querySrv');
    } finally {
      client.close();
    }
  });
});
