/** Something with a deadline: an exchange waiting for its answer. */
export interface DeadlineNode {
  deadline: number;
  prevDeadline: DeadlineNode | null;
  nextDeadline: DeadlineNode | null;
  inDeadlines: boolean;
  /** Called once the deadline passed (the node is already removed). */
  expire(): void;
}

/**
 * Deadlines of all queries of a client in one sorted list with one timer, instead of a timer
 * per query: with one timeout per client, new deadlines always go to the tail (O(1)).
 * The timer is ref'd only while the list is not empty, so pending queries keep the process
 * alive and an idle client does not. When the list empties the timer is unref'd, not cleared:
 * one query after another (concurrency 1) then reuses it instead of arming a Node timer per query.
 */
export class DeadlineList {
  private head: DeadlineNode | null = null;
  private tail: DeadlineNode | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** When the timer fires (performance.now() time); Infinity without a timer. */
  private timerAt = Infinity;
  private readonly fire = (): void => this.onTimer();

  /** Adds `node` with a deadline `ms` from now. */
  add(node: DeadlineNode, ms: number): void {
    const now = performance.now();
    node.deadline = now + ms;
    node.inDeadlines = true;
    let after = this.tail;
    while (after !== null && after.deadline > node.deadline) after = after.prevDeadline;
    node.prevDeadline = after;
    node.nextDeadline = after === null ? this.head : after.nextDeadline;
    if (node.nextDeadline === null) this.tail = node;
    else node.nextDeadline.prevDeadline = node;
    if (after === null) this.head = node;
    else after.nextDeadline = node;
    // A timer set for later than this deadline (kept from an earlier query) would fire late.
    if (this.timer === null || node.deadline < this.timerAt - 1) this.arm(now);
    else this.timer.ref();
  }

  /** Sets the timer for the head's deadline (replacing any). */
  private arm(now: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    if (this.head !== null) {
      const delay = Math.max(1, Math.ceil(this.head.deadline - now));
      this.timer = setTimeout(this.fire, delay);
      this.timerAt = now + delay;
    }
  }

  /** Removes `node` (a no-op when it is not in the list). */
  remove(node: DeadlineNode): void {
    if (!node.inDeadlines) return;
    node.inDeadlines = false;
    if (node.prevDeadline === null) this.head = node.nextDeadline;
    else node.prevDeadline.nextDeadline = node.nextDeadline;
    if (node.nextDeadline === null) this.tail = node.prevDeadline;
    else node.nextDeadline.prevDeadline = node.prevDeadline;
    node.prevDeadline = node.nextDeadline = null;
    // Kept for the next query, but it must not keep the process alive on its own.
    if (this.head === null && this.timer !== null) this.timer.unref();
  }

  /** Every node, oldest deadline first (a copy: callers may remove while iterating). */
  nodes(): DeadlineNode[] {
    const out: DeadlineNode[] = [];
    for (let n = this.head; n !== null; n = n.nextDeadline) out.push(n);
    return out;
  }

  private onTimer(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = performance.now();
    // Timers may fire up to a millisecond early relative to performance.now().
    while (this.head !== null && this.head.deadline <= now + 1) {
      const node = this.head;
      this.remove(node);
      node.expire();
    }
    if (this.timer === null) this.arm(now);
  }
}
