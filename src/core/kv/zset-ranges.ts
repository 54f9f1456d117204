// Sorted-set arguments parsed as Redis 7.0's t_zset.c parses them (scores with strtod through
// string2d, score ranges with zslParseRange, lexical ranges with zslParseLexRange), and the
// range reads over the score-ordered and member-ordered element indexes of both storage areas:
// a range of k elements starting at a bound reads about k elements, whatever the set's size.
import { decodeScore, scoreBound, scoreOrderKey } from '../collections.ts';
import { arr, bulk, int } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Element, ElementRange } from '../types.ts';
import { del, ELEMENT_PAGE } from './context.ts';
import type { Ctx } from './context.ts';

export const E_NOT_FLOAT_RANGE = 'ERR min or max is not a float';
export const E_NOT_LEX_RANGE = 'ERR min or max not valid string range item';
export const E_NAN_SCORE = 'ERR resulting score is not a number (NaN)';

const isSpace = (ch: number): boolean => ch === 0x20 || (ch >= 0x09 && ch <= 0x0d);
const isDigit = (ch: number): boolean => ch >= 0x30 && ch <= 0x39;
const hexValue = (ch: number): number => (isDigit(ch) ? ch - 0x30 : ch >= 0x61 && ch <= 0x66 ? ch - 0x57 : ch >= 0x41 && ch <= 0x46 ? ch - 0x37 : -1);

interface Strtod {
  readonly v: number;
  /** Bytes consumed (0: no conversion). */
  readonly end: number;
  /** strtod would set errno = ERANGE: overflow to ±inf or underflow to zero. */
  readonly erange: boolean;
}

function lowerAt(s: Buffer, i: number, word: string): boolean {
  if (i + word.length > s.length) return false;
  for (let j = 0; j < word.length; j++) if ((s[i + j]! | 0x20) !== word.charCodeAt(j)) return false;
  return true;
}

/** C's strtod over `s` up to its first NUL: leading blanks, sign, decimal or hex, inf, nan. */
function strtod(s: Buffer): Strtod {
  const nul = s.indexOf(0);
  const len = nul < 0 ? s.length : nul;
  let i = 0;
  while (i < len && isSpace(s[i]!)) i++;
  let neg = false;
  if (i < len && (s[i] === 0x2b || s[i] === 0x2d)) neg = s[i++] === 0x2d;
  const sign = neg ? -1 : 1;
  if (lowerAt(s, i, 'inf')) return { v: sign * Infinity, end: i + (lowerAt(s, i, 'infinity') ? 8 : 3), erange: false };
  if (lowerAt(s, i, 'nan')) {
    let end = i + 3;
    if (s[end] === 0x28) {
      let j = end + 1;
      while (j < len && (isDigit(s[j]!) || hexValue(s[j]!) >= 0 || ((s[j]! | 0x20) >= 0x61 && (s[j]! | 0x20) <= 0x7a) || s[j] === 0x5f)) j++;
      if (s[j] === 0x29) end = j + 1;
    }
    return { v: NaN, end, erange: false };
  }
  if (s[i] === 0x30 && (s[i + 1]! | 0x20) === 0x78) {
    const hex = hexFloat(s, i + 2, len);
    if (hex !== null) return { v: sign * hex.v, end: hex.end, erange: hex.erange };
  }
  const start = i;
  let digits = 0;
  let nonZero = false;
  while (i < len && isDigit(s[i]!)) {
    nonZero ||= s[i] !== 0x30;
    i++;
    digits++;
  }
  if (i < len && s[i] === 0x2e) {
    i++;
    while (i < len && isDigit(s[i]!)) {
      nonZero ||= s[i] !== 0x30;
      i++;
      digits++;
    }
  }
  if (digits === 0) return { v: 0, end: 0, erange: false };
  if (i < len && (s[i]! | 0x20) === 0x65) {
    let j = i + 1;
    if (j < len && (s[j] === 0x2b || s[j] === 0x2d)) j++;
    if (j < len && isDigit(s[j]!)) {
      while (j < len && isDigit(s[j]!)) j++;
      i = j;
    }
  }
  const v = Number(s.toString('latin1', start, i));
  return { v: sign * v, end: i, erange: v === Infinity || (v === 0 && nonZero) };
}

/** The hex digits after "0x" (with an optional '.' and binary exponent), or null if none follow. */
function hexFloat(s: Buffer, from: number, len: number): { v: number; end: number; erange: boolean } | null {
  let i = from;
  let m = 0n;
  let digits = 0;
  let fracDigits = 0;
  while (i < len && hexValue(s[i]!) >= 0) {
    m = m * 16n + BigInt(hexValue(s[i++]!));
    digits++;
  }
  if (i < len && s[i] === 0x2e) {
    i++;
    while (i < len && hexValue(s[i]!) >= 0) {
      m = m * 16n + BigInt(hexValue(s[i++]!));
      digits++;
      fracDigits++;
    }
  }
  if (digits === 0) return null;
  let exp = 0;
  if (i < len && (s[i]! | 0x20) === 0x70) {
    let j = i + 1;
    let eneg = false;
    if (j < len && (s[j] === 0x2b || s[j] === 0x2d)) eneg = s[j++] === 0x2d;
    if (j < len && isDigit(s[j]!)) {
      let e = 0;
      while (j < len && isDigit(s[j]!)) e = Math.min(1e6, e * 10 + (s[j++]! - 0x30));
      exp = eneg ? -e : e;
      i = j;
    }
  }
  exp -= 4 * fracDigits;
  // Scale in steps so that a large mantissa with a small exponent does not overflow midway.
  let v = Number(m);
  while (exp > 0 && v !== Infinity) {
    const step = Math.min(exp, 1000);
    v *= 2 ** step;
    exp -= step;
  }
  while (exp < 0 && v !== 0) {
    const step = Math.min(-exp, 1000);
    v /= 2 ** step;
    exp += step;
  }
  return { v, end: i, erange: v === Infinity || (v === 0 && m !== 0n) };
}

/** A score argument as string2d accepts it (ZADD, ZINCRBY, WEIGHTS), or null. */
export function parseScore(b: Buffer): number | null {
  if (b.length === 0 || isSpace(b[0]!)) return null;
  const r = strtod(b);
  if (r.end !== b.length || Number.isNaN(r.v)) return null;
  if (r.erange && (r.v === Infinity || r.v === -Infinity || r.v === 0)) return null;
  return r.v;
}

export interface ScoreRange {
  readonly min: number;
  readonly minex: boolean;
  readonly max: number;
  readonly maxex: boolean;
}

/** One end of zslParseRange: "(" makes it exclusive; strtod must stop at the string's end or a NUL. */
function parseScoreBound(b: Buffer): { v: number; ex: boolean } | null {
  const ex = b[0] === 0x28;
  const s = ex ? b.subarray(1) : b;
  const r = strtod(s);
  const stop = r.end;
  if ((stop < s.length && s[stop] !== 0) || Number.isNaN(r.v)) return null;
  return { v: r.v, ex };
}

export function parseScoreRange(min: Buffer, max: Buffer): ScoreRange | null {
  const lo = parseScoreBound(min);
  const hi = parseScoreBound(max);
  if (lo === null || hi === null) return null;
  return { min: lo.v, minex: lo.ex, max: hi.v, maxex: hi.ex };
}

export const gteMin = (r: ScoreRange, s: number): boolean => (r.minex ? s > r.min : s >= r.min);
export const lteMax = (r: ScoreRange, s: number): boolean => (r.maxex ? s < r.max : s <= r.max);

/** A lexical bound: '-' and '+' are the least and greatest member; otherwise a member, `ex` for "(". */
export type LexBound = { readonly inf: -1 | 1 } | { readonly m: Buffer; readonly ex: boolean };

export interface LexRange {
  readonly min: LexBound;
  readonly max: LexBound;
}

function parseLexBound(b: Buffer): LexBound | null {
  switch (b[0]) {
    case 0x2b: // '+': nothing may follow (before a NUL, as C reads it)
      return b.length === 1 || b[1] === 0 ? { inf: 1 } : null;
    case 0x2d:
      return b.length === 1 || b[1] === 0 ? { inf: -1 } : null;
    case 0x28:
      return { m: b.subarray(1), ex: true };
    case 0x5b:
      return { m: b.subarray(1), ex: false };
    default:
      return null;
  }
}

export function parseLexRange(min: Buffer, max: Buffer): LexRange | null {
  const lo = parseLexBound(min);
  const hi = parseLexBound(max);
  return lo === null || hi === null ? null : { min: lo, max: hi };
}

/** Whether member m is at or above the range's minimum. */
export function lexGteMin(r: LexRange, m: Buffer): boolean {
  const b = r.min;
  if ('inf' in b) return b.inf < 0;
  const cmp = Buffer.compare(m, b.m);
  return b.ex ? cmp > 0 : cmp >= 0;
}

export function lexLteMax(r: LexRange, m: Buffer): boolean {
  const b = r.max;
  if ('inf' in b) return b.inf > 0;
  const cmp = Buffer.compare(m, b.m);
  return b.ex ? cmp < 0 : cmp <= 0;
}

/** The first 8 bytes of score order keys for scores ≥ v, or with `after` for scores > v. */
function scoreStart(v: number, after: boolean): Buffer {
  const b = scoreBound(v);
  if (after) {
    for (let i = 7; i >= 0; i--) {
      if (b[i] !== 0xff) {
        b[i]!++;
        break;
      }
      b[i] = 0;
    }
  }
  return b;
}

/**
 * Calls fn with the elements of the zset at key in `range.by` order from `range.start`, in
 * pages that start small (a short range reads a few elements) and grow, until fn returns false.
 */
export function walk(c: Ctx, key: Buffer, range: Omit<ElementRange, 'limit'>, fn: (el: Element) => boolean, firstPage = 16): void {
  const by = range.by ?? 'elem';
  let page = Math.max(1, Math.min(firstPage, ELEMENT_PAGE));
  let start = range.start;
  let exclusive = range.exclusive;
  for (;;) {
    const got = c.view.elements(key, { by, start, exclusive, reverse: range.reverse, limit: page });
    for (const el of got) if (!fn(el)) return;
    if (got.length < page) return;
    const last = got[got.length - 1]!;
    start = by === 'elem' ? last.elem : scoreOrderKeyOf(last);
    exclusive = true;
    page = Math.min(page * 2, ELEMENT_PAGE);
  }
}

const scoreOrderKeyOf = (el: Element): Buffer => scoreOrderKey(el.value, el.elem);

/**
 * The elements within a score range, in score order (descending with `reverse`), after skipping
 * `offset` of them, at most `limit` (negative: no limit).
 */
export function scoreRange(c: Ctx, key: Buffer, r: ScoreRange, reverse: boolean, offset: number, limit: number): Element[] {
  const range: Omit<ElementRange, 'limit'> = reverse
    ? { by: 'score', start: scoreStart(r.max, !r.maxex), exclusive: true, reverse: true }
    : { by: 'score', start: scoreStart(r.min, r.minex) };
  return collect(c, key, range, offset, limit, (el) => {
    const s = decodeScore(el.value);
    return reverse ? gteMin(r, s) : lteMax(r, s);
  });
}

/** Walks from range.start while `inRange` holds: skips `offset` elements, keeps `limit` (negative: all). */
function collect(c: Ctx, key: Buffer, range: Omit<ElementRange, 'limit'>, offset: number, limit: number, inRange: (el: Element) => boolean): Element[] {
  const out: Element[] = [];
  if (limit === 0) return out;
  let skip = offset;
  walk(
    c,
    key,
    range,
    (el) => {
      if (!inRange(el)) return false;
      if (skip > 0) {
        skip--;
        return true;
      }
      out.push(el);
      return limit < 0 || out.length < limit;
    },
    limit < 0 ? 16 : offset + limit + 1,
  );
  return out;
}

/**
 * The elements within a lexical range, in member order (descending with `reverse`). Redis
 * defines lexical ranges for members of one score, where member order is score order; the
 * member index answers them without reading the members before the range.
 */
export function lexRange(c: Ctx, key: Buffer, r: LexRange, reverse: boolean, offset: number, limit: number): Element[] {
  const from = reverse ? r.max : r.min;
  if ('inf' in from && from.inf === (reverse ? -1 : 1)) return [];
  const range: Omit<ElementRange, 'limit'> = 'inf' in from ? { reverse } : { start: from.m, exclusive: from.ex, reverse };
  return collect(c, key, range, offset, limit, (el) => (reverse ? lexGteMin(r, el.elem) : lexLteMax(r, el.elem)));
}

/**
 * Elements at score-order ranks lo..hi (0-based, lo ≤ hi < count), ascending. Read from
 * whichever end is nearer, so the cost is the distance from that end plus the range.
 */
export function rankRange(c: Ctx, key: Buffer, count: number, lo: number, hi: number): Element[] {
  const fromEnd = lo > count - 1 - hi;
  const skip = fromEnd ? count - 1 - hi : lo;
  const want = hi - lo + 1;
  const out: Element[] = [];
  let seen = 0;
  walk(
    c,
    key,
    { by: 'score', reverse: fromEnd },
    (el) => {
      if (seen++ < skip) return true;
      out.push(el);
      return out.length < want;
    },
    skip + want,
  );
  return fromEnd ? out.reverse() : out;
}

/**
 * The 0-based score-order rank of `member` (whose stored score is `value`) in a zset of
 * `count`: pages are read alternately from both ends, so the cost is O(min(rank, count - rank)).
 */
export function rankOf(c: Ctx, key: Buffer, count: number, member: Buffer, value: Buffer): number {
  const target = scoreOrderKey(value, member);
  let front: Buffer | undefined;
  let back: Buffer | undefined;
  let before = 0;
  let after = 0;
  let page = 16;
  for (;;) {
    const f = c.view.elements(key, { by: 'score', start: front, exclusive: front !== undefined, limit: page });
    for (const el of f) {
      if (Buffer.compare(scoreOrderKeyOf(el), target) >= 0) return before;
      before++;
    }
    const b = c.view.elements(key, { by: 'score', start: back, exclusive: back !== undefined, reverse: true, limit: page });
    for (const el of b) {
      if (Buffer.compare(scoreOrderKeyOf(el), target) <= 0) return count - 1 - after;
      after++;
    }
    if (f.length < page || b.length < page) return before;
    front = scoreOrderKeyOf(f[f.length - 1]!);
    back = scoreOrderKeyOf(b[b.length - 1]!);
    page = Math.min(page * 2, ELEMENT_PAGE);
  }
}

/** Elements as a range reply: members, or with scores [member, score] pairs (flat in RESP2). */
export function rangeReply(els: readonly Element[], withScores: boolean): Reply {
  if (!withScores) return arr(els.map((e) => bulk(e.elem)));
  return { t: 'pairs', items: els.map((e) => [bulk(e.elem), { t: 'double', d: decodeScore(e.value) } as Reply] as const) };
}

/** Replaces dst with `els` (any type it held and its expiry go); an empty result deletes it. */
export function storeMembers(c: Ctx, dst: Buffer, els: ReadonlyArray<{ elem: Buffer; value: Buffer }>): Reply {
  if (c.view.get(dst) !== undefined) del(c, dst);
  for (const el of els) c.ops.push({ k: 'elem', key: dst, type: 'zset', elem: el.elem, value: el.value });
  return int(els.length);
}

