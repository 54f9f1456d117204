// Hash commands (Redis 7.0's t_hash.c): every write is element ops with final values (one
// field set or removed), so HSET on a hash of a million fields replicates one field. Reads
// touch the fields they name; HGETALL, HKEYS and HVALS read the hash in pages.
import { arr, bulk, err, int, NIL, OK } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Element, Entry } from '../types.ts';
import { randomDistinct, randomElement, randomWithRepeats, parseScanArgs, parseScanCursor, scanElements, scanReply } from './collection-reads.ts';
import { allElements, E_NOT_FLOAT, E_NOT_INT, E_SYNTAX, is, removeNamed, setElem, typed, WRONG, WRONGTYPE } from './context.ts';
import type { Ctx, Handler, Typed } from './context.ts';
import { addLongDouble, formatLongDoubleHuman, parseLongDouble } from './float-format.ts';
import { intValue, LLONG_MAX, LLONG_MIN, parseI64 } from './numbers.ts';

/**
 * Most elements a negative HRANDFIELD / SRANDMEMBER count may ask for (repeats allowed, so
 * the reply is not bounded by the collection). Redis has no such bound and would build the
 * reply anyway; here a larger count is refused with E_RANDOM_COUNT rather than risk the node's
 * memory. Ask for fewer in several calls.
 */
export const MAX_RANDOM_REPEATS = 10_000_000;
export const E_RANDOM_COUNT = `ERR a negative count may ask for at most ${MAX_RANDOM_REPEATS} elements (MAX_RANDOM_REPEATS): ask for fewer in several calls`;

const hashOf = (c: Ctx, key: Buffer): Typed => typed(c, key, 'hash');

function hsetGeneric(c: Ctx, a: readonly Buffer[], name: string): Reply | number {
  if (a.length % 2 === 1) return err(`ERR wrong number of arguments for '${name}' command`);
  const key = a[1]!;
  const h = hashOf(c, key);
  if (h === WRONG) return WRONGTYPE;
  // Fields named twice: the last value wins, and a field counts as new once.
  const seen = new Set<string>();
  let created = 0;
  for (let i = 2; i < a.length; i += 2) {
    const field = a[i]!;
    const id = field.toString('latin1');
    if (!seen.has(id)) {
      seen.add(id);
      if (h === undefined || c.view.getElement(key, field) === undefined) created++;
    }
    setElem(c, key, 'hash', h, field, a[i + 1]!);
  }
  return created;
}

const hset: Handler = (c, a) => {
  const r = hsetGeneric(c, a, 'hset');
  return typeof r === 'number' ? int(r) : r;
};

const hmset: Handler = (c, a) => {
  const r = hsetGeneric(c, a, 'hmset');
  return typeof r === 'number' ? OK : r;
};

const hsetnx: Handler = (c, a) => {
  const key = a[1]!;
  const h = hashOf(c, key);
  if (h === WRONG) return WRONGTYPE;
  if (h !== undefined && c.view.getElement(key, a[2]!) !== undefined) return int(0);
  setElem(c, key, 'hash', h, a[2]!, a[3]!);
  return int(1);
};

/** The value of field in the hash at key: undefined if either is missing, WRONG for another type. */
function field(c: Ctx, key: Buffer, f: Buffer): Buffer | undefined | typeof WRONG {
  const h = hashOf(c, key);
  if (h === WRONG) return WRONG;
  return h === undefined ? undefined : c.view.getElement(key, f);
}

const hget: Handler = (c, a) => {
  const v = field(c, a[1]!, a[2]!);
  return v === WRONG ? WRONGTYPE : bulk(v ?? null);
};

const hmget: Handler = (c, a) => {
  const h = hashOf(c, a[1]!);
  if (h === WRONG) return WRONGTYPE;
  const out: Reply[] = [];
  for (let i = 2; i < a.length; i++) out.push(h === undefined ? NIL : bulk(c.view.getElement(a[1]!, a[i]!) ?? null));
  return arr(out);
};

const hdel: Handler = (c, a) => {
  const key = a[1]!;
  const h = hashOf(c, key);
  if (h === WRONG) return WRONGTYPE;
  if (h === undefined) return int(0);
  return int(removeNamed(c, key, 'hash', a.slice(2)));
};

const hlen: Handler = (c, a) => {
  const h = hashOf(c, a[1]!);
  return h === WRONG ? WRONGTYPE : int(h?.count ?? 0);
};

const hstrlen: Handler = (c, a) => {
  const v = field(c, a[1]!, a[2]!);
  return v === WRONG ? WRONGTYPE : int(v?.length ?? 0);
};

const hexists: Handler = (c, a) => {
  const v = field(c, a[1]!, a[2]!);
  return v === WRONG ? WRONGTYPE : int(v === undefined ? 0 : 1);
};

/** The whole hash as `shape` wants it, or an empty reply if absent. */
function whole(c: Ctx, key: Buffer, shape: (els: Element[]) => Reply, empty: Reply): Reply {
  const h = hashOf(c, key);
  if (h === WRONG) return WRONGTYPE;
  if (h === undefined) return empty;
  return shape(allElements(c.view, key));
}

const EMPTY_ARRAY = arr([]);
const hkeys: Handler = (c, a) => whole(c, a[1]!, (els) => arr(els.map((e) => bulk(e.elem))), EMPTY_ARRAY);
const hvals: Handler = (c, a) => whole(c, a[1]!, (els) => arr(els.map((e) => bulk(e.value))), EMPTY_ARRAY);
const hgetall: Handler = (c, a) =>
  whole(c, a[1]!, (els) => ({ t: 'map', entries: els.map((e) => [bulk(e.elem), bulk(e.value)] as const) }), { t: 'map', entries: [] });

const hincrby: Handler = (c, a) => {
  const incr = parseI64(a[3]!);
  if (incr === null) return err(E_NOT_INT);
  const key = a[1]!;
  const h = hashOf(c, key);
  if (h === WRONG) return WRONGTYPE;
  const old = h === undefined ? undefined : c.view.getElement(key, a[2]!);
  let value = 0n;
  if (old !== undefined) {
    const p = parseI64(old);
    if (p === null) return err('ERR hash value is not an integer');
    value = p;
  }
  if ((incr < 0n && value < 0n && incr < LLONG_MIN - value) || (incr > 0n && value > 0n && incr > LLONG_MAX - value)) {
    return err('ERR increment or decrement would overflow');
  }
  const next = value + incr;
  setElem(c, key, 'hash', h, a[2]!, Buffer.from(next.toString()));
  return int(intValue(next));
};

const hincrbyfloat: Handler = (c, a) => {
  const incr = parseLongDouble(a[3]!);
  if (incr === null) return err(E_NOT_FLOAT);
  if (incr.kind !== 'finite') return err('ERR value is NaN or Infinity');
  const key = a[1]!;
  const h = hashOf(c, key);
  if (h === WRONG) return WRONGTYPE;
  const old = h === undefined ? undefined : c.view.getElement(key, a[2]!);
  const cur = parseLongDouble(old ?? Buffer.from('0'));
  if (cur === null) return err('ERR hash value is not a float');
  const sum = addLongDouble(cur, incr);
  if (sum.kind !== 'finite') return err('ERR increment would produce NaN or Infinity');
  const text = Buffer.from(formatLongDoubleHuman(sum));
  setElem(c, key, 'hash', h, a[2]!, text);
  return bulk(text);
};

/** Bounds of a count argument of HRANDFIELD / SRANDMEMBER (Redis: -LONG_MAX..LONG_MAX). */
const LONG_MAX = LLONG_MAX;

/** A count argument parsed as getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX) does. */
export function parseRandomCount(b: Buffer): bigint | Reply {
  const n = parseI64(b);
  if (n === null) return err(E_NOT_INT);
  if (n < -LONG_MAX) return err(`ERR value is out of range, value must between ${-LONG_MAX} and ${LONG_MAX}`);
  return n;
}

/** Fields (and values) for a count: distinct when positive, repeats allowed when negative. */
export function randomByCount(c: Ctx, key: Buffer, h: Entry, n: bigint): Element[] | Reply {
  if (n >= 0n) return n >= BigInt(h.count) ? allElements(c.view, key) : randomDistinct(c, key, h, Number(n));
  if (-n > BigInt(MAX_RANDOM_REPEATS)) return err(E_RANDOM_COUNT);
  return randomWithRepeats(c, key, h, Number(-n));
}

const hrandfield: Handler = (c, a) => {
  const key = a[1]!;
  if (a.length >= 3) {
    const n = parseRandomCount(a[2]!);
    if (typeof n !== 'bigint') return n;
    if (a.length > 4 || (a.length === 4 && !is(a[3]!, 'withvalues'))) return err(E_SYNTAX);
    const withValues = a.length === 4;
    if (withValues && (n < -LONG_MAX / 2n || n > LONG_MAX / 2n)) return err('ERR value is out of range');
    const h = hashOf(c, key);
    if (h === undefined) return EMPTY_ARRAY;
    if (h === WRONG) return WRONGTYPE;
    if (n === 0n) return EMPTY_ARRAY;
    const els = randomByCount(c, key, h, n);
    if (!Array.isArray(els)) return els;
    if (!withValues) return arr(els.map((e) => bulk(e.elem)));
    // RESP3 clients get [field, value] pairs, RESP2 clients one flat array.
    return { t: 'pairs', items: els.map((e) => [bulk(e.elem), bulk(e.value)] as const) };
  }
  const h = hashOf(c, key);
  if (h === undefined) return NIL;
  if (h === WRONG) return WRONGTYPE;
  return bulk(randomElement(c, key, h).elem);
};

const hscan: Handler = (c, a) => {
  const cursor = parseScanCursor(a[2]!);
  if (typeof cursor !== 'bigint') return cursor;
  const key = a[1]!;
  const h = hashOf(c, key);
  if (h === undefined) return arr([bulk('0'), arr([])]);
  if (h === WRONG) return WRONGTYPE;
  const args = parseScanArgs(a, 3);
  if (!('count' in args)) return args;
  return scanReply(scanElements(c, key, h, cursor, args), args.match, (el) => [bulk(el.elem), bulk(el.value)]);
};

export const HASH_HANDLERS: ReadonlyArray<readonly [string, Handler]> = [
  ['hset', hset],
  ['hmset', hmset],
  ['hsetnx', hsetnx],
  ['hget', hget],
  ['hmget', hmget],
  ['hdel', hdel],
  ['hlen', hlen],
  ['hstrlen', hstrlen],
  ['hexists', hexists],
  ['hkeys', hkeys],
  ['hvals', hvals],
  ['hgetall', hgetall],
  ['hincrby', hincrby],
  ['hincrbyfloat', hincrbyfloat],
  ['hrandfield', hrandfield],
  ['hscan', hscan],
];
