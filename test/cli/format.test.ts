import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makePeer } from '../../src/peer/index.ts';
import type { Peer } from '../../src/peer/index.ts';
import { DnsError, DnsErrorCode } from '../../src/dns/errors.ts';
import { KubernetesApiError, KubernetesApiErrorCode } from '../../src/kubernetes/errors.ts';
import {
  describePeers,
  formatAddress,
  formatChange,
  formatChangeJson,
  formatPeersJson,
  formatPeerTable,
  paint,
  PEER_COLUMNS,
  useColor,
} from '../../src/cli/format.ts';
import { durationValue, parsePeerArgs } from '../../src/cli/args.ts';
import { CliUsageError, ExitCode, exitCodeOf, formatError } from '../../src/cli/exit-codes.ts';

const notSelf = { addresses: new Set<string>(), hostname: 'somewhere-else' };
const peer = (name: string, address: string, port: number | null = 80, ttl = 5): Peer =>
  makePeer({ host: `${name}.nginx.default.svc.cluster.local.`, address, port, ttl }, notSelf);
const web = [peer('web-0', '10.1.0.1'), peer('web-1', '10.1.0.2'), peer('web-10', 'fd00::a')];
const strip = (text: string): string => text.replace(/\u001b\[\d+m/g, '');

describe('peer table', () => {
  test('a header and aligned columns, no trailing spaces', () => {
    const lines = formatPeerTable(web).split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^NAME +ORDINAL +ADDRESS +PORT +HOST +TTL +SELF$/);
    // Every column starts where its header does.
    for (const column of PEER_COLUMNS) {
      const at = lines[0]!.indexOf(column);
      for (const row of lines.slice(1)) assert.notEqual(row[at], ' ', `${column} in ${JSON.stringify(row)}`);
      if (at > 0) for (const row of lines.slice(1)) assert.equal(row[at - 1], ' ');
    }
    assert.match(lines[3]!, /^web-10 +10 +fd00::a +80 +web-10\.nginx\.default\.svc\.cluster\.local +5 +-$/);
    for (const line of lines) assert.equal(line, line.trimEnd());
  });

  test('unknown fields show as -, self as yes', () => {
    const bare = makePeer({ host: null, address: '10.1.0.9', port: null, ttl: 30 }, { addresses: new Set(['10.1.0.9']), hostname: 'x' });
    const [, row] = formatPeerTable([bare]).split('\n');
    assert.deepEqual(row!.split(/ +/), ['-', '-', '10.1.0.9', '-', '-', '30', 'yes']);
    assert.equal(formatPeerTable([]), 'NAME  ORDINAL  ADDRESS  PORT  HOST  TTL  SELF\n');
  });

  test('colors: only when asked, and they do not move the columns', () => {
    const plain = formatPeerTable(web);
    const colored = formatPeerTable(web, { color: true });
    assert.notEqual(colored, plain);
    assert.match(colored, /\u001b\[1mNAME/);
    assert.equal(strip(colored), plain);
    assert.equal(paint('x', 'red', false), 'x');
    assert.equal(paint('x', 'red', true), '\u001b[31mx\u001b[39m');
  });

  test('useColor: a TTY, NO_COLOR unset or empty, and a terminal with colors', () => {
    const tty = { isTTY: true, hasColors: () => true };
    assert.equal(useColor(tty, {}), true);
    assert.equal(useColor(tty, { NO_COLOR: '' }), true);
    assert.equal(useColor(tty, { NO_COLOR: '1' }), false);
    assert.equal(useColor({ isTTY: false, hasColors: () => true }, {}), false);
    assert.equal(useColor({}, {}), false);
    assert.equal(useColor({ isTTY: true, hasColors: () => false }, {}), false);
    assert.equal(useColor({ isTTY: true }, {}), true);
  });
});

describe('changes and JSON', () => {
  test('+ and - lines: removed first, IPv6 in brackets, no port without one', () => {
    const change = { peers: [web[0]!, web[2]!], added: [web[2]!], removed: [web[1]!], updated: [] };
    assert.equal(formatChange(change), '- web-1 10.1.0.2:80\n+ web-10 [fd00::a]:80\n');
    assert.equal(strip(formatChange(change, { color: true })), formatChange(change));
    assert.equal(formatAddress(peer('a-0', '10.0.0.1', null)), '10.0.0.1');
    assert.equal(formatAddress(peer('a-0', 'fd00::1', null)), 'fd00::1');
    assert.equal(describePeers([]), 'no peers');
    assert.equal(describePeers(web.slice(0, 1)), '1 peer: web-0');
    assert.equal(describePeers(web), '3 peers: web-0, web-1, web-10');
  });

  test('JSON array and NDJSON change lines round-trip the peers', () => {
    assert.deepEqual(JSON.parse(formatPeersJson(web)), web);
    const change = { peers: web, added: web, removed: [], updated: [] };
    const line = formatChangeJson(change);
    assert.equal(line.indexOf('\n'), line.length - 1);
    assert.deepEqual(JSON.parse(line), change);
  });
});

describe('arguments', () => {
  test('the shared options become peers() options', () => {
    const args = parsePeerArgs(
      {
        port: 'web',
        namespace: 'db',
        server: ['127.0.0.1:5353', '[::1]:53'],
        family: '6',
        timeout: '2s',
        attempts: '3',
        'cluster-domain': 'example.test',
        'allow-empty': true,
        json: true,
      },
      ['nginx'],
    );
    assert.deepEqual(args, {
      service: 'nginx',
      options: {
        port: 'web',
        namespace: 'db',
        clusterDomain: 'example.test',
        servers: ['127.0.0.1:5353', '[::1]:53'],
        family: 6,
        timeout: 2000,
        attempts: 3,
        allowEmpty: true,
      },
      json: true,
      debug: false,
    });
    assert.deepEqual(parsePeerArgs({ port: '8080' }, ['nginx']).options, { port: 8080 });
    assert.deepEqual(parsePeerArgs({}, ['nginx']).options, { port: null });
    assert.deepEqual(parsePeerArgs({ source: 'kubernetes', 'api-url': 'http://127.0.0.1:8001' }, ['nginx.db']).options, {
      port: null,
      source: 'kubernetes',
      kubernetes: { url: 'http://127.0.0.1:8001' },
    });
  });

  test('bad command lines are CliUsageError', () => {
    const bad: [Record<string, string | boolean | string[]>, string[]][] = [
      [{}, []],
      [{}, ['a', 'b']],
      [{}, ['  ']],
      [{ port: 'no_underscores' }, ['nginx']],
      [{ port: '70000' }, ['nginx']],
      [{ family: '5' }, ['nginx']],
      [{ protocol: 'quic' }, ['nginx']],
      [{ source: 'etcd' }, ['nginx']],
      [{ server: ['dns.example'] }, ['nginx']],
      [{ server: ['127.0.0.1:99999'] }, ['nginx']],
      [{ source: 'kubernetes', server: ['127.0.0.1'] }, ['nginx']],
      [{ 'api-url': 'http://127.0.0.1:8001' }, ['nginx']],
      [{ source: 'kubernetes', 'api-url': 'ftp://x' }, ['nginx']],
      [{ timeout: '0' }, ['nginx']],
      [{ timeout: 'soon' }, ['nginx']],
      [{ attempts: '0' }, ['nginx']],
      [{ namespace: 'db' }, ['nginx.other']],
    ];
    for (const [values, positionals] of bad) {
      assert.throws(() => parsePeerArgs(values, positionals), CliUsageError, JSON.stringify([values, positionals]));
    }
  });

  test('durations: ms by default, ms and s suffixes', () => {
    assert.equal(durationValue({ t: '250' }, 't'), 250);
    assert.equal(durationValue({ t: '250ms' }, 't'), 250);
    assert.equal(durationValue({ t: '1.5s' }, 't'), 1500);
    assert.equal(durationValue({}, 't'), undefined);
    assert.throws(() => durationValue({ t: '-1' }, 't'), CliUsageError);
    assert.throws(() => durationValue({ t: '2h' }, 't'), CliUsageError);
  });
});

describe('exit codes and error lines', () => {
  test('each error code maps to its exit code', () => {
    const dns = (code: (typeof DnsErrorCode)[keyof typeof DnsErrorCode]): DnsError => new DnsError(code, 'x');
    assert.equal(exitCodeOf(dns(DnsErrorCode.NOTFOUND)), ExitCode.NOT_FOUND);
    assert.equal(exitCodeOf(dns(DnsErrorCode.NODATA)), ExitCode.NOT_FOUND);
    for (const code of [DnsErrorCode.TIMEOUT, DnsErrorCode.CONNREFUSED, DnsErrorCode.SERVFAIL, DnsErrorCode.REFUSED, DnsErrorCode.BADRESP]) {
      assert.equal(exitCodeOf(dns(code)), ExitCode.UNAVAILABLE, code);
    }
    assert.equal(exitCodeOf(dns(DnsErrorCode.BADNAME)), ExitCode.USAGE);
    assert.equal(exitCodeOf(new CliUsageError('x')), ExitCode.USAGE);
    for (const code of [KubernetesApiErrorCode.CONNECTION, KubernetesApiErrorCode.TIMEOUT, KubernetesApiErrorCode.FORBIDDEN, KubernetesApiErrorCode.CONFIG]) {
      assert.equal(exitCodeOf(new KubernetesApiError(code, 'x')), ExitCode.UNAVAILABLE, code);
    }
    assert.equal(exitCodeOf(new KubernetesApiError(KubernetesApiErrorCode.NOTFOUND, 'x')), ExitCode.NOT_FOUND);
    assert.equal(exitCodeOf(new Error('a bug')), ExitCode.NOT_FOUND);
    assert.equal(exitCodeOf('thrown string'), ExitCode.NOT_FOUND);
  });

  test('one line without --debug; the stack and causes with it; CLI flag names in hints', () => {
    const cause = new Error('socket trouble');
    const err = new DnsError(DnsErrorCode.NOTFOUND, 'no ready endpoints\n(pass allowEmpty: true to accept an empty set)', { cause });
    const line = formatError(err);
    assert.equal(line, 'headless-sd: no ready endpoints (pass --allow-empty to accept an empty set)\n');
    const long = formatError(err, true, '(note)');
    assert.ok(long.startsWith('headless-sd: no ready endpoints (pass --allow-empty to accept an empty set) (note)\n'));
    assert.match(long, /\[ENOTFOUND\] DnsError: no ready endpoints/);
    assert.match(long, /Caused by: Error: socket trouble\n\s+at /);
  });
});
