// Read access the protocol core needs to a node's storage area (synchronous:
// LMDB reads are). Defined here so that the core depends on nothing outside it;
// src/storage implements it.
import type { Entry } from './types.ts';

/** Read access the protocol core needs (synchronous: LMDB reads are). */
export interface StateReader {
  /** The entry stored for key, or undefined. Does not hide expired entries: callers decide. */
  get(key: Buffer): Entry | undefined;
  /**
   * Entries of one region in key byte order, starting strictly after `afterKey` (or at the
   * beginning), at most `limit` of them. For region resync and digests.
   */
  regionEntries(region: number, afterKey: Buffer | undefined, limit: number): Array<[Buffer, Entry]>;
  /** Number of keys stored (DBSIZE). */
  size(): number;
}
