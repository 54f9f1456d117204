// DUMP and RESTORE (Redis 7.0's cluster.c dumpCommand / restoreCommand) in Redis's own
// serialization (rdb-format.ts), so values move between redis-server and understudy both
// ways. RESTORE is an ordinary write: the value's elements become element ops with final
// values, within the write limits of one update (checkWrite names the limit otherwise).
// IDLETIME and FREQ are checked as Redis checks them and then have no effect: no access times
// or frequencies are replicated here.
import { decodeScore, encodeListPosition, encodeScore, LIST_POSITION_STEP } from '../collections.ts';
import { bulk, err, NIL, OK } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { CollectionType } from '../types.ts';
import { MAX_EXPIRE_AT_MS } from './arguments.ts';
import { allElements, del, E_NOT_INT, E_SYNTAX, is, live, put } from './context.ts';
import type { Ctx, Handler } from './context.ts';
import { parseI64 } from './numbers.ts';
import { RdbCorrupt, readDumpPayload, verifyDumpPayload, writeDumpPayload } from './rdb-format.ts';
import type { RdbValue } from './rdb-format.ts';

export const E_BUSYKEY = 'BUSYKEY Target key name already exists.';
export const E_BAD_PAYLOAD = 'ERR DUMP payload version or checksum are wrong';
export const E_BAD_DATA = 'ERR Bad data format';
export const E_RESTORE_STREAM = 'ERR the payload holds a stream, a type understudy does not store: RESTORE it on a Redis server';
const E_TOO_BIG = 'ERR string exceeds maximum allowed size (proto-max-bulk-len)';

/** The value at key as a payload carries it: a collection's elements read in pages, in its own order. */
function valueOf(c: Ctx, key: Buffer): RdbValue | undefined {
  const e = live(c, key);
  if (e === undefined) return undefined;
  switch (e.type) {
    case 'string':
      return { type: 'string', value: e.value };
    case 'list':
      return { type: 'list', items: allElements(c.view, key).map((el) => el.value) };
    case 'set':
      return { type: 'set', members: allElements(c.view, key).map((el) => el.elem) };
    case 'hash':
      return { type: 'hash', pairs: allElements(c.view, key).map((el) => [el.elem, el.value] as const) };
    case 'zset':
      // Highest score first, as Redis writes a skiplist (and reads it back cheapest).
      return { type: 'zset', entries: allElements(c.view, key, 'score').reverse().map((el) => [el.elem, decodeScore(el.value)] as const) };
  }
}

const dump: Handler = (c, a) => {
  const v = valueOf(c, a[1]!);
  return v === undefined ? NIL : bulk(writeDumpPayload(v));
};

/** Writes `v` at key as ops: a string as one put, a collection element by element (key already cleared). */
function writeValue(c: Ctx, key: Buffer, v: RdbValue, expireAtMs: number): void {
  const elem = (type: CollectionType, e: Buffer, value: Buffer): void => {
    c.ops.push({ k: 'elem', key, type, elem: e, value });
  };
  switch (v.type) {
    case 'string':
      put(c, key, v.value, expireAtMs);
      return;
    case 'list':
      v.items.forEach((it, i) => elem('list', encodeListPosition(i * LIST_POSITION_STEP), it));
      break;
    case 'set':
      for (const m of v.members) elem('set', m, Buffer.alloc(0));
      break;
    case 'hash':
      for (const [f, val] of v.pairs) elem('hash', f, val);
      break;
    case 'zset':
      for (const [m, s] of v.entries) elem('zset', m, encodeScore(s));
      break;
  }
  if (expireAtMs !== 0) c.ops.push({ k: 'expire', key, expireAtMs });
}

const restore: Handler = (c, a): Reply => {
  let replace = false;
  let absttl = false;
  let idle = false;
  let freq = false;
  for (let j = 4; j < a.length; j++) {
    const more = a.length - j - 1;
    const o = a[j]!;
    if (is(o, 'replace')) replace = true;
    else if (is(o, 'absttl')) absttl = true;
    else if (is(o, 'idletime') && more >= 1 && !freq) {
      const v = parseI64(a[++j]!);
      if (v === null) return err(E_NOT_INT);
      if (v < 0n) return err('ERR Invalid IDLETIME value, must be >= 0');
      idle = true;
    } else if (is(o, 'freq') && more >= 1 && !idle) {
      const v = parseI64(a[++j]!);
      if (v === null) return err(E_NOT_INT);
      if (v < 0n || v > 255n) return err('ERR Invalid FREQ value, must be >= 0 and <= 255');
      freq = true;
    } else return err(E_SYNTAX);
  }
  const key = a[1]!;
  if (!replace && live(c, key) !== undefined) return err(E_BUSYKEY);
  const ttl = parseI64(a[2]!);
  if (ttl === null) return err(E_NOT_INT);
  if (ttl < 0n) return err('ERR Invalid TTL value, must be >= 0');
  const payload = a[3]!;
  if (!verifyDumpPayload(payload)) return err(E_BAD_PAYLOAD);
  let value: RdbValue;
  try {
    value = readDumpPayload(payload);
  } catch (e) {
    if (!(e instanceof RdbCorrupt)) throw e;
    return err(e.unsupported === 'stream' ? E_RESTORE_STREAM : E_BAD_DATA);
  }
  if (value.type === 'string' && value.value.length > c.maxValueBytes) return err(E_TOO_BIG);
  const when = ttl === 0n ? 0n : absttl ? ttl : ttl + BigInt(c.nowMs);
  // Redis keeps expiry times up to 2^63 - 1 ms; an update holds them up to MAX_EXPIRE_AT_MS.
  if (when > BigInt(MAX_EXPIRE_AT_MS)) return err("ERR invalid expire time in 'restore' command");
  // Whatever is stored there goes (REPLACE, or an expired value that must not lend its elements).
  if (c.view.get(key) !== undefined) del(c, key);
  if (when !== 0n && when <= BigInt(c.nowMs)) return OK; // already expired: only the old value goes, as in Redis
  writeValue(c, key, value, Number(when));
  return OK;
};

export const DUMP_HANDLERS: ReadonlyArray<readonly [string, Handler]> = [
  ['dump', dump],
  ['restore', restore],
];
