// Claims 26–28: a regional counter on the primary — per region, the number of
// acknowledgements still to be received. Incremented by the number of
// secondaries an update is sent to, decremented per acknowledgement; when it is
// back to the value it had before the increment, every secondary has
// acknowledged.
//
// With many updates to one region in flight at once, the literal total alone
// cannot say WHICH update is done (acks of an older update can bring the total
// to the prior value of a newer one). So each region keeps, besides its total,
// the count per (region, update): the total is the sum of those, and "reaching
// the value prior to the incrementing" is decided per update — the part of the
// counter contributed by that update is back to zero. Acks are cumulative and
// in lsn order per secondary, so the oldest updates of a region finish first.
import type { Lsn, NodeId } from './types.ts';

interface Outstanding {
  readonly lsn: Lsn;
  readonly regions: readonly number[];
  /** Secondaries whose acknowledgement is still expected. */
  readonly waiting: Set<NodeId>;
}

export class RegionalCounter {
  /** region → outstanding acknowledgements (the claim's counter). */
  private readonly totals = new Map<number, number>();
  private readonly byLsn = new Map<Lsn, Outstanding>();

  /** Claim 26: on sending update `lsn` to `dest`, increment each of its regions by |dest|. Returns whether it is already fully acknowledged (empty dest). */
  increment(lsn: Lsn, regions: readonly number[], dest: readonly NodeId[]): boolean {
    if (dest.length === 0) return true;
    this.byLsn.set(lsn, { lsn, regions, waiting: new Set(dest) });
    for (const r of regions) this.totals.set(r, (this.totals.get(r) ?? 0) + dest.length);
    // Updates touching no region (config, epoch-start) are tracked under no region,
    // but still wait for their acknowledgements.
    return false;
  }

  /**
   * Claim 26: an acknowledgement from `secondary` for update `lsn` decrements the counters of
   * its regions. Returns true when this brings the update's part back to its prior value,
   * i.e. every secondary it was sent to has acknowledged it.
   */
  decrement(lsn: Lsn, secondary: NodeId): boolean {
    const o = this.byLsn.get(lsn);
    if (!o || !o.waiting.delete(secondary)) return false;
    for (const r of o.regions) {
      const v = (this.totals.get(r) ?? 0) - 1;
      if (v === 0) this.totals.delete(r);
      else this.totals.set(r, v);
    }
    if (o.waiting.size === 0) {
      this.byLsn.delete(lsn);
      return true;
    }
    return false;
  }

  /**
   * A secondary that lost data no longer holds update lsn although it acknowledged it: its
   * acknowledgement is expected again (the counters of the update's regions go back up by one).
   */
  restore(lsn: Lsn, regions: readonly number[], secondary: NodeId): void {
    let o = this.byLsn.get(lsn);
    if (!o) {
      o = { lsn, regions, waiting: new Set() };
      this.byLsn.set(lsn, o);
    }
    if (o.waiting.has(secondary)) return;
    o.waiting.add(secondary);
    for (const r of o.regions) this.totals.set(r, (this.totals.get(r) ?? 0) + 1);
  }

  /** Whether update lsn still waits for acknowledgements. */
  outstanding(lsn: Lsn): boolean {
    return this.byLsn.has(lsn);
  }

  waitingFor(lsn: Lsn): readonly NodeId[] {
    return [...(this.byLsn.get(lsn)?.waiting ?? [])];
  }

  /** The counter of one region (0 when nothing is outstanding there). */
  value(region: number): number {
    return this.totals.get(region) ?? 0;
  }

  /** Non-zero counters, for status and the dashboard's heat map. */
  nonZero(): Record<number, number> {
    const out: Record<number, number> = {};
    for (const [r, v] of [...this.totals].sort((a, b) => a[0] - b[0])) out[r] = v;
    return out;
  }

  /** Drop everything (the node stopped being primary). */
  reset(): void {
    this.totals.clear();
    this.byLsn.clear();
  }
}
