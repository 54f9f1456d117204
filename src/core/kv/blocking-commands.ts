// The blocking pops (Redis 7.0's BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP)
// as the executor runs them: never blocking. This is what Redis does where a client may not
// block (inside MULTI/EXEC and scripts): pop if a key has data, else answer the nil a timeout
// gives. Blocking itself — waiting for a key to get data, the timeout, fairness — is the
// server's (src/server/blocking.ts), which runs these same commands for every attempt, so each
// pop it makes is an ordinary write of the primary. Arguments are checked in Redis's order.
import { arr, bulk, err } from '../reply.ts';
import type { Reply } from '../reply.ts';
import { decodeScore } from '../collections.ts';
import { E_SYNTAX, WRONG, WRONGTYPE } from './context.ts';
import type { Handler } from './context.ts';
import { longDoubleMillis, parseLongDouble } from './float-format.ts';
import { endOf, listOf, lmoveOf, lmpopOf, parseLmpop, popN } from './list-commands.ts';
import type { End } from './list-positions.ts';
import { LLONG_MAX } from './numbers.ts';
import { parseZmpop, popMembers, score, zmpopOf, zsetOf } from './zset-commands.ts';

/**
 * Redis 7.0's getTimeoutFromObjectOrReply in seconds: a long double (string2ld), times 1000 and
 * truncated to whole milliseconds as C does (so -0.0009 is 0: block forever; inf and products
 * past int64 are LLONG_MIN: negative). Returns the timeout in ms (0 = forever) or the error.
 */
export function parseBlockingTimeout(b: Buffer): bigint | Reply {
  const v = parseLongDouble(b);
  if (v === null) return err('ERR timeout is not a float or out of range');
  const ms = longDoubleMillis(v);
  return ms < 0n ? err('ERR timeout is negative') : ms;
}

/**
 * When a blocked client times out, or null for never: 7.0 adds the timeout to the time of the
 * command in a C long long, and a sum that overflows is a deadline never reached.
 */
export function blockingDeadlineMs(timeoutMs: bigint, arrivedMs: number): number | null {
  if (timeoutMs === 0n) return null;
  return timeoutMs + BigInt(arrivedMs) > LLONG_MAX ? null : arrivedMs + Number(timeoutMs);
}

const NIL_ARRAY: Reply = arr(null);

/** BLPOP / BRPOP key [key …] timeout: [key, element] from the first non-empty list. */
function bpop(end: End): Handler {
  return (c, a) => {
    const t = parseBlockingTimeout(a[a.length - 1]!);
    if (typeof t !== 'bigint') return t;
    for (const key of a.slice(1, -1)) {
      const h = listOf(c, key);
      if (h === undefined) continue;
      if (h === WRONG) return WRONGTYPE;
      return arr([bulk(key), bulk(popN(c, key, h, end, 1)[0]!.value)]);
    }
    return NIL_ARRAY;
  };
}

/** BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout: the ends first, then the timeout. */
const blmove: Handler = (c, a) => {
  const from = endOf(a[3]!);
  const to = endOf(a[4]!);
  if (from === undefined || to === undefined) return err(E_SYNTAX);
  const t = parseBlockingTimeout(a[5]!);
  if (typeof t !== 'bigint') return t;
  return lmoveOf(c, a[1]!, a[2]!, from, to);
};

const brpoplpush: Handler = (c, a) => {
  const t = parseBlockingTimeout(a[3]!);
  if (typeof t !== 'bigint') return t;
  return lmoveOf(c, a[1]!, a[2]!, 'right', 'left');
};

/** BLMPOP timeout numkeys key … LEFT|RIGHT [COUNT n]: numkeys, the end and COUNT are checked before the timeout. */
const blmpop: Handler = (c, a) => {
  const p = parseLmpop(a, 2);
  if (!('keys' in p)) return p;
  const t = parseBlockingTimeout(a[1]!);
  return typeof t === 'bigint' ? lmpopOf(c, p) : t;
};

/** BZPOPMIN / BZPOPMAX key [key …] timeout: [key, member, score] from the first non-empty zset. */
function bzpop(max: boolean): Handler {
  return (c, a) => {
    const t = parseBlockingTimeout(a[a.length - 1]!);
    if (typeof t !== 'bigint') return t;
    for (const key of a.slice(1, -1)) {
      const h = zsetOf(c, key);
      if (h === undefined) continue;
      if (h === WRONG) return WRONGTYPE;
      const el = popMembers(c, key, h, max, 1)[0]!;
      return arr([bulk(key), bulk(el.elem), score(decodeScore(el.value))]);
    }
    return NIL_ARRAY;
  };
}

const bzmpop: Handler = (c, a) => {
  const p = parseZmpop(a, 2);
  if (!('keys' in p)) return p;
  const t = parseBlockingTimeout(a[1]!);
  return typeof t === 'bigint' ? zmpopOf(c, p) : t;
};

export const BLOCKING_HANDLERS: ReadonlyArray<readonly [string, Handler]> = [
  ['blpop', bpop('left')],
  ['brpop', bpop('right')],
  ['blmove', blmove],
  ['brpoplpush', brpoplpush],
  ['blmpop', blmpop],
  ['bzpopmin', bzpop(false)],
  ['bzpopmax', bzpop(true)],
  ['bzmpop', bzmpop],
];

/**
 * What a blocked client hears when its time runs out (or CLIENT UNBLOCK … TIMEOUT): the nil
 * array for every blocking command, BLMOVE included (replyToBlockedClientTimedOut), although
 * BLMOVE inside MULTI answers a nil bulk string.
 */
export const BLOCKING_TIMEOUT_REPLY: Reply = NIL_ARRAY;
