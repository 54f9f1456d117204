// The primary's latest state: its storage area (committed, applied updates)
// overlaid with the updates it has logged but not yet applied. Client commands
// execute against this, so that INCR after INCR — or HSET after HSET on one
// hash — sees the first one's result before either is committed; only final
// values are replicated. It is an Overlay whose slots remember the update that
// last wrote them, and are forgotten once the storage area has applied it.
import type { StateReader } from './state-reader.ts';
import { Overlay } from './kv/overlay.ts';
import type { Lsn, Op } from './types.ts';

export class PendingState extends Overlay implements StateReader {
  constructor(base: StateReader) {
    super(base);
  }

  /** Records the ops of update `lsn` as the latest state. */
  record(lsn: Lsn, ops: readonly Op[]): void {
    this.applyOps(ops, lsn);
  }

  /** The base now holds every update up to lsn: forget what it covers. */
  appliedUpTo(lsn: Lsn): void {
    this.forgetUpTo(lsn);
  }

  /** Drop everything (the node stopped being primary: its log view is the truth again). */
  reset(): void {
    this.clear();
  }

  get pendingKeys(): number {
    return this.touchedKeys;
  }
}
