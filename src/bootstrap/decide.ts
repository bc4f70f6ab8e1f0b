import type { Peer } from '../peer/index.js';
import type { BootstrapDecision } from './options.js';

/** What one probe said: members, no cluster, or nothing usable. */
export type ProbeAnswer = { kind: 'members'; members: string[] } | { kind: 'none' } | { kind: 'unknown'; error: unknown };

/** Everything one round of the decision looks at. */
export interface RoundView {
  /** The decision set: the last set a successful resolution gave. */
  peers: readonly Peer[];
  /** Answers of this round, per peer (self is not asked). */
  answers: ReadonlyMap<Peer, ProbeAnswer>;
  isSelf: (peer: Peer) => boolean;
  min: number;
  newCluster: boolean;
  /** This process formed already (the latch). */
  formedBefore: boolean;
  /** The set was unchanged, every poll a success, for stableFor before this round's probes went out, and through them. */
  stable: boolean;
}

/** A round's outcome: a decision, or why there is none yet. */
export type Verdict = BootstrapDecision | { action: 'wait'; reason: string };

/** Order of the decision: ordinal (none last), then address. */
export function compareContactPoints(a: Peer, b: Peer): number {
  const ao = a.ordinal ?? Number.MAX_SAFE_INTEGER;
  const bo = b.ordinal ?? Number.MAX_SAFE_INTEGER;
  if (ao !== bo) return ao - bo;
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

/** A peer for messages: its name, else its address. */
export function label(peer: Peer): string {
  return peer.name ?? peer.address;
}

/**
 * The rules, for one round: any peer that names members -> join them; form only with no
 * cluster anywhere (every other peer answered "none"), at least `min` peers, this process
 * among them and the lowest, the set stable, and no earlier form; otherwise wait.
 */
export function decide(view: RoundView): Verdict {
  const ordered = [...view.peers].sort(compareContactPoints);
  for (const peer of ordered) {
    const answer = view.answers.get(peer);
    if (answer?.kind === 'members') return { action: 'join', seeds: [...answer.members] };
  }
  if (!view.newCluster) return { action: 'wait', reason: 'newCluster is false: waiting for a peer that is in a cluster' };
  if (view.formedBefore) return { action: 'wait', reason: 'this process formed a cluster already (latch): waiting to join one' };
  if (ordered.length < view.min) return { action: 'wait', reason: `${ordered.length} of the ${view.min} peers needed` };
  const lowest = ordered[0]!;
  if (!ordered.some(view.isSelf)) return { action: 'wait', reason: 'this process is not in the set' };
  if (!view.stable) return { action: 'wait', reason: 'the set is not stable yet' };
  if (!view.isSelf(lowest)) return { action: 'wait', reason: `waiting for ${label(lowest)}, the lowest, to form` };
  const unknown = ordered.filter((p) => !view.isSelf(p) && view.answers.get(p)?.kind !== 'none');
  if (unknown.length > 0) return { action: 'wait', reason: `no "no cluster" answer from ${unknown.map(label).join(', ')}` };
  return { action: 'form' };
}
