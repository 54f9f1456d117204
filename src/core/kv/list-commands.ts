// List commands (Redis 7.0's t_list.c) on the element model: a list element is its position
// and its value (list-positions.ts). Every write is element ops with final values: a push sets
// one element per value, a pop removes the ends it took, LSET sets one element, LINSERT sets one
// (or renumbers a window of neighbours first), LREM and LTRIM remove what they drop. Arguments
// are checked in Redis's order, so each error is the one redis-server gives.
import { arr, bulk, err, int, NIL, OK } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Element, Entry } from '../types.ts';
import { del, delElem, E_NOT_INT, E_SYNTAX, is, setElem, typed, WRONG, WRONGTYPE } from './context.ts';
import type { Ctx, Handler, Typed } from './context.ts';
import { atIndex, E_LIST_POSITIONS, elementsFrom, endElement, insertBetween, pushValues, range, walk } from './list-positions.ts';
import type { End } from './list-positions.ts';
import { LLONG_MAX, LLONG_MIN, parseI64 } from './numbers.ts';

export const listOf = (c: Ctx, key: Buffer): Typed => typed(c, key, 'list');
const NIL_ARRAY: Reply = arr(null);
const EMPTY_ARRAY: Reply = arr([]);
const E_POSITIVE = 'ERR value is out of range, must be positive';

/** getPositiveLongFromObjectOrReply: an integer in [0, LLONG_MAX], else `msg`. */
function positive(b: Buffer, msg = E_POSITIVE): bigint | Reply {
  const n = parseI64(b);
  return n === null || n < 0n ? err(msg) : n;
}

/** LEFT / RIGHT in any case, or undefined. */
export function endOf(b: Buffer): End | undefined {
  if (is(b, 'left')) return 'left';
  if (is(b, 'right')) return 'right';
  return undefined;
}

const values = (els: readonly Element[]): Reply => arr(els.map((e) => bulk(e.value)));

/** Removes `els` (taken from the list at key); all of them gone removes the key at once. */
function removeElements(c: Ctx, key: Buffer, h: Entry, els: readonly Element[]): void {
  if (els.length >= h.count) del(c, key);
  else for (const el of els) delElem(c, key, 'list', el.elem);
}

/** Pops up to `n` elements from `end` of a live list: the popped ones, in pop order. */
export function popN(c: Ctx, key: Buffer, h: Entry, end: End, n: number): Element[] {
  const els = walk(c, key, end, 0, Math.min(n, h.count));
  removeElements(c, key, h, els);
  return els;
}

function pushCommand(end: End, onlyExisting: boolean): Handler {
  return (c, a) => {
    const key = a[1]!;
    const h = listOf(c, key);
    if (h === WRONG) return WRONGTYPE;
    if (h === undefined && onlyExisting) return int(0);
    const n = pushValues(c, key, h, end, a.slice(2));
    return typeof n === 'number' ? int(n) : n;
  };
}

function popCommand(end: End): Handler {
  return (c, a) => {
    if (a.length > 3) return err(`ERR wrong number of arguments for '${end === 'left' ? 'lpop' : 'rpop'}' command`);
    let count: bigint | undefined;
    if (a.length === 3) {
      const n = positive(a[2]!);
      if (typeof n !== 'bigint') return n;
      count = n;
    }
    const key = a[1]!;
    const h = listOf(c, key);
    if (h === undefined) return count === undefined ? NIL : NIL_ARRAY;
    if (h === WRONG) return WRONGTYPE;
    if (count === undefined) return bulk(popN(c, key, h, end, 1)[0]!.value);
    if (count === 0n) return EMPTY_ARRAY;
    return values(popN(c, key, h, end, count > BigInt(h.count) ? h.count : Number(count)));
  };
}

const llen: Handler = (c, a) => {
  const h = listOf(c, a[1]!);
  return h === WRONG ? WRONGTYPE : int(h?.count ?? 0);
};

const lindex: Handler = (c, a) => {
  const key = a[1]!;
  const h = listOf(c, key);
  if (h === undefined) return NIL;
  if (h === WRONG) return WRONGTYPE;
  const index = parseI64(a[2]!);
  if (index === null) return err(E_NOT_INT);
  const el = atIndex(c, key, h, index);
  return el === undefined ? NIL : bulk(el.value);
};

/**
 * Redis's start/end clamping for LRANGE and LTRIM: the 0-based inclusive index range inside a
 * list of `len` elements, or null when it is empty.
 */
function clampRange(start: bigint, end: bigint, len: number): [number, number] | null {
  const n = BigInt(len);
  if (start < 0n) start += n;
  if (end < 0n) end += n;
  if (start < 0n) start = 0n;
  if (start > end || start >= n) return null;
  if (end >= n) end = n - 1n;
  return [Number(start), Number(end)];
}

/**
 * The start/end arguments of LRANGE and LTRIM checked, then the list at key: its header and the
 * clamped range (null: empty), or `missing` when there is no list, or the error reply.
 */
function listRange(c: Ctx, a: readonly Buffer[], missing: Reply): { h: Entry; span: [number, number] | null } | Reply {
  const start = parseI64(a[2]!);
  const end = parseI64(a[3]!);
  if (start === null || end === null) return err(E_NOT_INT);
  const h = listOf(c, a[1]!);
  if (h === undefined) return missing;
  if (h === WRONG) return WRONGTYPE;
  return { h, span: clampRange(start, end, h.count) };
}

const lrange: Handler = (c, a) => {
  const r = listRange(c, a, EMPTY_ARRAY);
  if ('t' in r) return r;
  return r.span === null ? EMPTY_ARRAY : values(range(c, a[1]!, r.h, r.span[0], r.span[1]));
};

const ltrim: Handler = (c, a) => {
  const r = listRange(c, a, OK);
  if ('t' in r) return r;
  const key = a[1]!;
  const { h, span } = r;
  if (span === null) {
    del(c, key);
    return OK;
  }
  const [first, last] = span;
  const dropLeft = first;
  const dropRight = h.count - 1 - last;
  const kept = last - first + 1;
  if (dropLeft + dropRight <= kept + 1) {
    for (const el of walk(c, key, 'left', 0, dropLeft)) delElem(c, key, 'list', el.elem);
    for (const el of walk(c, key, 'right', 0, dropRight)) delElem(c, key, 'list', el.elem);
    return OK;
  }
  // Fewer ops to rebuild the list from what it keeps (same positions) than to drop the rest.
  const keep = range(c, key, h, first, last);
  del(c, key);
  for (const el of keep) c.ops.push({ k: 'elem', key, type: 'list', elem: el.elem, value: el.value });
  if (h.expireAtMs !== 0) c.ops.push({ k: 'expire', key, expireAtMs: h.expireAtMs });
  return OK;
};

const lset: Handler = (c, a) => {
  const key = a[1]!;
  const h = listOf(c, key);
  if (h === undefined) return err('ERR no such key');
  if (h === WRONG) return WRONGTYPE;
  const index = parseI64(a[2]!);
  if (index === null) return err(E_NOT_INT);
  const el = atIndex(c, key, h, index);
  if (el === undefined) return err('ERR index out of range');
  setElem(c, key, 'list', h, el.elem, a[3]!);
  return OK;
};

const linsert: Handler = (c, a) => {
  const after = is(a[2]!, 'after');
  if (!after && !is(a[2]!, 'before')) return err(E_SYNTAX);
  const key = a[1]!;
  const h = listOf(c, key);
  if (h === undefined) return int(0);
  if (h === WRONG) return WRONGTYPE;
  const pivot = a[3]!;
  let prev: Element | undefined;
  for (const el of elementsFrom(c, key, 'left')) {
    if (el.value.equals(pivot)) {
      const [l, r] = after ? [el, c.view.elements(key, { start: el.elem, exclusive: true, limit: 1 })[0]] : [prev, el];
      if (insertBetween(c, key, h, l, r, a[4]!) === null) return err(E_LIST_POSITIONS);
      return int(h.count + 1);
    }
    prev = el;
  }
  return int(-1);
};

const lrem: Handler = (c, a) => {
  const n = parseI64(a[2]!);
  if (n === null) return err(E_NOT_INT);
  const key = a[1]!;
  const h = listOf(c, key);
  if (h === undefined) return int(0);
  if (h === WRONG) return WRONGTYPE;
  const limit = n === 0n ? Infinity : Number(n < 0n ? -n : n);
  const target = a[3]!;
  const gone: Element[] = [];
  for (const el of elementsFrom(c, key, n < 0n ? 'right' : 'left')) {
    if (gone.length >= limit) break;
    if (el.value.equals(target)) gone.push(el);
  }
  removeElements(c, key, h, gone);
  return int(gone.length);
};

const lpos: Handler = (c, a) => {
  let rank = 1n;
  let count: bigint | undefined;
  let maxlen = 0n;
  for (let i = 3; i < a.length; i++) {
    const more = i < a.length - 1;
    const o = a[i]!;
    if (is(o, 'rank') && more) {
      const r = parseI64(a[++i]!);
      if (r === null) return err(E_NOT_INT);
      if (r === 0n) return err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
      rank = r;
    } else if (is(o, 'count') && more) {
      const n = positive(a[++i]!, "ERR COUNT can't be negative");
      if (typeof n !== 'bigint') return n;
      count = n;
    } else if (is(o, 'maxlen') && more) {
      const n = positive(a[++i]!, "ERR MAXLEN can't be negative");
      if (typeof n !== 'bigint') return n;
      maxlen = n;
    } else return err(E_SYNTAX);
  }
  const key = a[1]!;
  const h = listOf(c, key);
  if (h === undefined) return count === undefined ? NIL : EMPTY_ARRAY;
  if (h === WRONG) return WRONGTYPE;
  const from: End = rank < 0n ? 'right' : 'left';
  // Redis negates the rank in a C long: -LLONG_MIN stays LLONG_MIN, so every match counts and a COUNT never ends the search.
  const skipMatches = rank === LLONG_MIN ? 0n : (rank < 0n ? -rank : rank) - 1n;
  const countEnds = rank !== LLONG_MIN;
  const found: number[] = [];
  let matches = 0n;
  let index = 0;
  for (const el of elementsFrom(c, key, from)) {
    if (maxlen !== 0n && BigInt(index) >= maxlen) break;
    if (el.value.equals(a[2]!)) {
      matches++;
      if (matches > skipMatches) {
        found.push(from === 'left' ? index : h.count - 1 - index);
        if (count === undefined || (countEnds && count !== 0n && BigInt(found.length) >= count)) break;
      }
    }
    index++;
  }
  if (count === undefined) return found.length === 0 ? NIL : int(found[0]!);
  return arr(found.map((i) => int(i)));
};

/**
 * Moves the element at `from` of the list at src to `to` of the list at dst (Redis's
 * lmoveGenericCommand): src missing → nil, WRONGTYPE for either key. On one key the element is
 * set at its new place before its old one goes.
 */
export function lmoveOf(c: Ctx, src: Buffer, dst: Buffer, from: End, to: End): Reply {
  const hs = listOf(c, src);
  if (hs === undefined) return NIL;
  if (hs === WRONG) return WRONGTYPE;
  const hd = listOf(c, dst);
  if (hd === WRONG) return WRONGTYPE;
  const el = endElement(c, src, from);
  if (src.equals(dst)) {
    if (from === to || hs.count === 1) return bulk(el.value);
    const n = pushValues(c, dst, hs, to, [el.value]);
    if (typeof n !== 'number') return n;
    delElem(c, src, 'list', el.elem);
    return bulk(el.value);
  }
  const n = pushValues(c, dst, hd, to, [el.value]);
  if (typeof n !== 'number') return n;
  removeElements(c, src, hs, [el]);
  return bulk(el.value);
}

const lmove: Handler = (c, a) => {
  const from = endOf(a[3]!);
  const to = endOf(a[4]!);
  if (from === undefined || to === undefined) return err(E_SYNTAX);
  return lmoveOf(c, a[1]!, a[2]!, from, to);
};

const rpoplpush: Handler = (c, a) => lmoveOf(c, a[1]!, a[2]!, 'right', 'left');

/** What LMPOP and BLMPOP name: the keys, the end, and the count (undefined: no COUNT). */
export interface MpopArgs {
  readonly keys: readonly Buffer[];
  readonly end: End;
  readonly count: bigint | undefined;
}

/** lmpopGenericCommand's parsing: numkeys at `numkeysAt`, the keys, LEFT|RIGHT, then [COUNT n]. */
export function parseLmpop(a: readonly Buffer[], numkeysAt: number): MpopArgs | Reply {
  const numkeys = parseI64(a[numkeysAt]!);
  if (numkeys === null || numkeys < 1n) return err('ERR numkeys should be greater than 0');
  const whereAt = BigInt(numkeysAt + 1) + numkeys;
  if (whereAt >= BigInt(a.length)) return err(E_SYNTAX);
  const end = endOf(a[Number(whereAt)]!);
  if (end === undefined) return err(E_SYNTAX);
  let count: bigint | undefined;
  for (let i = Number(whereAt) + 1; i < a.length; i++) {
    if (count === undefined && is(a[i]!, 'count') && i < a.length - 1) {
      const n = parseI64(a[++i]!);
      if (n === null || n < 1n || n > LLONG_MAX) return err('ERR count should be greater than 0');
      count = n;
    } else return err(E_SYNTAX);
  }
  return { keys: a.slice(numkeysAt + 1, Number(whereAt)), end, count };
}

/** Pops from the first non-empty list of `p.keys`: [key, [elements]], or the nil array if all are empty. */
export function lmpopOf(c: Ctx, p: MpopArgs): Reply {
  for (const key of p.keys) {
    const h = listOf(c, key);
    if (h === undefined) continue;
    if (h === WRONG) return WRONGTYPE;
    const n = p.count === undefined ? 1 : p.count > BigInt(h.count) ? h.count : Number(p.count);
    return arr([bulk(key), values(popN(c, key, h, p.end, n))]);
  }
  return NIL_ARRAY;
}

const lmpop: Handler = (c, a) => {
  const p = parseLmpop(a, 1);
  return 'keys' in p ? lmpopOf(c, p) : p;
};

export const LIST_HANDLERS: ReadonlyArray<readonly [string, Handler]> = [
  ['lpush', pushCommand('left', false)],
  ['rpush', pushCommand('right', false)],
  ['lpushx', pushCommand('left', true)],
  ['rpushx', pushCommand('right', true)],
  ['lpop', popCommand('left')],
  ['rpop', popCommand('right')],
  ['llen', llen],
  ['lindex', lindex],
  ['lrange', lrange],
  ['ltrim', ltrim],
  ['lset', lset],
  ['linsert', linsert],
  ['lrem', lrem],
  ['lpos', lpos],
  ['lmove', lmove],
  ['rpoplpush', rpoplpush],
  ['lmpop', lmpop],
];
