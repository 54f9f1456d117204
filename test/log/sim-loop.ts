// A minimal discrete-event loop for the log tests: the SimDisk's completions
// and the log's deferred steps run from it, in time order, synchronously.
import { assert } from '../../src/lib/assert.ts';

interface Event {
  readonly t: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** A run that never ends is a bug in the code under test, not something to wait for. */
export const MAX_EVENTS_PER_RUN = 2_000_000;

export class SimLoop {
  nowMs = 0;
  private seq = 0;
  private queue: Event[] = [];

  readonly schedule = (delayMs: number, fn: () => void): void => {
    const e = { t: this.nowMs + delayMs, seq: this.seq++, fn };
    // Binary insertion keeps (t, seq) order: equal times run in scheduling order.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.queue[mid]!;
      if (m.t < e.t || (m.t === e.t && m.seq < e.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, e);
  };

  readonly defer = (fn: () => void): void => this.schedule(0, fn);

  get pending(): number {
    return this.queue.length;
  }

  /** Runs one event; false if none is left. */
  step(): boolean {
    const e = this.queue.shift();
    if (!e) return false;
    this.nowMs = e.t;
    e.fn();
    return true;
  }

  /** Runs events until none is left. */
  run(): void {
    let n = 0;
    while (this.step()) assert(++n < MAX_EVENTS_PER_RUN, 'simulation did not quiesce');
  }

  /** Runs until cond() holds or nothing is left; returns cond(). */
  runUntil(cond: () => boolean): boolean {
    let n = 0;
    while (!cond() && this.step()) assert(++n < MAX_EVENTS_PER_RUN, 'simulation did not quiesce');
    return cond();
  }

  /** The process died: everything it had scheduled dies with it. */
  clear(): void {
    this.queue = [];
  }
}
