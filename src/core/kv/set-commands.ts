// Set commands (Redis 7.0's t_set.c): a set is a collection whose elements are its members
// with empty values. Writes are element ops with final values (a member added or removed);
// SPOP's random choice is made here, on the primary, and replicated as the removals it chose.
// SINTER and SDIFF walk one set and look members up in the others, so they read about as
// many elements as the smallest (or first) set holds, not every set whole.
import { isIntegerMember, SET_MAX_INTSET_ENTRIES } from '../collections.ts';
import { arr, bulk, err, int, NIL } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Element, Entry } from '../types.ts';
import { parseScanArgs, parseScanCursor, randomDistinct, randomElement, scanElements, scanReply } from './collection-reads.ts';
import { allElements, del, delElem, E_SYNTAX, ELEMENT_PAGE, is, removeNamed, setElem, typed, WRONG, WRONGTYPE } from './context.ts';
import type { Ctx, Handler, Typed } from './context.ts';
import { parseRandomCount, randomByCount } from './hash-commands.ts';
import { LLONG_MAX, parseI64 } from './numbers.ts';

const EMPTY = Buffer.alloc(0);
const setOf = (c: Ctx, key: Buffer): Typed => typed(c, key, 'set');

/** A RESP3 set (an array in RESP2) of members. */
function members(els: readonly Element[] | readonly Buffer[]): Reply {
  return { t: 'set', items: els.map((e) => bulk(Buffer.isBuffer(e) ? e : e.elem)) };
}

const EMPTY_SET: Reply = { t: 'set', items: [] };

/**
 * Members in the order Redis gives a set it holds as an intset (every member an integer, at
 * most SET_MAX_INTSET_ENTRIES): ascending by value. Other sets Redis holds in a hashtable,
 * whose order is no order; those stay in byte order.
 */
export function intsetOrder<T extends Buffer | Element>(items: readonly T[]): readonly T[] {
  if (items.length > SET_MAX_INTSET_ENTRIES) return items;
  const values: Array<[bigint, T]> = [];
  for (const it of items) {
    const m = Buffer.isBuffer(it) ? it : it.elem;
    if (!isIntegerMember(m)) return items;
    values.push([BigInt(m.toString('latin1')), it]);
  }
  return values.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map(([, it]) => it);
}

const sadd: Handler = (c, a) => {
  const key = a[1]!;
  const h = setOf(c, key);
  if (h === WRONG) return WRONGTYPE;
  const added = new Set<string>();
  for (let i = 2; i < a.length; i++) {
    const m = a[i]!;
    const id = m.toString('latin1');
    if (added.has(id) || (h !== undefined && c.view.getElement(key, m) !== undefined)) continue;
    added.add(id);
    setElem(c, key, 'set', h, m, EMPTY);
  }
  return int(added.size);
};

const srem: Handler = (c, a) => {
  const key = a[1]!;
  const h = setOf(c, key);
  if (h === WRONG) return WRONGTYPE;
  if (h === undefined) return int(0);
  return int(removeNamed(c, key, 'set', a.slice(2)));
};

const scard: Handler = (c, a) => {
  const h = setOf(c, a[1]!);
  return h === WRONG ? WRONGTYPE : int(h?.count ?? 0);
};

function isMember(c: Ctx, key: Buffer, h: Entry | undefined, m: Buffer): boolean {
  return h !== undefined && c.view.getElement(key, m) !== undefined;
}

const sismember: Handler = (c, a) => {
  const h = setOf(c, a[1]!);
  if (h === WRONG) return WRONGTYPE;
  return int(isMember(c, a[1]!, h, a[2]!) ? 1 : 0);
};

const smismember: Handler = (c, a) => {
  const h = setOf(c, a[1]!);
  if (h === WRONG) return WRONGTYPE;
  const out: Reply[] = [];
  for (let i = 2; i < a.length; i++) out.push(int(isMember(c, a[1]!, h, a[i]!) ? 1 : 0));
  return arr(out);
};

const smembers: Handler = (c, a) => {
  const h = setOf(c, a[1]!);
  if (h === WRONG) return WRONGTYPE;
  return h === undefined ? EMPTY_SET : members(intsetOrder(allElements(c.view, a[1]!)));
};

/** Removes `els` from the set at key; every member gone removes the key at once. */
function removeMembers(c: Ctx, key: Buffer, h: Entry, els: readonly Element[]): void {
  if (els.length >= h.count) del(c, key);
  else for (const el of els) delElem(c, key, 'set', el.elem);
}

const spop: Handler = (c, a) => {
  const key = a[1]!;
  if (a.length > 3) return err(E_SYNTAX);
  if (a.length === 3) {
    const n = parseI64(a[2]!);
    if (n === null || n < 0n) return err('ERR value is out of range, must be positive');
    const h = setOf(c, key);
    if (h === undefined) return EMPTY_SET;
    if (h === WRONG) return WRONGTYPE;
    if (n === 0n) return EMPTY_SET;
    const els = n >= BigInt(h.count) ? intsetOrder(allElements(c.view, key)) : randomDistinct(c, key, h, Number(n));
    removeMembers(c, key, h, els);
    return members(els);
  }
  const h = setOf(c, key);
  if (h === undefined) return NIL;
  if (h === WRONG) return WRONGTYPE;
  const el = randomElement(c, key, h);
  removeMembers(c, key, h, [el]);
  return bulk(el.elem);
};

const srandmember: Handler = (c, a) => {
  const key = a[1]!;
  if (a.length > 3) return err(E_SYNTAX);
  if (a.length === 3) {
    const n = parseRandomCount(a[2]!);
    if (typeof n !== 'bigint') return n;
    const h = setOf(c, key);
    if (h === undefined) return arr([]);
    if (h === WRONG) return WRONGTYPE;
    if (n === 0n) return arr([]);
    const els = randomByCount(c, key, h, n);
    if (!Array.isArray(els)) return els;
    // A count covering the whole set gives the whole set, in its own order.
    return arr((n >= BigInt(h.count) ? intsetOrder(els) : els).map((e) => bulk(e.elem)));
  }
  const h = setOf(c, key);
  if (h === undefined) return NIL;
  if (h === WRONG) return WRONGTYPE;
  return bulk(randomElement(c, key, h).elem);
};

const smove: Handler = (c, a) => {
  const [src, dst, m] = [a[1]!, a[2]!, a[3]!];
  const hs = setOf(c, src);
  const hd = setOf(c, dst);
  if (hs === undefined) return int(0);
  if (hs === WRONG || hd === WRONG) return WRONGTYPE;
  if (src.equals(dst)) return int(isMember(c, src, hs, m) ? 1 : 0);
  if (!isMember(c, src, hs, m)) return int(0);
  removeMembers(c, src, hs, [{ elem: m, value: EMPTY }]);
  if (!isMember(c, dst, hd, m)) setElem(c, dst, 'set', hd, m, EMPTY);
  return int(1);
};

/** The sets named by keys: WRONGTYPE if any holds another type; a missing one is undefined (empty). */
function setsOf(c: Ctx, keys: readonly Buffer[]): Array<Entry | undefined> | typeof WRONG {
  const out: Array<Entry | undefined> = [];
  for (const k of keys) {
    const h = setOf(c, k);
    if (h === WRONG) return WRONG;
    out.push(h);
  }
  return out;
}

/** Calls fn with each member of the set at key, page by page, until fn returns false. */
function eachMember(c: Ctx, key: Buffer, fn: (m: Buffer) => boolean): void {
  let start: Buffer | undefined;
  for (;;) {
    const page = c.view.elements(key, start === undefined ? { limit: ELEMENT_PAGE } : { start, exclusive: true, limit: ELEMENT_PAGE });
    for (const el of page) if (!fn(el.elem)) return;
    if (page.length < ELEMENT_PAGE) return;
    start = page[page.length - 1]!.elem;
  }
}

/** Members of the intersection (at most `limit`, 0 = all): walks the smallest set, looks up the others. */
function intersection(c: Ctx, keys: readonly Buffer[], sets: ReadonlyArray<Entry | undefined>, limit: number): Buffer[] {
  if (sets.some((h) => h === undefined)) return [];
  const order = keys.map((k, i) => ({ k, n: sets[i]!.count })).sort((x, y) => x.n - y.n);
  const [first, ...rest] = order;
  const out: Buffer[] = [];
  eachMember(c, first!.k, (m) => {
    if (rest.every((r) => c.view.getElement(r.k, m) !== undefined)) out.push(m);
    return limit === 0 || out.length < limit;
  });
  return out;
}

/** Members of the union, in byte order, each once. */
function union(c: Ctx, keys: readonly Buffer[], sets: ReadonlyArray<Entry | undefined>): Buffer[] {
  const seen = new Map<string, Buffer>();
  keys.forEach((k, i) => {
    if (sets[i] !== undefined) for (const el of allElements(c.view, k)) seen.set(el.elem.toString('latin1'), el.elem);
  });
  return [...seen.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map(([, m]) => m);
}

/** Members of the first set in none of the others: walks the first, looks up the others. */
function difference(c: Ctx, keys: readonly Buffer[], sets: ReadonlyArray<Entry | undefined>): Buffer[] {
  if (sets[0] === undefined) return [];
  const others = keys.slice(1).filter((_, i) => sets[i + 1] !== undefined);
  const out: Buffer[] = [];
  eachMember(c, keys[0]!, (m) => {
    if (!others.some((k) => c.view.getElement(k, m) !== undefined)) out.push(m);
    return true;
  });
  return out;
}

type Combine = (c: Ctx, keys: readonly Buffer[], sets: ReadonlyArray<Entry | undefined>) => Buffer[];

/** SINTER / SUNION / SDIFF: the members as a set reply. */
function combineCommand(combine: Combine): Handler {
  return (c, a) => {
    const keys = a.slice(1);
    const sets = setsOf(c, keys);
    if (sets === WRONG) return WRONGTYPE;
    return members(intsetOrder(combine(c, keys, sets)));
  };
}

/**
 * SINTERSTORE / SUNIONSTORE / SDIFFSTORE: the result replaces dst (its expiry goes too),
 * member by member; an empty result deletes dst.
 */
function storeCommand(combine: Combine): Handler {
  return (c, a) => {
    const dst = a[1]!;
    const keys = a.slice(2);
    const sets = setsOf(c, keys);
    if (sets === WRONG) return WRONGTYPE;
    const result = combine(c, keys, sets);
    if (c.view.get(dst) !== undefined) del(c, dst);
    for (const m of result) c.ops.push({ k: 'elem', key: dst, type: 'set', elem: m, value: EMPTY });
    return int(result.length);
  };
}

const sintercard: Handler = (c, a) => {
  const nk = parseI64(a[1]!);
  if (nk === null || nk < 1n || nk > LLONG_MAX) return err('ERR numkeys should be greater than 0');
  if (nk > BigInt(a.length - 2)) return err("ERR Number of keys can't be greater than number of args");
  const n = Number(nk);
  let limit = 0;
  for (let j = 2 + n; j < a.length; j++) {
    if (is(a[j]!, 'limit') && j + 1 < a.length) {
      const l = parseI64(a[++j]!);
      if (l === null || l < 0n) return err("ERR LIMIT can't be negative");
      limit = l > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(l);
    } else return err(E_SYNTAX);
  }
  const keys = a.slice(2, 2 + n);
  const sets = setsOf(c, keys);
  if (sets === WRONG) return WRONGTYPE;
  return int(intersection(c, keys, sets, limit).length);
};

const sscan: Handler = (c, a) => {
  const cursor = parseScanCursor(a[2]!);
  if (typeof cursor !== 'bigint') return cursor;
  const key = a[1]!;
  const h = setOf(c, key);
  if (h === undefined) return arr([bulk('0'), arr([])]);
  if (h === WRONG) return WRONGTYPE;
  const args = parseScanArgs(a, 3);
  if (!('count' in args)) return args;
  const step = scanElements(c, key, h, cursor, args);
  // A small set comes back whole in one step, in its intset order when it is one.
  return scanReply(h.big ? step : { next: step.next, elements: [...intsetOrder(step.elements)] }, args.match, (el) => [bulk(el.elem)]);
};

const inter: Combine = (c, keys, sets) => intersection(c, keys, sets, 0);

export const SET_HANDLERS: ReadonlyArray<readonly [string, Handler]> = [
  ['sadd', sadd],
  ['srem', srem],
  ['scard', scard],
  ['sismember', sismember],
  ['smismember', smismember],
  ['smembers', smembers],
  ['spop', spop],
  ['srandmember', srandmember],
  ['smove', smove],
  ['sinter', combineCommand(inter)],
  ['sintercard', sintercard],
  ['sinterstore', storeCommand(inter)],
  ['sunion', combineCommand(union)],
  ['sunionstore', storeCommand(union)],
  ['sdiff', combineCommand(difference)],
  ['sdiffstore', storeCommand(difference)],
  ['sscan', sscan],
];
