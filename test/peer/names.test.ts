/**
 * Regressions found by the reliability suite (issue 10) in peer naming: host names in the DNS
 * layer's escaped form, and SRV targets of "." (RFC 2782: service not available).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstLabel, makePeer, ordinalOf, withoutTrailingDot } from '../../src/peer/index.ts';
import type { SelfIdentity } from '../../src/peer/index.ts';
import { peers } from '../../src/index.ts';
import { DnsClient } from '../../src/dns/client.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';
import { rawUdpServer } from '../helpers/raw-servers.ts';
import { aRdata, buildResponse, readQuestion, srvRdata, wireName } from '../helpers/wire-builder.ts';

const NOBODY: SelfIdentity = { addresses: new Set(), hostname: 'not-a-pod' };

test('an escaped dot (or backslash) does not end a label; a trailing escaped dot stays', () => {
  assert.equal(firstLabel('web-0.nginx.default'), 'web-0');
  assert.equal(firstLabel('we\\.b-1.nginx'), 'we\\.b-1');
  assert.equal(firstLabel('a\\\\.b'), 'a\\\\', 'an escaped backslash, then a real dot');
  assert.equal(firstLabel('web\\000-0.nginx'), 'web\\000-0');
  assert.equal(firstLabel('single'), 'single');
  assert.equal(withoutTrailingDot('web-0.nginx.'), 'web-0.nginx');
  assert.equal(withoutTrailingDot('odd\\.'), 'odd\\.');
  assert.equal(withoutTrailingDot('odd\\\\.'), 'odd\\\\');
  const p = makePeer({ host: 'we\\.b-1.nginx.default.svc.cluster.local.', address: '10.0.0.1', port: 80, ttl: 5 }, NOBODY);
  assert.equal(p.host, 'we\\.b-1.nginx.default.svc.cluster.local');
  assert.equal(p.name, 'we\\.b-1');
  assert.equal(p.ordinal, 1);
});

test('an SRV target of "." is no peer and is not looked up', async () => {
  const before = activeResources();
  const name = '_web._tcp.nginx.default.svc.cluster.local';
  const server = await rawUdpServer((q, reply) => {
    const { name: asked, type } = readQuestion(q.msg);
    if (asked !== name) return; // a lookup of the root would time out
    reply.send(
      buildResponse({
        id: q.id,
        qname: asked,
        qtype: type,
        answers: [
          { type: 33, rdata: srvRdata(0, 0, 80, '') },
          { type: 33, rdata: srvRdata(0, 0, 80, `web-0.nginx.default.svc.cluster.local`) },
        ],
        additionals: [{ name: wireName('web-0.nginx.default.svc.cluster.local'), type: 1, rdata: aRdata('10.0.0.7') }],
      }),
    );
  });
  const client = new DnsClient({ servers: server.servers, timeout: 300, attempts: 1, search: [], ndots: 1 });
  try {
    const list = await peers('nginx', { client, namespace: 'default', port: 'web', family: 4 });
    assert.deepEqual(list.map((p) => `${p.name} ${p.address}`), ['web-0 10.0.0.7']);
    assert.equal(server.queries.length, 1, 'one query: the SRV');
  } finally {
    client.close();
    await server.close();
  }
  await assertNoLeaks(before);
});

test('ordinalOf reads a trailing -N of 1 to 9 digits, as /-(\\d{1,9})$/ does', () => {
  const byRegex = (name: string): number | null => {
    const m = /-(\d{1,9})$/.exec(name);
    return m ? Number(m[1]) : null;
  };
  const cases = ['web-0', 'web-12', 'web-007', '-5', '5', 'web', 'web-', 'web-1a', 'a-b-3', 'web-123456789', 'web-1234567890', 'we\\.b-1', 'web-٣', ''];
  let seed = 3;
  const r = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 3000; i++) {
    let s = '';
    const chars = 'ab-09.\\';
    for (let n = Math.floor(r() * 14); n > 0; n--) s += chars[Math.floor(r() * chars.length)];
    cases.push(s);
  }
  for (const name of cases) assert.equal(ordinalOf(name), byRegex(name), JSON.stringify(name));
  assert.equal(ordinalOf(null), null);
});
