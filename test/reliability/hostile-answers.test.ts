/**
 * Hostile answers from small scripted servers on loopback: compression loops, a 65,535-byte TCP
 * answer, record counts that lie, names with odd bytes, SRV targets outside the zone, huge and
 * zero TTLs. Each is handled: the right result, or a typed DnsError.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsClient, DnsError, peers, watchPeers } from '../../src/index.ts';
import { createFakeKubernetesApi, createTestCluster, createTestServer } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks, until } from '../helpers/handles.ts';
import { frame, rawServerPair, type RawServerPair } from '../helpers/raw-servers.ts';
import { aRdata, pointer, readQuestion, RESPONSE_FLAGS, srvRdata, wireName } from '../helpers/wire-builder.ts';
import { chain, fullMessage, quadratic, rawName, recordsStart, response, rr } from './packets.ts';
import { record, recorded } from './support.ts';
import { rejectsWithDnsError as rejectsWith } from '../helpers/dns-assert.ts';

const SERVICE = 'nginx.default.svc.cluster.local';
const SRV_NAME = `_web._tcp.${SERVICE}`;

type Responder = (query: Buffer, transport: 'udp' | 'tcp') => Buffer | null;

/** A server pair whose answers the current test scripts. */
let pair: RawServerPair;
let respond: Responder = () => null;
let client: DnsClient;

before(async () => {
  pair = await rawServerPair(
    (q, reply) => {
      const out = respond(q.msg, 'udp');
      if (out) reply.send(out);
    },
    (q, conn) => {
      const out = respond(q, 'tcp');
      if (out) conn.socket.write(frame(out));
    },
  );
});
after(async () => {
  await pair.close();
});

/** Runs `fn` with a fresh client on the scripted server; checks no handle is left. */
async function withClient(fn: (c: DnsClient) => Promise<void>): Promise<void> {
  const before = activeResources();
  client = new DnsClient({ servers: pair.servers, timeout: 2000, attempts: 1, search: [], ndots: 1 });
  try {
    await fn(client);
  } finally {
    client.close();
  }
  await assertNoLeaks(before);
}

const truncated = (query: Buffer): Buffer => response(query, [], [0, 0, 0], RESPONSE_FLAGS | 0x0200);

describe('hostile answers', () => {
  test('compression loops and pointer tricks are EBADRESP; a long legal chain decodes', recorded('hostile answers', 'compression loops', async () => {
    await withClient(async (c) => {
      const outcomes: string[] = [];
      const cases: [string, (q: Buffer) => Buffer, string | null][] = [
        ['owner points to itself', (q) => response(q, [rr(pointer(recordsStart(q)), 1, 5, aRdata('10.0.0.1'))], [1, 0, 0]), 'EBADRESP'],
        ['owner points forward', (q) => response(q, [rr(pointer(recordsStart(q) + 40), 1, 5, aRdata('10.0.0.1'))], [1, 0, 0]), 'EBADRESP'],
        [
          'two names point at each other',
          (q) => {
            const s = recordsStart(q);
            // record 1's owner points at record 2's owner, which points back at record 1's.
            const r1 = rr(pointer(s + 16), 1, 5, aRdata('10.0.0.1'));
            const r2 = rr(pointer(s), 1, 5, aRdata('10.0.0.2'));
            return response(q, [r1, r2], [2, 0, 0]);
          },
          'EBADRESP',
        ],
        [
          'SRV target points into its own rdata',
          (q) => {
            const s = recordsStart(q);
            const rdata = Buffer.concat([srvRdata(0, 0, 80, '').subarray(0, 6), pointer(s + 12 + 6)]);
            return response(q, [rr(pointer(12), 33, 5, rdata)], [1, 0, 0]);
          },
          'EBADRESP',
        ],
        ['label type 0x40', (q) => response(q, [rr(Buffer.from([0x41, 0x61, 0]), 1, 5, aRdata('10.0.0.1'))], [1, 0, 0]), 'EBADRESP'],
        [
          'a name over 255 octets through pointers',
          (q) => {
            const s = recordsStart(q);
            const long = rawName(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63)]); // 193 bytes
            const blob = rr(pointer(12), 65280, 5, long);
            const owner = Buffer.concat([rawName(['d'.repeat(63)]).subarray(0, 64), pointer(s + 12)]);
            return response(q, [blob, rr(owner, 1, 5, aRdata('10.0.0.1'))], [2, 0, 0]);
          },
          'EBADRESP',
        ],
        ['pointer chain of 128 hops', (q) => chain(q, 128), 'EBADRESP'],
        ['pointer chain of 100 hops', (q) => chain(q, 100), null],
      ];
      for (const [what, build, code] of cases) {
        respond = (q) => build(q);
        if (code === null) {
          assert.deepEqual(await c.resolve4('loop.test'), ['10.0.0.9'], what);
          outcomes.push(`${what}: decoded`);
        } else {
          await rejectsWith(c.resolve4('loop.test'), code);
          outcomes.push(`${what}: ${code}`);
        }
      }
      record('hostile answers', 'compression loops, bad pointers, long chains', outcomes.join('; '));
    });
  }));

  test('names inside rdata that dns-packet decodes (NSEC, RRSIG, RP) are checked too: a 64 KB pointer-chain packet is EBADRESP, at once', recorded('hostile answers', 'NSEC/RRSIG/RP pointer chains', async () => {
    await withClient(async (c) => {
      for (const [type, label] of [
        [47, 'NSEC'],
        [46, 'RRSIG'],
        [17, 'RP'],
      ] as const) {
        respond = (q, transport) => (transport === 'udp' ? truncated(q) : quadratic(q, type));
        const start = performance.now();
        await rejectsWith(c.resolve4('quadratic.test'), 'EBADRESP');
        record('hostile answers', `64 KB answer: pointer chain + 2,000 ${label} records naming its end`, `EBADRESP in ${(performance.now() - start).toFixed(0)} ms`);
      }
    });
  }));

  test('a 65,535-byte TCP answer arrives whole; a frame cut short and counts that lie are EBADRESP', recorded('hostile answers', '65,535-byte answers, lying counts', async () => {
    await withClient(async (c) => {
      const ips: string[] = [];
      respond = (q, transport) => (transport === 'udp' ? truncated(q) : fullMessage(q, ips));
      const list = await peers('nginx', { client: c, namespace: 'default', port: 80, family: 4 });
      assert.ok(ips.length > 4000);
      assert.deepEqual(new Set(list.map((p) => p.address)), new Set(ips));
      assert.equal(list.length, ips.length);
      record('hostile answers', '65,535-byte TCP answer', `${list.length} peers, all decoded`);

      // A server that announces 65,535 bytes, sends 30,000, then closes.
      const tcpPair = await rawServerPair(
        (q, reply) => reply.send(truncated(q.msg)),
        (q, conn) => {
          const msg = fullMessage(q, []);
          const head = Buffer.alloc(2);
          head.writeUInt16BE(msg.length, 0);
          conn.socket.end(Buffer.concat([head, msg.subarray(0, 30_000)]));
        },
      );
      const cut = new DnsClient({ servers: tcpPair.servers, timeout: 2000, attempts: 1, search: [], ndots: 1 });
      try {
        await rejectsWith(cut.resolve4('cut.test'), 'EBADRESP');
      } finally {
        cut.close();
        await tcpPair.close();
      }
      record('hostile answers', 'TCP frame of 65,535 announced, 30,000 sent, then close', 'EBADRESP');

      respond = (q) => {
        const records = Array.from({ length: 50 }, (_, i) => rr(pointer(12), 1, 5, aRdata(`10.3.0.${i}`)));
        return response(q, records, [10_000, 0, 0]);
      };
      await rejectsWith(c.resolve4('lie.test'), 'EBADRESP');
      record('hostile answers', 'header claims 10,000 answers, 50 present', 'EBADRESP');

      // As many records as 65,535 bytes hold: 11-byte records (root owner, no rdata).
      respond = (q, transport) => {
        if (transport === 'udp') return truncated(q);
        const room = 65_535 - recordsStart(q) - 15;
        const count = Math.floor(room / 11);
        const empty = rr(Buffer.from([0]), 10, 5, Buffer.alloc(0)); // NULL records
        const records = [rr(pointer(12), 1, 5, aRdata('10.4.0.1')), ...Array.from({ length: count }, () => empty)];
        return response(q, records, [count + 1, 0, 0]);
      };
      const res = await c.query('many.test', 'A');
      assert.ok(res.answers.length > 5900, `${res.answers.length} records`);
      assert.deepEqual(await c.resolve4('many.test'), ['10.4.0.1']);
      record('hostile answers', 'records as many as fit (11-byte NULL records)', `${res.answers.length} records decoded`);
    });
  }));

  test('10,000 pods: DNS cannot carry them (TC even over TCP) and says so, EBADRESP, never a partial set; the API source gives all 10,000', recorded('hostile answers', '10,000 pods', async () => {
    const before = activeResources();
    const cluster = await createTestCluster();
    cluster.setService({ name: 'nginx', ports: [{ name: 'web', port: 80 }] });
    cluster.statefulSet({ name: 'web', serviceName: 'nginx', replicas: 10_000 });
    const dns = await createTestServer({ cluster });
    const api = await createFakeKubernetesApi({ cluster });
    const options = { servers: dns.servers, namespace: 'default', family: 4, timeout: 5000, attempts: 1 } as const;
    try {
      const outcomes: string[] = [];
      for (const port of ['web', 80] as const) {
        const err = await rejectsWith(peers('nginx', { ...options, port }), 'EBADRESP');
        assert.match(err.message, /truncated even over TCP \(\d+ records kept\)/);
        outcomes.push(`DNS port ${JSON.stringify(port)}: EBADRESP (${/\((\d+) records kept/.exec(err.message)![1]} records fit)`);
      }
      const watcher = watchPeers('nginx', { ...options, port: 'web', minInterval: 50, maxInterval: 100 });
      const errors: Error[] = [];
      watcher.on('error', (e) => errors.push(e));
      try {
        await until(() => errors.length >= 2, 'the watcher reports the incomplete answer');
        assert.deepEqual(watcher.peers, [], 'no partial set is ever taken for the whole');
        assert.ok(errors.every((e) => e instanceof DnsError && e.code === 'EBADRESP'));
      } finally {
        watcher.close();
      }
      const all = await peers('nginx', { source: 'kubernetes', kubernetes: { url: api.url }, namespace: 'default', port: 'web' });
      assert.equal(all.length, 10_000);
      outcomes.push(`watcher: EBADRESP errors, no set; API source: ${all.length} peers`);
      record('hostile answers', '10,000 pods (more than a DNS message holds)', outcomes.join('; '));
    } finally {
      await api.close();
      await dns.close();
    }
    await assertNoLeaks(before);
  }));

  test('names with odd bytes (\\0, a dot inside a label, 0xff, space) come out escaped and unambiguous, matched to their glue', recorded('hostile answers', 'odd bytes in names', async () => {
    await withClient(async (c) => {
      const zone = ['nginx', 'default', 'svc', 'cluster', 'local'];
      const targets: (string | Buffer)[][] = [
        ['web\0-0', ...zone],
        ['we.b-1', ...zone],
        [Buffer.from([0xff, 0xfe, 0x2d, 0x32]), ...zone],
        ['a b-3', ...zone],
      ];
      respond = (q) => {
        const answers = targets.map((t, i) => rr(pointer(12), 33, 30, Buffer.concat([srvRdata(0, 0, 80 + i, '').subarray(0, 6), rawName(t)])));
        const glue = targets.map((t, i) => rr(rawName(t), 1, 30, aRdata(`10.5.0.${i + 1}`)));
        return response(q, [...answers, ...glue], [answers.length, 0, glue.length]);
      };
      const queriesBefore = pair.udp.queries.length;
      const list = await peers('nginx', { client: c, namespace: 'default', port: 'web', family: 4 });
      assert.equal(pair.udp.queries.length - queriesBefore, 1, 'the glue was used: no lookup of the odd names');
      const byPort = new Map(list.map((p) => [p.port, p]));
      const expectHost = ['web\\000-0', 'we\\.b-1', '\\255\\254-2', 'a\\032b-3'];
      expectHost.forEach((label, i) => {
        const p = byPort.get(80 + i);
        assert.ok(p, `peer of target ${i}`);
        assert.equal(p.host, `${label}.${SERVICE}`);
        assert.equal(p.name, label);
        assert.equal(p.address, `10.5.0.${i + 1}`);
      });
      assert.equal(byPort.get(81)!.ordinal, 1, 'the ordinal of "we.b-1" is read from its own label');
      record('hostile answers', 'names with \\0, a dot in a label, 0xff, space', `escaped (${expectHost.join(', ')}), glue matched, no extra lookup`);
    });
  }));

  test('SRV targets outside the zone, and the root target "." (service not available)', recorded('hostile answers', 'SRV targets outside the zone', async () => {
    await withClient(async (c) => {
      respond = (q) => {
        const { name } = readQuestion(q);
        if (name === SRV_NAME) {
          const answers = [
            rr(pointer(12), 33, 30, srvRdata(0, 0, 80, 'web-0.nginx.default.svc.cluster.local')),
            rr(pointer(12), 33, 30, srvRdata(0, 0, 80, 'evil.example.com')),
            rr(pointer(12), 33, 30, srvRdata(0, 0, 80, 'noglue.example.net')),
            rr(pointer(12), 33, 30, srvRdata(0, 0, 80, '')),
          ];
          const glue = [
            rr(wireName('web-0.nginx.default.svc.cluster.local'), 1, 30, aRdata('10.6.0.1')),
            rr(wireName('evil.example.com'), 1, 30, aRdata('192.0.2.66')),
          ];
          return response(q, [...answers, ...glue], [answers.length, 0, glue.length]);
        }
        if (name === 'noglue.example.net') return response(q, [], [0, 0, 0], RESPONSE_FLAGS | 3); // NXDOMAIN
        return response(q, [], [0, 0, 0], RESPONSE_FLAGS | 5); // REFUSED
      };
      const queriesBefore = pair.udp.queries.length;
      const list = await peers('nginx', { client: c, namespace: 'default', port: 'web', family: 4 });
      const asked = pair.udp.queries.slice(queriesBefore).map((q) => readQuestion(q.msg).name);
      assert.deepEqual(
        list.map((p) => `${p.host} ${p.address}`),
        ['web-0.nginx.default.svc.cluster.local 10.6.0.1', 'evil.example.com 192.0.2.66'],
      );
      assert.ok(!asked.includes(''), 'the root target "." is never looked up');
      assert.ok(asked.includes('noglue.example.net'), 'a target without glue is looked up');
      record(
        'hostile answers',
        'SRV targets outside the zone; target "."',
        'outside target kept with its glue (as the server said), one without glue looked up (NXDOMAIN: left out); "." left out, not looked up',
      );
    });
  }));

  test('TTLs: 0 and 2^31-1 as received; 2^31 and above (high bit set) read as 0 (RFC 2181 8); a watcher polls within its bounds', recorded('hostile answers', 'TTLs', async () => {
    await withClient(async (c) => {
      const ttls = [0, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
      respond = (q) => response(q, ttls.map((ttl, i) => rr(pointer(12), 1, ttl, aRdata(`10.7.0.${i + 1}`))), [ttls.length, 0, 0]);
      const got = await c.resolve4('ttl.test', { ttl: true });
      assert.deepEqual(
        got.map((r) => r.ttl),
        [0, 2 ** 31 - 1, 0, 0],
      );
      record('hostile answers', 'TTL 0, 2^31-1, 2^31, 2^32-1', `read as ${got.map((r) => r.ttl).join(', ')}`);
    });
    // A watcher on a huge TTL still polls at maxInterval, and on TTL 0 at minInterval; no timer overflow.
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    const before = activeResources();
    try {
      for (const ttl of [2 ** 31 - 1, 0]) {
        respond = (q) => response(q, [rr(pointer(12), 1, ttl, aRdata('10.8.0.1'))], [1, 0, 0]);
        const watcher = watchPeers('ttl', {
          servers: pair.servers,
          namespace: 'default',
          port: 80,
          family: 4,
          timeout: 500,
          attempts: 1,
          minInterval: 20,
          maxInterval: 100,
        });
        try {
          const first = await watcher.ready;
          assert.equal(first[0]!.ttl, ttl);
          const at = pair.udp.queries.length;
          await until(() => pair.udp.queries.length >= at + 3, `three more polls with TTL ${ttl}`);
        } finally {
          watcher.close();
        }
      }
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, [], 'no TimeoutOverflowWarning');
    await assertNoLeaks(before);
    record('hostile answers', 'watcher on TTL 2^31-1 and TTL 0', 'polls at maxInterval / minInterval, no timer overflow');
  }));
});
