// Keyspace notifications as this node publishes them: when an update is applied
// here, each event it carries (src/core/kv/key-events.ts) goes to this node's
// own subscribers of __keyspace@0__:<key> and __keyevent@0__:<event>, as its
// notify-keyspace-events setting selects. Every node applies every update and
// publishes for itself, so these are never relayed to other nodes.
import type { Update } from '../core/types.ts';
import {
  NOTIFY_EXPIRED,
  NOTIFY_GENERIC,
  NOTIFY_HASH,
  NOTIFY_KEYEVENT,
  NOTIFY_KEYSPACE,
  NOTIFY_LIST,
  NOTIFY_SET,
  NOTIFY_STRING,
  NOTIFY_ZSET,
} from './keyspace-flags.ts';
import type { PubSubRegistry } from './pubsub.ts';

/** The class letter each event belongs to, as Redis's notifyKeyspaceEvent calls give it. */
const CLASS_OF: ReadonlyMap<string, number> = new Map([
  ...['del', 'expire', 'rename_from', 'rename_to', 'copy_to', 'persist'].map((e) => [e, NOTIFY_GENERIC] as const),
  ...['set', 'incrby', 'incrbyfloat', 'append', 'setrange', 'setbit', 'pfadd'].map((e) => [e, NOTIFY_STRING] as const),
  ...['lpush', 'rpush', 'lpop', 'rpop', 'linsert', 'lset', 'lrem', 'ltrim', 'sortstore'].map((e) => [e, NOTIFY_LIST] as const),
  ...['sadd', 'srem', 'spop', 'sinterstore', 'sunionstore', 'sdiffstore'].map((e) => [e, NOTIFY_SET] as const),
  ...['hset', 'hdel', 'hincrby', 'hincrbyfloat'].map((e) => [e, NOTIFY_HASH] as const),
  ...['zadd', 'zincr', 'zrem', 'zremrangebyscore', 'zremrangebyrank', 'zremrangebylex', 'zpopmin', 'zpopmax', 'zunionstore', 'zinterstore', 'zdiffstore', 'zrangestore'].map(
    (e) => [e, NOTIFY_ZSET] as const,
  ),
  ['expired', NOTIFY_EXPIRED],
]);

const KEYSPACE_PREFIX = Buffer.from('__keyspace@0__:');
const KEYEVENT_PREFIX = Buffer.from('__keyevent@0__:');

/** Publishes the keyspace notifications of an applied update to this node's subscribers. */
export function publishKeyEvents(registry: PubSubRegistry, flags: number, u: Update): void {
  if (!u.keyEvents || !(flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)) || !registry.active) return;
  for (const e of u.keyEvents) {
    const cls = CLASS_OF.get(e.event);
    const op = u.ops[e.op];
    if (cls === undefined || !(flags & cls) || op === undefined || op.k === 'flush') continue;
    const event = Buffer.from(e.event);
    if (flags & NOTIFY_KEYSPACE) registry.deliver(false, Buffer.concat([KEYSPACE_PREFIX, op.key]), event);
    if (flags & NOTIFY_KEYEVENT) registry.deliver(false, Buffer.concat([KEYEVENT_PREFIX, event]), op.key);
  }
}
