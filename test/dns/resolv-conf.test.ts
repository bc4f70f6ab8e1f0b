import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultResolvConf, parseResolvConf, readResolvConf } from '../../src/dns/resolv-conf.ts';
import { parseServerAddress } from '../../src/dns/server-address.ts';

/** glibc's settings when resolv.conf says nothing, written out here so a change to them shows. */
const GLIBC_DEFAULTS = {
  nameservers: ['127.0.0.1'],
  search: [],
  ndots: 1,
  timeout: 5000,
  attempts: 2,
  rotate: false,
  singleRequest: false,
  singleRequestReopen: false,
  useVc: false,
};

describe('parseResolvConf', () => {
  test("a Kubernetes pod's resolv.conf", () => {
    const conf = parseResolvConf(
      'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
    );
    assert.deepEqual(conf, {
      ...GLIBC_DEFAULTS,
      nameservers: ['10.96.0.10'],
      search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      ndots: 5,
    });
  });

  test('empty text gives the defaults', () => {
    assert.deepEqual(parseResolvConf(''), defaultResolvConf());
    assert.deepEqual(defaultResolvConf(), GLIBC_DEFAULTS);
  });

  test('at most 3 nameservers, IPv6 too, bad ones skipped', () => {
    const conf = parseResolvConf(
      ['nameserver 10.0.0.1', 'nameserver not-an-ip', 'nameserver fd00::53', 'nameserver\t10.0.0.3', 'nameserver 10.0.0.4'].join('\n'),
    );
    assert.deepEqual(conf.nameservers, ['10.0.0.1', 'fd00::53', '10.0.0.3']);
  });

  test('search and domain: the last one wins', () => {
    assert.deepEqual(parseResolvConf('search a.example b.example\ndomain c.example\n').search, ['c.example']);
    assert.deepEqual(parseResolvConf('domain c.example\nsearch a.example b.example.\n').search, ['a.example', 'b.example']);
    assert.deepEqual(parseResolvConf('search a..bad good.example .\n').search, ['good.example']);
  });

  test('options with their caps; unknown options and junk ignored', () => {
    const conf = parseResolvConf('options ndots:20 timeout:99 attempts:9 rotate edns0 single-request ndots:x\n');
    assert.equal(conf.ndots, 15);
    assert.equal(conf.timeout, 30_000);
    assert.equal(conf.attempts, 5);
    assert.equal(conf.rotate, true);
    const low = parseResolvConf('options ndots:0 timeout:0 attempts:0\n');
    assert.equal(low.ndots, 0);
    assert.equal(low.timeout, 1000);
    assert.equal(low.attempts, 1);
    const later = parseResolvConf('options ndots:2\noptions timeout:3\n');
    assert.equal(later.ndots, 2);
    assert.equal(later.timeout, 3000);
  });

  test('comments with # and ;, CRLF line ends, leading blanks', () => {
    const conf = parseResolvConf(
      '# generated\r\n; by someone\r\n  nameserver 10.0.0.9 # the cluster DNS\r\nsearch a.example ; b.example\r\n#nameserver 10.0.0.8\r\n',
    );
    assert.deepEqual(conf.nameservers, ['10.0.0.9']);
    assert.deepEqual(conf.search, ['a.example']);
  });
});

describe('readResolvConf', () => {
  test('reads a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'headless-sd-resolv-'));
    try {
      const path = join(dir, 'resolv.conf');
      await writeFile(path, 'nameserver 127.0.0.53\nsearch ns1.svc.cluster.local\noptions ndots:5 timeout:2 attempts:3\n');
      assert.deepEqual(readResolvConf(path), {
        nameservers: ['127.0.0.53'],
        search: ['ns1.svc.cluster.local'],
        ndots: 5,
        timeout: 2000,
        attempts: 3,
        rotate: false,
        singleRequest: false,
        singleRequestReopen: false,
        useVc: false,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a missing file gives the defaults', () => {
    assert.deepEqual(readResolvConf('/nonexistent/headless-sd/resolv.conf'), defaultResolvConf());
  });
});

describe('parseServerAddress', () => {
  test('host, host:port, [v6], [v6]:port, bare v6', () => {
    assert.deepEqual(parseServerAddress('10.96.0.10'), { host: '10.96.0.10', port: 53, family: 4, label: '10.96.0.10:53' });
    assert.deepEqual(parseServerAddress('127.0.0.1:5300'), { host: '127.0.0.1', port: 5300, family: 4, label: '127.0.0.1:5300' });
    assert.deepEqual(parseServerAddress('[::1]'), { host: '::1', port: 53, family: 6, label: '[::1]:53' });
    assert.deepEqual(parseServerAddress('[::1]:5300'), { host: '::1', port: 5300, family: 6, label: '[::1]:5300' });
    assert.deepEqual(parseServerAddress('fd00::A'), { host: 'fd00::a', port: 53, family: 6, label: '[fd00::a]:53' });
    assert.equal(parseServerAddress('[0:0:0:0:0:0:0:1]:53').host, '::1');
  });

  test('bad addresses are InvalidArgumentError (ERR_INVALID_ARG_VALUE)', () => {
    for (const bad of ['', 'dns.example', 'dns.example:53', '10.0.0.1:0', '10.0.0.1:65536', '10.0.0.1:x', '[::1', '[::1]x', '[10.0.0.1]:53', '1.2.3:53', '::1:99999x']) {
      assert.throws(() => parseServerAddress(bad), { code: 'ERR_INVALID_ARG_VALUE' }, bad);
    }
  });
});
