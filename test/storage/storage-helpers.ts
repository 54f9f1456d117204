// Helpers shared by the storage-area tests: building updates, finding keys
// in a chosen region, and promise wrappers for the callback API.
import { regionOfKey, regionsOfOps } from '../../src/core/regions.ts';
import { stringEntry } from '../../src/core/collections.ts';
import type { CollectionType, Entry, Lsn, Op, RegionItem, Update } from '../../src/core/types.ts';
import type { StorageArea } from '../../src/storage/storage-area.ts';

export function put(key: string | Buffer, value: string | Buffer, expireAtMs = 0): Op {
  return { k: 'put', key: Buffer.from(key), value: Buffer.from(value), expireAtMs };
}

export function del(key: string | Buffer): Op {
  return { k: 'del', key: Buffer.from(key) };
}

export const flush: Op = { k: 'flush' };

export function update(lsn: Lsn, ops: readonly Op[]): Update {
  return { lsn, epoch: 1, dest: ['n2'], kind: 'data', ops, regions: regionsOfOps(ops) };
}

/** Most keys tried when looking for keys of one region; a region holds 1/64 of the keys, so this is plenty. */
const KEY_SEARCH_LIMIT = 100_000;

/** The first `n` keys `${prefix}${i}` that fall in `region`. */
export function keysInRegion(region: number, n: number, prefix = 'k'): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < KEY_SEARCH_LIMIT && out.length < n; i++) {
    const key = Buffer.from(`${prefix}${i}`);
    if (regionOfKey(key) === region) out.push(key);
  }
  if (out.length < n) throw new Error(`found only ${out.length} keys in region ${region}`);
  return out;
}

/** A key whose region is `region`, built around a hash tag so that any bytes can surround it. */
export function taggedKey(region: number, before: Buffer, after: Buffer): Buffer {
  const [tag] = keysInRegion(region, 1, 'tag');
  return Buffer.concat([before, Buffer.from('{'), tag!, Buffer.from('}'), after]);
}

export function syncP(s: StorageArea): Promise<Lsn> {
  return new Promise((resolve, reject) => s.sync((err, lsn) => (err ? reject(err) : resolve(lsn))));
}

export function closeP(s: StorageArea): Promise<void> {
  return new Promise((resolve, reject) => s.close((err) => (err ? reject(err) : resolve())));
}

export function entry(value: string, expireAtMs = 0): Entry {
  return stringEntry(Buffer.from(value), expireAtMs);
}

/** Region items for strings: one header item per [key, entry]. */
export function items(pairs: ReadonlyArray<readonly [Buffer, Entry]>): RegionItem[] {
  return pairs.map(([key, e]) => ({ t: 'key', key, entry: e }));
}

/** An element op: set (value given) or remove (value null) element `elem` of collection `key`. */
export function elemOp(key: string | Buffer, type: CollectionType, elem: string | Buffer, value: string | Buffer | null): Op {
  return { k: 'elem', key: Buffer.from(key), type, elem: Buffer.from(elem), value: value === null ? null : Buffer.from(value) };
}

/** Entries as comparable plain data: [key hex, value hex, expireAtMs]. */
export function plain(entries: ReadonlyArray<readonly [Buffer, Entry]>): Array<[string, string, number]> {
  return entries.map(([k, e]) => [k.toString('hex'), e.value.toString('hex'), e.expireAtMs]);
}

/** Most entries any test region holds; regionEntries with this limit returns all of them. */
export const ALL_ENTRIES_LIMIT = 1_000_000;
