// The real Clock: monotonic time from performance.now() (never jumps with the
// wall clock, so timeouts and leases stay honest across NTP steps), wall time
// from Date.now() (only for key expiry), timers from setTimeout.
import { performance } from 'node:perf_hooks';
import type { Clock, Timer } from '../ports/clock.ts';

export interface RealClock extends Clock {
  /** Lets the node's time run; until then nowMs() reads 0. Idempotent. */
  start(): void;
}

/**
 * One clock per node. Its time reads 0 until start(), then runs from 0. The protocol core
 * starts its own time at 0 and sets the first election deadline from there, so the host
 * starts the clock only once the node is up and reading its sockets: the synchronous work of
 * starting the servers (schema compilation, static file scans) blocks the event loop for
 * hundreds of milliseconds, and timers run before pending socket reads in Node's loop, so a
 * clock that ran meanwhile would make a (re)started node stand for election on its first
 * tick, before reading the heartbeats of a healthy primary waiting in its socket.
 */
export function createRealClock(): RealClock {
  let originMs: number | null = null;
  return {
    nowMs: () => (originMs === null ? 0 : performance.now() - originMs),
    wallMs: () => Date.now(),
    setTimer(delayMs: number, fn: () => void): Timer {
      // The callback runs in the check phase of the loop iteration the timer expires in, i.e.
      // after that iteration has read the sockets. Node runs expired timers before polling
      // I/O, so after the event loop was busy for a while (a burst of pipelined commands) a
      // plain timer would let the core judge timeouts — a primary's check of its majority, a
      // secondary's election deadline — before reading the acknowledgements and heartbeats
      // that arrived meanwhile.
      let immediate: NodeJS.Immediate | null = null;
      const t = setTimeout(() => {
        immediate = setImmediate(fn);
      }, delayMs);
      return {
        cancel: () => {
          clearTimeout(t);
          if (immediate) clearImmediate(immediate);
        },
      };
    },
    start() {
      if (originMs === null) originMs = performance.now();
    },
  };
}
