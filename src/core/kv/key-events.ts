// Keyspace-notification event names, decided where the command runs: the
// primary's executor knows that an INCR was an "incrby" and an LPOP that emptied
// its list a "lpop" then a "del", but the update it replicates holds only final
// values (a put, an element op). So each command's events ride in its update
// (Update.keyEvents, an event code and the index of an op naming the key), and
// every node that applies the update publishes them with its own
// notify-keyspace-events setting. Names and order follow Redis 7.0's
// notifyKeyspaceEvent calls; commands not listed here publish nothing.
import type { KeyEvent, Op } from '../types.ts';
import { is } from './context.ts';

/** Every event name an update may carry, by wire code (append only: a code is never reused). */
export const KEY_EVENT_NAMES = [
  'set', 'expire', 'del', 'expired', 'incrby', 'incrbyfloat', 'append', 'setrange', 'persist',
  'rename_from', 'rename_to', 'copy_to', 'sortstore',
  'lpush', 'rpush', 'lpop', 'rpop', 'linsert', 'lset', 'lrem', 'ltrim',
  'hset', 'hdel', 'hincrby', 'hincrbyfloat',
  'sadd', 'srem', 'spop', 'sinterstore', 'sunionstore', 'sdiffstore',
  'zadd', 'zincr', 'zrem', 'zremrangebyscore', 'zremrangebyrank', 'zremrangebylex', 'zpopmin', 'zpopmax',
  'zunionstore', 'zinterstore', 'zdiffstore', 'zrangestore',
  'setbit', 'pfadd',
] as const;

export type KeyEventName = (typeof KEY_EVENT_NAMES)[number];

export const KEY_EVENT_CODE: ReadonlyMap<string, number> = new Map(KEY_EVENT_NAMES.map((n, i) => [n, i]));

/** What an event rule sees of one command that wrote. */
interface Run {
  readonly a: readonly Buffer[];
  readonly ops: readonly Op[];
  /** Whether the key holds a live value before the command (the view it ran on). */
  readonly before: (key: Buffer) => boolean;
  /** Whether the key holds a live value after the command's ops. */
  readonly after: (key: Buffer) => boolean;
}

type Ev = readonly [KeyEventName, Buffer];
type Rule = (r: Run) => Ev[];

const opsOn = (r: Run, key: Buffer): Op[] => r.ops.filter((o) => o.k !== 'flush' && o.key.equals(key));

/** One event on key argument `i` if the command wrote it, then "del" if that emptied it. */
function on(ev: KeyEventName, i = 1, emptying = false): Rule {
  return (r) => {
    const key = r.a[i]!;
    if (opsOn(r, key).length === 0) return [];
    return emptying && !r.after(key) ? [[ev, key], ['del', key]] : [[ev, key]];
  };
}

/** The event on every key the ops write (MSET, DEL…), once per key, in op order. */
function each(ev: KeyEventName, kinds: ReadonlyArray<Op['k']>): Rule {
  return (r) => {
    const out: Ev[] = [];
    const seen = new Set<string>();
    for (const o of r.ops) {
      if (o.k === 'flush' || !kinds.includes(o.k)) continue;
      const id = o.key.toString('latin1');
      if (seen.has(id)) continue;
      seen.add(id);
      out.push([ev, o.key]);
    }
    return out;
  };
}

/** MSET: the event once per key/value pair, a key given twice twice, as Redis announces them. */
function pairs(ev: KeyEventName): Rule {
  return (r) => {
    if (r.ops.length === 0) return [];
    const out: Ev[] = [];
    for (let i = 1; i < r.a.length; i += 2) out.push([ev, r.a[i]!]);
    return out;
  };
}

/** SET family: "set", then "expire" when an expiry was given (then "expired" if it is already past). */
function setRule(expiryGiven: (a: readonly Buffer[]) => boolean): Rule {
  return (r) => {
    const key = r.a[1]!;
    const mine = opsOn(r, key);
    if (mine.some((o) => o.k === 'put')) return expiryGiven(r.a) ? [['set', key], ['expire', key]] : [['set', key]];
    // A time already past: Redis stores the key, then expires it at its next look ("expired").
    return mine.some((o) => o.k === 'del') ? [['set', key], ['expire', key], ['expired', key]] : [];
  };
}

const hasExpiryOption = (a: readonly Buffer[]): boolean => a.slice(3).some((x) => is(x, 'ex') || is(x, 'px') || is(x, 'exat') || is(x, 'pxat'));

/** EXPIRE family and GETEX: "expire", "persist" for expiry 0, "del" when the time is past. */
const expireRule: Rule = (r) => {
  const key = r.a[1]!;
  const mine = opsOn(r, key);
  if (mine.some((o) => o.k === 'del')) return [['del', key]];
  const e = mine.find((o) => o.k === 'expire');
  if (!e || e.k !== 'expire') return [];
  return [[e.expireAtMs === 0 ? 'persist' : 'expire', key]];
};

/** *STORE commands: their event on the destination, or "del" when an empty result removed it. */
function storeRule(ev: KeyEventName, dst = 1): Rule {
  return (r) => {
    const key = r.a[dst]!;
    const mine = opsOn(r, key);
    if (mine.some((o) => o.k !== 'del')) return [[ev, key]];
    return mine.length > 0 && r.before(key) ? [['del', key]] : [];
  };
}

/** Pops from whichever key the ops name (LMPOP, ZMPOP and their blocking forms; BLPOP…). */
function popRule(ev: (a: readonly Buffer[]) => KeyEventName, firstKey: number, lastKey: (a: readonly Buffer[]) => number): Rule {
  return (r) => {
    for (let i = firstKey; i <= lastKey(r.a); i++) {
      const key = r.a[i]!;
      if (opsOn(r, key).length > 0) return r.after(key) ? [[ev(r.a), key]] : [[ev(r.a), key], ['del', key]];
    }
    return [];
  };
}

/** LMOVE and friends: the push side on the destination, then the pop side on the source. */
function moveRule(from: (a: readonly Buffer[]) => KeyEventName, to: (a: readonly Buffer[]) => KeyEventName): Rule {
  return (r) => {
    const src = r.a[1]!;
    const dst = r.a[2]!;
    if (r.ops.length === 0) return [];
    // Redis pushes first (lmoveHandlePush), then announces the pop.
    const out: Ev[] = [[to(r.a), dst], [from(r.a), src]];
    if (!r.after(src)) out.push(['del', src]);
    return out;
  };
}

const side = (b: Buffer | undefined, left: 'lpop' | 'lpush', right: 'rpop' | 'rpush'): KeyEventName => (b && is(b, 'left') ? left : right);
const numkeysEnd = (first: number) => (a: readonly Buffer[]): number => Math.min(a.length - 1, first + Number(a[first - 1]!.toString()) - 1);
const argAfterKeys = (a: readonly Buffer[], first: number): Buffer | undefined => a[numkeysEnd(first)(a) + 1];

const RULES: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  ['set', setRule(hasExpiryOption)],
  ['setnx', setRule(() => false)],
  ['setex', setRule(() => true)],
  ['psetex', setRule(() => true)],
  ['getset', on('set')],
  ['mset', pairs('set')],
  ['msetnx', pairs('set')],
  ['append', on('append')],
  ['setrange', on('setrange')],
  ['incr', on('incrby')],
  ['decr', on('incrby')],
  ['incrby', on('incrby')],
  ['decrby', on('incrby')],
  ['incrbyfloat', on('incrbyfloat')],
  ['getdel', on('del')],
  ['getex', expireRule],
  ['del', each('del', ['del'])],
  ['unlink', each('del', ['del'])],
  ['expire', expireRule],
  ['pexpire', expireRule],
  ['expireat', expireRule],
  ['pexpireat', expireRule],
  ['persist', on('persist')],
  ['rename', (r) => (r.ops.length === 0 ? [] : [['rename_from', r.a[1]!], ['rename_to', r.a[2]!]])],
  ['renamenx', (r) => (r.ops.length === 0 ? [] : [['rename_from', r.a[1]!], ['rename_to', r.a[2]!]])],
  ['copy', on('copy_to', 2)],
  ['sort', (r) => {
    const i = r.a.findIndex((x, j) => j > 1 && is(x, 'store'));
    return i < 0 ? [] : storeRule('sortstore', i + 1)(r);
  }],
  ['lpush', on('lpush')],
  ['lpushx', on('lpush')],
  ['rpush', on('rpush')],
  ['rpushx', on('rpush')],
  ['lpop', on('lpop', 1, true)],
  ['rpop', on('rpop', 1, true)],
  ['linsert', on('linsert')],
  ['lset', on('lset')],
  ['lrem', on('lrem', 1, true)],
  ['ltrim', on('ltrim', 1, true)],
  ['lmove', moveRule((a) => side(a[3], 'lpop', 'rpop'), (a) => side(a[4], 'lpush', 'rpush'))],
  ['blmove', moveRule((a) => side(a[3], 'lpop', 'rpop'), (a) => side(a[4], 'lpush', 'rpush'))],
  ['rpoplpush', moveRule(() => 'rpop', () => 'lpush')],
  ['brpoplpush', moveRule(() => 'rpop', () => 'lpush')],
  ['lmpop', popRule((a) => side(argAfterKeys(a, 2), 'lpop', 'rpop'), 2, numkeysEnd(2))],
  ['blmpop', popRule((a) => side(argAfterKeys(a, 3), 'lpop', 'rpop'), 3, numkeysEnd(3))],
  ['blpop', popRule(() => 'lpop', 1, (a) => a.length - 2)],
  ['brpop', popRule(() => 'rpop', 1, (a) => a.length - 2)],
  ['hset', on('hset')],
  ['hmset', on('hset')],
  ['hsetnx', on('hset')],
  ['hdel', on('hdel', 1, true)],
  ['hincrby', on('hincrby')],
  ['hincrbyfloat', on('hincrbyfloat')],
  ['sadd', on('sadd')],
  ['srem', on('srem', 1, true)],
  ['spop', on('spop', 1, true)],
  ['smove', (r) => {
    if (r.ops.length === 0) return [];
    const out: Ev[] = [['srem', r.a[1]!]];
    if (!r.after(r.a[1]!)) out.push(['del', r.a[1]!]);
    if (!r.a[1]!.equals(r.a[2]!)) out.push(['sadd', r.a[2]!]);
    return out;
  }],
  ['sinterstore', storeRule('sinterstore')],
  ['sunionstore', storeRule('sunionstore')],
  ['sdiffstore', storeRule('sdiffstore')],
  ['zadd', (r) => on(r.a.slice(2).some((x) => is(x, 'incr')) ? 'zincr' : 'zadd')(r)],
  ['zincrby', on('zincr')],
  ['zrem', on('zrem', 1, true)],
  ['zremrangebyscore', on('zremrangebyscore', 1, true)],
  ['zremrangebyrank', on('zremrangebyrank', 1, true)],
  ['zremrangebylex', on('zremrangebylex', 1, true)],
  ['zpopmin', on('zpopmin', 1, true)],
  ['zpopmax', on('zpopmax', 1, true)],
  ['bzpopmin', popRule(() => 'zpopmin', 1, (a) => a.length - 2)],
  ['bzpopmax', popRule(() => 'zpopmax', 1, (a) => a.length - 2)],
  ['zmpop', popRule((a) => (is(argAfterKeys(a, 2) ?? Buffer.alloc(0), 'min') ? 'zpopmin' : 'zpopmax'), 2, numkeysEnd(2))],
  ['bzmpop', popRule((a) => (is(argAfterKeys(a, 3) ?? Buffer.alloc(0), 'min') ? 'zpopmin' : 'zpopmax'), 3, numkeysEnd(3))],
  ['zunionstore', storeRule('zunionstore')],
  ['zinterstore', storeRule('zinterstore')],
  ['zdiffstore', storeRule('zdiffstore')],
  ['zrangestore', storeRule('zrangestore')],
  ['setbit', on('setbit')],
  ['bitfield', on('setbit')],
  ['bitop', storeRule('set', 2)],
  ['pfadd', on('pfadd')],
  ['pfmerge', on('pfadd')],
]);

/**
 * The events of one command that emitted `ops` (non-empty), each naming the index of an op on
 * its key. `before`/`after` answer whether a key is live before and after the command.
 */
export function keyEventsOf(a: readonly Buffer[], ops: readonly Op[], before: (key: Buffer) => boolean, after: (key: Buffer) => boolean): KeyEvent[] {
  const rule = RULES.get(a[0]!.toString('latin1').toLowerCase());
  if (!rule) return [];
  const out: KeyEvent[] = [];
  for (const [event, key] of rule({ a, ops, before, after })) {
    const op = ops.findIndex((o) => o.k !== 'flush' && o.key.equals(key));
    if (op >= 0) out.push({ event, op });
  }
  return out;
}

/** Active expiry's deletes: one "expired" event per op. */
export function expiredEvents(ops: readonly Op[]): KeyEvent[] {
  return ops.map((_, op) => ({ event: 'expired', op }));
}
