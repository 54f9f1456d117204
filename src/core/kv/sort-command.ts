// SORT and SORT_RO (Redis 7.0's sort.c) on lists, sets and sorted sets: BY (a pattern with '*',
// optionally "->field" of a hash; a pattern without '*' means no sorting), GET (patterns, '#'
// for the element itself), LIMIT, ASC/DESC, ALPHA and, for SORT, STORE (the result becomes a
// list at the destination, written as element ops like any list). Options are checked before
// the key, as Redis does, so every error is redis-server's. Equal numeric weights order by the
// element's bytes, as Redis's sortCompare does.
import { intsetOrder } from './set-commands.ts';
import { LIST_POSITION_STEP, encodeListPosition } from '../collections.ts';
import { arr, bulk, err, int } from '../reply.ts';
import { allElements, del, E_SYNTAX, is, live, WRONGTYPE } from './context.ts';
import type { Ctx, Handler } from './context.ts';
import { parseI64 } from './numbers.ts';

const E_SCORES = "ERR One or more scores can't be converted into double";
const EMPTY = Buffer.alloc(0);
const ASTERISK = 0x2a;

// C's isspace, which strtod skips before a number.
const LEADING_SPACE = /^[ \t\n\v\f\r]*/;
const DECIMAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const INFINITY = /^([+-]?)(?:inf|infinity)$/i;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]+)$/;

/**
 * A weight as Redis reads it (strtod over the whole string: leading blanks allowed, nothing
 * after; "" is 0), or null for what SORT calls a score that can't be converted (NaN, out of
 * range, trailing bytes). Redis tests errno without clearing it first, so after one
 * out-of-range weight it can refuse later valid ones; here each weight is judged alone.
 */
export function sortWeight(b: Buffer): number | null {
  const s = b.toString('latin1').replace(LEADING_SPACE, '');
  if (s === '') return b.length === 0 ? 0 : null;
  if (DECIMAL.test(s)) {
    const v = Number(s);
    if (!Number.isFinite(v)) return null;
    // strtod reports ERANGE on underflow too: a non-zero mantissa that came out as 0.
    if (v === 0 && /[1-9]/.test(s.split(/[eE]/)[0]!)) return null;
    return v;
  }
  const inf = INFINITY.exec(s);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  const hex = HEX.exec(s);
  if (hex) {
    const v = Number.parseInt(hex[2]!, 16);
    return Number.isFinite(v) ? (hex[1] === '-' ? -v : v) : null;
  }
  return null;
}

/**
 * lookupKeyByPattern: '#' is the element itself; otherwise the first '*' is replaced by the
 * element and the key read (a string, or with "->field" after the '*' a hash's field).
 * Undefined when the pattern has no '*' or the key or field is missing or of another type.
 */
function byPattern(c: Ctx, pattern: Buffer, el: Buffer): Buffer | undefined {
  if (pattern.length === 1 && pattern[0] === 0x23) return el;
  const star = pattern.indexOf(ASTERISK);
  if (star < 0) return undefined;
  const arrow = pattern.indexOf('->', star + 1);
  const field = arrow >= 0 && arrow + 2 < pattern.length ? pattern.subarray(arrow + 2) : undefined;
  const key = Buffer.concat([pattern.subarray(0, star), el, pattern.subarray(star + 1, field === undefined ? pattern.length : arrow)]);
  const e = live(c, key);
  if (e === undefined) return undefined;
  if (field !== undefined) return e.type === 'hash' ? c.view.getElement(key, field) : undefined;
  return e.type === 'string' ? e.value : undefined;
}

interface Sorted {
  readonly el: Buffer;
  weight: number;
  by: Buffer | undefined;
}

function sortCommand(readonly: boolean): Handler {
  return (c, a) => {
    let desc = false;
    let alpha = false;
    let limitStart = 0n;
    let limitCount = -1n;
    let dontsort = false;
    let sortby: Buffer | undefined;
    let store: Buffer | undefined;
    const gets: Buffer[] = [];
    for (let j = 2; j < a.length; j++) {
      const o = a[j]!;
      const left = a.length - j - 1;
      if (is(o, 'asc')) desc = false;
      else if (is(o, 'desc')) desc = true;
      else if (is(o, 'alpha')) alpha = true;
      else if (is(o, 'limit') && left >= 2) {
        const s = parseI64(a[j + 1]!);
        const n = parseI64(a[j + 2]!);
        if (s === null || n === null) return err('ERR value is not an integer or out of range');
        limitStart = s;
        limitCount = n;
        j += 2;
      } else if (!readonly && is(o, 'store') && left >= 1) store = a[++j]!;
      else if (is(o, 'by') && left >= 1) {
        sortby = a[++j]!;
        if (sortby.indexOf(ASTERISK) < 0) dontsort = true;
      } else if (is(o, 'get') && left >= 1) gets.push(a[++j]!);
      else return err(E_SYNTAX);
    }
    const key = a[1]!;
    const h = live(c, key);
    if (h !== undefined && h.type !== 'list' && h.type !== 'set' && h.type !== 'zset') return WRONGTYPE;
    // A set has no order of its own: Redis sorts it (ALPHA) when the result is stored.
    if (dontsort && h?.type === 'set' && store !== undefined) {
      dontsort = false;
      alpha = true;
      sortby = undefined;
    }
    const vector: Sorted[] = [];
    if (h !== undefined) {
      const all = allElements(c.view, key, h.type === 'zset' ? 'score' : 'elem');
      // A set in its own order: Redis's intset order when it holds one.
      const els = h.type === 'set' && !h.big ? intsetOrder(all) : all;
      for (const e of els) vector.push({ el: h.type === 'list' ? e.value : e.elem, weight: 0, by: undefined });
      // Unsorted, a list or sorted set is read in its own order, from its other end with DESC.
      if (h.type !== 'set' && dontsort && desc) vector.reverse();
    }
    const len = BigInt(vector.length);
    let start = limitStart < 0n ? 0n : limitStart;
    let end = limitCount < 0n ? len - 1n : start + limitCount - 1n;
    if (start >= len) {
      start = len - 1n;
      end = len - 2n;
    }
    if (end >= len) end = len - 1n;
    let badScore = false;
    if (!dontsort) {
      for (const v of vector) {
        const byval = sortby === undefined ? v.el : byPattern(c, sortby, v.el);
        if (byval === undefined) continue;
        if (alpha) {
          if (sortby !== undefined) v.by = byval;
        } else {
          const w = sortWeight(byval);
          if (w === null) badScore = true;
          else v.weight = w;
        }
      }
      const byPatternAlpha = alpha && sortby !== undefined;
      vector.sort((x, y) => {
        let cmp: number;
        if (!alpha) cmp = x.weight > y.weight ? 1 : x.weight < y.weight ? -1 : Buffer.compare(x.el, y.el);
        else if (byPatternAlpha) {
          if (x.by === undefined || y.by === undefined) cmp = x.by === y.by ? 0 : x.by === undefined ? -1 : 1;
          else cmp = Buffer.compare(x.by, y.by);
        } else cmp = Buffer.compare(x.el, y.el);
        return desc ? -cmp : cmp;
      });
    }
    if (badScore) return err(E_SCORES);
    const out: Array<Buffer | undefined> = [];
    for (let j = Number(start); j <= Number(end); j++) {
      const el = vector[j]!.el;
      if (gets.length === 0) out.push(el);
      for (const g of gets) out.push(byPattern(c, g, el));
    }
    if (store === undefined) return arr(out.map((b) => bulk(b ?? null)));
    if (c.view.get(store) !== undefined) del(c, store);
    out.forEach((b, i) => c.ops.push({ k: 'elem', key: store, type: 'list', elem: encodeListPosition(i * LIST_POSITION_STEP), value: b ?? EMPTY }));
    return int(out.length);
  };
}

export const SORT_HANDLERS: ReadonlyArray<readonly [string, Handler]> = [
  ['sort', sortCommand(false)],
  ['sort_ro', sortCommand(true)],
];
