// Claims 7–9: per in-flight update and per secondary, a sent indicator (set when
// the update goes on the wire to that secondary) and a received indicator (set
// when that secondary acknowledges it). An update may be cleared from every log
// once both are set for every configured secondary (claim 9).
import type { Lsn, NodeId } from './types.ts';

export interface InFlightUpdate {
  readonly lsn: Lsn;
  readonly regions: readonly number[];
  /** Indexed like Indicators.secondaries. 1 = set. */
  readonly sentIndicator: Uint8Array;
  readonly receivedIndicator: Uint8Array;
}

export class Indicators {
  /** Every configured secondary (data and witness), in a fixed order. */
  readonly secondaries: readonly NodeId[];
  private readonly index = new Map<NodeId, number>();
  /** In-flight updates in lsn order, from the oldest not yet cleared. */
  private readonly entries: InFlightUpdate[] = [];
  private head = 0;

  constructor(secondaries: readonly NodeId[]) {
    this.secondaries = secondaries;
    secondaries.forEach((s, i) => this.index.set(s, i));
  }

  add(lsn: Lsn, regions: readonly number[]): void {
    const last = this.lastLsn();
    if (last !== 0 && lsn !== last + 1) throw new Error(`indicators: lsn ${lsn} after ${last}`);
    const n = this.secondaries.length;
    this.entries.push({ lsn, regions, sentIndicator: new Uint8Array(n), receivedIndicator: new Uint8Array(n) });
  }

  get(lsn: Lsn): InFlightUpdate | undefined {
    const first = this.firstLsn();
    if (first === 0 || lsn < first) return undefined;
    return this.entries[this.head + (lsn - first)];
  }

  firstLsn(): Lsn {
    return this.entries[this.head]?.lsn ?? 0;
  }

  lastLsn(): Lsn {
    return this.entries[this.entries.length - 1]?.lsn ?? 0;
  }

  count(): number {
    return this.entries.length - this.head;
  }

  /** Claim 7: set the sent indicator of `secondary` for updates in [from, to]. */
  setSent(secondary: NodeId, from: Lsn, to: Lsn): void {
    const i = this.index.get(secondary);
    if (i === undefined) return;
    for (let l = Math.max(from, this.firstLsn()); l <= to; l++) {
      const e = this.get(l);
      if (!e) break;
      e.sentIndicator[i] = 1;
    }
  }

  /** Claim 8: set the received indicator of `secondary` for every update up to `upTo` (acks are cumulative). */
  setReceived(secondary: NodeId, from: Lsn, upTo: Lsn): void {
    const i = this.index.get(secondary);
    if (i === undefined) return;
    for (let l = Math.max(from, this.firstLsn()); l <= upTo; l++) {
      const e = this.get(l);
      if (!e) break;
      e.sentIndicator[i] = 1;
      e.receivedIndicator[i] = 1;
    }
  }

  /**
   * Claim 9: the highest lsn L such that every update up to L has both indicators set for every
   * secondary not in `waived` (secondaries marked for a region resync no longer hold logs back).
   */
  clearableUpTo(waived: ReadonlySet<NodeId>, capLsn: Lsn): Lsn {
    let upTo = this.firstLsn() - 1;
    if (this.count() === 0) return 0;
    const idx: number[] = [];
    this.secondaries.forEach((s, i) => {
      if (!waived.has(s)) idx.push(i);
    });
    for (let p = this.head; p < this.entries.length; p++) {
      const e = this.entries[p]!;
      if (e.lsn > capLsn) break;
      let all = true;
      for (const i of idx) if (!e.sentIndicator[i] || !e.receivedIndicator[i]) { all = false; break; }
      if (!all) break;
      upTo = e.lsn;
    }
    return upTo;
  }

  /** Forget updates up to lsn (they were cleared). */
  dropUpTo(lsn: Lsn): void {
    while (this.head < this.entries.length && this.entries[this.head]!.lsn <= lsn) this.head++;
    if (this.head > 4096 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Forget updates after lsn (a divergent tail was truncated). */
  dropAfter(lsn: Lsn): void {
    while (this.entries.length > this.head && this.entries[this.entries.length - 1]!.lsn > lsn) this.entries.pop();
  }

  /** The first `max` in-flight updates, for status and the dashboard. */
  snapshot(max: number): InFlightUpdate[] {
    return this.entries.slice(this.head, this.head + max);
  }
}
