import { watchPeers } from '../discovery/watcher.js';
import type { PeerWatcher, WatchPeersOptions } from '../discovery/watcher.js';
import type { Peer } from '../peer/index.js';
import { decide, label } from './decide.js';
import type { ProbeAnswer, Verdict } from './decide.js';
import { BootstrapError, BootstrapErrorCode } from './errors.js';
import { processLatch } from './latch.js';
import type { BootstrapLatch } from './latch.js';
import { checkBootstrapOptions, latchKey } from './options.js';
import type { BootstrapDecision, BootstrapOptions, CheckedBootstrapOptions } from './options.js';

/** Most entries a probe answer may name; more is a broken peer, not a cluster. */
const MAX_MEMBERS = 10_000;

/**
 * Decides how this process enters its cluster: `join` the members a peer named, or `form`
 * a new cluster. It forms only when no peer is in a cluster (every other peer of the set
 * answered "none" in a round that started after the set had been stable for `stableFor`),
 * the set has at least `min` peers, this process among them and the lowest (ordinal, then
 * address); the set is confirmed by a successful DNS poll just before. Every other process
 * keeps probing until the lowest has formed, then joins it. A process forms at most once
 * (the latch); a timeout, an error or a failed DNS poll never leads to `form`, and a failed
 * poll never shrinks the set the decision is made on.
 *
 * ```ts
 * const probe = createBootstrapProbe({ port: 8558 });
 * await probe.listen();
 * const decision = await bootstrap('my-app', { min: 3, probe: probe.probe });
 * ```
 *
 * Throws {@link InvalidArgumentError} on bad options; rejects with {@link BootstrapError}
 * `ETIMEOUT` after `waitTimeout` and `ECANCELLED` on abort, saying what it saw.
 */
export function bootstrap(service: string, options: BootstrapOptions): Promise<BootstrapDecision> {
  const checked = checkBootstrapOptions(options);
  const key = latchKey(service, options);
  const bootstrapper = new Bootstrap(service, checked, options.latch ?? processLatch, key, options.signal);
  return bootstrapper.run(() => watchPeers(service, watchOptionsOf(options)));
}

/** The options that are watchPeers' (the signal stays with bootstrap, which closes its watcher). */
function watchOptionsOf(options: BootstrapOptions): WatchPeersOptions {
  const watchOptions: WatchPeersOptions & Partial<BootstrapOptions> = { ...options };
  for (const key of BOOTSTRAP_KEYS) delete watchOptions[key];
  return watchOptions;
}

const BOOTSTRAP_KEYS = ['min', 'stableFor', 'probe', 'newCluster', 'self', 'probeInterval', 'probeTimeout', 'waitTimeout', 'latch', 'signal'] as const;

/** One bootstrap: a watcher, the stability clock, and probe rounds until a decision. */
class Bootstrap {
  readonly #service: string;
  readonly #o: CheckedBootstrapOptions;
  readonly #latch: BootstrapLatch;
  readonly #key: string;
  readonly #userSignal: AbortSignal | undefined;
  readonly #stop = new AbortController();
  #watcher: PeerWatcher | null = null;
  /** Counts changes of the set and DNS failures: a round whose count moved decides nothing. */
  #epoch = 0;
  /** Since when the set has been unchanged with every poll a success; null while a failure is unconfirmed. */
  #stableSince: number | null = null;
  #errors = 0;
  #lastDnsError: Error | undefined;
  #lastVerdict: Verdict = { action: 'wait', reason: 'no DNS answer yet' };
  #lastProbeErrors: string[] = [];

  constructor(service: string, o: CheckedBootstrapOptions, latch: BootstrapLatch, key: string, signal: AbortSignal | undefined) {
    this.#service = service;
    this.#o = o;
    this.#latch = latch;
    this.#key = key;
    this.#userSignal = signal;
  }

  async run(open: () => PeerWatcher): Promise<BootstrapDecision> {
    const signal = this.#userSignal;
    if (signal?.aborted) throw this.#ended(BootstrapErrorCode.CANCELLED, 'was aborted', signal.reason);
    const stop = this.#stop.signal;
    const onAbort = (): void => this.#stop.abort(this.#ended(BootstrapErrorCode.CANCELLED, 'was aborted', signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    const { waitTimeout } = this.#o;
    const deadline =
      waitTimeout === undefined
        ? undefined
        : setTimeout(() => this.#stop.abort(this.#ended(BootstrapErrorCode.TIMEOUT, `decided nothing in ${waitTimeout} ms`)), waitTimeout);
    const watcher = open();
    this.#watcher = watcher;
    watcher.on('change', () => {
      this.#epoch++;
      if (this.#stableSince !== null) this.#stableSince = Date.now();
    });
    watcher.on('error', (error) => this.#onDnsError(error));
    try {
      return await this.#rounds(stop);
    } finally {
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      this.#stop.abort();
      watcher.close();
    }
  }

  /** A failed poll: the set is kept, but the time until the next success does not count as stable. */
  #onDnsError(error: Error): void {
    this.#lastDnsError = error;
    this.#epoch++;
    this.#stableSince = null;
    const seen = ++this.#errors;
    this.#watcher?.refresh().then(
      () => {
        if (this.#errors === seen && !this.#stop.signal.aborted) this.#stableSince = Date.now();
      },
      () => {},
    );
  }

  async #rounds(stop: AbortSignal): Promise<BootstrapDecision> {
    const watcher = this.#watcher!;
    // The clock starts with the first successful resolution.
    await abortable(
      watcher.ready.then(() => {
        if (this.#errors === 0) this.#stableSince ??= Date.now();
      }),
      stop,
    );
    for (;;) {
      const started = Date.now();
      const epoch = this.#epoch;
      const stableAtStart = this.#stableSince !== null && started - this.#stableSince >= this.#o.stableFor;
      const peers = watcher.peers;
      const answers = await this.#probeAll(peers, stop);
      const verdict = decide({
        peers,
        answers,
        isSelf: this.#o.isSelf,
        min: this.#o.min,
        newCluster: this.#o.newCluster,
        formedBefore: this.#latch.has(this.#key),
        stable: stableAtStart && this.#epoch === epoch,
      });
      this.#lastVerdict = verdict.action === 'form' ? { action: 'wait', reason: 'about to form: confirming the set with a DNS poll' } : verdict;
      if (verdict.action === 'join') return verdict;
      if (verdict.action === 'form' && (await this.#confirm(epoch, stop)) && this.#latch.take(this.#key)) return { action: 'form' };
      await sleep(Math.max(0, this.#o.probeInterval - (Date.now() - started)), stop);
    }
  }

  /** A successful DNS poll that ends after the probes must show the same set before forming. */
  async #confirm(epoch: number, stop: AbortSignal): Promise<boolean> {
    const refreshed = this.#watcher!.refresh().then(
      () => true,
      () => false,
    );
    const giveUp = new AbortController();
    const onStop = (): void => giveUp.abort();
    stop.addEventListener('abort', onStop, { once: true });
    let ok: boolean;
    try {
      const late = sleep(this.#o.probeTimeout, giveUp.signal).then(
        () => false,
        () => false,
      );
      ok = await Promise.race([refreshed, late]);
    } finally {
      giveUp.abort();
      stop.removeEventListener('abort', onStop);
    }
    stop.throwIfAborted();
    if (!ok || this.#epoch !== epoch) {
      this.#lastVerdict = { action: 'wait', reason: 'the set changed or DNS failed while confirming it' };
      return false;
    }
    return true;
  }

  /** Asks every other peer; the first answer that names members ends the round (no need to wait for the slow ones). */
  async #probeAll(peers: readonly Peer[], stop: AbortSignal): Promise<Map<Peer, ProbeAnswer>> {
    const others = peers.filter((p) => !this.#o.isSelf(p));
    const round = new AbortController();
    const onStop = (): void => round.abort(stop.reason);
    stop.addEventListener('abort', onStop, { once: true });
    let results: ProbeAnswer[];
    try {
      results = await Promise.all(
        others.map((peer) =>
          this.#ask(peer, round.signal).then((answer) => {
            if (answer.kind === 'members') round.abort(new Error('another peer named members'));
            return answer;
          }),
        ),
      );
    } finally {
      stop.removeEventListener('abort', onStop);
    }
    stop.throwIfAborted();
    const answers = new Map<Peer, ProbeAnswer>();
    const errors: string[] = [];
    others.forEach((peer, i) => {
      const answer = results[i]!;
      answers.set(peer, answer);
      if (answer.kind === 'unknown') errors.push(`${label(peer)}: ${messageOf(answer.error)}`);
    });
    this.#lastProbeErrors = errors;
    return answers;
  }

  async #ask(peer: Peer, round: AbortSignal): Promise<ProbeAnswer> {
    const timeout = this.#o.probeTimeout;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new BootstrapError(BootstrapErrorCode.TIMEOUT, `no answer in ${timeout} ms`)), timeout);
    const onEnd = (): void => controller.abort(round.reason);
    if (round.aborted) onEnd();
    else round.addEventListener('abort', onEnd, { once: true });
    try {
      // A probe that ignores its signal still ends the round in time.
      const members = await abortable(Promise.resolve().then(() => this.#o.probe(peer, controller.signal)), controller.signal);
      return readAnswer(members);
    } catch (error) {
      return { kind: 'unknown', error };
    } finally {
      clearTimeout(timer);
      round.removeEventListener('abort', onEnd);
    }
  }

  #ended(code: BootstrapError['code'], what: string, cause?: unknown): BootstrapError {
    const peers = this.#watcher?.peers ?? [];
    const parts = [
      `bootstrap(${this.#service}) ${what}`,
      `${peers.length} peer(s)${peers.length ? ` (${peers.map(label).join(', ')})` : ''}, ${this.#o.min} needed`,
      `this process: ${this.#o.selfText}${peers.some(this.#o.isSelf) ? '' : ', not in the set'}`,
      `last verdict: ${this.#lastVerdict.action === 'wait' ? this.#lastVerdict.reason : this.#lastVerdict.action}`,
    ];
    if (this.#lastProbeErrors.length) parts.push(`probe errors: ${this.#lastProbeErrors.slice(0, 5).join('; ')}`);
    if (this.#lastDnsError) parts.push(`last DNS error: ${this.#lastDnsError.message}`);
    return new BootstrapError(code, parts.join('; '), { cause: cause ?? this.#lastDnsError });
  }
}

/** Checks what a probe resolved with. */
function readAnswer(members: unknown): ProbeAnswer {
  if (members === null) return { kind: 'none' };
  if (!Array.isArray(members) || members.length === 0 || members.length > MAX_MEMBERS || !members.every((m) => typeof m === 'string' && m !== '')) {
    return { kind: 'unknown', error: new BootstrapError(BootstrapErrorCode.PROBE, 'the probe resolved with neither null nor a non-empty list of strings') };
  }
  return { kind: 'members', members: [...new Set(members as string[])] };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `promise`, or a rejection with the signal's reason once it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
