// The element encodings shared by every layer that stores collections (executor, overlays,
// both storage areas, codecs): scores and list positions as fixed-width sortable bytes, the
// order keys of range reads, and Redis 7.0's rule for when a small encoding (listpack, intset)
// turns into the big one. One copy of each rule, so that every replica derives the same state
// from the same ops.
import type { CollectionType, Entry, ValueType } from './types.ts';

/**
 * Longest key plus element, in bytes, that a collection can hold: LMDB's compiled-in maximum
 * key size (1978) less the composite key's fixed bytes (region, key length, space tag, and
 * the 8-byte score of a sorted set's score index). The executor refuses longer ones with
 * E_ELEMENT_TOO_LONG; it is a property of the storage layout, not a setting.
 */
export const MAX_ELEMENT_KEY_BYTES = 1960;
export const E_ELEMENT_TOO_LONG = `ERR key and element together exceed ${MAX_ELEMENT_KEY_BYTES} bytes (MAX_ELEMENT_KEY_BYTES, a limit of the storage layout): use a shorter key or element`;

/** Redis 7.0's defaults: hash-max-listpack-entries / -value, zset-max-listpack-*, set-max-intset-entries. */
export const HASH_MAX_LISTPACK_ENTRIES = 512;
export const HASH_MAX_LISTPACK_VALUE = 64;
export const ZSET_MAX_LISTPACK_ENTRIES = 128;
export const ZSET_MAX_LISTPACK_VALUE = 64;
export const SET_MAX_INTSET_ENTRIES = 512;
/** Strings this long or shorter are embstr (OBJ_ENCODING_EMBSTR_SIZE_LIMIT). */
export const EMBSTR_SIZE_LIMIT = 44;

const SCORE_BYTES = 8;
/** Offset of list positions: |position| < 2^52 keeps position + offset an exact integer below 2^53. */
const LIST_POSITION_OFFSET = 2 ** 52;
const TWO_POW_32 = 0x1_0000_0000;

/** A sorted set member's score as stored: float64 big-endian. */
export function encodeScore(score: number): Buffer {
  const b = Buffer.allocUnsafe(SCORE_BYTES);
  b.writeDoubleBE(score, 0);
  return b;
}

export function decodeScore(b: Buffer): number {
  return b.readDoubleBE(0);
}

/**
 * The order key of a zset element in score order: the score's bytes made to sort as numbers
 * (sign bit flipped for positives, every bit flipped for negatives), then the member, so that
 * byte order is Redis's (score, member) order.
 */
export function scoreOrderKey(scoreBytes: Buffer, member: Buffer): Buffer {
  const out = Buffer.allocUnsafe(SCORE_BYTES + member.length);
  // -0 sorts as 0 (Redis compares scores as numbers, then members): only its sign bit is set.
  const negative = (scoreBytes[0]! & 0x80) !== 0 && !isNegativeZero(scoreBytes);
  for (let i = 0; i < SCORE_BYTES; i++) out[i] = negative ? ~scoreBytes[i]! & 0xff : scoreBytes[i]!;
  if (!negative) out[0] = out[0]! | 0x80;
  member.copy(out, SCORE_BYTES);
  return out;
}

function isNegativeZero(scoreBytes: Buffer): boolean {
  if (scoreBytes[0] !== 0x80) return false;
  for (let i = 1; i < SCORE_BYTES; i++) if (scoreBytes[i] !== 0) return false;
  return true;
}

/** The order key that scoreOrderKey gives for the lowest member of `score` (a range start). */
export function scoreBound(score: number): Buffer {
  return scoreOrderKey(encodeScore(score), Buffer.alloc(0));
}

/** The member inside a score order key. */
export function memberOfOrderKey(orderKey: Buffer): Buffer {
  return orderKey.subarray(SCORE_BYTES);
}

/** The lowest and highest list positions encodeListPosition can store. */
export const LIST_POSITION_MIN = -LIST_POSITION_OFFSET;
export const LIST_POSITION_MAX = LIST_POSITION_OFFSET - 1;
/**
 * Distance between the positions of elements pushed one after another. The gap lets LINSERT
 * take a position between two neighbours (halving it) about log2(step) times at one place
 * before a window of neighbours must be renumbered; 2^42 pushes fit on each side (a list pushed
 * on one side 10^5 times a second for a year). Near the end of the range pushes take smaller
 * steps, down to 1.
 */
export const LIST_POSITION_STEP = 1024;

/**
 * A list element's position as stored: position + 2^52 as 8 bytes big-endian, so that byte
 * order is position order for every position in [LIST_POSITION_MIN, LIST_POSITION_MAX]. The
 * first element of a list takes 0; pushing on the left takes first - LIST_POSITION_STEP, on
 * the right last + LIST_POSITION_STEP; LINSERT takes a position between the neighbours.
 */
export function encodeListPosition(position: number): Buffer {
  const u = position + LIST_POSITION_OFFSET;
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(Math.floor(u / TWO_POW_32), 0);
  b.writeUInt32BE(u % TWO_POW_32, 4);
  return b;
}

export function decodeListPosition(b: Buffer): number {
  return b.readUInt32BE(0) * TWO_POW_32 + b.readUInt32BE(4) - LIST_POSITION_OFFSET;
}

/** The key an element sorts by in `by` order (see ElementRange). */
export function orderKeyOf(by: 'elem' | 'score', elem: Buffer, value: Buffer): Buffer {
  return by === 'elem' ? elem : scoreOrderKey(value, elem);
}

/** True if `b` is what Redis's string2ll accepts (a canonical decimal int64): an intset member. */
export function isIntegerMember(b: Buffer): boolean {
  const len = b.length;
  if (len === 0 || len > 20) return false;
  let i = 0;
  if (b[0] === 0x2d) {
    if (len === 1) return false;
    i = 1;
  }
  if (b[i] === 0x30) return len === 1;
  for (let j = i; j < len; j++) if (b[j]! < 0x30 || b[j]! > 0x39) return false;
  if (len - i < 19) return true;
  const v = BigInt(b.toString('latin1'));
  return v >= -(2n ** 63n) && v <= 2n ** 63n - 1n;
}

/**
 * Whether a collection is in its big encoding after an element was set, given whether it was
 * before and its count after: Redis 7.0 converts a hash listpack past 512 entries, a zset listpack past 128, or either at
 * a 64-byte field/value/member, a set intset past 512 members or at its first non-integer
 * member, and never converts back. A list is always a quicklist.
 */
export function bigAfterSet(type: CollectionType, big: boolean, count: number, elem: Buffer, value: Buffer): boolean {
  if (big) return true;
  switch (type) {
    case 'hash':
      return count > HASH_MAX_LISTPACK_ENTRIES || elem.length > HASH_MAX_LISTPACK_VALUE || value.length > HASH_MAX_LISTPACK_VALUE;
    case 'zset':
      return count > ZSET_MAX_LISTPACK_ENTRIES || elem.length > ZSET_MAX_LISTPACK_VALUE;
    case 'set':
      return count > SET_MAX_INTSET_ENTRIES || !isIntegerMember(elem);
    case 'list':
      return false;
  }
}

/** What OBJECT ENCODING answers for an entry, as Redis 7.0 would. */
export function encodingName(e: Entry): string {
  switch (e.type) {
    case 'string':
      if (e.value.length <= 20 && isIntegerMember(e.value)) return 'int';
      return e.value.length <= EMBSTR_SIZE_LIMIT ? 'embstr' : 'raw';
    case 'hash':
      return e.big ? 'hashtable' : 'listpack';
    case 'zset':
      return e.big ? 'skiplist' : 'listpack';
    case 'set':
      return e.big ? 'hashtable' : 'intset';
    case 'list':
      return 'quicklist';
  }
}

/** A string entry (most entries are strings; collections are built by their element ops). */
export function stringEntry(value: Buffer, expireAtMs: number): Entry {
  return { type: 'string', value, expireAtMs, count: 0, big: false };
}

const EMPTY = Buffer.alloc(0);

/**
 * The string a range op leaves (see Op 'range'): `old` (a string entry, or anything else /
 * nothing for an empty string of no expiry) with `value` written at `offset`. A new buffer.
 */
export function stringAfterRange(old: Entry | undefined | null, offset: number, value: Buffer): Entry {
  const base = old != null && old.type === 'string' ? old : undefined;
  const oldLen = base?.value.length ?? 0;
  const out = Buffer.alloc(Math.max(oldLen, offset + value.length));
  if (base !== undefined) base.value.copy(out, 0);
  value.copy(out, offset);
  return stringEntry(out, base?.expireAtMs ?? 0);
}

/** The header of a collection created by its first element. */
export function newCollection(type: CollectionType): Entry {
  return { type, value: EMPTY, expireAtMs: 0, count: 0, big: false };
}

/** One-byte codes of the value types, for the codecs and the LMDB header. */
export const TYPE_CODE = { string: 0, hash: 1, list: 2, set: 3, zset: 4 } as const satisfies Record<ValueType, number>;
export const TYPE_BY_CODE: readonly ValueType[] = ['string', 'hash', 'list', 'set', 'zset'];

/** The header after setting element `elem` of a collection (`isNew`: it was not there). */
export function headerAfterSet(h: Entry, type: CollectionType, isNew: boolean, elem: Buffer, value: Buffer): Entry {
  const count = h.count + (isNew ? 1 : 0);
  return { type, value: EMPTY, expireAtMs: h.expireAtMs, count, big: bigAfterSet(type, h.big, count, elem, value) };
}
