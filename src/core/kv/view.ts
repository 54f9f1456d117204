// What the key-value executor reads: the same shape as the storage area's StateReader
// (src/storage/storage-area.ts), declared here so the pure core does not import storage.
import type { Entry } from '../types.ts';

export interface KvView {
  /** The stored entry, expired or not (the executor decides what expired means). */
  get(key: Buffer): Entry | undefined;
  /** Entries of one region in key byte order, strictly after `afterKey`, at most `limit`. */
  regionEntries(region: number, afterKey: Buffer | undefined, limit: number): Array<[Buffer, Entry]>;
  /** Number of stored keys, expired ones included (as Redis's DBSIZE counts keys not yet evicted). */
  size(): number;
}

/** True if the entry is present and not expired at `nowMs` (expireAtMs 0 = never expires). */
export function isLive(e: Entry | undefined, nowMs: number): e is Entry {
  return e !== undefined && (e.expireAtMs === 0 || e.expireAtMs > nowMs);
}
