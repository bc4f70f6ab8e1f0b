/**
 * NODE_DEBUG read by our own code where the runtime's util.debuglog never prints (Bun).
 * The output itself is checked end to end by the NODE_DEBUG test in client-search.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDebugLogger, debugEnabled } from '../../src/dns/diagnostics.ts';

describe('NODE_DEBUG', () => {
  test('names a section as node reads it: a list, any case, * wildcards', () => {
    for (const value of ['headless-sd', 'HEADLESS-SD', 'net,headless-sd', 'net, headless-sd', 'headless-*', '*', 'h*-sd']) {
      assert.ok(debugEnabled(value, 'headless-sd'), value);
    }
    for (const value of [undefined, '', 'headless', 'headless-sd2', 'xheadless-sd', 'net,http', 'headless.sd', ',']) {
      assert.ok(!debugEnabled(value, 'headless-sd'), String(value));
    }
  });

  test('a logger is enabled exactly when NODE_DEBUG names its section', () => {
    assert.equal(createDebugLogger('headless-sd-test-section', '').enabled, false);
    assert.equal(createDebugLogger('headless-sd-test-section', 'net').enabled, false);
    assert.equal(createDebugLogger('headless-sd-test-section', 'net,headless-sd-test-*').enabled, true);
  });
});
