// Sorted-set commands (Redis 7.0's t_zset.c): a zset is a collection whose elements are its
// members with their scores as values (encodeScore). Every write is element ops of final
// scores; ZPOPMIN/ZPOPMAX and the ZREMRANGE family replicate the removals they chose, and
// ZRANDMEMBER's picks are drawn on the primary. Range reads go through the score and member
// indexes of the storage areas (zset-ranges.ts), so they read about as many elements as they
// return; the set operations (ZUNION, ZINTER, ZDIFF…) are in zset-combine.ts.
import { bigAfterSet, decodeScore, encodeScore } from '../collections.ts';
import { arr, bulk, err, int } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Element, Entry } from '../types.ts';
import { parseScanArgs, parseScanCursor, randomElement, scanElements, scanReply } from './collection-reads.ts';
import { allElements, del, delElem, E_NOT_FLOAT, E_NOT_INT, E_SYNTAX, is, removeNamed, setElem, typed, WRONG, WRONGTYPE } from './context.ts';
import type { Ctx, Handler, Typed } from './context.ts';
import { formatDouble } from './float-format.ts';
import { parseRandomCount, randomByCount } from './hash-commands.ts';
import { LLONG_MAX, parseI64 } from './numbers.ts';
import {
  E_NAN_SCORE,
  E_NOT_FLOAT_RANGE,
  E_NOT_LEX_RANGE,
  lexRange,
  parseLexRange,
  parseScore,
  parseScoreRange,
  rangeReply,
  rankOf,
  rankRange,
  scoreRange,
  storeMembers,
} from './zset-ranges.ts';
import type { LexRange, ScoreRange } from './zset-ranges.ts';

export const zsetOf = (c: Ctx, key: Buffer): Typed => typed(c, key, 'zset');
const NULL: Reply = { t: 'null' };
const EMPTY = Buffer.alloc(0);
const EMPTY_ARRAY: Reply = arr([]);
export const score = (d: number): Reply => ({ t: 'double', d });

/** Removes `els` from the zset at key; every member gone removes the key at once. */
function removeMembers(c: Ctx, key: Buffer, h: Entry, els: readonly Element[]): void {
  if (els.length >= h.count) del(c, key);
  else for (const el of els) delElem(c, key, 'zset', el.elem);
}

// ---- ZADD / ZINCRBY

interface AddFlags {
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
  ch: boolean;
  incr: boolean;
}

/** zaddGenericCommand: `scoreIdx` is where the score-member pairs start. */
function zaddGeneric(c: Ctx, a: readonly Buffer[], f: AddFlags, scoreIdx: number): Reply {
  const key = a[1]!;
  const elements = a.length - scoreIdx;
  if (elements % 2 !== 0 || elements === 0) return err(E_SYNTAX);
  if (f.nx && f.xx) return err('ERR XX and NX options at the same time are not compatible');
  if ((f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt)) return err('ERR GT, LT, and/or NX options at the same time are not compatible');
  const pairs = elements / 2;
  if (f.incr && pairs > 1) return err('ERR INCR option supports a single increment-element pair');
  const scores: number[] = [];
  for (let j = 0; j < pairs; j++) {
    const s = parseScore(a[scoreIdx + j * 2]!);
    if (s === null) return err(E_NOT_FLOAT);
    scores.push(s);
  }
  const h = zsetOf(c, key);
  if (h === WRONG) return WRONGTYPE;
  let added = 0;
  let updated = 0;
  let processed = 0;
  let last = 0;
  if (h !== undefined || !f.xx) {
    // Scores this command already set, for a member named twice (the view does not see own ops).
    const mine = new Map<string, number>();
    // Whether the set is a skiplist after each write: a listpack keeps a score of -0 as 0.
    let big = h?.big ?? false;
    let count = h?.count ?? 0;
    const stored = (m: Buffer, s: number): Buffer => {
      big = bigAfterSet('zset', big, count, m, EMPTY);
      return encodeScore(s === 0 && !big ? 0 : s);
    };
    for (let j = 0; j < pairs; j++) {
      const m = a[scoreIdx + 1 + j * 2]!;
      const id = m.toString('latin1');
      let s = scores[j]!;
      let cur = mine.get(id);
      if (cur === undefined && h !== undefined) {
        const v = c.view.getElement(key, m);
        if (v !== undefined) cur = decodeScore(v);
      }
      if (cur !== undefined) {
        if (f.nx) continue;
        if (f.incr) {
          s += cur;
          if (Number.isNaN(s)) return err(E_NAN_SCORE);
        }
        if ((f.lt && s >= cur) || (f.gt && s <= cur)) continue;
        processed++;
        last = s;
        if (s !== cur) {
          updated++;
          mine.set(id, s);
          setElem(c, key, 'zset', h, m, stored(m, s));
        }
      } else {
        if (f.xx) continue;
        processed++;
        added++;
        last = s;
        mine.set(id, s);
        count++;
        setElem(c, key, 'zset', h, m, stored(m, s));
      }
    }
  }
  if (f.incr) return processed > 0 ? score(last) : NULL;
  return int(f.ch ? added + updated : added);
}

const zadd: Handler = (c, a) => {
  const f: AddFlags = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: false };
  let i = 2;
  for (; i < a.length; i++) {
    const o = a[i]!;
    if (is(o, 'nx')) f.nx = true;
    else if (is(o, 'xx')) f.xx = true;
    else if (is(o, 'ch')) f.ch = true;
    else if (is(o, 'incr')) f.incr = true;
    else if (is(o, 'gt')) f.gt = true;
    else if (is(o, 'lt')) f.lt = true;
    else break;
  }
  return zaddGeneric(c, a, f, i);
};

const zincrby: Handler = (c, a) => zaddGeneric(c, a, { nx: false, xx: false, gt: false, lt: false, ch: false, incr: true }, 2);

// ---- single-member reads and writes

const zrem: Handler = (c, a) => {
  const key = a[1]!;
  const h = zsetOf(c, key);
  if (h === WRONG) return WRONGTYPE;
  if (h === undefined) return int(0);
  return int(removeNamed(c, key, 'zset', a.slice(2)));
};

const zcard: Handler = (c, a) => {
  const h = zsetOf(c, a[1]!);
  return h === WRONG ? WRONGTYPE : int(h?.count ?? 0);
};

function scoreOfMember(c: Ctx, key: Buffer, h: Entry | undefined, m: Buffer): Reply {
  const v = h === undefined ? undefined : c.view.getElement(key, m);
  return v === undefined ? NULL : score(decodeScore(v));
}

const zscore: Handler = (c, a) => {
  const h = zsetOf(c, a[1]!);
  if (h === WRONG) return WRONGTYPE;
  return scoreOfMember(c, a[1]!, h, a[2]!);
};

const zmscore: Handler = (c, a) => {
  const h = zsetOf(c, a[1]!);
  if (h === WRONG) return WRONGTYPE;
  const out: Reply[] = [];
  for (let i = 2; i < a.length; i++) out.push(scoreOfMember(c, a[1]!, h, a[i]!));
  return arr(out);
};

function rankCommand(reverse: boolean): Handler {
  return (c, a) => {
    const key = a[1]!;
    const h = zsetOf(c, key);
    if (h === undefined) return NULL;
    if (h === WRONG) return WRONGTYPE;
    const v = c.view.getElement(key, a[2]!);
    if (v === undefined) return NULL;
    const rank = rankOf(c, key, h.count, a[2]!, v);
    return int(reverse ? h.count - 1 - rank : rank);
  };
}

// ---- counts

const zcount: Handler = (c, a) => {
  const r = parseScoreRange(a[2]!, a[3]!);
  if (r === null) return err(E_NOT_FLOAT_RANGE);
  const h = zsetOf(c, a[1]!);
  if (h === undefined) return int(0);
  if (h === WRONG) return WRONGTYPE;
  return int(scoreRange(c, a[1]!, r, false, 0, -1).length);
};

const zlexcount: Handler = (c, a) => {
  const r = parseLexRange(a[2]!, a[3]!);
  if (r === null) return err(E_NOT_LEX_RANGE);
  const h = zsetOf(c, a[1]!);
  if (h === undefined) return int(0);
  if (h === WRONG) return WRONGTYPE;
  return int(lexRange(c, a[1]!, r, false, 0, -1).length);
};

// ---- the ZRANGE family (zrangeGenericCommand)

type RangeType = 'rank' | 'score' | 'lex';

/** A signed long argument, or Redis's "not an integer" error. */
function parseLong(b: Buffer): bigint | Reply {
  const n = parseI64(b);
  return n === null ? err(E_NOT_INT) : n;
}

/** A long clamped into the safe integer range (offsets and counts past it act the same). */
const clamp = (n: bigint): number => (n > 2n ** 53n ? 2 ** 53 : n < -(2n ** 53n) ? -(2 ** 53) : Number(n));

/** Ranks start..stop (negative from the end) of a zset of `count`, ascending, or null when empty. */
export function rankBounds(count: number, startArg: bigint, stopArg: bigint): [number, number] | null {
  let start = clamp(startArg);
  let end = clamp(stopArg);
  if (start < 0) start += count;
  if (end < 0) end += count;
  if (start < 0) start = 0;
  if (start > end || start >= count) return null;
  if (end >= count) end = count - 1;
  return [start, end];
}

/**
 * Z[REV]RANGE[BYSCORE|BYLEX] and ZRANGESTORE: `first` is the source key's index, `fixed` the
 * range type and direction the command implies (ZRANGE and ZRANGESTORE take them as options).
 */
function zrangeGeneric(c: Ctx, a: readonly Buffer[], first: number, store: Buffer | null, fixed: { type?: RangeType; reverse?: boolean }): Reply {
  const key = a[first]!;
  let minIdx = first + 1;
  let maxIdx = first + 2;
  let withScores = false;
  let offset = 0n;
  let limit = -1n;
  let reverse = fixed.reverse;
  let type = fixed.type;
  for (let j = first + 3; j < a.length; j++) {
    const o = a[j]!;
    const left = a.length - j - 1;
    if (store === null && is(o, 'withscores')) withScores = true;
    else if (is(o, 'limit') && left >= 2) {
      const off = parseLong(a[j + 1]!);
      if (typeof off !== 'bigint') return off;
      const lim = parseLong(a[j + 2]!);
      if (typeof lim !== 'bigint') return lim;
      offset = off;
      limit = lim;
      j += 2;
    } else if (fixed.reverse === undefined && reverse === undefined && is(o, 'rev')) reverse = true;
    else if (fixed.type === undefined && type === undefined && is(o, 'bylex')) type = 'lex';
    else if (fixed.type === undefined && type === undefined && is(o, 'byscore')) type = 'score';
    else return err(E_SYNTAX);
  }
  const rev = reverse === true;
  const rangeType = type ?? 'rank';
  if (limit !== -1n && rangeType === 'rank') return err('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  if (withScores && rangeType === 'lex') return err('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  if (rev && rangeType !== 'rank') [minIdx, maxIdx] = [maxIdx, minIdx];
  let ranks: [bigint, bigint] | undefined;
  let scores: ScoreRange | undefined;
  let lex: LexRange | undefined;
  if (rangeType === 'rank') {
    const s = parseLong(a[minIdx]!);
    if (typeof s !== 'bigint') return s;
    const e = parseLong(a[maxIdx]!);
    if (typeof e !== 'bigint') return e;
    ranks = [s, e];
  } else if (rangeType === 'score') {
    const r = parseScoreRange(a[minIdx]!, a[maxIdx]!);
    if (r === null) return err(E_NOT_FLOAT_RANGE);
    scores = r;
  } else {
    const r = parseLexRange(a[minIdx]!, a[maxIdx]!);
    if (r === null) return err(E_NOT_LEX_RANGE);
    lex = r;
  }
  const h = zsetOf(c, key);
  if (h === undefined) return store === null ? EMPTY_ARRAY : storeMembers(c, store, []);
  if (h === WRONG) return WRONGTYPE;
  let els: Element[];
  if (ranks !== undefined) {
    const b = rankBounds(h.count, ranks[0], ranks[1]);
    if (b === null) els = [];
    else if (rev) els = rankRange(c, key, h.count, h.count - 1 - b[1], h.count - 1 - b[0]).reverse();
    else els = rankRange(c, key, h.count, b[0], b[1]);
  } else {
    // An offset past the end, or a negative one, selects nothing (as Redis's loops do).
    const off = clamp(offset);
    const lim = limit < 0n ? -1 : clamp(limit);
    if (off < 0 || (off > 0 && off >= h.count)) els = [];
    else if (scores !== undefined) els = scoreRange(c, key, scores, rev, off, lim);
    else els = lexRange(c, key, lex!, rev, off, lim);
  }
  if (store !== null) return storeMembers(c, store, els);
  return rangeReply(els, withScores);
}

const zrange: Handler = (c, a) => zrangeGeneric(c, a, 1, null, {});
const zrangestore: Handler = (c, a) => zrangeGeneric(c, a, 2, a[1]!, {});
const zrangebyscore: Handler = (c, a) => zrangeGeneric(c, a, 1, null, { type: 'score', reverse: false });
const zrevrangebyscore: Handler = (c, a) => zrangeGeneric(c, a, 1, null, { type: 'score', reverse: true });
const zrangebylex: Handler = (c, a) => zrangeGeneric(c, a, 1, null, { type: 'lex', reverse: false });
const zrevrangebylex: Handler = (c, a) => zrangeGeneric(c, a, 1, null, { type: 'lex', reverse: true });
const zrevrange: Handler = (c, a) => zrangeGeneric(c, a, 1, null, { type: 'rank', reverse: true });

// ---- ZREMRANGEBYRANK / BYSCORE / BYLEX

function zremrange(type: RangeType): Handler {
  return (c, a) => {
    const key = a[1]!;
    let ranks: [bigint, bigint] | undefined;
    let scores: ScoreRange | undefined;
    let lex: LexRange | undefined;
    if (type === 'rank') {
      const s = parseLong(a[2]!);
      if (typeof s !== 'bigint') return s;
      const e = parseLong(a[3]!);
      if (typeof e !== 'bigint') return e;
      ranks = [s, e];
    } else if (type === 'score') {
      scores = parseScoreRange(a[2]!, a[3]!) ?? undefined;
      if (scores === undefined) return err(E_NOT_FLOAT_RANGE);
    } else {
      lex = parseLexRange(a[2]!, a[3]!) ?? undefined;
      if (lex === undefined) return err(E_NOT_LEX_RANGE);
    }
    const h = zsetOf(c, key);
    if (h === undefined) return int(0);
    if (h === WRONG) return WRONGTYPE;
    let els: Element[];
    if (ranks !== undefined) {
      const b = rankBounds(h.count, ranks[0], ranks[1]);
      els = b === null ? [] : rankRange(c, key, h.count, b[0], b[1]);
    } else if (scores !== undefined) els = scoreRange(c, key, scores, false, 0, -1);
    else els = lexRange(c, key, lex!, false, 0, -1);
    removeMembers(c, key, h, els);
    return int(els.length);
  };
}

// ---- ZPOPMIN / ZPOPMAX / ZMPOP

/** Pops up to `count` lowest (or highest, `max`) members of the zset at key. */
export function popMembers(c: Ctx, key: Buffer, h: Entry, max: boolean, count: number): Element[] {
  const els = c.view.elements(key, { by: 'score', reverse: max, limit: Math.min(count, h.count) });
  removeMembers(c, key, h, els);
  return els;
}

const pair = (e: Element): Reply => arr([bulk(e.elem), score(decodeScore(e.value))]);

function zpop(max: boolean): Handler {
  return (c, a) => {
    if (a.length > 3) return err(E_SYNTAX);
    let count = 1;
    if (a.length === 3) {
      const n = parseI64(a[2]!);
      if (n === null || n < 0n) return err('ERR value is out of range, must be positive');
      count = clamp(n);
    }
    const key = a[1]!;
    const h = zsetOf(c, key);
    if (h === WRONG) return WRONGTYPE;
    if (h === undefined || count === 0) return EMPTY_ARRAY;
    const els = popMembers(c, key, h, max, count);
    // With a COUNT, RESP3 clients get [member, score] pairs; otherwise one flat array.
    if (a.length === 3) return rangeReply(els, true);
    return arr(els.flatMap((e) => [bulk(e.elem), score(decodeScore(e.value))]));
  };
}

/** What ZMPOP and BZMPOP name: the keys, MIN or MAX, and the count (1 without COUNT). */
export interface ZmpopArgs {
  readonly keys: readonly Buffer[];
  readonly max: boolean;
  readonly count: number;
}

/** zmpopGenericCommand's parsing: numkeys at `numkeysAt`, the keys, MIN|MAX, then [COUNT n]. */
export function parseZmpop(a: readonly Buffer[], numkeysAt: number): ZmpopArgs | Reply {
  const nk = parseI64(a[numkeysAt]!);
  if (nk === null || nk < 1n) return err('ERR numkeys should be greater than 0');
  const whereIdx = BigInt(numkeysAt + 1) + nk > BigInt(a.length) ? a.length : numkeysAt + 1 + Number(nk);
  if (whereIdx >= a.length) return err(E_SYNTAX);
  const w = a[whereIdx]!;
  const max = is(w, 'max');
  if (!max && !is(w, 'min')) return err(E_SYNTAX);
  let count = -1;
  for (let j = whereIdx + 1; j < a.length; j++) {
    if (count === -1 && is(a[j]!, 'count') && j + 1 < a.length) {
      const n = parseI64(a[++j]!);
      if (n === null || n < 1n) return err('ERR count should be greater than 0');
      count = clamp(n);
    } else return err(E_SYNTAX);
  }
  return { keys: a.slice(numkeysAt + 1, whereIdx), max, count: count === -1 ? 1 : count };
}

/** Pops from the first non-empty zset of `p.keys`: [key, [[member, score]…]], or the nil array. */
export function zmpopOf(c: Ctx, p: ZmpopArgs): Reply {
  for (const key of p.keys) {
    const h = zsetOf(c, key);
    if (h === undefined) continue;
    if (h === WRONG) return WRONGTYPE;
    const els = popMembers(c, key, h, p.max, p.count);
    return arr([bulk(key), arr(els.map(pair))]);
  }
  return arr(null);
}

const zmpop: Handler = (c, a) => {
  const p = parseZmpop(a, 1);
  return 'keys' in p ? zmpopOf(c, p) : p;
};

// ---- ZRANDMEMBER / ZSCAN

const zrandmember: Handler = (c, a) => {
  const key = a[1]!;
  if (a.length >= 3) {
    const n = parseRandomCount(a[2]!);
    if (typeof n !== 'bigint') return n;
    if (a.length > 4 || (a.length === 4 && !is(a[3]!, 'withscores'))) return err(E_SYNTAX);
    const withScores = a.length === 4;
    if (withScores && (n < -LLONG_MAX / 2n || n > LLONG_MAX / 2n)) return err('ERR value is out of range');
    const h = zsetOf(c, key);
    if (h === undefined) return EMPTY_ARRAY;
    if (h === WRONG) return WRONGTYPE;
    if (n === 0n) return EMPTY_ARRAY;
    const els = randomByCount(c, key, h, n);
    if (!Array.isArray(els)) return els;
    return rangeReply(els, withScores);
  }
  const h = zsetOf(c, key);
  if (h === undefined) return NULL;
  if (h === WRONG) return WRONGTYPE;
  return bulk(randomElement(c, key, h).elem);
};

const zscan: Handler = (c, a) => {
  const cursor = parseScanCursor(a[2]!);
  if (typeof cursor !== 'bigint') return cursor;
  const key = a[1]!;
  const h = zsetOf(c, key);
  if (h === undefined) return arr([bulk('0'), arr([])]);
  if (h === WRONG) return WRONGTYPE;
  const args = parseScanArgs(a, 3);
  if (!('count' in args)) return args;
  // A listpack is returned whole, in its (score) order, as Redis does.
  const step = h.big ? scanElements(c, key, h, cursor, args) : { next: 0n, elements: allElements(c.view, key, 'score') };
  return scanReply(step, args.match, (el) => [bulk(el.elem), bulk(formatDouble(decodeScore(el.value)))]);
};

export const ZSET_HANDLERS: ReadonlyArray<readonly [string, Handler]> = [
  ['zadd', zadd],
  ['zincrby', zincrby],
  ['zrem', zrem],
  ['zcard', zcard],
  ['zscore', zscore],
  ['zmscore', zmscore],
  ['zrank', rankCommand(false)],
  ['zrevrank', rankCommand(true)],
  ['zcount', zcount],
  ['zlexcount', zlexcount],
  ['zrange', zrange],
  ['zrangestore', zrangestore],
  ['zrangebyscore', zrangebyscore],
  ['zrevrangebyscore', zrevrangebyscore],
  ['zrangebylex', zrangebylex],
  ['zrevrangebylex', zrevrangebylex],
  ['zrevrange', zrevrange],
  ['zremrangebyrank', zremrange('rank')],
  ['zremrangebyscore', zremrange('score')],
  ['zremrangebylex', zremrange('lex')],
  ['zpopmin', zpop(false)],
  ['zpopmax', zpop(true)],
  ['zmpop', zmpop],
  ['zrandmember', zrandmember],
  ['zscan', zscan],
];
