import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFieldSelector, parseLabelSelector, SelectorError } from '../../src/testing/api/selectors.ts';

const labels = { app: 'web', tier: 'front', 'kubernetes.io/service-name': 'nginx', n: '5', empty: '' };
const matches = (selector: string, on: Record<string, string> = labels): boolean => parseLabelSelector(selector)(on);
const meta = { key: 'default/nginx-abcde', namespace: 'default', name: 'nginx-abcde', labels: {} };

describe('label selectors: the API server grammar', () => {
  test('equality, inequality, sets, existence, comparisons, and-ed by commas', () => {
    const cases: [string, boolean][] = [
      ['', true],
      ['app=web', true],
      ['app==web', true],
      ['app = web', true],
      ['app=api', false],
      ['app!=api', true],
      ['missing!=x', true],
      ['app!=web', false],
      ['kubernetes.io/service-name=nginx', true],
      ['app in (api, web)', true],
      ['app in (api)', false],
      ['missing in (x)', false],
      ['app notin (api,db)', true],
      ['app notin (web)', false],
      ['missing notin (x)', true],
      ['tier', true],
      ['missing', false],
      ['!missing', true],
      ['!app', false],
      ['n>3', true],
      ['n<3', false],
      ['app>3', false],
      ['empty=', true],
      ['empty in (,x)', true],
      ['app=web,tier=front', true],
      ['app=web,tier=back', false],
      ['app in (web),!missing,tier,n>4', true],
    ];
    for (const [selector, expected] of cases) assert.equal(matches(selector), expected, selector);
  });

  test('what the API server cannot parse is a SelectorError', () => {
    for (const bad of ['app=web,', ',app', 'app in web', 'app in (web', 'app=(web)', '-app=web', 'app=-web-', 'n>x', 'a b', '!', 'app=web=1']) {
      assert.throws(() => parseLabelSelector(bad), SelectorError, bad);
    }
    assert.equal(matches('app==', { app: '' }), true, 'k== is k with an empty value');
  });
});

describe('field selectors: metadata.name and metadata.namespace', () => {
  test('=, ==, != and commas', () => {
    assert.equal(parseFieldSelector('metadata.name=nginx-abcde')(meta), true);
    assert.equal(parseFieldSelector('metadata.name==nginx-abcde,metadata.namespace=default')(meta), true);
    assert.equal(parseFieldSelector('metadata.namespace!=default')(meta), false);
    assert.equal(parseFieldSelector('metadata.name!=other')(meta), true);
    assert.equal(parseFieldSelector('')(meta), true);
  });

  test('other fields are not supported, as the API server says', () => {
    assert.throws(() => parseFieldSelector('spec.nodeName=node-1'), { name: 'SelectorError', message: 'field label not supported: spec.nodeName' });
    assert.throws(() => parseFieldSelector('metadata.name'), SelectorError);
  });
});
