import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineList, type DeadlineNode } from '../../src/dns/deadlines.ts';
import { until } from '../helpers/handles.ts';

function node(): DeadlineNode & { expired: boolean } {
  return {
    deadline: 0,
    prevDeadline: null,
    nextDeadline: null,
    inDeadlines: false,
    expired: false,
    expire() {
      this.expired = true;
    },
  };
}

const timeouts = (): number => process.getActiveResourcesInfo().filter((k) => k === 'Timeout').length;
/** Node lists live (ref'd) timers in getActiveResourcesInfo(); Bun lists none, so there only the behaviour is checked. */
const countsTimers = ((): boolean => {
  const t = setTimeout(() => {}, 1000);
  const seen = timeouts() > 0;
  clearTimeout(t);
  return seen;
})();
const assertTimeouts = (expected: number, message?: string): void => {
  if (countsTimers) assert.equal(timeouts(), expected, message);
};

test('an emptied list keeps its timer for the next deadline, without keeping the process alive', async () => {
  const list = new DeadlineList();
  const before = timeouts();
  const a = node();
  list.add(a, 60_000);
  assertTimeouts(before + 1);
  list.remove(a);
  assertTimeouts(before, 'the kept timer is unref’d');
  const b = node();
  list.add(b, 60_000);
  assertTimeouts(before + 1, 'the next deadline refs it again');
  list.remove(b);
  assertTimeouts(before);
  assert.equal(a.expired || b.expired, false);
});

test('a deadline earlier than the kept timer is not fired late', async () => {
  const list = new DeadlineList();
  const long = node();
  list.add(long, 60_000);
  list.remove(long);
  const short = node();
  list.add(short, 20);
  // The kept timer would fire after 60 s: the short deadline must expire long before.
  await until(() => short.expired, 'the 20 ms deadline to expire', 20_000);
  assert.equal(short.inDeadlines, false);
});

test('deadlines after the kept timer expire when it fires and re-arms', async () => {
  const list = new DeadlineList();
  const first = node();
  list.add(first, 20);
  list.remove(first);
  const second = node();
  list.add(second, 60);
  await until(() => second.expired, 'the second deadline to expire', 20_000);
  assert.equal(first.expired, false);
});
