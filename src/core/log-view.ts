// The protocol's view of its own UpdateLog: the retained updates (start..last)
// in memory, with their epochs. The durable copy is the UpdateLog on disk; the
// runtime loads this view from it on start, and the core keeps both in step by
// emitting the same appends, truncations and clears it applies here.
import { assert } from '../lib/assert.ts';
import type { Epoch, EpochStart, Lsn, Op, Update } from './types.ts';

/** Per op, beyond its key and value: about what the update codec spends on kind, lengths and expiry. */
const OP_OVERHEAD_BYTES = 16;

/**
 * About the encoded size of ops (keys, values and per-op overhead): what limits.maxUpdateBytes,
 * the append byte budget and limits.maxRetainedLogBytes count.
 */
/** What opsBytes counts for a key holding `value` (a put, or one entry of a region chunk). */
export function entryBytes(key: Buffer, value: Buffer): number {
  return OP_OVERHEAD_BYTES + key.length + value.length;
}

export function opsBytes(ops: readonly Op[]): number {
  let n = 0;
  for (const op of ops) {
    n += OP_OVERHEAD_BYTES;
    if (op.k === 'flush') continue;
    n += op.key.length;
    if (op.k === 'put' || op.k === 'range') n += op.value.length;
    else if (op.k === 'elem') n += op.elem.length + (op.value?.length ?? 0);
    else if (op.k === 'script') n += op.value?.length ?? 0;
  }
  return n;
}

/** Placeholder for a cleared slot below `head` (never read: every read starts at head). */
const CLEARED: Update = { lsn: 0, epoch: 0, dest: [], kind: 'data', ops: [], regions: [] };

export class LogView {
  /** First lsn still held (the start-of-log pointer, claim 3). */
  private startLsn: Lsn;
  /** Epoch of the update at startLsn - 1 (cleared), so a match check at the boundary still works. */
  private boundaryEpoch: Epoch;
  private readonly updates: Update[] = [];
  private head = 0;
  /** Running total of opsBytes through each update (parallel to `updates`), for the retention limit. */
  private readonly ends: number[] = [];
  /** The running total through start - 1. */
  private base = 0;

  constructor(startLsn: Lsn = 1, boundaryEpoch: Epoch = 0, updates: readonly Update[] = []) {
    assert(startLsn >= 1, 'startLsn ≥ 1');
    this.startLsn = startLsn;
    this.boundaryEpoch = boundaryEpoch;
    for (const u of updates) this.append(u);
  }

  get start(): Lsn {
    return this.startLsn;
  }

  get last(): Lsn {
    return this.startLsn + (this.updates.length - this.head) - 1;
  }

  get lastEpoch(): Epoch {
    return this.epochAt(this.last) ?? this.boundaryEpoch;
  }

  get count(): number {
    return this.updates.length - this.head;
  }

  /** The update at lsn, if held. */
  get(lsn: Lsn): Update | undefined {
    if (lsn < this.startLsn) return undefined;
    return this.updates[this.head + (lsn - this.startLsn)];
  }

  /** Epoch of the update at lsn; 0 for lsn 0; undefined if not known (beyond last, or cleared before the boundary). */
  epochAt(lsn: Lsn): Epoch | undefined {
    if (lsn === 0) return this.startLsn === 1 ? 0 : undefined;
    if (lsn === this.startLsn - 1) return this.boundaryEpoch;
    return this.get(lsn)?.epoch;
  }

  append(u: Update): void {
    assert(u.lsn === this.last + 1, () => `log view: append lsn ${u.lsn} after ${this.last}`);
    assert(u.epoch >= this.lastEpochOrZero(), () => `log view: epoch ${u.epoch} goes back from ${this.lastEpochOrZero()}`);
    this.ends.push(this.bytesThrough(this.last) + opsBytes(u.ops));
    this.updates.push(u);
  }

  /** The running byte total through lsn (start - 1 or later). */
  private bytesThrough(lsn: Lsn): number {
    return lsn < this.startLsn ? this.base : this.ends[this.head + (lsn - this.startLsn)]!;
  }

  /** Bytes (opsBytes) of the updates held after lsn. */
  bytesAfter(lsn: Lsn): number {
    return this.bytesThrough(this.last) - this.bytesThrough(Math.max(lsn, this.startLsn - 1));
  }

  /** The lowest lsn (≥ start - 1) after which the log holds at most `bytes`. */
  lowestKeeping(bytes: number): Lsn {
    const total = this.bytesThrough(this.last);
    let lo = this.startLsn - 1;
    let hi = this.last;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (total - this.bytesThrough(mid) <= bytes) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private lastEpochOrZero(): Epoch {
    return this.epochAt(this.last) ?? 0;
  }

  /** Remove every update after lsn (divergent tail). */
  truncateAfter(lsn: Lsn): Update[] {
    assert(lsn >= this.startLsn - 1, () => `log view: truncate after ${lsn} below start ${this.startLsn}`);
    const keep = this.head + (lsn - this.startLsn + 1);
    this.ends.splice(keep);
    return this.updates.splice(keep);
  }

  /** Advance the start-of-log pointer past lsn (claim 3). */
  clearTo(lsn: Lsn): void {
    if (lsn < this.startLsn) return;
    if (lsn > this.last) {
      // Clearing past the end: the log restarts empty at lsn + 1 (after a region resync).
      this.boundaryEpoch = this.epochAt(this.last) ?? this.boundaryEpoch;
      this.base = this.bytesThrough(this.last);
      this.updates.length = 0;
      this.ends.length = 0;
      this.head = 0;
      this.startLsn = lsn + 1;
      return;
    }
    this.boundaryEpoch = this.epochAt(lsn)!;
    this.base = this.bytesThrough(lsn);
    const newHead = this.head + (lsn - this.startLsn + 1);
    // Cleared updates are released now, not when the array is next compacted: an update may hold
    // a megabyte of gathered writes, and thousands of them would wait for the compaction below.
    for (let i = this.head; i < newHead; i++) this.updates[i] = CLEARED;
    this.head = newHead;
    this.startLsn = lsn + 1;
    if (this.head > 4096 && this.head * 2 > this.updates.length) {
      this.updates.splice(0, this.head);
      this.ends.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Reset to an empty log that continues after `lsn` of `epoch` (installed by a region resync). */
  resetAfter(lsn: Lsn, epoch: Epoch): void {
    this.base = this.bytesThrough(this.last);
    this.ends.length = 0;
    this.updates.length = 0;
    this.head = 0;
    this.startLsn = lsn + 1;
    this.boundaryEpoch = epoch;
  }

  /**
   * Updates in [from, to], at most max, and at most maxBytes of them (opsBytes, from the running
   * totals) — but never fewer than one, whatever its size.
   */
  range(from: Lsn, to: Lsn, max: number, maxBytes = Infinity): Update[] {
    const lo = Math.max(from, this.startLsn);
    let hi = Math.min(to, this.last, lo + max - 1);
    if (hi < lo) return [];
    if (maxBytes !== Infinity) {
      // The last lsn in [lo, hi] whose bytes from lo fit maxBytes (lo itself at least).
      const before = this.bytesThrough(lo - 1);
      let a = lo;
      while (a < hi) {
        const mid = a + Math.ceil((hi - a) / 2);
        if (this.bytesThrough(mid) - before <= maxBytes) a = mid;
        else hi = mid - 1;
      }
      hi = a;
    }
    const out: Update[] = [];
    for (let l = lo; l <= hi; l++) out.push(this.get(l)!);
    return out;
  }

  /** The first lsn of each epoch present, plus the boundary (so the history covers start - 1). */
  history(): EpochStart[] {
    const out: EpochStart[] = [];
    if (this.startLsn > 1) out.push({ epoch: this.boundaryEpoch, startLsn: this.startLsn - 1 });
    for (let p = this.head; p < this.updates.length; p++) {
      const u = this.updates[p]!;
      const prev = out[out.length - 1];
      if (!prev || prev.epoch !== u.epoch) out.push({ epoch: u.epoch, startLsn: u.lsn });
    }
    return out;
  }
}

/** Epoch at lsn according to an epoch history whose log ends at lastLsn (undefined outside it). */
export function epochAtIn(history: readonly EpochStart[], lastLsn: Lsn, lsn: Lsn): Epoch | undefined {
  if (lsn === 0) return 0;
  if (lsn > lastLsn || history.length === 0 || lsn < history[0]!.startLsn) return undefined;
  let e: Epoch | undefined;
  for (const h of history) {
    if (h.startLsn <= lsn) e = h.epoch;
    else break;
  }
  return e;
}

/**
 * Claim 5: the last lsn at which two logs agree. Two logs holding an update with the same lsn
 * and epoch hold the same updates up to it (only the primary of an epoch creates updates of
 * that epoch, in lsn order), so the logs agree exactly up to the last lsn whose epoch is the
 * same in both histories. Returns -1 when the histories do not reach back far enough to tell
 * (one log was cleared beyond where they part: a region resync is needed).
 */
export function matchPoint(
  a: readonly EpochStart[],
  aLast: Lsn,
  b: readonly EpochStart[],
  bLast: Lsn,
): Lsn {
  let x = Math.min(aLast, bLast);
  // Walk down through epoch boundaries of either history; at most |a| + |b| steps.
  for (let steps = 0; steps <= a.length + b.length + 2; steps++) {
    if (x === 0) return 0;
    const ea = epochAtIn(a, aLast, x);
    const eb = epochAtIn(b, bLast, x);
    if (ea === undefined || eb === undefined) return -1;
    if (ea === eb) return x;
    // The logs differ at x; they can only agree below the start of the later epoch's run at x.
    const startA = runStart(a, x);
    const startB = runStart(b, x);
    x = Math.max(startA, startB) - 1;
  }
  return -1;
}

function runStart(h: readonly EpochStart[], lsn: Lsn): Lsn {
  let s = 0;
  for (const e of h) {
    if (e.startLsn <= lsn) s = e.startLsn;
    else break;
  }
  return s;
}
