// A view of "base + some ops not yet applied to base". MULTI/EXEC batches use it so each
// command sees the effects of the previous ones; the replication core uses it for the
// primary's pending (sent but uncommitted) updates on top of its committed storage area.
//
// Approach: one Map keyed by the key's latin1 string (a byte-exact, cheap-to-hash string) holding
// the key's latest entry or null (deleted). A FLUSH clears the map and hides the whole base.
// size() is kept exact in O(1) per op: each touched key remembers whether it was visible before
// the overlay touched it, so `delta` = (keys visible in the overlay) − (those visible in base)
// over touched keys, and size = base.size() + delta (or just the visible count after a flush).
//
// The base must not change while the overlay is used on top of it; when it does (updates were
// committed into it), call rebase() so the visibility bookkeeping is recomputed.
import type { Entry, Op } from '../types.ts';
import { regionOfKey } from '../regions.ts';
import type { KvView } from './view.ts';

interface Slot {
  readonly key: Buffer;
  entry: Entry | null;
  /** Whether base held the key when the slot was created (meaningless after a flush). */
  inBase: boolean;
  /** Region of the key, computed when first needed (-1 = not yet): only regionEntries uses it. */
  region: number;
}

export class Overlay implements KvView {
  private readonly slots = new Map<string, Slot>();
  private flushed = false;
  private delta = 0;

  constructor(readonly base: KvView) {}

  get(key: Buffer): Entry | undefined {
    const s = this.slots.get(key.toString('latin1'));
    if (s !== undefined) return s.entry ?? undefined;
    return this.flushed ? undefined : this.base.get(key);
  }

  size(): number {
    return (this.flushed ? 0 : this.base.size()) + this.delta;
  }

  /** Whether a FLUSH is pending (the whole base is hidden). */
  get hidesBase(): boolean {
    return this.flushed;
  }

  /** Number of keys the overlay holds a pending value or deletion for. */
  get touchedKeys(): number {
    return this.slots.size;
  }

  /** Applies ops in order on top of what is already pending. */
  applyOps(ops: readonly Op[]): void {
    for (const op of ops) {
      if (op.k === 'flush') {
        this.slots.clear();
        this.flushed = true;
        this.delta = 0;
        continue;
      }
      const s = this.slot(op.key);
      const wasVisible = s.entry !== null;
      if (op.k === 'put') {
        s.entry = { value: op.value, expireAtMs: op.expireAtMs };
        if (!wasVisible) this.delta++;
      } else {
        s.entry = null;
        if (wasVisible) this.delta--;
      }
    }
  }

  /** Recomputes the size bookkeeping after the base changed underneath (O(touched keys)). */
  rebase(): void {
    if (this.flushed) return;
    let delta = 0;
    for (const s of this.slots.values()) {
      s.inBase = this.base.get(s.key) !== undefined;
      delta += (s.entry !== null ? 1 : 0) - (s.inBase ? 1 : 0);
    }
    this.delta = delta;
  }

  /** Forgets everything pending: the overlay shows the base again. */
  clear(): void {
    this.slots.clear();
    this.flushed = false;
    this.delta = 0;
  }

  private slot(key: Buffer): Slot {
    const id = key.toString('latin1');
    let s = this.slots.get(id);
    if (s === undefined) {
      const baseEntry = this.flushed ? undefined : this.base.get(key);
      s = { key, entry: baseEntry ?? null, inBase: baseEntry !== undefined, region: -1 };
      this.slots.set(id, s);
    }
    return s;
  }

  regionEntries(region: number, afterKey: Buffer | undefined, limit: number): Array<[Buffer, Entry]> {
    const out: Array<[Buffer, Entry]> = [];
    if (limit <= 0) return out;
    // Touched keys of this region after afterKey, sorted: they override base entries.
    const mine: Slot[] = [];
    for (const s of this.slots.values()) {
      if (s.region < 0) s.region = regionOfKey(s.key);
      if (s.region === region && (afterKey === undefined || Buffer.compare(s.key, afterKey) > 0)) mine.push(s);
    }
    mine.sort((a, b) => Buffer.compare(a.key, b.key));
    let oi = 0;
    if (this.flushed) {
      for (; oi < mine.length && out.length < limit; oi++) {
        const s = mine[oi]!;
        if (s.entry) out.push([s.key, s.entry]);
      }
      return out;
    }
    // Base is read in pages of `limit`; masked keys may need further pages (bounded by base size).
    let page = this.base.regionEntries(region, afterKey, limit);
    let bi = 0;
    while (out.length < limit) {
      if (bi === page.length && page.length === limit) {
        page = this.base.regionEntries(region, page[page.length - 1]![0], limit);
        bi = 0;
      }
      const b = bi < page.length ? page[bi]! : undefined;
      const o = oi < mine.length ? mine[oi]! : undefined;
      if (b === undefined && o === undefined) break;
      const c = b === undefined ? -1 : o === undefined ? 1 : Buffer.compare(o.key, b[0]);
      if (c <= 0) {
        if (c === 0) bi++; // the overlay's value (or deletion) masks base's
        if (o!.entry) out.push([o!.key, o!.entry]);
        oi++;
      } else {
        out.push(b!);
        bi++;
      }
    }
    return out;
  }
}
