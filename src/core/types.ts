// The vocabulary of the claims (US 7,617,369) as data types. Nothing here does
// I/O; every node, the simulator and the codecs share these shapes.

/** A node's stable identity within the cluster, e.g. "n1". */
export type NodeId = string;
/** Log sequence number: gap-free, starts at 1; 0 means "nothing". */
export type Lsn = number;
/** Monotonically increasing election term; every message carries one (fencing). */
export type Epoch = number;

/** The type of a key's value, as TYPE names it. */
export type ValueType = 'string' | 'hash' | 'list' | 'set' | 'zset';
/** The types whose value is a collection of elements, stored and replicated element by element. */
export type CollectionType = Exclude<ValueType, 'string'>;

/**
 * What a key holds at its top level (its "header"): the type, the absolute expiry (unix ms,
 * 0 = never), for a string its value, for a collection its element count. A collection's
 * elements are read one by one or by range (StateReader.getElement / elements), never with
 * the header, so that touching one element of a huge collection never loads the rest.
 */
export interface Entry {
  readonly type: ValueType;
  /** The string's bytes; empty for a collection. */
  readonly value: Buffer;
  readonly expireAtMs: number;
  /** Number of elements of a collection (at least 1 while it exists); 0 for a string. */
  readonly count: number;
  /**
   * For a collection: it grew past the compact encoding's limits once (Redis converts a
   * listpack/intset to a hashtable/skiplist and never back), so OBJECT ENCODING reports the
   * big encoding. Decided by the shared rule of src/core/kv/encoding.ts; false for strings.
   */
  readonly big: boolean;
}

/**
 * A collection's element, named by `elem`:
 * - hash: the field, value = the field's value;
 * - set: the member, value = empty;
 * - zset: the member, value = its score (encodeScore: 8 bytes, float64 big-endian);
 * - list: the position (encodeListPosition: 8 bytes, sortable), value = the element.
 * Elements are ordered by `elem` bytes; a zset is also ordered by score (ElementRange.by).
 */
export interface Element {
  readonly elem: Buffer;
  readonly value: Buffer;
}

/**
 * A range read of a collection's elements, in `by` order: 'elem' (element bytes; for a list
 * that is list order) or 'score' (zset only: score, then member bytes, the order key of
 * scoreOrderKey). It starts at `start` (an element, or for 'score' an order key) or at the
 * first (last, with `reverse`) element, skips `start` itself when `exclusive`, and returns at
 * most `limit` elements.
 */
export interface ElementRange {
  readonly by?: 'elem' | 'score';
  readonly start?: Buffer;
  readonly exclusive?: boolean;
  readonly reverse?: boolean;
  readonly limit: number;
}

/**
 * A deterministic write. The primary executes client logic (INCR, APPEND, SET NX, HINCRBY,
 * SPOP…) and replicates only final values, so replicas never re-execute logic. Every op is
 * idempotent over a newer state (a region resync followed by a log replay relies on it).
 * - put: the key becomes the string `value` (whatever it held before);
 * - del: the key and all its elements go;
 * - flush: every key goes;
 * - expire: an existing key of any type gets expiry `expireAtMs` (0 = none); no-op if absent;
 * - elem: element `elem` of collection `key` becomes `value`, or is removed (value null).
 *   A set creates the collection (no expiry) if the key is absent, and replaces the key if it
 *   holds another type; removing the last element removes the key;
 * - script: the script cache (SCRIPT LOAD, EVAL) learns the Lua script `value` under its SHA1
 *   `key` (40 lower-case hex bytes), or forgets it (value null, SCRIPT FLUSH). Scripts live
 *   beside the keys, in the region of their sha, so that region resync carries them; a flush
 *   leaves them, as FLUSHALL leaves Redis's script cache;
 * - range: bytes `offset` .. `offset + value.length` of string `key` become `value`, zeros
 *   filling any gap past its end; the string keeps its expiry. An absent key (or one of another
 *   type, which goes) becomes a string of no expiry. SETBIT, BITFIELD, PFADD, SETRANGE and
 *   APPEND ship only what they change this way, so a bit set in a huge bitmap costs a byte.
 */
export type Op =
  | { readonly k: 'put'; readonly key: Buffer; readonly value: Buffer; readonly expireAtMs: number }
  | { readonly k: 'del'; readonly key: Buffer }
  | { readonly k: 'flush' }
  | { readonly k: 'expire'; readonly key: Buffer; readonly expireAtMs: number }
  | { readonly k: 'elem'; readonly key: Buffer; readonly type: CollectionType; readonly elem: Buffer; readonly value: Buffer | null }
  | { readonly k: 'script'; readonly key: Buffer; readonly value: Buffer | null }
  | { readonly k: 'range'; readonly key: Buffer; readonly offset: number; readonly value: Buffer };

/**
 * One item of a region's content, as a region resync streams it: a key's header, then (for a
 * collection) its elements in element order, key by key in key byte order. A huge collection
 * spans as many chunks as it takes.
 */
export type RegionItem =
  | { readonly t: 'key'; readonly key: Buffer; readonly entry: Entry }
  | { readonly t: 'elem'; readonly key: Buffer; readonly elem: Buffer; readonly value: Buffer }
  /** A cached Lua script of the region: its sha (key) and body; a region's scripts come before its keys. */
  | { readonly t: 'script'; readonly key: Buffer; readonly value: Buffer };

/**
 * Why an update exists:
 * - `data`: client writes;
 * - `config`: changes `dest` (waives the acks of a secondary left out, or lets one rejoin);
 * - `epoch-start`: the first update of a new primary's epoch; committing it commits every
 *   older-epoch update before it (the Figure 8 rule of Raft).
 */
export type UpdateKind = 'data' | 'config' | 'epoch-start';

/**
 * A keyspace notification a command caused (src/core/kv/key-events.ts): Redis's event name and
 * the index, in its update's ops, of an op on the key. Carried so that every node applying the
 * update can publish what the command was (an INCR is a put of its result).
 */
export interface KeyEvent {
  readonly event: string;
  readonly op: number;
}

/** One replicated unit (claim 1's "update"). */
export interface Update {
  readonly lsn: Lsn;
  readonly epoch: Epoch;
  /** Claim 1: "the update identifies at least one secondary node … to which it will be sent". */
  readonly dest: readonly NodeId[];
  readonly kind: UpdateKind;
  readonly ops: readonly Op[];
  /** Sorted, unique region ids the ops touch (claim 26's regions). */
  readonly regions: readonly number[];
  /** Keyspace notifications of the commands in it, in command order; absent when there are none. */
  readonly keyEvents?: readonly KeyEvent[];
}

/** The first lsn of each epoch present in a log: lets two nodes find where their logs part. */
export interface EpochStart {
  readonly epoch: Epoch;
  readonly startLsn: Lsn;
}
