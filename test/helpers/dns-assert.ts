import assert from 'node:assert/strict';
import { DnsError } from '../../src/dns/errors.ts';

/** Awaits `promise`, asserts it rejects with a DnsError of `code` (and `message`), and returns the error. */
export async function rejectsWithDnsError(promise: Promise<unknown>, code: string, message?: RegExp): Promise<DnsError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof DnsError, `not a DnsError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}`);
}
