// The real Clock: monotonic time from performance.now() (never jumps with the
// wall clock, so timeouts and leases stay honest across NTP steps), wall time
// from Date.now() (only for key expiry), timers from setTimeout.
import { performance } from 'node:perf_hooks';
import type { Clock, Timer } from '../ports/clock.ts';

export const realClock: Clock = {
  nowMs: () => performance.now(),
  wallMs: () => Date.now(),
  setTimer(delayMs: number, fn: () => void): Timer {
    const t = setTimeout(fn, delayMs);
    return { cancel: () => clearTimeout(t) };
  },
};
