// Read access the protocol core needs to a node's storage area (synchronous:
// LMDB reads are). Defined here so that the core depends on nothing outside it;
// src/storage implements it.
import type { Element, ElementRange, Entry } from './types.ts';

/** Read access the protocol core needs (synchronous: LMDB reads are). */
export interface StateReader {
  /** The key's header (type, expiry, string value or element count), or undefined. Does not hide expired entries: callers decide. */
  get(key: Buffer): Entry | undefined;
  /** One element of the collection at key (see Element), or undefined. Reads that element only. */
  getElement(key: Buffer, elem: Buffer): Buffer | undefined;
  /** Elements of the collection at key in the range's order; reads about `range.limit` elements. */
  elements(key: Buffer, range: ElementRange): Element[];
  /**
   * Headers of one region in key byte order, starting strictly after `afterKey` (or at the
   * beginning), at most `limit` of them. For SCAN, KEYS, active expiry, region resync and digests.
   */
  regionEntries(region: number, afterKey: Buffer | undefined, limit: number): Array<[Buffer, Entry]>;
  /** Number of keys stored (DBSIZE). */
  size(): number;
  /**
   * The body of the cached Lua script with this sha (40 lower-case hex bytes), or undefined.
   * Every storage area has the script cache (StorageArea requires it); a reader without it
   * (a test's plain key map) holds no scripts.
   */
  getScript?(sha: Buffer): Buffer | undefined;
  /** Cached scripts of one region in sha byte order, strictly after `afterSha`, at most `limit`: [sha, body]. */
  regionScripts?(region: number, afterSha: Buffer | undefined, limit: number): Array<[Buffer, Buffer]>;
}
