// The simulator's one source of time: a priority queue of events ordered by
// simulated time, then by insertion order, so that the same seed always runs
// the same events in the same order.

interface Ev {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class EventQueue {
  private heap: Ev[] = [];
  private seq = 0;
  private nowMs = 0;
  /** Events run so far. */
  steps = 0;

  get now(): number {
    return this.nowMs;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Runs fn after delayMs of simulated time (≥ 0). */
  schedule(delayMs: number, fn: () => void): { cancel(): void } {
    const ev: Ev = { at: this.nowMs + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.push(ev);
    return {
      cancel: () => {
        ev.cancelled = true;
      },
    };
  }

  /** Runs the next event; false when none is left at or before `untilMs`. */
  runOne(untilMs: number): boolean {
    for (;;) {
      const ev = this.heap[0];
      if (!ev || ev.at > untilMs) return false;
      this.pop();
      if (ev.cancelled) continue;
      this.nowMs = ev.at;
      this.steps++;
      ev.fn();
      return true;
    }
  }

  /** Advances time to untilMs running every event before it. */
  runUntil(untilMs: number, afterEach?: () => void): void {
    while (this.runOne(untilMs)) afterEach?.();
    if (untilMs > this.nowMs) this.nowMs = untilMs;
  }

  private less(a: Ev, b: Ev): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(ev: Ev): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
