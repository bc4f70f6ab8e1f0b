/**
 * Server health memory (c-ares' server failover) and the resolver settings glibc reads from
 * the environment and resolv.conf: LOCALDOMAIN, RES_OPTIONS, single-request,
 * single-request-reopen, use-vc.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DnsClient, type DnsClientOptions } from '../../src/dns/client.ts';
import { applyResolvEnv, parseResolvConf, readResolvConf } from '../../src/dns/resolv-conf.ts';
import { closeAll } from '../helpers/handles.ts';
import { frame, rawServerPair, rawUdpServer, type RawUdpServer } from '../helpers/raw-servers.ts';
import { answerA, readQuestion } from '../helpers/wire-builder.ts';

const NAME = 'web-0.web.default.svc.cluster.local';

function answering(): Promise<RawUdpServer> {
  return rawUdpServer((q, reply) => reply.send(answerA(q.msg, ['10.0.0.1'])));
}

function client(servers: string[], options: DnsClientOptions = {}): DnsClient {
  return new DnsClient({ servers, search: [], ndots: 1, timeout: 200, attempts: 2, ...options });
}

describe('server health', () => {
  test('a dead first server costs one timeout, not one per lookup; failover: false pays every time', async () => {
    const dead = await rawUdpServer(() => {});
    const good = await answering();
    const withMemory = client([...dead.servers, ...good.servers]);
    const without = client([...dead.servers, ...good.servers], { failover: false });
    try {
      for (let i = 0; i < 10; i++) assert.deepEqual(await withMemory.resolve4(NAME), ['10.0.0.1']);
      for (let i = 0; i < 10; i++) assert.deepEqual(await without.resolve4(NAME), ['10.0.0.1']);
      assert.equal(withMemory.stats.timeouts, 1);
      assert.equal(without.stats.timeouts, 10);
    } finally {
      await closeAll(withMemory, without, dead, good);
    }
  });

  test('a failed server is probed again after failoverRetryDelay, and is first again once it answers', async () => {
    let up = false;
    const flaky = await rawUdpServer((q, reply) => {
      if (up) reply.send(answerA(q.msg, ['10.0.0.2']));
    });
    const good = await answering();
    const c = client([...flaky.servers, ...good.servers], { failoverRetryDelay: 1000 });
    try {
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.1']);
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.1']);
      assert.equal(flaky.queries.length, 1, 'skipped while within the delay');
      await sleep(1200);
      // The probe finds it still down: one more timeout, then skipped again.
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.1']);
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.1']);
      assert.equal(flaky.queries.length, 2);
      up = true;
      await sleep(1200);
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.2'], 'the probe gets an answer');
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.2'], 'and it is first again');
      assert.equal(c.stats.timeouts, 2);
    } finally {
      await closeAll(c, flaky, good);
    }
  });
});

describe('glibc resolver settings', () => {
  test('resolv.conf options single-request, single-request-reopen, use-vc', () => {
    const conf = parseResolvConf('nameserver 10.96.0.10\noptions single-request single-request-reopen use-vc\n');
    assert.equal(conf.singleRequest, true);
    assert.equal(conf.singleRequestReopen, true);
    assert.equal(conf.useVc, true);
    assert.equal(parseResolvConf('options use-vc:1 single-requestx\n').useVc, true);
    assert.equal(parseResolvConf('options single-requestx\n').singleRequest, false);
  });

  test('LOCALDOMAIN replaces the search list; RES_OPTIONS overrides the file options', () => {
    const file = parseResolvConf('search a.example b.example\noptions ndots:5 timeout:2\n');
    const conf = applyResolvEnv(file, { LOCALDOMAIN: ' x.example \ty.example ', RES_OPTIONS: 'ndots:2 attempts:4 use-vc rotate' });
    assert.deepEqual(conf.search, ['x.example', 'y.example']);
    assert.equal(conf.ndots, 2);
    assert.equal(conf.timeout, 2000);
    assert.equal(conf.attempts, 4);
    assert.equal(conf.useVc, true);
    assert.equal(conf.rotate, true);
    const same = applyResolvEnv(parseResolvConf('search a.example\n'), { LOCALDOMAIN: '', RES_OPTIONS: '   ' });
    assert.deepEqual(same.search, ['a.example']);
  });

  test('readResolvConf applies the environment, to a missing file too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'headless-sd-resolv-'));
    try {
      const path = join(dir, 'resolv.conf');
      await writeFile(path, 'nameserver 127.0.0.53\nsearch ns.svc.cluster.local\n');
      const conf = readResolvConf(path, { LOCALDOMAIN: 'local.example', RES_OPTIONS: 'single-request timeout:1' });
      assert.deepEqual(conf.search, ['local.example']);
      assert.equal(conf.singleRequest, true);
      assert.equal(conf.timeout, 1000);
      assert.equal(readResolvConf(join(dir, 'missing'), { RES_OPTIONS: 'ndots:3' }).ndots, 3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('use-vc in resolv.conf (or RES_OPTIONS) sends every query over TCP', async () => {
    const pair = await rawServerPair(
      () => assert.fail('no UDP with use-vc'),
      (q, conn) => conn.socket.write(frame(answerA(q, ['10.0.0.3']))),
    );
    const dir = await mkdtemp(join(tmpdir(), 'headless-sd-resolv-'));
    const path = join(dir, 'resolv.conf');
    await writeFile(path, 'options use-vc\n');
    const fromFile = new DnsClient({ servers: pair.servers, search: [], ndots: 1, timeout: 2000, attempts: 1, resolvConf: path });
    const saved = process.env.RES_OPTIONS;
    process.env.RES_OPTIONS = 'use-vc';
    let fromEnv: DnsClient | undefined;
    try {
      fromEnv = new DnsClient({ servers: pair.servers, search: [], ndots: 1, timeout: 2000, attempts: 1, resolvConf: join(dir, 'missing') });
    } finally {
      if (saved === undefined) delete process.env.RES_OPTIONS;
      else process.env.RES_OPTIONS = saved;
    }
    try {
      assert.equal((await fromFile.query(NAME, 'A')).transport, 'tcp');
      assert.equal((await fromEnv.query(NAME, 'A')).transport, 'tcp');
      const explicit = new DnsClient({ servers: pair.servers, search: [], ndots: 1, timeout: 2000, attempts: 1, resolvConf: path, tcp: 'fallback' });
      assert.equal(explicit.stats.queries, 0);
      explicit.close();
    } finally {
      fromFile.close();
      fromEnv.close();
      await pair.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  for (const option of ['singleRequest', 'singleRequestReopen'] as const) {
    test(`${option}: A and AAAA of one name are asked one after the other, not together`, async () => {
      const log: string[] = [];
      const server = await rawUdpServer((q, reply) => {
        const { type } = readQuestion(q.msg);
        log.push(`ask ${type}`);
        setTimeout(() => {
          log.push(`answer ${type}`);
          reply.send(answerA(q.msg, type === 1 ? ['10.0.0.4'] : []));
        }, 30);
      });
      const serial = client(server.servers, { [option]: true, timeout: 2000 });
      const parallel = client(server.servers, { timeout: 2000 });
      try {
        const [v4] = await Promise.allSettled([serial.resolve4(NAME), serial.resolve6(NAME)]);
        assert.deepEqual(v4, { status: 'fulfilled', value: ['10.0.0.4'] });
        assert.deepEqual(log, ['ask 1', 'answer 1', 'ask 28', 'answer 28']);
        log.length = 0;
        await Promise.allSettled([parallel.resolve4(NAME), parallel.resolve6(NAME)]);
        // Both asked before either answer; which arrives first is the runtime's (Deno sends the second first).
        assert.deepEqual(log.slice(0, 2).sort(), ['ask 1', 'ask 28'], 'without the option both go at once');
      } finally {
        await closeAll(serial, parallel, server);
      }
    });
  }

  test('single-request-reopen: a UDP try that timed out is retried from a new source port', async () => {
    let first = true;
    const server = await rawUdpServer((q, reply) => {
      if (first) {
        first = false;
        return;
      }
      reply.send(answerA(q.msg, ['10.0.0.6']));
    });
    const c = client(server.servers, { singleRequestReopen: true });
    try {
      assert.deepEqual(await c.resolve4(NAME), ['10.0.0.6']);
      assert.equal(server.queries.length, 2);
      assert.notEqual(server.queries[0]!.rinfo.port, server.queries[1]!.rinfo.port);
    } finally {
      await closeAll(c, server);
    }
  });
});

describe('single-request and close()', () => {
  test('close() with A and AAAA lookups waiting their turn: all ECANCELLED, nothing more sent', async () => {
    const server = await rawUdpServer(() => {});
    const c = client(server.servers, { singleRequest: true, timeout: 5000 });
    const all = Promise.allSettled([c.resolve4(NAME), c.resolve6(NAME), c.resolve4(NAME), c.resolve6(NAME)]);
    await sleep(50);
    c.close();
    const outcomes = await all;
    assert.deepEqual(outcomes.map((o) => o.status === 'rejected' && (o.reason as { code: string }).code), ['ECANCELLED', 'ECANCELLED', 'ECANCELLED', 'ECANCELLED']);
    await sleep(50);
    assert.equal(server.queries.length, 1, 'only the first was ever sent');
    await server.close();
  });
});
