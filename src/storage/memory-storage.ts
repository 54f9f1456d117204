// The in-memory storage area, with a crash model. The simulator runs every
// node on it: deterministic (no timers, no I/O; sync completions go through an
// injected scheduler), and `crash()` returns the state a restarted node would
// find — only what the last completed sync() made durable — the way a real
// machine loses its page cache.
//
// How the crash model works: every change since the last completed sync is
// recorded as an undo record (key → previous entry, previous lsn, previous
// dirty set, or the whole previous map for a flush). A completed sync drops
// the records it covered; crash() replays the remaining ones backwards. So the
// memory cost of the model is one record per change between two syncs.
//
// Collections are kept element by element (src/storage/sorted-elements.ts): a key's
// elements in a map plus a sorted index (and a sorted set's score index), so one element
// costs the same whatever the size of its collection — the LMDB layout's logic, in memory.
import { headerAfterSet, newCollection, stringAfterRange, stringEntry } from '../core/collections.ts';
import type { CollectionType, Element, ElementRange, Entry, Lsn, Op, RegionItem, Update } from '../core/types.ts';
import { REGION_COUNT, regionOfKey } from '../core/regions.ts';
import { UnderstudyError } from '../errors.ts';
import { assert } from '../lib/assert.ts';
import type { StorageArea } from './storage-area.ts';
import { combineRegionDigests, digestRegion } from './region-digest.ts';
import { CollectionElements } from './sorted-elements.ts';
import { checkApplyOrder, checkLimit, checkLsn, checkOps, checkRegion, checkRegionItems } from './update-checks.ts';

/** Runs a completion later: the simulator's event queue, or the microtask queue outside it. */
export type SyncScheduler = (fn: () => void) => void;

export interface MemoryStorageOptions {
  /**
   * Delivers sync() and close() completions. Defaults to queueMicrotask, which is fine for
   * tests and embedding but not for the simulator: it must pass its own deterministic queue.
   */
  readonly scheduler?: SyncScheduler;
}

/**
 * One stored key; `key` keeps the bytes, the map is keyed by their latin1 string. A
 * collection's header and elements change in place (undo records keep what they were); a
 * replaced or deleted key's object is never changed again, so an undo record may keep it.
 */
interface Stored {
  readonly key: Buffer;
  entry: Entry;
  readonly elems: CollectionElements | null;
}

type Undo =
  | { readonly t: 'key'; readonly id: string; readonly region: number; readonly prev: Stored | undefined }
  | { readonly t: 'elem'; readonly id: string; readonly header: Entry; readonly elem: Buffer | null; readonly prev: Buffer | undefined }
  | { readonly t: 'all'; readonly entries: Map<string, Stored>; readonly regionKeys: Array<Set<string>> }
  | { readonly t: 'script'; readonly id: string; readonly prev: Buffer | undefined }
  | { readonly t: 'lsn'; readonly prev: Lsn }
  | { readonly t: 'dirty'; readonly prev: ReadonlySet<number> };

type Lifecycle = 'open' | 'closed' | 'crashed';

/** A sync called but not completed, with the lsn it will report as durable. */
interface PendingSync {
  lsn: Lsn;
}

function emptyRegionKeys(): Array<Set<string>> {
  return Array.from({ length: REGION_COUNT }, () => new Set<string>());
}

/**
 * latin1 maps each byte to one UTF-16 code unit of the same value, so comparing these strings
 * with `<` (code-unit order, the default of Array.prototype.sort) is comparing key bytes.
 */
function idOf(key: Buffer): string {
  return key.toString('latin1');
}

/** Index of the first id in `sorted` strictly greater than `id`. */
function upperBound(sorted: readonly string[], id: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryStorage implements StorageArea {
  private readonly scheduler: SyncScheduler;
  private entries = new Map<string, Stored>();
  private regionKeys: Array<Set<string>> = emptyRegionKeys();
  /** Per region, its ids sorted; rebuilt on demand (O(m log m)) after a key enters or leaves it. */
  private readonly sortedIds: Array<string[] | undefined> = new Array<string[] | undefined>(REGION_COUNT);
  /** Per region, its digest; dropped whenever the region's content changes. */
  private readonly digests: Array<string | undefined> = new Array<string | undefined>(REGION_COUNT);
  private dirty = new Set<number>();
  /** The script cache: body by sha (latin1). */
  private scripts = new Map<string, Buffer>();
  private applied: Lsn = 0;
  private durable: Lsn = 0;
  /** Changes not yet covered by a completed sync; undo[i] has sequence number undoBase + i. */
  private undo: Undo[] = [];
  private undoBase = 0;
  private lifecycle: Lifecycle = 'open';
  /** Syncs called but not completed, with the lsn each will report. */
  private readonly pendingSyncs = new Set<PendingSync>();

  constructor(options: MemoryStorageOptions = {}) {
    this.scheduler = options.scheduler ?? queueMicrotask;
  }

  get appliedLsn(): Lsn {
    return this.applied;
  }

  get durableLsn(): Lsn {
    return this.durable;
  }

  /** Number of changes a crash would lose right now (for tests and the simulator's metrics). */
  get unsyncedChanges(): number {
    return this.undo.length;
  }

  get(key: Buffer): Entry | undefined {
    this.checkOpen();
    return this.entries.get(idOf(key))?.entry;
  }

  getElement(key: Buffer, elem: Buffer): Buffer | undefined {
    this.checkOpen();
    return this.entries.get(idOf(key))?.elems?.get(elem);
  }

  elements(key: Buffer, range: ElementRange): Element[] {
    this.checkOpen();
    checkLimit(range.limit);
    return this.entries.get(idOf(key))?.elems?.range(range) ?? [];
  }

  regionEntries(region: number, afterKey: Buffer | undefined, limit: number): Array<[Buffer, Entry]> {
    this.checkOpen();
    checkRegion(region);
    checkLimit(limit);
    const sorted = this.sorted(region);
    const from = afterKey === undefined ? 0 : upperBound(sorted, idOf(afterKey));
    const out: Array<[Buffer, Entry]> = [];
    for (let i = from; i < sorted.length && out.length < limit; i++) {
      const stored = this.entries.get(sorted[i]!);
      assert(stored !== undefined, 'region key index out of step with the entries');
      out.push([stored.key, stored.entry]);
    }
    return out;
  }

  size(): number {
    this.checkOpen();
    return this.entries.size;
  }

  getScript(sha: Buffer): Buffer | undefined {
    this.checkOpen();
    return this.scripts.get(idOf(sha));
  }

  regionScripts(region: number, afterSha: Buffer | undefined, limit: number): Array<[Buffer, Buffer]> {
    this.checkOpen();
    const out: Array<[Buffer, Buffer]> = [];
    for (const [id, body] of this.scripts) {
      const sha = Buffer.from(id, 'latin1');
      if (regionOfKey(sha) === region && (afterSha === undefined || Buffer.compare(sha, afterSha) > 0)) out.push([sha, body]);
    }
    return out.sort((a, b) => Buffer.compare(a[0], b[0])).slice(0, limit);
  }

  apply(update: Update): void {
    this.checkOpen();
    checkApplyOrder(this.applied, update);
    checkOps(update.ops);
    for (const op of update.ops) {
      switch (op.k) {
        case 'put':
          this.setKey(op.key, stringEntry(Buffer.from(op.value), op.expireAtMs));
          break;
        case 'del':
          this.deleteKey(idOf(op.key), regionOfKey(op.key));
          break;
        case 'flush':
          this.clearAll();
          break;
        case 'expire': {
          const id = idOf(op.key);
          const stored = this.entries.get(id);
          if (stored === undefined) break;
          this.undo.push({ t: 'elem', id, header: stored.entry, elem: null, prev: undefined });
          stored.entry = { ...stored.entry, expireAtMs: op.expireAtMs };
          this.digests[regionOfKey(op.key)] = undefined;
          break;
        }
        case 'elem':
          this.applyElem(op);
          break;
        case 'script':
          this.setScript(op.key, op.value);
          break;
        case 'range':
          this.setKey(op.key, stringAfterRange(this.entries.get(idOf(op.key))?.entry, op.offset, op.value));
          break;
      }
    }
    this.setLsn(update.lsn);
  }

  sync(cb: (err: Error | null, durableLsn: Lsn) => void): void {
    this.checkOpen();
    const mark = this.undoBase + this.undo.length;
    const pending: PendingSync = { lsn: this.applied };
    this.pendingSyncs.add(pending);
    this.scheduler(() => {
      this.pendingSyncs.delete(pending);
      // A crashed node runs no more callbacks: its sync never completed.
      if (this.lifecycle === 'crashed') return;
      if (mark > this.undoBase) {
        this.undo.splice(0, mark - this.undoBase);
        this.undoBase = mark;
      }
      this.durable = Math.max(this.durable, pending.lsn);
      cb(null, this.durable);
    });
  }

  installRegion(region: number, items: readonly RegionItem[], first: boolean): void {
    this.checkOpen();
    checkRegionItems(region, items);
    if (first) {
      for (const id of [...this.regionKeys[region]!]) this.deleteKey(id, region);
      for (const [sha] of this.regionScripts(region, undefined, Infinity)) this.setScript(sha, null);
    }
    for (const item of items) {
      if (item.t === 'script') {
        this.setScript(item.key, item.value);
        continue;
      }
      if (item.t === 'key') {
        const e = item.entry;
        // The count follows the elements as they are installed; the encoding is the primary's.
        this.setKey(item.key, e.type === 'string' ? stringEntry(Buffer.from(e.value), e.expireAtMs) : { ...e, count: 0 });
        continue;
      }
      const id = idOf(item.key);
      const stored = this.entries.get(id);
      assert(stored?.elems != null, () => `element of ${item.key.toString('hex')} installed before its collection's header`);
      const prev = stored.elems.get(item.elem);
      this.undo.push({ t: 'elem', id, header: stored.entry, elem: Buffer.from(item.elem), prev });
      stored.elems.set(Buffer.from(item.elem), Buffer.from(item.value));
      if (prev === undefined) stored.entry = { ...stored.entry, count: stored.entry.count + 1 };
      this.digests[region] = undefined;
    }
  }

  setAppliedLsn(lsn: Lsn): void {
    this.checkOpen();
    checkLsn(lsn);
    this.setLsn(lsn);
    // What is applied below lsn now belongs to another history: no sync, finished or pending,
    // may report beyond it.
    this.durable = Math.min(this.durable, lsn);
    for (const p of this.pendingSyncs) p.lsn = Math.min(p.lsn, lsn);
  }

  dirtyRegions(): number[] {
    this.checkOpen();
    return [...this.dirty].sort((a, b) => a - b);
  }

  markDirty(regions: readonly number[]): void {
    this.checkOpen();
    for (const r of regions) checkRegion(r);
    if (regions.every((r) => this.dirty.has(r))) return;
    this.undo.push({ t: 'dirty', prev: new Set(this.dirty) });
    for (const r of regions) this.dirty.add(r);
  }

  markClean(region: number): void {
    this.checkOpen();
    checkRegion(region);
    if (!this.dirty.has(region)) return;
    this.undo.push({ t: 'dirty', prev: new Set(this.dirty) });
    this.dirty.delete(region);
  }

  regionDigest(region: number): string {
    this.checkOpen();
    checkRegion(region);
    const cached = this.digests[region];
    if (cached !== undefined) return cached;
    const hex = digestRegion(this, region);
    this.digests[region] = hex;
    return hex;
  }

  digest(): string {
    return combineRegionDigests(Array.from({ length: REGION_COUNT }, (_, r) => this.regionDigest(r)));
  }

  close(cb: (err: Error | null) => void): void {
    this.checkOpen();
    this.lifecycle = 'closed';
    this.scheduler(() => cb(null));
  }

  /**
   * Simulates a crash of the process and the machine: returns a new MemoryStorage holding only
   * what completed syncs made durable (content, appliedLsn and dirty marks). This instance is
   * dead afterwards: its pending sync completions are dropped and every call throws.
   */
  crash(): MemoryStorage {
    assert(this.lifecycle !== 'crashed', 'this storage area has already crashed');
    for (let i = this.undo.length - 1; i >= 0; i--) this.revert(this.undo[i]!);
    this.lifecycle = 'crashed';
    const next = new MemoryStorage({ scheduler: this.scheduler });
    next.entries = this.entries;
    next.regionKeys = this.regionKeys;
    next.dirty = this.dirty;
    next.scripts = this.scripts;
    next.applied = this.applied;
    next.durable = this.applied;
    this.entries = new Map();
    this.regionKeys = emptyRegionKeys();
    this.undo = [];
    return next;
  }

  private revert(u: Undo): void {
    switch (u.t) {
      case 'key': {
        if (u.prev === undefined) {
          this.entries.delete(u.id);
          this.regionKeys[u.region]!.delete(u.id);
        } else {
          this.entries.set(u.id, u.prev);
          this.regionKeys[u.region]!.add(u.id);
        }
        break;
      }
      case 'elem': {
        const stored = this.entries.get(u.id)!;
        stored.entry = u.header;
        if (u.elem !== null) {
          if (u.prev === undefined) stored.elems!.delete(u.elem);
          else stored.elems!.set(u.elem, u.prev);
        }
        break;
      }
      case 'all':
        this.entries = u.entries;
        this.regionKeys = u.regionKeys;
        break;
      case 'script':
        if (u.prev === undefined) this.scripts.delete(u.id);
        else this.scripts.set(u.id, u.prev);
        break;
      case 'lsn':
        this.applied = u.prev;
        break;
      case 'dirty':
        this.dirty = new Set(u.prev);
        break;
    }
  }

  /** Element op: creates the collection if needed, removes the key with its last element. */
  private applyElem(op: Extract<Op, { k: 'elem' }>): void {
    const id = idOf(op.key);
    const region = regionOfKey(op.key);
    let stored = this.entries.get(id);
    if (stored === undefined || stored.entry.type !== op.type) {
      if (op.value === null) return;
      stored = this.setKey(op.key, newCollection(op.type));
    }
    const elems = stored.elems!;
    const prev = elems.get(op.elem);
    if (op.value === null && prev === undefined) return;
    const elem = Buffer.from(op.elem);
    this.undo.push({ t: 'elem', id, header: stored.entry, elem, prev });
    this.digests[region] = undefined;
    if (op.value === null) {
      elems.delete(elem);
      stored.entry = { ...stored.entry, count: stored.entry.count - 1 };
      if (stored.entry.count === 0) this.deleteKey(id, region);
      return;
    }
    const value = Buffer.from(op.value);
    elems.set(elem, value);
    stored.entry = headerAfterSet(stored.entry, op.type as CollectionType, prev === undefined, elem, value);
  }

  private setKey(key: Buffer, entry: Entry): Stored {
    const id = idOf(key);
    const region = regionOfKey(key);
    const prev = this.entries.get(id);
    this.undo.push({ t: 'key', id, region, prev });
    const stored: Stored = { key: Buffer.from(key), entry, elems: entry.type === 'string' ? null : new CollectionElements(entry.type) };
    this.entries.set(id, stored);
    if (prev === undefined) {
      this.regionKeys[region]!.add(id);
      this.sortedIds[region] = undefined;
    }
    this.digests[region] = undefined;
    return stored;
  }

  private deleteKey(id: string, region: number): void {
    const prev = this.entries.get(id);
    if (prev === undefined) return;
    this.undo.push({ t: 'key', id, region, prev });
    this.entries.delete(id);
    this.regionKeys[region]!.delete(id);
    this.sortedIds[region] = undefined;
    this.digests[region] = undefined;
  }

  private clearAll(): void {
    // The old maps become the undo record as they are: a flush costs O(1), not O(keys).
    this.undo.push({ t: 'all', entries: this.entries, regionKeys: this.regionKeys });
    this.entries = new Map();
    this.regionKeys = emptyRegionKeys();
    this.sortedIds.fill(undefined);
    this.digests.fill(undefined);
  }

  private setScript(sha: Buffer, body: Buffer | null): void {
    const id = idOf(sha);
    const prev = this.scripts.get(id);
    if (body === null && prev === undefined) return;
    this.undo.push({ t: 'script', id, prev });
    if (body === null) this.scripts.delete(id);
    else this.scripts.set(id, Buffer.from(body));
    this.digests[regionOfKey(sha)] = undefined;
  }

  private setLsn(lsn: Lsn): void {
    this.undo.push({ t: 'lsn', prev: this.applied });
    this.applied = lsn;
  }

  private sorted(region: number): string[] {
    let ids = this.sortedIds[region];
    if (ids === undefined) {
      ids = [...this.regionKeys[region]!].sort();
      this.sortedIds[region] = ids;
    }
    return ids;
  }

  private checkOpen(): void {
    if (this.lifecycle !== 'open') {
      throw new UnderstudyError('STORAGE_CLOSED', `storage area is ${this.lifecycle}`, { lifecycle: this.lifecycle });
    }
  }
}
