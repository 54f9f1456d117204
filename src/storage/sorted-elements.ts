// One collection's elements in the in-memory storage area: a map by element plus sorted
// indexes kept up to date element by element (a binary search and one splice per new or
// removed element), so a range read never sorts the whole collection again. A sorted set has
// a second index in score order, as the LMDB layout has.
import { orderKeyOf } from '../core/collections.ts';
import type { CollectionType, Element, ElementRange } from '../core/types.ts';

/** latin1 turns bytes into code units of the same value: string order is byte order. */
function idOf(b: Buffer): string {
  return b.toString('latin1');
}

/** Index of the first id ≥ id (or > id with `strict`). */
function lowerBound(sorted: readonly string[], id: string, strict: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < id || (strict && sorted[mid] === id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Elements under sortable ids, with the ids kept sorted. */
class SortedIndex {
  private readonly items = new Map<string, Element>();
  private readonly sorted: string[] = [];

  get size(): number {
    return this.items.size;
  }

  get(id: string): Element | undefined {
    return this.items.get(id);
  }

  set(id: string, el: Element): void {
    if (!this.items.has(id)) this.sorted.splice(lowerBound(this.sorted, id, false), 0, id);
    this.items.set(id, el);
  }

  delete(id: string): void {
    if (!this.items.delete(id)) return;
    this.sorted.splice(lowerBound(this.sorted, id, false), 1);
  }

  range(range: ElementRange): Element[] {
    const out: Element[] = [];
    const s = this.sorted;
    if (range.reverse === true) {
      // The last id ≤ start (< start when exclusive).
      let i = range.start === undefined ? s.length - 1 : lowerBound(s, idOf(range.start), range.exclusive !== true) - 1;
      for (; i >= 0 && out.length < range.limit; i--) out.push(this.items.get(s[i]!)!);
    } else {
      let i = range.start === undefined ? 0 : lowerBound(s, idOf(range.start), range.exclusive === true);
      for (; i < s.length && out.length < range.limit; i++) out.push(this.items.get(s[i]!)!);
    }
    return out;
  }
}

export class CollectionElements {
  private readonly byElem = new SortedIndex();
  /** Sorted sets only: the same elements under their score order keys. */
  private readonly byScore: SortedIndex | null;

  constructor(type: CollectionType) {
    this.byScore = type === 'zset' ? new SortedIndex() : null;
  }

  get size(): number {
    return this.byElem.size;
  }

  get(elem: Buffer): Buffer | undefined {
    return this.byElem.get(idOf(elem))?.value;
  }

  set(elem: Buffer, value: Buffer): void {
    const id = idOf(elem);
    if (this.byScore !== null) {
      const old = this.byElem.get(id);
      if (old !== undefined) this.byScore.delete(idOf(orderKeyOf('score', elem, old.value)));
      this.byScore.set(idOf(orderKeyOf('score', elem, value)), { elem, value });
    }
    this.byElem.set(id, { elem, value });
  }

  delete(elem: Buffer): void {
    const id = idOf(elem);
    const old = this.byElem.get(id);
    if (old === undefined) return;
    if (this.byScore !== null) this.byScore.delete(idOf(orderKeyOf('score', elem, old.value)));
    this.byElem.delete(id);
  }

  range(range: ElementRange): Element[] {
    if (range.by === 'score') return this.byScore === null ? [] : this.byScore.range(range);
    return this.byElem.range(range);
  }
}
