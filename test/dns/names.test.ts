import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkName, countDots } from '../../src/dns/name.ts';
import { searchNames } from '../../src/dns/search.ts';
import { DnsError } from '../../src/dns/errors.ts';

/** The rules, written plainly: what a valid name in text form is. */
function isValid(name: string): boolean {
  if (name === '.') return true;
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length === 0 || bare.length > 253) return false;
  // Printable ASCII, space included, but not at either end (a paste slip).
  if (![...bare].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) <= 0x7e)) return false;
  if (bare.startsWith(' ') || bare.endsWith(' ')) return false;
  return bare.split('.').every((label) => label.length >= 1 && label.length <= 63);
}

const labelChar = fc.constantFrom(...'abcxyz019-_.A Z\u00e9'.split(''));
const label = fc.oneof(
  fc.string({ unit: labelChar, minLength: 0, maxLength: 70 }),
  fc.integer({ min: 60, max: 66 }).map((n) => 'a'.repeat(n)),
);
const nameArb = fc.oneof(
  fc.array(label, { minLength: 0, maxLength: 8 }).map((labels) => labels.join('.')),
  fc.tuple(fc.array(label, { minLength: 1, maxLength: 8 }), fc.boolean()).map(([l, dot]) => l.join('.') + (dot ? '.' : '')),
  // around the 253 limit: 4 labels of 62/63 chars
  fc.array(fc.integer({ min: 60, max: 63 }), { minLength: 4, maxLength: 4 }).map((ns) => ns.map((n) => 'b'.repeat(n)).join('.')),
  fc.string({ maxLength: 20 }),
);

describe('checkName', () => {
  test('accepts exactly the valid names, and returns them without the trailing dot', () => {
    fc.assert(
      fc.property(nameArb, (name) => {
        let out: string | undefined;
        let error: unknown;
        try {
          out = checkName(name, 'A');
        } catch (err) {
          error = err;
        }
        if (isValid(name)) {
          assert.equal(error, undefined, `rejected valid ${JSON.stringify(name)}`);
          assert.equal(out, name === '.' ? '' : name.replace(/\.$/, ''));
        } else {
          assert.ok(error instanceof DnsError, `accepted invalid ${JSON.stringify(name)}`);
          assert.equal(error.code, 'EBADNAME');
          assert.equal(error.rrtype, 'A');
        }
      }),
      { numRuns: 5000 },
    );
  });

  test('examples at the limits', () => {
    assert.equal(checkName(`${'a'.repeat(63)}.b`), `${'a'.repeat(63)}.b`);
    assert.throws(() => checkName(`${'a'.repeat(64)}.b`), { code: 'EBADNAME' });
    const max = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');
    assert.equal(max.length, 253);
    assert.equal(checkName(max), max);
    assert.equal(checkName(`${max}.`), max);
    assert.throws(() => checkName(`${max}e`), { code: 'EBADNAME' });
    assert.throws(() => checkName('a..b'), { code: 'EBADNAME' });
    assert.throws(() => checkName('.a'), { code: 'EBADNAME' });
    assert.throws(() => checkName(''), { code: 'EBADNAME' });
  });
});

describe('searchNames (glibc res_nsearch order)', () => {
  const search = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];

  test("a Kubernetes pod's resolver (ndots 5)", () => {
    assert.deepEqual(searchNames('nginx', search, 5), [
      'nginx.default.svc.cluster.local',
      'nginx.svc.cluster.local',
      'nginx.cluster.local',
      'nginx',
    ]);
    assert.deepEqual(searchNames('_web._tcp.nginx.default.svc.cluster.local', search, 5), [
      '_web._tcp.nginx.default.svc.cluster.local',
      '_web._tcp.nginx.default.svc.cluster.local.default.svc.cluster.local',
      '_web._tcp.nginx.default.svc.cluster.local.svc.cluster.local',
      '_web._tcp.nginx.default.svc.cluster.local.cluster.local',
    ]);
  });

  test('a trailing dot means absolute: no search', () => {
    assert.deepEqual(searchNames('nginx.', search, 5), ['nginx']);
    assert.deepEqual(searchNames('.', search, 5), ['']);
  });

  test('enough dots: as-is first', () => {
    assert.deepEqual(searchNames('nginx.default', search, 1), ['nginx.default', ...search.map((d) => `nginx.default.${d}`)]);
  });

  test('candidates too long to be names are skipped', () => {
    const long = 'a'.repeat(63) + '.' + 'b'.repeat(63) + '.' + 'c'.repeat(63) + '.' + 'd'.repeat(50);
    assert.deepEqual(searchNames(long, search, 5), [long]);
  });

  test('properties: every candidate once, as-is included, order by ndots', () => {
    const domain = fc.array(fc.stringMatching(/^[a-z]{1,8}$/), { minLength: 1, maxLength: 3 }).map((l) => l.join('.'));
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9]{1,10}$/), { minLength: 1, maxLength: 5 }).map((l) => l.join('.')),
        fc.uniqueArray(domain, { maxLength: 6 }),
        fc.integer({ min: 0, max: 15 }),
        fc.boolean(),
        (name, domains, ndots, absolute) => {
          const out = searchNames(absolute ? `${name}.` : name, domains, ndots);
          if (absolute) return assert.deepEqual(out, [name]);
          assert.equal(out.length, domains.length + 1);
          assert.equal(new Set(out).size, out.length);
          const expanded = domains.map((d) => `${name}.${d}`);
          if (countDots(name) >= ndots) assert.deepEqual(out, [name, ...expanded]);
          else assert.deepEqual(out, [...expanded, name]);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
