/**
 * DnsClient: search list and ndots on the wire, resolv.conf defaults, diagnostics.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DnsClient } from '../../src/dns/client.ts';
import {
  DROP_CHANNEL,
  QUERY_END_CHANNEL,
  QUERY_START_CHANNEL,
  type QueryEndMessage,
  type QueryStartMessage,
} from '../../src/dns/diagnostics.ts';
import { rawUdpServer, type RawUdpServer } from '../helpers/raw-servers.ts';
import { answerA, readQuestion } from '../helpers/wire-builder.ts';
import { tsArgs } from '../helpers/runtime.ts';

const SEARCH = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];

/** A server that knows a few names: A records, NODATA for other types, NXDOMAIN for the rest. */
function zoneServer(zone: Record<string, string[]>, refuse: (name: string) => boolean = () => false): Promise<RawUdpServer> {
  return rawUdpServer((q, reply) => {
    const { name, type } = readQuestion(q.msg);
    const key = name.toLowerCase();
    if (refuse(key)) return reply.send(answerA(q.msg, [], { rcode: 5 }));
    const ips = zone[key];
    if (ips === undefined) return reply.send(answerA(q.msg, [], { rcode: 3 }));
    reply.send(answerA(q.msg, type === 1 ? ips : []));
  });
}

const asked = (server: RawUdpServer): string[] => server.queries.map((q) => readQuestion(q.msg).name);

describe('search list and ndots', () => {
  test("a pod's resolver: nginx is found as nginx.default.svc.cluster.local first", async () => {
    const server = await zoneServer({ 'nginx.default.svc.cluster.local': ['10.0.0.1'] });
    const c = new DnsClient({ servers: server.servers, search: SEARCH, ndots: 5, attempts: 1 });
    try {
      const res = await c.query('nginx', 'A');
      assert.equal(res.name, 'nginx.default.svc.cluster.local');
      assert.deepEqual(asked(server), ['nginx.default.svc.cluster.local']);
    } finally {
      c.close();
      await server.close();
    }
  });

  test('NXDOMAIN and NODATA continue the search; success stops it', async () => {
    const server = await zoneServer({
      'web.svc.cluster.local': [], // exists, no A: NODATA
      'web.cluster.local': ['10.0.0.3'],
    });
    const c = new DnsClient({ servers: server.servers, search: SEARCH, ndots: 5, attempts: 1 });
    try {
      assert.deepEqual(await c.resolve4('web'), ['10.0.0.3']);
      assert.deepEqual(asked(server), ['web.default.svc.cluster.local', 'web.svc.cluster.local', 'web.cluster.local']);
    } finally {
      c.close();
      await server.close();
    }
  });

  test('names with >= ndots dots go as-is first; a trailing dot means no search', async () => {
    const server = await zoneServer({ 'a.b.example': ['10.0.0.4'] });
    const c = new DnsClient({ servers: server.servers, search: ['x.example'], ndots: 2, attempts: 1 });
    try {
      await c.resolve4('a.b.example');
      await assert.rejects(c.resolve4('missing.'), { code: 'ENOTFOUND' });
      await assert.rejects(c.resolve4('b.nope'), { code: 'ENOTFOUND' });
      assert.deepEqual(asked(server), ['a.b.example', 'missing', 'b.nope.x.example', 'b.nope']);
    } finally {
      c.close();
      await server.close();
    }
  });

  test('all NXDOMAIN: ENOTFOUND naming the first name searched and listing them all; NODATA wins over NXDOMAIN', async () => {
    const server = await zoneServer({ 'db.svc.cluster.local': [] }, (name) => name === 'db' || name === 'ghost');
    const c = new DnsClient({ servers: server.servers, search: SEARCH, ndots: 5, attempts: 1 });
    try {
      const err = await c.resolve4('ghost').then(
        () => assert.fail('resolved'),
        (e: { code: string; message: string; hostname: string }) => e,
      );
      // 'ghost' itself is REFUSED (outside the zone): the search answers NXDOMAIN from the domains.
      assert.equal(err.code, 'ENOTFOUND');
      assert.equal(err.hostname, 'ghost.default.svc.cluster.local');
      assert.match(err.message, /searched ghost\.default\.svc\.cluster\.local, ghost\.svc\.cluster\.local, ghost\.cluster\.local, ghost\)$/);
      await assert.rejects(c.resolve4('db'), { code: 'ENODATA', hostname: 'db.svc.cluster.local' });
      const res = await c.query('db', 'A');
      assert.equal(res.rcode, 'NOERROR');
      assert.equal(res.name, 'db.svc.cluster.local');
    } finally {
      c.close();
      await server.close();
    }
  });

  test('defaults come from resolv.conf: servers, search, ndots, timeout, attempts x servers', async () => {
    const server = await zoneServer({ 'api.team.svc.cluster.local': ['10.0.0.5'] });
    const dir = await mkdtemp(join(tmpdir(), 'headless-sd-client-'));
    const path = join(dir, 'resolv.conf');
    await writeFile(path, `nameserver 127.0.0.1\nsearch team.svc.cluster.local\noptions ndots:5 timeout:3 attempts:3\n`);
    const c = new DnsClient({ resolvConf: path, servers: server.servers });
    try {
      assert.deepEqual(c.search, ['team.svc.cluster.local']);
      assert.equal(c.ndots, 5);
      assert.equal(c.timeout, 3000);
      assert.equal(c.attempts, 3);
      assert.deepEqual(await c.resolve4('api'), ['10.0.0.5']);
      const d = new DnsClient({ resolvConf: path });
      assert.deepEqual(d.servers, ['127.0.0.1:53']);
      d.close();
    } finally {
      c.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('diagnostics', () => {
  test('diagnostics_channel: start and end per try, drop for forged answers', async () => {
    const server = await rawUdpServer((q, reply) => {
      const forged = answerA(q.msg, ['6.6.6.6']);
      forged.writeUInt16BE(q.id ^ 1, 0);
      reply.send(forged);
      reply.send(answerA(q.msg, ['10.0.0.1']));
    });
    const starts: QueryStartMessage[] = [];
    const ends: QueryEndMessage[] = [];
    const drops: unknown[] = [];
    const onStart = (m: unknown): void => void starts.push(m as QueryStartMessage);
    const onEnd = (m: unknown): void => void ends.push(m as QueryEndMessage);
    const onDrop = (m: unknown): void => void drops.push(m);
    diagnosticsChannel.subscribe(QUERY_START_CHANNEL, onStart);
    diagnosticsChannel.subscribe(QUERY_END_CHANNEL, onEnd);
    diagnosticsChannel.subscribe(DROP_CHANNEL, onDrop);
    const c = new DnsClient({ servers: server.servers, search: [], attempts: 1 });
    try {
      await c.resolve4('svc.example');
      assert.deepEqual(starts, [{ name: 'svc.example', type: 'A', server: server.servers[0], transport: 'udp', id: server.queries[0]!.id }]);
      assert.equal(ends.length, 1);
      const end = ends[0]!;
      assert.equal(end.rcode, 'NOERROR');
      assert.equal(end.error, null);
      assert.equal(end.truncated, false);
      assert.equal(typeof end.duration, 'number');
      assert.equal(drops.length, 1);
      assert.deepEqual(Object.keys(drops[0] as object).sort(), ['from', 'id', 'reason', 'transport']);
    } finally {
      diagnosticsChannel.unsubscribe(QUERY_START_CHANNEL, onStart);
      diagnosticsChannel.unsubscribe(QUERY_END_CHANNEL, onEnd);
      diagnosticsChannel.unsubscribe(DROP_CHANNEL, onDrop);
      c.close();
      await server.close();
    }
  });

  test('NODE_DEBUG=headless-sd logs each query and answer', async () => {
    const server = await rawUdpServer((q, reply) => reply.send(answerA(q.msg, ['10.0.0.1'])));
    try {
      const script = `
        import { DnsClient } from ${JSON.stringify(new URL('../../src/dns/client.ts', import.meta.url).href)};
        const c = new DnsClient({ servers: ${JSON.stringify(server.servers)}, search: [], attempts: 1 });
        await c.resolve4('debug.example');
        c.close();`;
      const stderr = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          tsArgs(script, { inline: true }),
          { env: { ...process.env, NODE_DEBUG: 'headless-sd' }, timeout: 20_000 },
          (err, _stdout, stderr) => (err ? reject(err) : resolve(stderr)),
        );
      });
      assert.match(stderr, /HEADLESS-SD \d+: query A debug\.example -> 127\.0\.0\.1:\d+ udp id=\d+/);
      assert.match(stderr, /HEADLESS-SD \d+: answer A debug\.example <- 127\.0\.0\.1:\d+ udp id=\d+: NOERROR in [\d.]+ ms/);
    } finally {
      await server.close();
    }
  });
});
