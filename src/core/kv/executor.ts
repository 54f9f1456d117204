// The key-value state machine the primary runs: a client command plus the current state (a
// read-only view) and the time become a reply and deterministic ops with final values (INCR
// becomes "put 43"), which are what gets replicated — secondaries never re-execute logic.
// Semantics, argument checks and error texts follow Redis 7.0 (t_string.c, db.c, expire.c);
// the differential tests in test/kv compare byte for byte with a real redis-server.
//
// Expired entries (expireAtMs !== 0 && expireAtMs <= nowMs) are treated as absent. Reads never
// produce ops; deleting an expired-but-stored key does, which lets storage drop it.
import { arr, bulk, err, int, NIL, OK } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Entry, KeyEvent, Op } from '../types.ts';
import { keyEventsOf } from './key-events.ts';
import { opsBytes } from '../log-view.ts';
import { REGION_COUNT, regionOfKey } from '../regions.ts';
import { arityOk, lookupCommand } from './command-table.ts';
import { addLongDouble, formatLongDoubleHuman, parseLongDouble } from './float-format.ts';
import { globMatch } from './glob.ts';
import { checkWrite, expireAtForExpire, expireAtForSet, expireTimeError } from './arguments.ts';
import type { WriteLimits } from './arguments.ts';
import { INT_MAX, INT_MIN, intValue, LLONG_MAX, LLONG_MIN, parseCursor, parseI64 } from './numbers.ts';
import { Overlay } from './overlay.ts';
import { isLive } from './view.ts';
import type { KvView } from './view.ts';
import { del, E_NOT_FLOAT, E_NOT_INT, E_SYNTAX, is, live, put, typed, WRONG, WRONGTYPE } from './context.ts';
import type { Ctx, Handler } from './context.ts';
import { GENERIC_HANDLERS, copyValue } from './generic-commands.ts';
import { HASH_HANDLERS } from './hash-commands.ts';
import { parseScanArgs } from './collection-reads.ts';
import { DUMP_HANDLERS } from './dump-commands.ts';
import { LCS_HANDLERS } from './lcs-command.ts';
import { LIST_HANDLERS } from './list-commands.ts';
import { BLOCKING_HANDLERS } from './blocking-commands.ts';
import { SORT_HANDLERS } from './sort-command.ts';
import { SET_HANDLERS } from './set-commands.ts';
import { COMBINE_HANDLERS } from './zset-combine.ts';
import { BITMAP_HANDLERS } from './bitmap-commands.ts';
import { HLL_HANDLERS } from './hll-commands.ts';
import { writeBytes } from './string-writes.ts';
import { ZSET_HANDLERS } from './zset-commands.ts';
import { Prng } from '../../lib/prng.ts';
import { scriptHandlers } from './script-commands.ts';
import type { ScriptSupport } from './script-commands.ts';
import type { ScriptEngine } from './scripting.ts';

/** Largest string value (Redis's proto-max-bulk-len default, 512 MiB). */
export const MAX_VALUE_BYTES = 512 * 1024 * 1024;
/** Entries read per storage call while walking a region (KEYS, SCAN group completion). */
const REGION_PAGE = 256;

export interface ExecOptions {
  /**
   * Largest value a command may store, bytes (default MAX_VALUE_BYTES). Commands that would exceed
   * it fail with Redis's "string exceeds maximum allowed size (proto-max-bulk-len)"; raise
   * limits.maxValueBytes (Redis's proto-max-bulk-len) to allow more.
   */
  readonly maxValueBytes?: number;
  /**
   * Largest write (one command, or one EXEC), as opsBytes counts it (default: unbounded, as in
   * Redis). A node passes what one update can hold (limits.maxWriteBytes of the core config).
   */
  readonly maxWriteBytes?: number;
  /**
   * Uniform random numbers in [0, 1) for SPOP, SRANDMEMBER, HRANDFIELD and RANDOMKEY. The
   * primary passes its own seeded generator; the ops carry what was drawn, so no replica ever
   * draws. Default: a generator seeded from nowMs (deterministic, for tests and tools).
   */
  readonly random?: () => number;
  /** The Lua engine for EVAL and SCRIPT (without one they answer an error). */
  readonly scripting?: ScriptEngine;
  /** Executing on a secondary: a script's writes get Redis's READONLY error, SCRIPT LOAD too. */
  readonly replica?: boolean;
}

function randomOf(options: ExecOptions, nowMs: number): () => number {
  if (options.random) return options.random;
  const prng = new Prng(nowMs);
  return () => prng.float();
}

export interface ExecResult {
  readonly reply: Reply;
  /** Deterministic writes with final values; empty for reads and for refused commands. */
  readonly ops: Op[];
  /** Keyspace notifications of the command (op indexes into `ops`). */
  readonly keyEvents: KeyEvent[];
}

export interface BatchResult {
  readonly replies: Reply[];
  /** Every command's ops in order; applied in order they give the batch's final state. */
  readonly ops: Op[];
  /** Every command's keyspace notifications in order (op indexes into `ops`). */
  readonly keyEvents: KeyEvent[];
}

const E_OVERFLOW = 'ERR increment or decrement would overflow';
const E_TOO_BIG = 'ERR string exceeds maximum allowed size (proto-max-bulk-len)';
const E_NO_SUCH_KEY = 'ERR no such key';
const EMPTY = Buffer.alloc(0);

function scriptSupportOf(options: ExecOptions, limits: WriteLimits): ScriptSupport {
  return { engine: options.scripting, replica: options.replica === true, limits };
}

function limitsOf(options: ExecOptions): WriteLimits {
  return { maxValueBytes: options.maxValueBytes ?? MAX_VALUE_BYTES, maxWriteBytes: options.maxWriteBytes ?? Infinity };
}

/** The live string at key, undefined if none, WRONG if the key holds another type. */
function str(c: Ctx, key: Buffer): Entry | undefined | typeof WRONG {
  return typed(c, key, 'string');
}

function i64Reply(n: bigint): Reply {
  return int(intValue(n));
}

// ---- SET family --------------------------------------------------------------------------

const F_NX = 1;
const F_XX = 2;
const F_GET = 4;
const F_KEEPTTL = 8;
const F_PERSIST = 16;
const F_EX = 32;
const F_PX = 64;
const F_EXAT = 128;
const F_PXAT = 256;

interface ExtArgs {
  flags: number;
  expire: Buffer | undefined;
}

/** parseExtendedStringArgumentsOrReply: the option grammar shared by SET and GETEX. */
function parseExtended(a: readonly Buffer[], forSet: boolean): ExtArgs | null {
  let flags = 0;
  let expire: Buffer | undefined;
  for (let j = forSet ? 3 : 2; j < a.length; j++) {
    const o = a[j]!;
    const next = a[j + 1];
    const anyExpire = F_EX | F_PX | F_EXAT | F_PXAT;
    if (forSet && is(o, 'nx') && !(flags & F_XX)) flags |= F_NX;
    else if (forSet && is(o, 'xx') && !(flags & F_NX)) flags |= F_XX;
    else if (forSet && is(o, 'get')) flags |= F_GET;
    else if (forSet && is(o, 'keepttl') && !(flags & (F_PERSIST | anyExpire))) flags |= F_KEEPTTL;
    else if (!forSet && is(o, 'persist') && !(flags & (anyExpire | F_KEEPTTL))) flags |= F_PERSIST;
    else if (is(o, 'ex') && !(flags & (F_KEEPTTL | F_PERSIST | F_EXAT | F_PX | F_PXAT)) && next) {
      flags |= F_EX;
      expire = next;
      j++;
    } else if (is(o, 'px') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PXAT)) && next) {
      flags |= F_PX;
      expire = next;
      j++;
    } else if (is(o, 'exat') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_PX | F_PXAT)) && next) {
      flags |= F_EXAT;
      expire = next;
      j++;
    } else if (is(o, 'pxat') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PX)) && next) {
      flags |= F_PXAT;
      expire = next;
      j++;
    } else return null;
  }
  return { flags, expire };
}

/**
 * getExpireMillisecondsOrReply: the absolute expiry in ms for EX/PX (relative to now) or
 * EXAT/PXAT, or an error reply. Zero and negative values are invalid, as is overflow.
 */
function expireMs(c: Ctx, arg: Buffer, flags: number, cmd: string): number | Reply {
  const v = parseI64(arg);
  if (v === null) return err(E_NOT_INT);
  const ms = expireAtForSet(v, (flags & (F_EX | F_EXAT)) !== 0, (flags & (F_EX | F_PX)) !== 0, c.nowMs);
  return ms ?? expireTimeError(cmd);
}

function tooBig(c: Ctx, size: number): boolean {
  return size > c.maxValueBytes;
}

/**
 * setGenericCommand. `expireArg` is validated first, then GET reads the old value, then NX/XX
 * decide; an absolute expiry already in the past stores nothing (the key is gone at once).
 */
function setGeneric(
  c: Ctx,
  cmd: string,
  flags: number,
  key: Buffer,
  value: Buffer,
  expireArg: Buffer | undefined,
  okReply: Reply,
  abortReply: Reply,
): Reply {
  let when = 0;
  if (expireArg !== undefined) {
    const w = expireMs(c, expireArg, flags, cmd);
    if (typeof w !== 'number') return w;
    when = w;
  }
  if (tooBig(c, value.length)) return err(E_TOO_BIG);
  // A plain SET does not depend on what the key held: skip the read (one storage lookup per write).
  const old = flags & (F_GET | F_NX | F_XX | F_KEEPTTL) ? live(c, key) : undefined;
  if (flags & F_GET && old !== undefined && old.type !== 'string') return WRONGTYPE;
  const getReply: Reply | null = flags & F_GET ? bulk(old ? old.value : null) : null;
  if ((flags & F_NX && old) || (flags & F_XX && !old)) return getReply ?? abortReply;
  if (expireArg !== undefined) {
    if (when <= c.nowMs) del(c, key);
    else put(c, key, value, when);
  } else {
    put(c, key, value, flags & F_KEEPTTL && old ? old.expireAtMs : 0);
  }
  return getReply ?? okReply;
}

const CZERO = int(0);
const CONE = int(1);

const set: Handler = (c, a) => {
  const p = parseExtended(a, true);
  if (!p) return err(E_SYNTAX);
  return setGeneric(c, 'set', p.flags, a[1]!, a[2]!, p.expire, OK, NIL);
};

const setnx: Handler = (c, a) => setGeneric(c, 'setnx', F_NX, a[1]!, a[2]!, undefined, CONE, CZERO);
const setex: Handler = (c, a) => setGeneric(c, 'setex', F_EX, a[1]!, a[3]!, a[2]!, OK, NIL);
const psetex: Handler = (c, a) => setGeneric(c, 'psetex', F_PX, a[1]!, a[3]!, a[2]!, OK, NIL);

const get: Handler = (c, a) => {
  const e = str(c, a[1]!);
  return e === WRONG ? WRONGTYPE : bulk(e?.value ?? null);
};

const getset: Handler = (c, a) => {
  const old = str(c, a[1]!);
  if (old === WRONG) return WRONGTYPE;
  if (tooBig(c, a[2]!.length)) return err(E_TOO_BIG);
  put(c, a[1]!, a[2]!, 0);
  return bulk(old ? old.value : null);
};

const getdel: Handler = (c, a) => {
  const old = str(c, a[1]!);
  if (old === WRONG) return WRONGTYPE;
  if (!old) return NIL;
  del(c, a[1]!);
  return bulk(old.value);
};

const getex: Handler = (c, a) => {
  const p = parseExtended(a, false);
  if (!p) return err(E_SYNTAX);
  const key = a[1]!;
  const old = str(c, key);
  if (old === WRONG) return WRONGTYPE;
  if (!old) return NIL;
  let when = 0;
  if (p.expire !== undefined) {
    const w = expireMs(c, p.expire, p.flags, 'getex');
    if (typeof w !== 'number') return w;
    when = w;
  }
  if (p.flags & (F_EXAT | F_PXAT) && when <= c.nowMs) del(c, key);
  else if (p.expire !== undefined) c.ops.push({ k: 'expire', key, expireAtMs: when });
  else if (p.flags & F_PERSIST && old.expireAtMs !== 0) c.ops.push({ k: 'expire', key, expireAtMs: 0 });
  return bulk(old.value);
};

const mget: Handler = (c, a) => {
  const items: Reply[] = [];
  for (let i = 1; i < a.length; i++) {
    const e = live(c, a[i]!);
    items.push(bulk(e !== undefined && e.type === 'string' ? e.value : null));
  }
  return arr(items);
};

function msetGeneric(c: Ctx, a: readonly Buffer[], nx: boolean, name: string): Reply {
  if (a.length % 2 === 0) return err(`ERR wrong number of arguments for '${name}' command`);
  for (let i = 2; i < a.length; i += 2) if (tooBig(c, a[i]!.length)) return err(E_TOO_BIG);
  if (nx) for (let i = 1; i < a.length; i += 2) if (live(c, a[i]!)) return CZERO;
  for (let i = 1; i < a.length; i += 2) put(c, a[i]!, a[i + 1]!, 0);
  return nx ? CONE : OK;
}

const mset: Handler = (c, a) => msetGeneric(c, a, false, 'mset');
const msetnx: Handler = (c, a) => msetGeneric(c, a, true, 'msetnx');

const append: Handler = (c, a) => {
  const key = a[1]!;
  const add = a[2]!;
  const old = str(c, key);
  if (old === WRONG) return WRONGTYPE;
  const total = (old ? old.value.length : 0) + add.length;
  if (tooBig(c, total)) return err(E_TOO_BIG);
  // Only the appended bytes are shipped (a range op at the old end).
  writeBytes(c, key, old, old ? old.value.length : 0, add);
  return int(total);
};

const strlen: Handler = (c, a) => {
  const e = str(c, a[1]!);
  return e === WRONG ? WRONGTYPE : int(e?.value.length ?? 0);
};

/** A 64-bit index clamped to ±2^53 once their order was used: string lengths are far smaller, so results agree. */
function clampIndex(v: bigint): number {
  return v > 9007199254740991n ? 9007199254740991 : v < -9007199254740991n ? -9007199254740991 : Number(v);
}

const getrange: Handler = (c, a) => {
  const s = parseI64(a[2]!);
  if (s === null) return err(E_NOT_INT);
  const e = parseI64(a[3]!);
  if (e === null) return err(E_NOT_INT);
  const old = str(c, a[1]!);
  if (old === WRONG) return WRONGTYPE;
  if (!old) return bulk(EMPTY);
  if (s < 0n && e < 0n && s > e) return bulk(EMPTY);
  const len = old.value.length;
  let start = clampIndex(s);
  let end = clampIndex(e);
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return bulk(EMPTY);
  return bulk(old.value.subarray(start, end + 1));
};

const setrange: Handler = (c, a) => {
  const key = a[1]!;
  const value = a[3]!;
  const off = parseI64(a[2]!);
  if (off === null) return err(E_NOT_INT);
  if (off < 0n) return err('ERR offset is out of range');
  const old = str(c, key);
  if (old === WRONG) return WRONGTYPE;
  if (value.length === 0) return int(old ? old.value.length : 0);
  // checkStringLength(offset, len): compared before any allocation.
  if (off + BigInt(value.length) > BigInt(c.maxValueBytes)) return err(E_TOO_BIG);
  const offset = Number(off);
  // Only the written bytes are shipped; the range op zero-fills between the old end and the offset.
  writeBytes(c, key, old, offset, value);
  return int(Math.max(old ? old.value.length : 0, offset + value.length));
};

/** Largest magnitude handled with plain numbers: sums of two stay below 2^53, exact. */
const SMALL_INT = 1e15;

/** A strict decimal integer (string2ll rules) below SMALL_INT in magnitude, or null. */
function smallInt(b: Buffer): number | null {
  const len = b.length;
  if (len === 0 || len > 15) return null;
  let i = 0;
  let neg = false;
  if (b[0] === 0x2d) {
    if (len === 1) return null;
    neg = true;
    i = 1;
  }
  const first = b[i]!;
  if (first === 0x30) return len === 1 ? 0 : null;
  let v = 0;
  for (; i < len; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

function incrDecr(c: Ctx, key: Buffer, incr: bigint): Reply {
  const old = str(c, key);
  if (old === WRONG) return WRONGTYPE;
  // Fast path: both operands small, so number arithmetic is exact.
  if (incr > -1000000000000000n && incr < 1000000000000000n) {
    const v = old ? smallInt(old.value) : 0;
    if (v !== null && Math.abs(v) < SMALL_INT) {
      const n = v + Number(incr);
      put(c, key, Buffer.from(String(n)), old ? old.expireAtMs : 0);
      return int(n);
    }
  }
  let v = 0n;
  if (old) {
    const p = parseI64(old.value);
    if (p === null) return err(E_NOT_INT);
    v = p;
  }
  if ((incr < 0n && v < 0n && incr < LLONG_MIN - v) || (incr > 0n && v > 0n && incr > LLONG_MAX - v)) {
    return err(E_OVERFLOW);
  }
  const n = v + incr;
  put(c, key, Buffer.from(n.toString()), old ? old.expireAtMs : 0);
  return i64Reply(n);
}

const incr: Handler = (c, a) => incrDecr(c, a[1]!, 1n);
const decr: Handler = (c, a) => incrDecr(c, a[1]!, -1n);
const incrby: Handler = (c, a) => {
  const n = parseI64(a[2]!);
  return n === null ? err(E_NOT_INT) : incrDecr(c, a[1]!, n);
};
const decrby: Handler = (c, a) => {
  const n = parseI64(a[2]!);
  if (n === null) return err(E_NOT_INT);
  if (n === LLONG_MIN) return err('ERR decrement would overflow');
  return incrDecr(c, a[1]!, -n);
};

const incrbyfloat: Handler = (c, a) => {
  const key = a[1]!;
  const old = str(c, key);
  if (old === WRONG) return WRONGTYPE;
  const cur = old ? parseLongDouble(old.value) : parseLongDouble(Buffer.from('0'));
  if (cur === null) return err(E_NOT_FLOAT);
  const by = parseLongDouble(a[2]!);
  if (by === null) return err(E_NOT_FLOAT);
  const sum = addLongDouble(cur, by);
  if (sum.kind !== 'finite') return err('ERR increment would produce NaN or Infinity');
  const text = Buffer.from(formatLongDoubleHuman(sum));
  put(c, key, text, old ? old.expireAtMs : 0);
  return bulk(text);
};

// ---- keyspace ----------------------------------------------------------------------------

const delCmd: Handler = (c, a) => {
  let n = 0;
  const gone = new Set<string>();
  for (let i = 1; i < a.length; i++) {
    const key = a[i]!;
    const id = key.toString('latin1');
    if (gone.has(id)) continue;
    const e = c.view.get(key);
    if (e === undefined) continue;
    gone.add(id);
    if (isLive(e, c.nowMs)) n++;
    del(c, key); // an expired entry is deleted too (not counted, as in Redis)
  }
  return int(n);
};

const exists: Handler = (c, a) => {
  let n = 0;
  for (let i = 1; i < a.length; i++) if (live(c, a[i]!)) n++;
  return int(n);
};

const type: Handler = (c, a) => ({ t: 'simple', s: live(c, a[1]!)?.type ?? 'none' });

/** Calls fn for every stored entry (expired ones included), region by region, in key order. */
function forEachEntry(view: KvView, fn: (key: Buffer, e: Entry) => void): void {
  for (let r = 0; r < REGION_COUNT; r++) {
    let after: Buffer | undefined;
    for (;;) {
      const page = view.regionEntries(r, after, REGION_PAGE);
      for (const [k, e] of page) fn(k, e);
      if (page.length < REGION_PAGE) break;
      after = page[page.length - 1]![0];
    }
  }
}

const keys: Handler = (c, a) => {
  const pat = a[1]!;
  const all = pat.length === 1 && pat[0] === 0x2a;
  const out: Reply[] = [];
  forEachEntry(c.view, (k, e) => {
    if (isLive(e, c.nowMs) && (all || globMatch(pat, k))) out.push(bulk(k));
  });
  return arr(out);
};

// SCAN cursor: bits 56..61 hold the region, bits 0..55 the first 7 bytes of the next key to
// return (zero-padded, big-endian). Resuming returns the region's keys whose 7-byte prefix is >=
// that value, i.e. keys >= the prefix with trailing zero bytes removed. A batch never ends between
// two keys sharing a 7-byte prefix (it is extended to the end of that group; COUNT is a hint), so
// a key is never returned twice in one iteration, and every key present from start to end of a
// full iteration is returned. Cursor 0 starts (and ends) an iteration.
const SCAN_PREFIX_BYTES = 7;
const SCAN_PREFIX_BITS = 56n;

function samePrefix(a: Buffer, b: Buffer): boolean {
  for (let i = 0; i < SCAN_PREFIX_BYTES; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return false;
  return true;
}

function encodeCursor(region: number, key: Buffer | undefined): bigint {
  let v = 0n;
  for (let i = 0; i < SCAN_PREFIX_BYTES; i++) v = (v << 8n) | BigInt(key?.[i] ?? 0);
  return (BigInt(region) << SCAN_PREFIX_BITS) | v;
}

function decodeCursorKey(v: bigint): Buffer | undefined {
  const bytes: number[] = [];
  for (let i = SCAN_PREFIX_BYTES - 1; i >= 0; i--) bytes.push(Number((v >> BigInt(8 * i)) & 0xffn));
  while (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes.pop();
  return bytes.length === 0 ? undefined : Buffer.from(bytes);
}

/** One SCAN step from `cursor`: about `count` stored entries and the cursor to continue from. */
export function scanStep(view: KvView, cursor: bigint, count: number): { next: bigint; entries: Array<[Buffer, Entry]> } {
  const got: Array<[Buffer, Entry]> = [];
  let r = Number(cursor >> SCAN_PREFIX_BITS);
  if (r >= REGION_COUNT) return { next: 0n, entries: got };
  let after = decodeCursorKey(cursor & ((1n << SCAN_PREFIX_BITS) - 1n));
  if (after !== undefined && regionOfKey(after) === r) {
    const e = view.get(after); // the resume bound itself may be a key
    if (e !== undefined) got.push([after, e]);
  }
  while (r < REGION_COUNT) {
    for (;;) {
      const want = count - got.length;
      if (want <= 0) {
        // Full: finish the group of the last key, then stop at the next group.
        const last = got[got.length - 1]![0];
        for (;;) {
          const page = view.regionEntries(r, after, REGION_PAGE);
          for (const kv of page) {
            if (!samePrefix(kv[0], last)) return { next: encodeCursor(r, kv[0]), entries: got };
            got.push(kv);
          }
          if (page.length < REGION_PAGE) {
            r++;
            return { next: r < REGION_COUNT ? encodeCursor(r, undefined) : 0n, entries: got };
          }
          after = page[page.length - 1]![0];
        }
      }
      const page = view.regionEntries(r, after, want);
      for (const kv of page) got.push(kv);
      if (page.length < want) break; // region exhausted
      after = page[page.length - 1]![0];
    }
    r++;
    after = undefined;
  }
  return { next: 0n, entries: got };
}

const scan: Handler = (c, a) => {
  const cursor = parseCursor(a[1]!);
  if (cursor === null) return err('ERR invalid cursor');
  const args = parseScanArgs(a, 2, true);
  if (!('count' in args)) return args;
  const { count, match: pat, typeName } = args;
  const step = scanStep(c.view, cursor, count);
  const out: Reply[] = [];
  for (const [k, e] of step.entries) {
    if (typeName !== undefined && !is(typeName, e.type)) continue;
    if (isLive(e, c.nowMs) && (pat === undefined || globMatch(pat, k))) out.push(bulk(k));
  }
  return arr([bulk(step.next.toString()), arr(out)]);
};

function renameGeneric(c: Ctx, a: readonly Buffer[], nx: boolean): Reply {
  const src = a[1]!;
  const dst = a[2]!;
  const e = live(c, src);
  if (!e) return err(E_NO_SUCH_KEY);
  if (src.equals(dst)) return nx ? CZERO : OK;
  if (nx && live(c, dst)) return CZERO;
  copyValue(c, src, e, dst);
  del(c, src);
  return nx ? CONE : OK;
}

const rename: Handler = (c, a) => renameGeneric(c, a, false);
const renamenx: Handler = (c, a) => renameGeneric(c, a, true);

const copy: Handler = (c, a) => {
  let replace = false;
  for (let j = 3; j < a.length; j++) {
    const more = a.length - j - 1;
    if (is(a[j]!, 'replace')) replace = true;
    else if (is(a[j]!, 'db') && more >= 1) {
      const db = parseI64(a[j + 1]!);
      if (db === null) return err(E_NOT_INT);
      if (db > INT_MAX || db < INT_MIN) return err(`ERR value is out of range, value must between ${INT_MIN} and ${INT_MAX}`);
      // One keyspace only: database 0. Redis would also accept 1..15 (its other databases).
      if (db !== 0n) return err('ERR DB index is out of range');
      j++;
    } else return err(E_SYNTAX);
  }
  const src = a[1]!;
  const dst = a[2]!;
  if (src.equals(dst)) return err('ERR source and destination objects are the same');
  const e = live(c, src);
  if (!e) return CZERO;
  if (live(c, dst) && !replace) return CZERO;
  copyValue(c, src, e, dst);
  return CONE;
};

const EXP_NX = 1;
const EXP_XX = 2;
const EXP_GT = 4;
const EXP_LT = 8;

function expireGeneric(c: Ctx, a: readonly Buffer[], basetime: number, seconds: boolean): Reply {
  let flags = 0;
  for (let j = 3; j < a.length; j++) {
    const o = a[j]!;
    if (is(o, 'nx')) flags |= EXP_NX;
    else if (is(o, 'xx')) flags |= EXP_XX;
    else if (is(o, 'gt')) flags |= EXP_GT;
    else if (is(o, 'lt')) flags |= EXP_LT;
    else return err(`ERR Unsupported option ${optionText(o)}`);
  }
  if (flags & EXP_NX && flags & (EXP_XX | EXP_GT | EXP_LT)) {
    return err('ERR NX and XX, GT or LT options at the same time are not compatible');
  }
  if (flags & EXP_GT && flags & EXP_LT) return err('ERR GT and LT options at the same time are not compatible');
  const cmd = lookupCommand(a[0]!)!.name;
  const arg = parseI64(a[2]!);
  if (arg === null) return err(E_NOT_INT);
  const when = expireAtForExpire(arg, seconds, basetime);
  if (when === null) return expireTimeError(cmd);
  const key = a[1]!;
  const e = live(c, key);
  if (!e) return CZERO;
  if (flags) {
    const cur = e.expireAtMs === 0 ? -1n : BigInt(e.expireAtMs);
    if (flags & EXP_NX && cur !== -1n) return CZERO;
    if (flags & EXP_XX && cur === -1n) return CZERO;
    if (flags & EXP_GT && (when <= cur || cur === -1n)) return CZERO;
    if (flags & EXP_LT && cur !== -1n && when >= cur) return CZERO;
  }
  if (when <= BigInt(c.nowMs)) del(c, key);
  else c.ops.push({ k: 'expire', key, expireAtMs: Number(when) });
  return CONE;
}

const expire: Handler = (c, a) => expireGeneric(c, a, c.nowMs, true);
const pexpire: Handler = (c, a) => expireGeneric(c, a, c.nowMs, false);
const expireat: Handler = (c, a) => expireGeneric(c, a, 0, true);
const pexpireat: Handler = (c, a) => expireGeneric(c, a, 0, false);

function ttlGeneric(c: Ctx, key: Buffer, ms: boolean): Reply {
  const e = live(c, key);
  if (!e) return int(-2);
  if (e.expireAtMs === 0) return int(-1);
  const ttl = Math.max(0, e.expireAtMs - c.nowMs);
  return int(ms ? ttl : Math.floor((ttl + 500) / 1000));
}

const ttl: Handler = (c, a) => ttlGeneric(c, a[1]!, false);
const pttl: Handler = (c, a) => ttlGeneric(c, a[1]!, true);

function expiretimeGeneric(c: Ctx, key: Buffer, ms: boolean): Reply {
  const e = live(c, key);
  if (!e) return int(-2);
  if (e.expireAtMs === 0) return int(-1);
  return int(ms ? e.expireAtMs : Math.floor((e.expireAtMs + 500) / 1000)); // rounded, as Redis does
}

const expiretime: Handler = (c, a) => expiretimeGeneric(c, a[1]!, false);
const pexpiretime: Handler = (c, a) => expiretimeGeneric(c, a[1]!, true);

const persist: Handler = (c, a) => {
  const e = live(c, a[1]!);
  if (!e || e.expireAtMs === 0) return CZERO;
  c.ops.push({ k: 'expire', key: a[1]!, expireAtMs: 0 });
  return CONE;
};

const dbsize: Handler = (c) => int(c.view.size());

/** FLUSHALL / FLUSHDB option (upper-case in source only to spell it; compared case-insensitively). */
const ASYNC_OPTION = 'ASYNC'.toLowerCase();

const flush: Handler = (c, a) => {
  if (a.length > 2 || (a.length === 2 && !is(a[1]!, 'sync') && !is(a[1]!, ASYNC_OPTION))) return err(E_SYNTAX);
  c.ops.push({ k: 'flush' });
  return OK;
};

const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['get', get],
  ['set', set],
  ['setnx', setnx],
  ['setex', setex],
  ['psetex', psetex],
  ['getset', getset],
  ['getdel', getdel],
  ['getex', getex],
  ['mget', mget],
  ['mset', mset],
  ['msetnx', msetnx],
  ['append', append],
  ['strlen', strlen],
  ['getrange', getrange],
  ['setrange', setrange],
  ['incr', incr],
  ['decr', decr],
  ['incrby', incrby],
  ['decrby', decrby],
  ['incrbyfloat', incrbyfloat],
  ['del', delCmd],
  ['unlink', delCmd],
  ['exists', exists],
  ['type', type],
  ['keys', keys],
  ['scan', scan],
  ['rename', rename],
  ['renamenx', renamenx],
  ['copy', copy],
  ['expire', expire],
  ['pexpire', pexpire],
  ['expireat', expireat],
  ['pexpireat', pexpireat],
  ['expiretime', expiretime],
  ['pexpiretime', pexpiretime],
  ['ttl', ttl],
  ['pttl', pttl],
  ['persist', persist],
  ['dbsize', dbsize],
  ['flushall', flush],
  ['flushdb', flush],
  ...GENERIC_HANDLERS,
  ...HASH_HANDLERS,
  ...SET_HANDLERS,
  ...LIST_HANDLERS,
  ...SORT_HANDLERS,
  ...ZSET_HANDLERS,
  ...COMBINE_HANDLERS,
  ...BLOCKING_HANDLERS,
  ...BITMAP_HANDLERS,
  ...scriptHandlers(run),
  ...HLL_HANDLERS,
  ...LCS_HANDLERS,
  ...DUMP_HANDLERS,
]);

/**
 * An argument as Redis prints it with "%.*s": up to its first NUL, at most `max` bytes. Valid
 * UTF-8 comes out as the same bytes; other bytes are shown as U+FFFD.
 */
function optionText(b: Buffer, max = Infinity): string {
  const nul = b.indexOf(0);
  let end = nul < 0 ? b.length : nul;
  if (end > max) end = max;
  return b.toString('utf8', 0, end);
}

function byteLen(b: Buffer): number {
  const nul = b.indexOf(0);
  return nul < 0 ? b.length : nul;
}

/** Redis's reply to an unknown command, quoting at most 128 bytes of name and of arguments. */
export function unknownCommandError(args: readonly Buffer[]): Reply {
  let list = '';
  let listBytes = 0;
  for (let i = 1; i < args.length && listBytes < 128; i++) {
    const a = args[i]!;
    const room = 128 - listBytes;
    list += `'${optionText(a, room)}' `;
    listBytes += Math.min(byteLen(a), room) + 3;
  }
  const name = args[0] ?? EMPTY;
  return err(`ERR unknown command '${optionText(name, 128)}', with args beginning with: ${list}`);
}

function run(args: readonly Buffer[], ctx: Ctx): Reply {
  const name = args[0];
  if (name === undefined) return err('ERR empty command');
  const cmd = lookupCommand(name);
  if (!cmd) return unknownCommandError(args);
  if (!arityOk(cmd, args.length)) return err(`ERR wrong number of arguments for '${cmd.name}' command`);
  return HANDLERS.get(cmd.name)!(ctx, args);
}

/**
 * Runs one command of a write of `priorBytes` so far; a command whose ops could not be one
 * update (checkWrite) gets that error instead and changes nothing.
 */
function runChecked(args: readonly Buffer[], view: KvView, nowMs: number, limits: WriteLimits, priorBytes: number, random: () => number, script?: ScriptSupport): ExecResult {
  const events: KeyEvent[] = [];
  const ctx: Ctx = { view, nowMs, maxValueBytes: limits.maxValueBytes, ops: [], random, fresh: new Set(), script, events };
  const reply = run(args, ctx);
  if (ctx.ops.length === 0) return { reply, ops: ctx.ops, keyEvents: [] };
  const refused = checkWrite(ctx.ops, limits, priorBytes);
  if (refused) return { reply: refused, ops: [], keyEvents: [] };
  // The state after the command, built only if an event rule asks (emptied collections).
  let after: Overlay | undefined;
  const liveAfter = (key: Buffer): boolean => {
    if (!after) {
      after = new Overlay(view);
      after.applyOps(ctx.ops);
    }
    return isLive(after.get(key), nowMs);
  };
  const own = keyEventsOf(args, ctx.ops, (key) => live(ctx, key) !== undefined, liveAfter);
  return { reply, ops: ctx.ops, keyEvents: events.length === 0 ? own : [...own, ...events] };
}

/** Executes one command against `view` at time `nowMs`. */
export function execute(args: readonly Buffer[], view: KvView, nowMs: number, options: ExecOptions = {}): ExecResult {
  const limits = limitsOf(options);
  return runChecked(args, view, nowMs, limits, 0, randomOf(options, nowMs), scriptSupportOf(options, limits));
}

/**
 * Executes commands as one atomic batch (MULTI/EXEC, or a server-side multi-key write): each
 * command sees the effects of those before it through an Overlay on `view`; `view` itself is not
 * changed. A failing command contributes its error reply and no ops; the others still run, as in
 * Redis's EXEC.
 */
export function executeBatch(cmds: readonly (readonly Buffer[])[], view: KvView, nowMs: number, options: ExecOptions = {}): BatchResult {
  // One command (every request outside MULTI/EXEC) has no later command to show its effects to.
  if (cmds.length === 1) {
    const r = execute(cmds[0]!, view, nowMs, options);
    return { replies: [r.reply], ops: r.ops, keyEvents: r.keyEvents };
  }
  const overlay = new Overlay(view);
  const replies: Reply[] = [];
  const ops: Op[] = [];
  const keyEvents: KeyEvent[] = [];
  const limits = limitsOf(options);
  const random = randomOf(options, nowMs);
  const script = scriptSupportOf(options, limits);
  let bytes = 0;
  for (const args of cmds) {
    const r = runChecked(args, overlay, nowMs, limits, bytes, random, script);
    replies.push(r.reply);
    if (r.ops.length > 0) {
      overlay.applyOps(r.ops);
      for (const e of r.keyEvents) keyEvents.push({ event: e.event, op: ops.length + e.op });
      for (const op of r.ops) ops.push(op);
      bytes += opsBytes(r.ops);
    }
  }
  return { replies, ops, keyEvents };
}
