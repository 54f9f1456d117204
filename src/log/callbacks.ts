// Sequencing helpers for completion callbacks (the Disk port has no Promises,
// so that the simulator alone decides when each completion runs).
import type { DoneCb } from '../ports/disk.ts';

/** Runs fn on each item in turn; stops at the first error. */
export function eachSeries<T>(items: readonly T[], fn: (item: T, next: DoneCb) => void, cb: DoneCb): void {
  let i = 0;
  const step = (err: Error | null): void => {
    if (err) return cb(err);
    const item = items[i++];
    if (i > items.length) return cb(null);
    fn(item as T, step);
  };
  step(null);
}
