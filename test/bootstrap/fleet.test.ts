/**
 * bootstrap() as a fleet: many members of one StatefulSet, each an async task with its own
 * pod identity and its own DnsClient (real DNS over UDP/TCP to the test server), started
 * after random delays against one test cluster with DNS faults. Members probe each other
 * over HTTP on their pod addresses in every fourth formation, the rolling restarts and the
 * hidden-member test; the other formations use the fleet's in-memory probe, so that 200
 * formations stay cheap on a loaded 2-core machine.
 *
 * Time is as in production for the start delays (up to 3 s) but shorter for the rules'
 * clocks (stableFor 500 ms instead of 5 s, DNS polls and probes every 250 ms instead of
 * 1 s): the shape is the same, a formation takes seconds instead of tens of seconds.
 * Formations run 20 at a time. Set FLEET_SEED to replay a run.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createFleet, runFleet } from '../../src/testing/index.ts';
import type { FleetOptions, FleetOutcome } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';

const FORMATIONS = 200;
const CONCURRENCY = 20;
const seed = Number(process.env.FLEET_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a small seeded PRNG, so that a failing run can be replayed. */
function seeded(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const timing: Partial<FleetOptions> = { stableFor: 500, minInterval: 250, probeInterval: 250, probeTimeout: 1000, dnsTimeout: 400 };

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Every member decided, exactly one formed, and every member is in the cluster it formed. */
function assertOneCluster(outcome: FleetOutcome, what: string): void {
  const detail = (): string =>
    `${what}: ${outcome.members.map((m) => `${m.name}=${m.decision?.action ?? m.error?.message}@${m.cluster}`).join(', ')}`;
  assert.deepEqual(outcome.errors.map(String), [], detail());
  assert.equal(outcome.forms, 1, detail());
  assert.equal(outcome.splits, 0, detail());
  const founder = outcome.members.find((m) => m.decision?.action === 'form')!;
  for (const m of outcome.members) assert.equal(m.cluster, founder.id, detail());
}

describe('bootstrap as a fleet', { concurrency: 1 }, () => {
  test(`${FORMATIONS} formations: one form each, every member joins it, no split`, { timeout: 600_000 }, async (t) => {
    const before = activeResources();
    const random = seeded(seed);
    t.diagnostic(`seed ${seed} (FLEET_SEED=${seed} replays it)`);
    const plans = Array.from({ length: FORMATIONS }, (_, i) => {
      const replicas = 3 + Math.floor(random() * 7);
      return {
        ...timing,
        replicas,
        min: 2 + Math.floor(random() * (replicas - 1)),
        maxStartDelay: 3000,
        loss: i % 2 === 0 ? 0.1 : 0,
        servfailBursts: i % 4 === 1 ? 2 : 0,
        readinessFlips: i % 3 === 0 ? 1 : 0,
        probe: i % 4 === 3 ? 'http' : 'memory',
        // A starved event loop (a loaded machine) only delays decisions: give them time.
        waitTimeout: 300_000,
        random: seeded(Math.floor(random() * 2 ** 31)),
      } satisfies FleetOptions;
    });
    const outcomes: FleetOutcome[] = new Array(FORMATIONS);
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < plans.length) {
          const i = next++;
          outcomes[i] = await runFleet(plans[i]!);
        }
      }),
    );
    const elapsed = Date.now() - started;
    const forms = outcomes.reduce((n, o) => n + o.forms, 0);
    const splits = outcomes.reduce((n, o) => n + o.splits, 0);
    const members = outcomes.reduce((n, o) => n + o.members.length, 0);
    const decide = outcomes.map((o) => o.decideAfterReadyMs);
    const lossy = outcomes.filter((_, i) => plans[i]!.loss > 0).map((o) => o.decideAfterReadyMs);
    t.diagnostic(
      `formations ${FORMATIONS} (N 3..9, ${members} members, delays up to 3 s, 10% DNS loss in half, HTTP probes in a quarter), ${CONCURRENCY} at a time, ${(elapsed / 1000).toFixed(1)} s`,
    );
    t.diagnostic(`forms ${forms}, splits ${splits}, errors ${outcomes.reduce((n, o) => n + o.errors.length, 0)}`);
    t.diagnostic(`time to decide after the last member is ready: p50 ${percentile(decide, 50)} ms, max ${Math.max(...decide)} ms (with loss: p50 ${percentile(lossy, 50)} ms, max ${Math.max(...lossy)} ms; stableFor 500 ms, polls and probes every 250 ms)`);
    const slowest = outcomes.reduce((a, b) => (b.decideAfterReadyMs > a.decideAfterReadyMs ? b : a));
    const start = Math.min(...slowest.members.map((m) => m.readyAt ?? Infinity));
    t.diagnostic(
      `slowest formation (${JSON.stringify({ ...plans[outcomes.indexOf(slowest)], random: undefined })}): ` +
        slowest.members.map((m) => `${m.name} ready +${(m.readyAt ?? start) - start} ${m.decision?.action} +${(m.decidedAt ?? start) - start}`).join(', '),
    );
    outcomes.forEach((o, i) => assertOneCluster(o, `formation ${i} (${JSON.stringify({ ...plans[i], random: undefined })})`));
    assert.equal(forms, FORMATIONS);
    assert.equal(splits, 0);
    await assertNoLeaks(before);
  });

  test('a rolling restart of a formed cluster (highest ordinal first) gives no new form', { timeout: 120_000 }, async (t) => {
    const before = activeResources();
    const random = seeded(seed + 1);
    for (const [replicas, loss] of [
      [3, 0],
      [5, 0.1],
      [7, 0.1],
    ] as const) {
      const fleet = await createFleet({ ...timing, replicas, maxStartDelay: 1000, loss, random });
      try {
        const formed = await fleet.form();
        assertOneCluster(formed, `forming ${replicas}`);
        const restart = await fleet.rollingRestart();
        const detail = restart.members.map((m) => `${m.name}#${m.incarnation}=${m.decision?.action ?? m.error?.message}`).join(', ');
        assert.deepEqual(restart.errors.map(String), [], detail);
        assert.equal(restart.forms, 0, detail);
        assert.equal(restart.joins, replicas, detail);
        assert.deepEqual(restart.members.map((m) => m.name), Array.from({ length: replicas }, (_, i) => `app-${replicas - 1 - i}`));
        assert.equal(restart.splits, 0, detail);
        assert.equal(restart.clusters, 1, detail);
        t.diagnostic(`rolling restart of ${replicas} (loss ${loss * 100}%): ${restart.joins} joins, ${restart.forms} forms, ${restart.splits} splits`);
      } finally {
        await fleet.close();
      }
    }
    await assertNoLeaks(before);
  });

  test('a member that cannot see itself in the set never forms, and joins once another has formed', { timeout: 120_000 }, async () => {
    const before = activeResources();
    // app-0 would be the lowest; its pod never becomes ready, so DNS never lists it.
    const outcome = await runFleet({ ...timing, replicas: 4, min: 3, maxStartDelay: 500, hidden: ['app-0'], random: seeded(seed + 2) });
    const app0 = outcome.members.find((m) => m.name === 'app-0')!;
    assert.equal(app0.readyAt, null);
    assert.equal(app0.decision?.action, 'join');
    assertOneCluster(outcome, 'app-0 hidden');
    assert.equal(outcome.members.find((m) => m.decision?.action === 'form')!.name, 'app-1');

    // Alone and unseen: it waits until its timeout and never forms.
    const alone = await runFleet({ ...timing, replicas: 3, min: 1, maxStartDelay: 0, hidden: ['app-0', 'app-1', 'app-2'], waitTimeout: 2000 });
    assert.equal(alone.forms, 0);
    assert.equal(alone.errors.length, 3);
    for (const e of alone.errors) assert.match(e.message, /ETIMEOUT|decided nothing in 2000 ms/);
    await assertNoLeaks(before);
  });
});
