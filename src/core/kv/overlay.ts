// A view of "base + some ops not yet applied to base". MULTI/EXEC batches use it so each
// command sees the effects of the previous ones; the replication core uses it (PendingState)
// for the primary's pending (sent but uncommitted) updates on top of its committed storage area.
//
// Approach: one slot per touched key, in a Map keyed by the key's latin1 string (byte-exact,
// cheap to hash). A slot holds the key's latest header (or null: deleted) and, for a
// collection, only the elements pending ops changed — never the whole collection: when the
// slot `inherits`, the base's elements of the key show through wherever the slot has no
// change of its own; a key deleted or replaced since stops inheriting. Range reads merge the
// slot's changed elements into the base's range in the range's order. A FLUSH clears the map
// and hides the whole base.
//
// The base may move forward underneath (the primary applies committed updates): what it gains
// are the same changes the slots already hold, so reads stay right. A slot can be forgotten
// once the base holds its last write (forgetUpTo).
import { headerAfterSet, newCollection, orderKeyOf, stringAfterRange, stringEntry } from '../collections.ts';
import { regionOfKey } from '../regions.ts';
import type { Element, ElementRange, Entry, Lsn, Op } from '../types.ts';
import type { KvView } from './view.ts';

interface ElemChange {
  readonly elem: Buffer;
  /** null = removed by a pending op. */
  readonly value: Buffer | null;
}

interface Slot {
  readonly key: Buffer;
  header: Entry | null;
  /** The base's elements of this key show through (the key was not deleted or replaced since). */
  inherits: boolean;
  /** Pending element changes, by the element's latin1 string. */
  elems: Map<string, ElemChange> | null;
  /** The last update that wrote the key (PendingState), 0 in a batch overlay. */
  lsn: Lsn;
  /** Region of the key, computed when first needed (-1 = not yet): only regionEntries uses it. */
  region: number;
}

/** Elements read from the base per call while merging a range (the base may mask a few). */
const MERGE_PAGE_MIN = 16;

export class Overlay implements KvView {
  private readonly slots = new Map<string, Slot>();
  /** Pending script cache changes by sha (latin1): the body, or null (forgotten), and the update. */
  private readonly scripts = new Map<string, { sha: Buffer; body: Buffer | null; lsn: Lsn }>();
  private flushed = false;
  /** The update holding the pending flush (PendingState), 0 in a batch overlay. */
  private flushLsn: Lsn = 0;

  constructor(readonly base: KvView) {}

  get(key: Buffer): Entry | undefined {
    const s = this.slots.get(key.toString('latin1'));
    if (s !== undefined) return s.header ?? undefined;
    return this.flushed ? undefined : this.base.get(key);
  }

  getElement(key: Buffer, elem: Buffer): Buffer | undefined {
    const s = this.slots.get(key.toString('latin1'));
    if (s === undefined) return this.flushed ? undefined : this.base.getElement(key, elem);
    return slotElement(this.base, s, elem);
  }

  elements(key: Buffer, range: ElementRange): Element[] {
    const s = this.slots.get(key.toString('latin1'));
    if (s === undefined) return this.flushed ? [] : this.base.elements(key, range);
    if (s.header === null || range.limit <= 0 || (range.by === 'score' && s.header.type !== 'zset')) return [];
    if (s.elems === null || s.elems.size === 0) return s.inherits ? this.base.elements(key, range) : [];
    return mergeElements(this.base, s, range);
  }

  size(): number {
    let n = this.flushed ? 0 : this.base.size();
    for (const s of this.slots.values()) {
      const inBase = !this.flushed && this.base.get(s.key) !== undefined;
      n += (s.header !== null ? 1 : 0) - (inBase ? 1 : 0);
    }
    return n;
  }

  getScript(sha: Buffer): Buffer | undefined {
    const p = this.scripts.get(sha.toString('latin1'));
    return p !== undefined ? (p.body ?? undefined) : this.base.getScript?.(sha);
  }

  regionScripts(region: number, afterSha: Buffer | undefined, limit: number): Array<[Buffer, Buffer]> {
    const base = this.base.regionScripts?.(region, afterSha, Infinity) ?? [];
    if (this.scripts.size === 0) return base.slice(0, limit);
    const merged = new Map<string, [Buffer, Buffer]>();
    for (const [sha, body] of base) merged.set(sha.toString('latin1'), [sha, body]);
    for (const [id, p] of this.scripts) {
      if (regionOfKey(p.sha) !== region || (afterSha !== undefined && Buffer.compare(p.sha, afterSha) <= 0)) continue;
      if (p.body === null) merged.delete(id);
      else merged.set(id, [p.sha, p.body]);
    }
    return [...merged.values()].sort((a, b) => Buffer.compare(a[0], b[0])).slice(0, limit);
  }

  /** Whether a FLUSH is pending (the whole base is hidden). */
  get hidesBase(): boolean {
    return this.flushed;
  }

  /** Number of keys the overlay holds a pending header or deletion for. */
  get touchedKeys(): number {
    return this.slots.size;
  }

  /** Applies ops in order on top of what is already pending; `lsn` is the update they belong to. */
  applyOps(ops: readonly Op[], lsn: Lsn = 0): void {
    for (const op of ops) {
      if (op.k === 'flush') {
        this.slots.clear();
        this.flushed = true;
        this.flushLsn = lsn;
        continue;
      }
      if (op.k === 'script') {
        this.scripts.set(op.key.toString('latin1'), { sha: op.key, body: op.value, lsn });
        continue;
      }
      // A put or del replaces whatever the key held, so its slot needs no read of the base
      // (a plain SET on the primary's hot path costs no storage read).
      const s = this.slot(op.key, op.k !== 'put' && op.k !== 'del');
      s.lsn = lsn;
      switch (op.k) {
        case 'put':
          s.header = stringEntry(op.value, op.expireAtMs);
          s.inherits = false;
          s.elems = null;
          break;
        case 'del':
          s.header = null;
          s.inherits = false;
          s.elems = null;
          break;
        case 'expire':
          if (s.header !== null) s.header = { ...s.header, expireAtMs: op.expireAtMs };
          break;
        case 'elem':
          this.applyElem(s, op);
          break;
        case 'range':
          s.header = stringAfterRange(s.header, op.offset, op.value);
          s.inherits = false;
          s.elems = null;
          break;
      }
    }
  }

  /** The base now holds every update up to lsn: forget what it covers (PendingState). */
  forgetUpTo(lsn: Lsn): void {
    if (this.flushed && this.flushLsn <= lsn) {
      this.flushed = false;
      this.flushLsn = 0;
    }
    for (const [id, p] of this.scripts) if (p.lsn <= lsn) this.scripts.delete(id);
    if (this.slots.size === 0) return;
    for (const [id, s] of this.slots) if (s.lsn <= lsn) this.slots.delete(id);
  }

  /** Forgets everything pending: the overlay shows the base again. */
  clear(): void {
    this.slots.clear();
    this.scripts.clear();
    this.flushed = false;
    this.flushLsn = 0;
  }

  private applyElem(s: Slot, op: Extract<Op, { k: 'elem' }>): void {
    const id = op.elem.toString('latin1');
    if (s.header === null || s.header.type !== op.type) {
      if (op.value === null) return; // removing from a key that holds no such collection
      s.header = newCollection(op.type);
      s.inherits = false;
      s.elems = null;
    }
    const had = slotElement(this.base, s, op.elem) !== undefined;
    s.elems ??= new Map();
    if (op.value === null) {
      if (!had) return;
      s.elems.set(id, { elem: op.elem, value: null });
      const count = s.header.count - 1;
      if (count === 0) {
        s.header = null;
        s.inherits = false;
        s.elems = null;
      } else s.header = { ...s.header, count };
      return;
    }
    s.elems.set(id, { elem: op.elem, value: op.value });
    s.header = headerAfterSet(s.header, op.type, !had, op.elem, op.value);
  }

  /** The key's slot, created on first touch; `readBase` = start it from the base's header. */
  private slot(key: Buffer, readBase: boolean): Slot {
    const id = key.toString('latin1');
    let s = this.slots.get(id);
    if (s === undefined) {
      const baseEntry = this.flushed || !readBase ? undefined : this.base.get(key);
      s = { key, header: baseEntry ?? null, inherits: baseEntry !== undefined, elems: null, lsn: 0, region: -1 };
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
        if (s.header) out.push([s.key, s.header]);
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
        if (c === 0) bi++; // the overlay's header (or deletion) masks base's
        if (o!.header) out.push([o!.key, o!.header]);
        oi++;
      } else {
        out.push(b!);
        bi++;
      }
    }
    return out;
  }
}

function slotElement(base: KvView, s: Slot, elem: Buffer): Buffer | undefined {
  if (s.header === null) return undefined;
  const c = s.elems?.get(elem.toString('latin1'));
  if (c !== undefined) return c.value ?? undefined;
  return s.inherits ? base.getElement(s.key, elem) : undefined;
}

/** True if order key `k` lies in the range's direction from its start. */
function inRange(k: Buffer, range: ElementRange): boolean {
  if (range.start === undefined) return true;
  const c = Buffer.compare(k, range.start);
  if (c === 0) return range.exclusive !== true;
  return range.reverse === true ? c < 0 : c > 0;
}

/** A range of a slot's collection: its changed elements merged into the base's, in order. */
function mergeElements(base: KvView, s: Slot, range: ElementRange): Element[] {
  const by = range.by ?? 'elem';
  const dir = range.reverse === true ? -1 : 1;
  const mine: Array<{ order: Buffer; el: Element }> = [];
  for (const c of s.elems!.values()) {
    if (c.value === null) continue;
    const order = orderKeyOf(by, c.elem, c.value);
    if (inRange(order, range)) mine.push({ order, el: { elem: c.elem, value: c.value } });
  }
  mine.sort((a, b) => dir * Buffer.compare(a.order, b.order));
  const out: Element[] = [];
  let mi = 0;
  if (!s.inherits) {
    for (; mi < mine.length && out.length < range.limit; mi++) out.push(mine[mi]!.el);
    return out;
  }
  // The base's elements that a pending change touches are masked (their new value, if any, is in `mine`).
  const pageSize = Math.max(range.limit, MERGE_PAGE_MIN);
  let page = base.elements(s.key, { ...range, limit: pageSize });
  let bi = 0;
  while (out.length < range.limit) {
    if (bi === page.length) {
      if (page.length < pageSize) page = [];
      else {
        const lastEl = page[page.length - 1]!;
        page = base.elements(s.key, { by, reverse: range.reverse, start: orderKeyOf(by, lastEl.elem, lastEl.value), exclusive: true, limit: pageSize });
      }
      bi = 0;
    }
    const b = bi < page.length ? page[bi]! : undefined;
    if (b !== undefined && s.elems!.has(b.elem.toString('latin1'))) {
      bi++;
      continue;
    }
    const m = mi < mine.length ? mine[mi]! : undefined;
    if (b === undefined && m === undefined) break;
    const c = b === undefined ? -1 : m === undefined ? 1 : dir * Buffer.compare(m.order, orderKeyOf(by, b.elem, b.value));
    if (c <= 0) {
      out.push(m!.el);
      mi++;
    } else {
      out.push(b!);
      bi++;
    }
  }
  return out;
}
