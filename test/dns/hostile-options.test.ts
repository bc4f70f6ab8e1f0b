/**
 * Every DnsClient option, and every call's arguments, with hostile values: each ends in an
 * InvalidArgumentError (or, for names, a DnsError EBADNAME), never a RangeError, a TypeError of
 * another kind, a hang, or a silently wrapped timer.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsClient, type DnsClientOptions } from '../../src/dns/client.ts';
import { DnsError } from '../../src/dns/errors.ts';
import { InvalidArgumentError } from '../../src/dns/invalid-argument.ts';

/** Values no option accepts. */
const HOSTILE: unknown[] = [
  NaN, Infinity, -Infinity, -1, 2 ** 31, 2 ** 53, 1.5, '5', '', 'x', null, true, {}, [], () => 1,
  Symbol('s'), 10n, Object.create(null), JSON.parse('{"__proto__": {"polluted": true}}'),
];

/** Each option with a base value that works, and hostile values beyond {@link HOSTILE} for it. */
const OPTIONS: Record<keyof DnsClientOptions, { extra: unknown[]; skip?: (v: unknown) => boolean }> = {
  servers: { extra: [['x'], [''], ['127.0.0.1:0'], ['127.0.0.1:65536'], [5], [null], ['[::1'], Array(65).fill('127.0.0.1'), ['dns.example']] },
  timeout: { extra: [0, 2_147_483_648, 1e12] },
  attempts: { extra: [0, 1001] },
  udpPayloadSize: { extra: [511, 65536] },
  tcp: { extra: ['never', 'ALWAYS'] },
  search: { skip: (v) => Array.isArray(v) && v.length === 0, extra: [['a..b'], [5], ['x'.repeat(300)], Array(65).fill('a.example'), 'x'] },
  ndots: { extra: [256] },
  rotate: { skip: (v) => typeof v === 'boolean', extra: ['true', 0, 1] },
  maxQueriesPerSocket: { extra: [0] },
  maxInflight: { extra: [0, 65536] },
  tcpIdleTimeout: { extra: [2_147_483_648] },
  resolvConf: { extra: [5, {}, Buffer.from('/etc/resolv.conf')], skip: (v) => v === '' || v === '5' || v === 'x' },
  maxTcpInflight: { extra: [0, 65536] },
  maxTcpConnections: { extra: [0, 65] },
  failover: { skip: (v) => typeof v === 'boolean', extra: ['false', 0] },
  failoverRetryDelay: { extra: [2_147_483_648] },
  singleRequest: { skip: (v) => typeof v === 'boolean', extra: ['yes', 1] },
  singleRequestReopen: { skip: (v) => typeof v === 'boolean', extra: ['yes', 1] },
};

const BASE: DnsClientOptions = { servers: ['127.0.0.1:53'], search: [], ndots: 1, timeout: 1000, attempts: 1 };

function assertInvalid(fn: () => unknown, what: string): void {
  try {
    const c = fn() as DnsClient;
    c.close();
  } catch (err) {
    assert.ok(err instanceof InvalidArgumentError, `${what}: ${String(err)} is not an InvalidArgumentError`);
    assert.equal((err as InvalidArgumentError).code, 'ERR_INVALID_ARG_VALUE');
    return;
  }
  assert.fail(`${what} was accepted`);
}

function show(v: unknown): string {
  if (typeof v === 'symbol' || typeof v === 'bigint' || typeof v === 'function') return typeof v;
  try {
    return JSON.stringify(v)?.slice(0, 40) ?? String(v);
  } catch {
    return String(v);
  }
}

describe('hostile DnsClient options', () => {
  for (const [name, { extra, skip }] of Object.entries(OPTIONS)) {
    test(`option ${name}`, () => {
      for (const value of [...HOSTILE, ...extra]) {
        if (skip?.(value)) continue;
        // resolvConf is a path: any string is one (a missing file means defaults, as in glibc).
        if (name === 'resolvConf' && typeof value === 'string') continue;
        assertInvalid(() => new DnsClient({ ...BASE, [name]: value } as DnsClientOptions), `${name}: ${show(value)}`);
      }
    });
  }

  test('the options argument itself, inherited hostile values, and getters that throw', () => {
    for (const options of [null, 5, 'x', [], true]) assertInvalid(() => new DnsClient(options as DnsClientOptions), `options ${show(options)}`);
    assertInvalid(() => new DnsClient(Object.create({ ...BASE, timeout: NaN }) as DnsClientOptions), 'inherited timeout NaN');
    const throwing = { ...BASE, get attempts(): number { throw new RangeError('boom'); } };
    assertInvalid(() => new DnsClient(throwing), 'a throwing getter');
    const polluted = JSON.parse('{"__proto__": {"timeout": -1}, "servers": ["127.0.0.1"], "search": []}') as DnsClientOptions;
    const c = new DnsClient(polluted);
    assert.ok(c.timeout > 0, 'an own __proto__ key is not an option');
    c.close();
  });

  test('query() and resolve*() arguments: typed errors, rejected (never thrown)', async () => {
    const c = new DnsClient(BASE);
    try {
      for (const name of [5, null, undefined, {}, '', 'a..b', 'x'.repeat(300), 'a\nb'] as unknown as string[]) {
        await assert.rejects(c.resolve4(name), (err: unknown) => err instanceof DnsError && err.code === 'EBADNAME', `name ${show(name)}`);
      }
      for (const type of ['NOPE', 5, null, '__proto__', 'constructor'] as unknown as 'A'[]) {
        await assert.rejects(c.query('a.example', type), InvalidArgumentError, `type ${show(type)}`);
      }
      for (const options of [null, 5, 'x', { signal: 'abort' }, { signal: {} }] as unknown as object[]) {
        await assert.rejects(c.resolve4('a.example', options), InvalidArgumentError, `options ${show(options)}`);
        await assert.rejects(c.resolveSrv('a.example', options), InvalidArgumentError, `options ${show(options)}`);
      }
    } finally {
      c.close();
    }
  });
});
