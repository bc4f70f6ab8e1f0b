/**
 * Server health memory, like c-ares' ARES_OPT_SERVER_FAILOVER: a server that timed out or could
 * not be reached is asked last by later lookups, until a delay has passed; then one lookup
 * probes it first, and an answer from it makes it healthy again. Without this, a dead first
 * nameserver costs a whole timeout on every lookup.
 */
import type { ServerAddress } from './server-address.js';

/** What is remembered of one server. */
class Health {
  /** Failures in a row (0: healthy). */
  failures = 0;
  /** performance.now() of the last failure, or of the last probe sent since. */
  since = 0;

  constructor(readonly index: number) {}
}

/** The order lookups ask the servers in, from what they did lately. */
export class ServerHealth {
  private readonly health: Health[];
  /** Servers with failures: when none, every order is the configured one (no sorting, no allocation). */
  private failing = 0;
  /** Orders of healthy servers by start index, built once. */
  private readonly plain: ServerAddress[][];

  constructor(
    private readonly servers: readonly ServerAddress[],
    /** False: remember nothing, always the configured order. */
    private readonly enabled: boolean,
    /** Milliseconds before a failed server is probed again. */
    private readonly retryDelay: number,
  ) {
    this.health = servers.map((_, i) => new Health(i));
    this.plain = servers.map((_, start) => servers.map((_s, i) => servers[(start + i) % servers.length]!));
  }

  /**
   * The servers in the order one lookup should try them, starting at `start` (rotate): healthy
   * ones and those due for a probe first, then the failed ones, fewest failures first.
   */
  order(start: number): readonly ServerAddress[] {
    if (this.failing === 0) return this.plain[start]!;
    const now = performance.now();
    const first: ServerAddress[] = [];
    const failed: Health[] = [];
    for (const s of this.plain[start]!) {
      const h = this.health[this.servers.indexOf(s)]!;
      if (h.failures === 0) first.push(s);
      else if (now - h.since >= this.retryDelay) {
        // Due: this lookup probes it; the next probe waits another delay.
        h.since = now;
        first.push(s);
      } else failed.push(h);
    }
    failed.sort((a, b) => a.failures - b.failures || a.since - b.since);
    for (const h of failed) first.push(this.servers[h.index]!);
    return first;
  }

  /** `server` timed out or could not be reached. */
  failed(server: ServerAddress): void {
    if (!this.enabled) return;
    const h = this.find(server);
    if (h === undefined) return;
    if (h.failures === 0) this.failing++;
    h.failures++;
    h.since = performance.now();
  }

  /** `server` answered (any rcode: it is alive). */
  answered(server: ServerAddress): void {
    if (this.failing === 0) return;
    const h = this.find(server);
    if (h === undefined || h.failures === 0) return;
    h.failures = 0;
    this.failing--;
  }

  /** Failures in a row of each server, in configured order (for tests and diagnostics). */
  failures(): number[] {
    return this.health.map((h) => h.failures);
  }

  private find(server: ServerAddress): Health | undefined {
    const i = this.servers.indexOf(server);
    return i === -1 ? undefined : this.health[i];
  }
}
