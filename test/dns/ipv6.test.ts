/**
 * IPv6 text is made canonical by our own code (not net.SocketAddress, which Bun leaves as
 * given): the form inet_ntop writes, so a server given as `0::1` matches the `::1` a socket reports.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalIpv6, formatIpv6, parseIpv6 } from '../../src/dns/ipv6.ts';
import { DnsClient } from '../../src/dns/client.ts';
import { parseServerAddress, sameAddress } from '../../src/dns/server-address.ts';
import { rawUdpServer } from '../helpers/raw-servers.ts';
import { answerA } from '../helpers/wire-builder.ts';

describe('canonicalIpv6', () => {
  test('the form inet_ntop (glibc, libuv) writes', () => {
    const cases: [string, string][] = [
      ['0::1', '::1'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['::', '::'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['1::', '1::'],
      ['::2', '::2'],
      ['FE80::A', 'fe80::a'],
      ['fd00:0000:0000:0000:0000:0000:0000:000a', 'fd00::a'],
      ['1:0:0:1:0:0:0:1', '1:0:0:1::1'], // the longest run of zeros
      ['1:0:0:0:1:0:0:1', '1::1:0:0:1'], // the first of equally long runs
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'], // a single zero group is not `::`
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['::ffff:7f00:1', '::ffff:127.0.0.1'], // IPv4-mapped keeps a dotted tail
      ['::0:ffff:1.2.3.4', '::ffff:1.2.3.4'],
      ['0:0:0:0:0:ffff:0:1', '::ffff:0.0.0.1'],
      ['::7f00:1', '::127.0.0.1'], // IPv4-compatible too
      ['::0.0.0.1', '::1'],
      ['64:ff9b::1.2.3.4', '64:ff9b::102:304'], // other embedded IPv4 is hex
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
      ['fe80::0001%eth0', 'fe80::1%eth0'], // the zone is kept as given
    ];
    for (const [given, canonical] of cases) assert.equal(canonicalIpv6(given), canonical, given);
  });

  test('text that is not an IPv6 address is null', () => {
    for (const bad of ['', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', '::1.2.3', '::1.2.3.04', '::1.2.3.256',
      '1:2:3:4:5:6:7::8', '1:2:3:4:5:6:7:8::', '::g', ':1::', '1::1:', '1::1.2.3.4:5', '127.0.0.1', 'localhost', '%eth0']) {
      assert.equal(canonicalIpv6(bad), null, bad);
    }
  });

  test('properties: parse(format(x)) is x; the text is the URL standard form unless IPv4 is embedded', () => {
    // Groups biased to zero so that runs of zeros, ties and the edges all come up.
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const text = formatIpv6(groups);
        assert.deepEqual(parseIpv6(text), groups);
        assert.equal(canonicalIpv6(text), text, 'canonical text is a fixed point');
        assert.equal(canonicalIpv6(text.toUpperCase()), text);
        if (!text.includes('.')) assert.equal(new URL(`http://[${text}]/`).hostname, `[${text}]`);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('server addresses compare as addresses', () => {
  test('parseServerAddress gives the canonical host; sameAddress matches other spellings of it', () => {
    assert.equal(parseServerAddress('[0::1]:5300').host, '::1');
    assert.equal(parseServerAddress('[0::1]:5300').label, '[::1]:5300');
    assert.equal(parseServerAddress('FD00:0::A').host, 'fd00::a');
    assert.ok(sameAddress('::1', '::1'));
    assert.ok(sameAddress('0:0:0:0:0:0:0:1', '::1'));
    assert.ok(sameAddress('FD00::A', 'fd00::a'));
    assert.ok(sameAddress('127.0.0.1', '127.0.0.1'));
    assert.ok(!sameAddress('::2', '::1'));
    assert.ok(!sameAddress('127.0.0.2', '127.0.0.1'));
    assert.ok(!sameAddress('::ffff:127.0.0.1', '127.0.0.1'), 'another family is another source');
  });

  test('a server given as [0::1] answers over UDP on ::1: its answers are not dropped as spoofed', async () => {
    const server = await rawUdpServer((q, reply) => reply.send(answerA(q.msg, ['10.0.0.6'])), '::1');
    const c = new DnsClient({ servers: [`[0:0::1]:${server.port}`], search: [], ndots: 1, timeout: 5000, attempts: 1 });
    try {
      const res = await c.query('web-0.web.default.svc.cluster.local', 'A');
      assert.equal(res.server, `[::1]:${server.port}`);
      assert.equal(c.stats.dropped, 0);
    } finally {
      c.close();
      await server.close();
    }
  });
});
