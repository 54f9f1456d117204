// The default storage area, on LMDB. Each apply() is one LMDB write
// transaction covering the update's ops and the meta keys (appliedLsn, key
// count), so a reopened store always sits exactly at an lsn whose ops are all
// present — never a torn update.
//
// Durability: the UpdateLog is what makes writes durable, so by default LMDB
// commits do not wait for the disk ("deferred" commits, MDB_NOSYNC per
// transaction), several times the commit rate of flushed commits. sync()
// flushes the environment on a worker thread; after it completes, everything
// applied before the call survives a machine crash. A process crash (kill -9)
// loses nothing committed: the pages are already in the OS page cache.
// A machine crash between two syncs, however, may leave the file torn (LMDB
// without sync relies on the disk keeping write order), so the store guards
// against it: while open with deferred commits it holds a durable marker with
// the machine's boot id, cleared by a clean close. Reopening with the marker
// of another boot means the machine went down while the store was open: open()
// refuses with STORAGE_CORRUPT, and the node must rebuild the store (a fresh
// directory, then region resync). `flushEachCommit: true` trades commit rate
// for a file that survives any crash (lmdb's overlapping sync: each commit is
// flushed in the background and the last flushed one is the recovery point).
//
// On-disk layout (format 3; docs/log-format.md, "The LMDB storage area"), in one environment:
// - db "data", one header per key: key = [regionId: u8] ++ raw key, so each region is one
//   contiguous key range (regionEntries scans only that range, in key byte order);
//   value = [expireAtMs: u64 big-endian] [type: u8] then, for a string, its raw value, for a
//   collection [big: u8] [element count: u64 big-endian].
// - db "elems", one record per collection element: key = [regionId: u8] [key length: u16
//   big-endian] ++ raw key ++ [space: u8] ++ element, value = the element's value. Space 0
//   holds every collection's elements by element (a list's by position); space 1 a sorted
//   set's score index, [space 1] ++ scoreOrderKey(score, member) → score. The length prefix
//   keeps each key's records one contiguous range, so one element, a range, or the count (in
//   the header) is read without touching the rest of the collection.
// - db "scripts", the script cache (SCRIPT LOAD, EVAL): key = [regionId: u8] ++ sha (40
//   lower-case hex bytes; the region is the sha's, as if it were a key), value = the body. Added
//   beside format 2 (an older store opens with it empty).
// - a string longer than STRING_INLINE_MAX_BYTES (64 KiB) is stored in chunks: its header is [expireAtMs]
//   [CHUNKED_STRING_CODE] [length: u64 big-endian], and chunk i (bytes i*STRING_CHUNK_BYTES
//   onward) is the record [space 2] ++ [i: u32 big-endian] in db "elems"; a chunk of zeros is
//   not stored (a sparse bitmap takes the room of its set bits). A range op (SETBIT, BITFIELD,
//   PFADD, SETRANGE, APPEND) rewrites only the chunks it touches, so one bit set in a 512 MiB
//   bitmap rewrites 4 KiB, not the value; shorter strings stay inline, read in one lookup.
//   (STRING_CHUNK_BYTES is 4 KiB.)
// - db "meta": format (number), appliedLsn (number), count (number of data keys, so size()
//   is O(1)), dirty (sorted region ids), openOnBoot (boot id, while open with deferred
//   commits), stored with lmdb's default msgpack encoding.
// A format-1 store (strings only, value = [expireAtMs] ++ raw value) is rewritten to the
// current format when opened. Format 3 added the scripts db and chunked strings, which a build
// of format 2 would misread (ignore the scripts; refuse a chunked header as corrupt): a format-2
// store is valid format 3 as it is, and is marked 3 when opened, so that an older build refuses
// it by its format number, naming it, before it reads anything.
import { readFileSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import {
  headerAfterSet,
  MAX_ELEMENT_KEY_BYTES,
  memberOfOrderKey,
  newCollection,
  orderKeyOf,
  stringEntry,
  TYPE_BY_CODE,
  TYPE_CODE,
} from '../core/collections.ts';
import type { CollectionType, Element, ElementRange, Entry, Lsn, Op, RegionItem, Update } from '../core/types.ts';
import { REGION_COUNT, regionOfKey } from '../core/regions.ts';
import { UnderstudyError } from '../errors.ts';
import type { StorageArea } from './storage-area.ts';
import { combineRegionDigests, digestRegion, readExpiry, writeExpiry } from './region-digest.ts';
import { checkApplyOrder, checkLimit, checkLsn, checkOps, checkRegion, checkRegionItems, MAX_KEY_BYTES } from './update-checks.ts';

/** Version of the on-disk layout above; a store written in another layout is refused. */
export const LMDB_FORMAT_VERSION = 3;
/** The strings-only layout, rewritten to the current one on open. */
const LMDB_FORMAT_STRINGS_ONLY = 1;
/** Typed keys and elements without scripts or chunked strings: valid format 3 as it is. */
const LMDB_FORMAT_TYPED = 2;

/** Bytes before the raw value in a string's header: the expiry and the type. */
const VALUE_PREFIX_BYTES = 9;
/** A collection's header: expiry, type, big flag, count. */
const COLLECTION_HEADER_BYTES = 18;
/** Element spaces of a key's records in db "elems". */
const SPACE_ELEMS = 0;
const SPACE_SCORES = 1;
/** Element space of a chunked string's chunks. */
const SPACE_CHUNKS = 2;
/** Size of a chunk of a chunked string (see the layout above): what a range op rewrites at least. */
export const STRING_CHUNK_BYTES = 4096;
/**
 * Strings up to this long stay inline in their header, read in one lookup (as every string was
 * before chunks): a range op on one rewrites at most this much. Longer ones are chunked.
 */
export const STRING_INLINE_MAX_BYTES = 64 * 1024;
/** Type byte of a chunked string's header (outside TYPE_CODE: it is a layout, not a type). */
const CHUNKED_STRING_CODE = 0x80;
/** A chunked string's header: expiry, type byte, length. */
const CHUNKED_HEADER_BYTES = 17;
/** Bytes of a chunk's index in its record key. */
const CHUNK_INDEX_BYTES = 4;
const EMPTY_BUFFER = Buffer.alloc(0);
/** Bytes before the raw key in a data key: the region id. */
const KEY_PREFIX_BYTES = 1;

/**
 * lmdb-js transaction flags (its TransactionFlags enum exists only as a type declaration):
 * ABORTABLE (1) so a throw inside the transaction rolls everything back, SYNCHRONOUS_COMMIT (2)
 * so the commit is visible when transactionSync returns, NO_SYNC_FLUSH (0x10000) so the commit
 * does not wait for the disk (sync() does that, for many updates at once).
 */
const TXN_ABORTABLE = 0x1;
const TXN_SYNCHRONOUS_COMMIT = 0x2;
const TXN_NO_SYNC_FLUSH = 0x10000;
const TXN_FLAGS = TXN_ABORTABLE | TXN_SYNCHRONOUS_COMMIT | TXN_NO_SYNC_FLUSH;
/** For the boot marker, which must be on disk before any deferred commit follows it. */
const TXN_FLAGS_DURABLE = TXN_ABORTABLE | TXN_SYNCHRONOUS_COMMIT;

/** Where Linux publishes an id that changes at every boot. */
const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

export interface LmdbStorageOptions {
  /**
   * Flush every commit to disk in the background (lmdb's overlapping sync) instead of deferring
   * flushes to sync(). Slower, but the file survives a machine crash at any moment. Forced on
   * where the machine's boot id cannot be read, since the deferred mode's guard needs it.
   */
  readonly flushEachCommit?: boolean;
  /** Overrides the boot id (tests simulate a machine restart with it). */
  readonly bootId?: string;
}

function readBootId(): string | undefined {
  try {
    return readFileSync(BOOT_ID_PATH, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

const META_FORMAT = 'format';
const META_APPLIED_LSN = 'appliedLsn';
const META_COUNT = 'count';
const META_DIRTY = 'dirty';
const META_OPEN_ON_BOOT = 'openOnBoot';

/** The environment-level flush that lmdb's open.js defines but its type declarations omit. */
interface EnvSync {
  sync(cb: (err?: Error | null) => void): void;
}

type Lifecycle = 'open' | 'closing' | 'closed';

/** A sync called but not completed, with the lsn it will report as durable. */
interface PendingSync {
  lsn: Lsn;
}

function dataKey(region: number, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(KEY_PREFIX_BYTES + key.length);
  out[0] = region;
  key.copy(out, KEY_PREFIX_BYTES);
  return out;
}

/** The prefix of every record of one key in db "elems", up to and including the space byte. */
function elemPrefix(region: number, key: Buffer, space: number, extra = 0): Buffer {
  const out = Buffer.allocUnsafe(4 + key.length + extra);
  out[0] = region;
  out.writeUInt16BE(key.length, 1);
  key.copy(out, 3);
  out[3 + key.length] = space;
  return out;
}

function elemKey(region: number, key: Buffer, space: number, elem: Buffer): Buffer {
  const out = elemPrefix(region, key, space, elem.length);
  elem.copy(out, 4 + key.length);
  return out;
}

function encodeHeader(entry: Entry): Buffer {
  if (entry.type === 'string') {
    const out = Buffer.allocUnsafe(VALUE_PREFIX_BYTES + entry.value.length);
    writeExpiry(out, 0, entry.expireAtMs);
    out[8] = TYPE_CODE.string;
    entry.value.copy(out, VALUE_PREFIX_BYTES);
    return out;
  }
  const out = Buffer.allocUnsafe(COLLECTION_HEADER_BYTES);
  writeExpiry(out, 0, entry.expireAtMs);
  out[8] = TYPE_CODE[entry.type];
  out[9] = entry.big ? 1 : 0;
  writeExpiry(out, 10, entry.count);
  return out;
}

function chunkKey(region: number, key: Buffer, index: number): Buffer {
  const out = elemPrefix(region, key, SPACE_CHUNKS, CHUNK_INDEX_BYTES);
  out.writeUInt32BE(index, 4 + key.length);
  return out;
}

function isChunked(raw: Buffer): boolean {
  return raw.length === CHUNKED_HEADER_BYTES && raw[8] === CHUNKED_STRING_CODE;
}

function encodeChunkedHeader(expireAtMs: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(CHUNKED_HEADER_BYTES);
  writeExpiry(out, 0, expireAtMs);
  out[8] = CHUNKED_STRING_CODE;
  writeExpiry(out, 9, length);
  return out;
}

function isAllZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function decodeHeader(raw: Buffer): Entry {
  const type = raw.length >= VALUE_PREFIX_BYTES ? TYPE_BY_CODE[raw[8]!] : undefined;
  if (type === undefined || (type !== 'string' && raw.length !== COLLECTION_HEADER_BYTES)) {
    throw new UnderstudyError('STORAGE_CORRUPT', `stored header of ${raw.length} bytes is not a valid key header (type byte ${String(raw[8])})`);
  }
  const expireAtMs = readExpiry(raw, 0);
  if (type === 'string') return stringEntry(raw.subarray(VALUE_PREFIX_BYTES), expireAtMs);
  return { type, value: Buffer.alloc(0), expireAtMs, count: readExpiry(raw, 10), big: raw[9] === 1 };
}

function ioError(what: string, err: unknown): UnderstudyError {
  const message = err instanceof Error ? err.message : String(err);
  return new UnderstudyError('STORAGE_IO', `${what}: ${message}`, { cause: message });
}

function corrupt(dir: string, what: string): UnderstudyError {
  return new UnderstudyError('STORAGE_CORRUPT', `storage area at ${dir}: ${what}`, { dir });
}

function isLsn(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export class LmdbStorage implements StorageArea {
  private readonly root: RootDatabase;
  private readonly data: Database<Buffer, Buffer>;
  private readonly elems: Database<Buffer, Buffer>;
  private readonly scripts: Database<Buffer, Buffer>;
  private readonly meta: Database<unknown, string>;
  private applied: Lsn;
  private durable: Lsn;
  private count: number;
  private dirty: Set<number>;
  /** Per region, its digest; dropped whenever the region's content changes. */
  private readonly digests: Array<string | undefined> = new Array<string | undefined>(REGION_COUNT);
  /** Syncs called but not completed, with the lsn each will report. */
  private readonly pendingSyncs = new Set<PendingSync>();
  private afterSyncs: Array<() => void> = [];
  private lifecycle: Lifecycle = 'open';

  /** Opens (creating if needed) the storage area in directory `dir`. Synchronous, like LMDB. */
  static open(dir: string, options: LmdbStorageOptions = {}): LmdbStorage {
    return new LmdbStorage(dir, options);
  }

  /** Boot id recorded while open with deferred commits; undefined when every commit is flushed. */
  private readonly bootId: string | undefined;

  private constructor(
    readonly dir: string,
    options: LmdbStorageOptions,
  ) {
    const bootId = options.bootId ?? readBootId();
    this.bootId = options.flushEachCommit === true ? undefined : bootId;
    try {
      this.root = open({ path: dir, overlappingSync: this.bootId === undefined });
      this.data = this.root.openDB<Buffer, Buffer>({ name: 'data', keyEncoding: 'binary', encoding: 'binary' });
      this.elems = this.root.openDB<Buffer, Buffer>({ name: 'elems', keyEncoding: 'binary', encoding: 'binary' });
      this.scripts = this.root.openDB<Buffer, Buffer>({ name: 'scripts', keyEncoding: 'binary', encoding: 'binary' });
      this.meta = this.root.openDB<unknown, string>({ name: 'meta' });
    } catch (err) {
      throw ioError(`cannot open the storage area at ${dir}`, err);
    }
    try {
      const format = this.meta.get(META_FORMAT);
      const openOnBoot = this.meta.get(META_OPEN_ON_BOOT);
      if (format !== undefined && format !== LMDB_FORMAT_VERSION && format !== LMDB_FORMAT_STRINGS_ONLY && format !== LMDB_FORMAT_TYPED) {
        throw corrupt(
          dir,
          `on-disk format ${String(format)}, expected ${LMDB_FORMAT_VERSION}` +
            (typeof format === 'number' && format > LMDB_FORMAT_VERSION ? ' (written by a newer build: run that build, or let the node rebuild the directory by region resync)' : ''),
        );
      }
      if (openOnBoot !== undefined && openOnBoot !== bootId) {
        throw corrupt(
          dir,
          'the machine restarted while this storage area was open with deferred commits, so its file may be torn: ' +
            'move the directory away and let the node rebuild it by region resync',
        );
      }
      // Durable before any deferred commit (the initialisation included): a machine crash from
      // here on is detected at the next open.
      if (this.bootId !== undefined && openOnBoot !== this.bootId) this.writeBootMarker(this.bootId);
      else if (this.bootId === undefined && openOnBoot !== undefined) this.writeBootMarker(undefined);
      if (format === undefined) this.initialise();
      else if (format === LMDB_FORMAT_STRINGS_ONLY) this.upgradeFromStringsOnly();
      else if (format === LMDB_FORMAT_TYPED) this.markCurrentFormat();
      const applied = this.meta.get(META_APPLIED_LSN);
      const count = this.meta.get(META_COUNT);
      const dirty = this.meta.get(META_DIRTY);
      if (!isLsn(applied)) throw corrupt(dir, `bad appliedLsn ${String(applied)}`);
      if (!isLsn(count)) throw corrupt(dir, `bad key count ${String(count)}`);
      if (!Array.isArray(dirty) || !dirty.every((r) => Number.isInteger(r) && r >= 0 && r < REGION_COUNT)) {
        throw corrupt(dir, 'bad dirty-region list');
      }
      this.applied = applied;
      this.durable = applied;
      this.count = count;
      this.dirty = new Set(dirty as number[]);
    } catch (err) {
      this.root.close().catch(() => undefined);
      throw err;
    }
  }

  get appliedLsn(): Lsn {
    return this.applied;
  }

  get durableLsn(): Lsn {
    return this.durable;
  }

  get(key: Buffer): Entry | undefined {
    this.checkOpen();
    // A key over the limit cannot be stored (and LMDB would refuse to look it up).
    if (key.length > MAX_KEY_BYTES) return undefined;
    const region = regionOfKey(key);
    const raw = this.data.getBinary(dataKey(region, key));
    return raw === undefined ? undefined : this.decode(region, key, raw);
  }

  getElement(key: Buffer, elem: Buffer): Buffer | undefined {
    this.checkOpen();
    if (key.length + elem.length > MAX_ELEMENT_KEY_BYTES) return undefined;
    return this.elems.getBinary(elemKey(regionOfKey(key), key, SPACE_ELEMS, elem));
  }

  elements(key: Buffer, range: ElementRange): Element[] {
    this.checkOpen();
    checkLimit(range.limit);
    if (range.limit === 0 || key.length > MAX_ELEMENT_KEY_BYTES) return [];
    const space = range.by === 'score' ? SPACE_SCORES : SPACE_ELEMS;
    const region = regionOfKey(key);
    const prefix = elemPrefix(region, key, space);
    const beyond = elemPrefix(region, key, space + 1);
    // A bound longer than any stored element is cut to the LMDB key limit; what it cuts off
    // cannot be stored, and the comparison below keeps the range exact.
    const bound = range.start === undefined ? undefined : elemKey(region, key, space, range.start.subarray(0, MAX_ELEMENT_KEY_BYTES - key.length));
    const reverse = range.reverse === true;
    const out: Element[] = [];
    // A range's end is exclusive: going down, it is the key's prefix without the space byte, so
    // that an element equal to the prefix (the empty element) is still reached.
    const opts = reverse ? { start: bound ?? beyond, end: prefix.subarray(0, prefix.length - 1), reverse: true } : { start: bound ?? prefix, end: beyond };
    for (const { key: k, value } of this.elems.getRange(opts)) {
      if (out.length === range.limit) break;
      if (Buffer.compare(k, beyond) >= 0) continue; // only the start itself, going down
      if (Buffer.compare(k, prefix) < 0) break;
      const orderKey = k.subarray(prefix.length);
      if (range.start !== undefined) {
        const c = Buffer.compare(orderKey, range.start);
        if (c === 0 ? range.exclusive === true : reverse ? c > 0 : c < 0) continue;
      }
      out.push({ elem: space === SPACE_SCORES ? Buffer.from(memberOfOrderKey(orderKey)) : Buffer.from(orderKey), value: Buffer.from(value) });
    }
    return out;
  }

  regionEntries(region: number, afterKey: Buffer | undefined, limit: number): Array<[Buffer, Entry]> {
    this.checkOpen();
    checkRegion(region);
    checkLimit(limit);
    if (limit === 0) return [];
    // Start at afterKey itself (cut to the key size limit, as LMDB refuses longer bounds) and
    // skip what is not strictly after it: at most one key, equal to the bound.
    // (afterKey ++ 0x00, the exact successor, could itself exceed the limit.)
    const bound = afterKey?.subarray(0, MAX_KEY_BYTES);
    const start = bound === undefined ? Buffer.from([region]) : dataKey(region, bound);
    const found: Array<[Buffer, Buffer]> = [];
    for (const { key, value } of this.data.getRange({ start, end: Buffer.from([region + 1]), limit: limit + 1 })) {
      if (found.length === limit) break;
      const raw = key.subarray(KEY_PREFIX_BYTES);
      if (afterKey !== undefined && Buffer.compare(raw, afterKey) <= 0) continue;
      found.push([raw, value]);
    }
    // Chunked strings are joined after the walk, outside its cursor.
    const out: Array<[Buffer, Entry]> = found.map(([k, v]) => [k, this.decode(region, k, v)]);
    return out;
  }

  size(): number {
    this.checkOpen();
    return this.count;
  }

  getScript(sha: Buffer): Buffer | undefined {
    this.checkOpen();
    const v = this.scripts.get(dataKey(regionOfKey(sha), sha));
    return v === undefined ? undefined : Buffer.from(v);
  }

  regionScripts(region: number, afterSha: Buffer | undefined, limit: number): Array<[Buffer, Buffer]> {
    this.checkOpen();
    checkRegion(region);
    const out: Array<[Buffer, Buffer]> = [];
    if (limit <= 0) return out;
    const start = afterSha === undefined ? Buffer.from([region]) : dataKey(region, afterSha);
    for (const { key, value } of this.scripts.getRange({ start, end: Buffer.from([region + 1]) })) {
      if (out.length === limit) break;
      const sha = key.subarray(KEY_PREFIX_BYTES);
      if (afterSha !== undefined && Buffer.compare(sha, afterSha) <= 0) continue;
      out.push([Buffer.from(sha), Buffer.from(value)]);
    }
    return out;
  }

  apply(update: Update): void {
    this.checkOpen();
    checkApplyOrder(this.applied, update);
    checkOps(update.ops);
    const touched = new Set<number>();
    let count = this.count;
    this.transact('apply', () => {
      for (const op of update.ops) {
        if (op.k === 'flush') {
          for (let r = 0; r < REGION_COUNT; r++) touched.add(r);
          this.data.clearSync();
          this.elems.clearSync();
          count = 0;
          continue;
        }
        const region = regionOfKey(op.key);
        touched.add(region);
        switch (op.k) {
          case 'put':
            count += this.putHeader(region, op.key, stringEntry(op.value, op.expireAtMs));
            break;
          case 'del':
            count -= this.removeKey(region, op.key);
            break;
          case 'expire': {
            // Every header layout starts with the expiry: only those 8 bytes change.
            const k = dataKey(region, op.key);
            const raw = this.data.getBinary(k);
            if (raw !== undefined) {
              const next = Buffer.from(raw);
              writeExpiry(next, 0, op.expireAtMs);
              this.data.putSync(k, next);
            }
            break;
          }
          case 'elem':
            count += this.applyElem(region, op);
            break;
          case 'script':
            if (op.value === null) this.scripts.removeSync(dataKey(region, op.key));
            else this.scripts.putSync(dataKey(region, op.key), op.value);
            break;
          case 'range':
            count += this.applyRange(region, op);
            break;
        }
      }
      this.meta.putSync(META_APPLIED_LSN, update.lsn);
      if (count !== this.count) this.meta.putSync(META_COUNT, count);
    }, touched);
    this.applied = update.lsn;
    this.count = count;
  }

  sync(cb: (err: Error | null, durableLsn: Lsn) => void): void {
    this.checkOpen();
    // The flush covers at least everything committed now; it may cover more, but only what was
    // applied before this call is known to be in it.
    const pending: PendingSync = { lsn: this.applied };
    this.pendingSyncs.add(pending);
    (this.root as unknown as EnvSync).sync((err) => {
      this.pendingSyncs.delete(pending);
      if (err) cb(ioError('cannot flush the storage area', err), this.durable);
      else {
        this.durable = Math.max(this.durable, pending.lsn);
        cb(null, this.durable);
      }
      if (this.pendingSyncs.size === 0) for (const fn of this.afterSyncs.splice(0)) fn();
    });
  }

  installRegion(region: number, items: readonly RegionItem[], first: boolean): void {
    this.checkOpen();
    checkRegionItems(region, items);
    let count = this.count;
    this.transact('install region', () => {
      if (first) {
        const keys = [...this.data.getKeys({ start: Buffer.from([region]), end: Buffer.from([region + 1]) })];
        for (const k of keys) if (this.data.removeSync(k)) count--;
        const elems = [...this.elems.getKeys({ start: Buffer.from([region]), end: Buffer.from([region + 1]) })];
        for (const k of elems) this.elems.removeSync(k);
        const scripts = [...this.scripts.getKeys({ start: Buffer.from([region]), end: Buffer.from([region + 1]) })];
        for (const k of scripts) this.scripts.removeSync(k);
      }
      for (const item of items) {
        if (item.t === 'script') {
          this.scripts.putSync(dataKey(region, item.key), item.value);
          continue;
        }
        if (item.t === 'key') {
          // The count follows the elements as they are installed; the encoding is the primary's.
          count += this.putHeader(region, item.key, item.entry.type === 'string' ? item.entry : { ...item.entry, count: 0 });
          continue;
        }
        const h = this.header(region, item.key);
        if (h === undefined || h.type === 'string') {
          throw new UnderstudyError('STORAGE_CORRUPT', `region ${region}: element of ${item.key.toString('hex')} installed before its collection's header`);
        }
        const isNew = this.putElement(region, item.key, h.type, item.elem, item.value);
        if (isNew) this.data.putSync(dataKey(region, item.key), encodeHeader({ ...h, count: h.count + 1 }));
      }
      if (count !== this.count) this.meta.putSync(META_COUNT, count);
    }, new Set([region]));
    this.count = count;
  }

  setAppliedLsn(lsn: Lsn): void {
    this.checkOpen();
    checkLsn(lsn);
    this.transact('set applied lsn', () => this.meta.putSync(META_APPLIED_LSN, lsn), new Set());
    this.applied = lsn;
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
    this.writeDirty(new Set([...this.dirty, ...regions]));
  }

  markClean(region: number): void {
    this.checkOpen();
    checkRegion(region);
    if (!this.dirty.has(region)) return;
    const next = new Set(this.dirty);
    next.delete(region);
    this.writeDirty(next);
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

  /**
   * Waits for pending syncs, flushes everything applied, clears the boot marker and closes the
   * environment: a clean close leaves a file that any later boot may open.
   */
  close(cb: (err: Error | null) => void): void {
    this.checkOpen();
    this.lifecycle = 'closing';
    const done = (err: Error | null): void => {
      this.lifecycle = 'closed';
      cb(err);
    };
    const closeEnv = (): void => {
      this.root.close().then(
        () => done(null),
        (err: unknown) => done(ioError('cannot close the storage area', err)),
      );
    };
    const finish = (): void => {
      (this.root as unknown as EnvSync).sync((err) => {
        if (err) {
          // Keep the marker: without a completed flush the file is only as safe as before.
          done(ioError('cannot flush the storage area before closing', err));
          this.root.close().catch(() => undefined);
          return;
        }
        if (this.bootId !== undefined) {
          try {
            this.writeBootMarker(undefined);
          } catch (e) {
            this.root.close().catch(() => undefined);
            done(e instanceof Error ? e : ioError('cannot clear the boot marker', e));
            return;
          }
        }
        this.durable = this.applied;
        closeEnv();
      });
    };
    if (this.pendingSyncs.size === 0) finish();
    else this.afterSyncs.push(finish);
  }

  /**
   * A stored header as an Entry: a chunked string's chunks are read and joined (a read of the
   * whole value, as GET needs).
   */
  private decode(region: number, key: Buffer, raw: Buffer): Entry {
    if (!isChunked(raw)) return decodeHeader(raw);
    const length = readExpiry(raw, 9);
    const out = Buffer.alloc(length);
    const start = elemPrefix(region, key, SPACE_CHUNKS);
    for (const { key: k, value } of this.elems.getRange({ start, end: elemPrefix(region, key, SPACE_CHUNKS + 1) })) {
      const at = k.readUInt32BE(k.length - CHUNK_INDEX_BYTES) * STRING_CHUNK_BYTES;
      value.copy(out, at, 0, Math.min(value.length, length - at));
    }
    return stringEntry(out, readExpiry(raw, 0));
  }

  /**
   * The header of key inside the current transaction, for its type, expiry and count: a chunked
   * string comes back as a string whose value is not read (empty).
   */
  private header(region: number, key: Buffer): Entry | undefined {
    const raw = this.data.getBinary(dataKey(region, key));
    if (raw === undefined) return undefined;
    return isChunked(raw) ? stringEntry(EMPTY_BUFFER, readExpiry(raw, 0)) : decodeHeader(raw);
  }

  /** Writes chunks of `value` (held at byte `at` of the string) that are not all zeros. */
  private putChunks(region: number, key: Buffer, at: number, value: Buffer): void {
    for (let off = 0; off < value.length; off += STRING_CHUNK_BYTES) {
      const chunk = value.subarray(off, off + STRING_CHUNK_BYTES);
      if (!isAllZero(chunk)) this.elems.putSync(chunkKey(region, key, (at + off) / STRING_CHUNK_BYTES), chunk);
    }
  }

  /**
   * A range op inside the current transaction (Op 'range'): an inline string stays inline while
   * it fits STRING_INLINE_MAX_BYTES; a longer one is (or becomes) chunked, and only the chunks the range
   * touches are rewritten. Returns the change of the key count.
   */
  private applyRange(region: number, op: Extract<Op, { k: 'range' }>): number {
    const k = dataKey(region, op.key);
    const raw = this.data.getBinary(k);
    let created = 0;
    let oldLen = 0;
    let expireAtMs = 0;
    let inline: Buffer | undefined;
    if (raw === undefined) created = 1;
    else if (isChunked(raw)) {
      oldLen = readExpiry(raw, 9);
      expireAtMs = readExpiry(raw, 0);
    } else {
      const h = decodeHeader(raw);
      if (h.type === 'string') {
        inline = Buffer.from(h.value);
        oldLen = inline.length;
        expireAtMs = h.expireAtMs;
      } else this.removeElements(region, op.key);
    }
    const newLen = Math.max(oldLen, op.offset + op.value.length);
    if (newLen <= STRING_INLINE_MAX_BYTES) {
      const out = Buffer.alloc(newLen);
      inline?.copy(out, 0);
      op.value.copy(out, op.offset);
      this.data.putSync(k, encodeHeader(stringEntry(out, expireAtMs)));
      return created;
    }
    // Chunked from here on; an inline value becomes its first chunks.
    if (inline !== undefined) this.putChunks(region, op.key, 0, inline);
    if (raw === undefined || !isChunked(raw) || newLen !== oldLen) {
      this.data.putSync(k, encodeChunkedHeader(expireAtMs, newLen));
    }
    const end = op.offset + op.value.length;
    for (let i = Math.floor(op.offset / STRING_CHUNK_BYTES); i * STRING_CHUNK_BYTES < end; i++) {
      const from = i * STRING_CHUNK_BYTES;
      const ck = chunkKey(region, op.key, i);
      const chunk = Buffer.alloc(Math.min(STRING_CHUNK_BYTES, newLen - from));
      this.elems.getBinary(ck)?.copy(chunk, 0);
      const lo = Math.max(op.offset, from);
      op.value.copy(chunk, lo - from, lo - op.offset, Math.min(end, from + STRING_CHUNK_BYTES) - op.offset);
      if (isAllZero(chunk)) this.elems.removeSync(ck);
      else this.elems.putSync(ck, chunk);
    }
    return created;
  }

  /**
   * Puts a key's header inside the current transaction, replacing whatever the key held (a
   * collection's elements go); returns 1 if the key is new, else 0.
   */
  private putHeader(region: number, key: Buffer, entry: Entry): number {
    const k = dataKey(region, key);
    const old = this.data.getBinaryFast(k);
    if (old !== undefined && old.length > 8 && old[8] !== TYPE_CODE.string) this.removeElements(region, key);
    if (entry.type === 'string' && entry.value.length > STRING_INLINE_MAX_BYTES) {
      this.data.putSync(k, encodeChunkedHeader(entry.expireAtMs, entry.value.length));
      this.putChunks(region, key, 0, entry.value);
    } else this.data.putSync(k, encodeHeader(entry));
    return old === undefined ? 1 : 0;
  }

  /** Removes a key and its elements inside the current transaction; returns 1 if it existed. */
  private removeKey(region: number, key: Buffer): number {
    const k = dataKey(region, key);
    const raw = this.data.getBinary(k);
    if (raw === undefined) return 0;
    if (raw[8] !== TYPE_CODE.string) this.removeElements(region, key);
    this.data.removeSync(k);
    return 1;
  }

  /** Every element record of key (all spaces, a chunked string's chunks too): O(elements), as Redis's DEL of a collection. */
  private removeElements(region: number, key: Buffer): void {
    const keys = [...this.elems.getKeys({ start: elemPrefix(region, key, SPACE_ELEMS), end: elemPrefix(region, key, SPACE_CHUNKS + 1) })];
    for (const k of keys) this.elems.removeSync(k);
  }

  /** Sets one element (and a sorted set's score index record); true if it is new. */
  private putElement(region: number, key: Buffer, type: CollectionType, elem: Buffer, value: Buffer): boolean {
    const k = elemKey(region, key, SPACE_ELEMS, elem);
    const old = this.elems.getBinary(k);
    if (type === 'zset') {
      if (old !== undefined) this.elems.removeSync(elemKey(region, key, SPACE_SCORES, orderKeyOf('score', elem, old)));
      this.elems.putSync(elemKey(region, key, SPACE_SCORES, orderKeyOf('score', elem, value)), value);
    }
    this.elems.putSync(k, value);
    return old === undefined;
  }

  /** An element op inside the current transaction; returns the change of the key count. */
  private applyElem(region: number, op: Extract<Op, { k: 'elem' }>): number {
    let h = this.header(region, op.key);
    let created = 0;
    if (h === undefined || h.type !== op.type) {
      if (op.value === null) return 0;
      if (h !== undefined) this.removeKey(region, op.key);
      else created = 1;
      h = newCollection(op.type);
    }
    if (op.value === null) {
      const k = elemKey(region, op.key, SPACE_ELEMS, op.elem);
      const old = this.elems.getBinary(k);
      if (old === undefined) return 0;
      this.elems.removeSync(k);
      if (op.type === 'zset') this.elems.removeSync(elemKey(region, op.key, SPACE_SCORES, orderKeyOf('score', op.elem, old)));
      if (h.count === 1) {
        this.data.removeSync(dataKey(region, op.key));
        return -1;
      }
      this.data.putSync(dataKey(region, op.key), encodeHeader({ ...h, count: h.count - 1 }));
      return 0;
    }
    const isNew = this.putElement(region, op.key, op.type, op.elem, op.value);
    this.data.putSync(dataKey(region, op.key), encodeHeader(headerAfterSet(h, op.type, isNew, op.elem, op.value)));
    return created;
  }

  /** Rewrites a format-1 store (strings only) to the current layout, in one transaction. */
  private upgradeFromStringsOnly(): void {
    this.transact('upgrade the storage layout', () => {
      const records = [...this.data.getRange({})];
      for (const { key, value } of records) {
        if (value.length < 8) throw corrupt(this.dir, `format-1 value of ${value.length} bytes is shorter than its expiry`);
        this.data.putSync(key, encodeHeader(stringEntry(Buffer.from(value.subarray(8)), readExpiry(value, 0))));
      }
      this.meta.putSync(META_FORMAT, LMDB_FORMAT_VERSION);
    }, new Set());
  }

  private writeDirty(next: Set<number>): void {
    const list = [...next].sort((a, b) => a - b);
    this.transact('mark dirty regions', () => this.meta.putSync(META_DIRTY, list), new Set());
    this.dirty = next;
  }

  /** Sets (or with undefined, clears) the boot marker in a transaction flushed before it returns. */
  private writeBootMarker(bootId: string | undefined): void {
    try {
      this.root.transactionSync(() => {
        if (bootId === undefined) this.meta.removeSync(META_OPEN_ON_BOOT);
        else this.meta.putSync(META_OPEN_ON_BOOT, bootId);
      }, TXN_FLAGS_DURABLE);
    } catch (err) {
      throw ioError('cannot write the boot marker', err);
    }
  }

  /** A format-2 store holds nothing format 3 reads differently: only its number changes. */
  private markCurrentFormat(): void {
    this.transact('format upgrade', () => this.meta.putSync(META_FORMAT, LMDB_FORMAT_VERSION), new Set());
  }

  private initialise(): void {
    this.transact('initialise', () => {
      this.meta.putSync(META_FORMAT, LMDB_FORMAT_VERSION);
      this.meta.putSync(META_APPLIED_LSN, 0);
      this.meta.putSync(META_COUNT, 0);
      this.meta.putSync(META_DIRTY, []);
    }, new Set());
  }

  /** Runs `body` as one LMDB write transaction: all of it commits, or none of it (it rolls back on a throw). */
  private transact(what: string, body: () => void, touched: ReadonlySet<number>): void {
    try {
      this.root.transactionSync(body, TXN_FLAGS);
    } catch (err) {
      if (err instanceof UnderstudyError) throw err;
      throw ioError(`cannot ${what}`, err);
    } finally {
      for (const r of touched) this.digests[r] = undefined;
    }
  }

  private checkOpen(): void {
    if (this.lifecycle !== 'open') {
      throw new UnderstudyError('STORAGE_CLOSED', `storage area at ${this.dir} is ${this.lifecycle}`, { dir: this.dir });
    }
  }
}
