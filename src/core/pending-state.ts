// The primary's latest state: its storage area (committed, applied updates)
// overlaid with the updates it has logged but not yet applied. Client commands
// execute against this, so that INCR after INCR sees the first one's result
// before either is committed; only final values are replicated.
import type { StateReader } from './state-reader.ts';
import { regionOfKey } from './regions.ts';
import type { Entry, Lsn, Op } from './types.ts';

interface PendingKey {
  readonly key: Buffer;
  /** undefined = deleted by a pending update. */
  readonly entry: Entry | undefined;
  /** The pending update that last wrote this key. */
  readonly lsn: Lsn;
}

export class PendingState implements StateReader {
  private readonly keys = new Map<string, PendingKey>();
  /** A pending flush hides the base until it is applied. */
  private flushLsn: Lsn = 0;

  constructor(private readonly base: StateReader) {}

  /** Records the ops of update `lsn` as the latest state. */
  record(lsn: Lsn, ops: readonly Op[]): void {
    for (const op of ops) {
      if (op.k === 'flush') {
        this.keys.clear();
        this.flushLsn = lsn;
      } else {
        const entry: Entry | undefined = op.k === 'put' ? { value: op.value, expireAtMs: op.expireAtMs } : undefined;
        this.keys.set(op.key.toString('latin1'), { key: op.key, entry, lsn });
      }
    }
  }

  /** The base now holds every update up to lsn: forget what it covers. */
  appliedUpTo(lsn: Lsn): void {
    if (this.flushLsn !== 0 && this.flushLsn <= lsn) this.flushLsn = 0;
    if (this.keys.size === 0) return;
    for (const [k, p] of this.keys) if (p.lsn <= lsn) this.keys.delete(k);
  }

  /** Drop everything (the node stopped being primary: its log view is the truth again). */
  reset(): void {
    this.keys.clear();
    this.flushLsn = 0;
  }

  get pendingKeys(): number {
    return this.keys.size;
  }

  get(key: Buffer): Entry | undefined {
    const p = this.keys.get(key.toString('latin1'));
    if (p) return p.entry;
    if (this.flushLsn !== 0) return undefined;
    return this.base.get(key);
  }

  regionEntries(region: number, afterKey: Buffer | undefined, limit: number): Array<[Buffer, Entry]> {
    const mine: PendingKey[] = [];
    for (const p of this.keys.values()) {
      if (regionOfKey(p.key) !== region) continue;
      if (afterKey && Buffer.compare(p.key, afterKey) <= 0) continue;
      mine.push(p);
    }
    const fromBase = this.flushLsn !== 0 ? [] : this.base.regionEntries(region, afterKey, limit + mine.length);
    if (mine.length === 0) return fromBase.slice(0, limit);
    const shadow = new Set(mine.map((p) => p.key.toString('latin1')));
    const merged: Array<[Buffer, Entry]> = fromBase.filter(([k]) => !shadow.has(k.toString('latin1')));
    for (const p of mine) if (p.entry) merged.push([p.key, p.entry]);
    merged.sort((a, b) => Buffer.compare(a[0], b[0]));
    return merged.slice(0, limit);
  }

  size(): number {
    if (this.flushLsn !== 0) {
      let n = 0;
      for (const p of this.keys.values()) if (p.entry) n++;
      return n;
    }
    let n = this.base.size();
    for (const p of this.keys.values()) {
      const inBase = this.base.get(p.key) !== undefined;
      if (p.entry && !inBase) n++;
      else if (!p.entry && inBase) n--;
    }
    return n;
  }
}
