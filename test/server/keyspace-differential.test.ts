// Keyspace notifications against redis-server 7.0: a subscriber of every
// __keyspace@0__ / __keyevent@0__ channel must receive, byte for byte, what
// Redis publishes for the same commands, under several notify-keyspace-events
// settings. Our side runs the real executor, whose events ride in the update
// and are published when it is applied (src/core/kv/key-events.ts). Expired
// events need time to pass (Redis publishes them when it expires the key, later):
// test/integration/pubsub-cluster.test.ts has them.
import { test } from 'node:test';
import { cmd as c } from './raw-client.ts';
import { serversUnderTest } from './differential-session.ts';

const servers = serversUnderTest();

const FAR = String(Date.now() + 3_600_000);

/** Subscriber on connection 0, `flags` set, the writes on connection 1 (each a step), then DEL of what they made. */
async function events(name: string, flags: string, writes: readonly string[], proto: 2 | 3 = 2): Promise<void> {
  await servers.same(name, 2, [
    [1, c('FLUSHALL') + c('CONFIG', 'SET', 'notify-keyspace-events', flags)],
    [0, (proto === 3 ? c('HELLO', '3') : '') + c('PSUBSCRIBE', '__key*__:*')],
    ...writes.map((w) => [1, w] as const),
    [1, c('CONFIG', 'SET', 'notify-keyspace-events', '')],
  ]);
}

test('string and generic commands publish Redis’s events (KEA)', async () => {
  await events('strings', 'KEA', [
    c('SET', 's', '1') + c('SET', 's', '2', 'EX', '100') + c('SET', 's', '3', 'KEEPTTL') + c('SET', 's', '4', 'NX') + c('SET', 's', '5', 'XX', 'GET') + c('SETNX', 'n', 'x') + c('SETNX', 'n', 'y'),
    c('SETEX', 'e', '100', 'v') + c('PSETEX', 'p', '100000', 'v') + c('GETSET', 's', '6') + c('MSET', 'm1', 'a', 'm2', 'b', 'm1', 'c') + c('MSETNX', 'm3', 'x', 'm1', 'y') + c('MSETNX', 'm4', 'x'),
    c('APPEND', 'a', 'xy') + c('SETRANGE', 'a', '5', 'zz') + c('SETRANGE', 'a', '0', '') + c('INCR', 'i') + c('DECR', 'i') + c('INCRBY', 'i', '5') + c('DECRBY', 'i', '2') + c('INCRBYFLOAT', 'f', '1.5') + c('INCR', 'a'),
    c('EXPIRE', 'i', '100') + c('PEXPIRE', 'i', '100000') + c('EXPIREAT', 'i', FAR.slice(0, -3)) + c('PEXPIREAT', 'i', FAR) + c('EXPIRE', 'nokey', '10') + c('PERSIST', 'i') + c('PERSIST', 'i') + c('EXPIRE', 'f', '-1'),
    c('GETEX', 'm1', 'EX', '100') + c('GETEX', 'm1', 'PERSIST') + c('GETEX', 'm2', 'PXAT', '1') + c('GETDEL', 'm3') + c('GETDEL', 'm3'),
    c('RENAME', 's', 'r') + c('RENAMENX', 'r', 'a') + c('RENAMENX', 'r', 'r2') + c('COPY', 'r2', 'cp') + c('COPY', 'r2', 'cp') + c('COPY', 'r2', 'cp', 'REPLACE'),
    c('DEL', 'r2', 'cp', 'missing', 'cp') + c('UNLINK', 'a', 'n') + c('SET', 'x', 'v'),
  ]);
});

test('collection commands publish Redis’s events, with del when they empty a key (KEA)', async () => {
  await events('lists', 'KEA', [
    c('LPUSH', 'l', 'a', 'b') + c('RPUSH', 'l', 'c') + c('LPUSHX', 'l', 'd') + c('RPUSHX', 'nol', 'x') + c('LINSERT', 'l', 'BEFORE', 'c', 'z') + c('LSET', 'l', '0', 'q') + c('LREM', 'l', '0', 'z'),
    c('LTRIM', 'l', '0', '1') + c('LPOP', 'l') + c('RPOP', 'l') + c('LPOP', 'l') + c('RPUSH', 'l', '1', '2', '3') + c('LMOVE', 'l', 'l2', 'LEFT', 'RIGHT') + c('RPOPLPUSH', 'l', 'l2') + c('LMOVE', 'l', 'l2', 'RIGHT', 'LEFT'),
    c('LMPOP', '2', 'none', 'l2', 'RIGHT', 'COUNT', '2') + c('LMPOP', '1', 'l2', 'LEFT', 'COUNT', '5') + c('RPUSH', 'l3', 'x') + c('LTRIM', 'l3', '1', '0') + c('RPUSH', 'l4', 'x') + c('LREM', 'l4', '0', 'x'),
  ]);
  await events('hashes and sets', 'KEA', [
    c('HSET', 'h', 'f', '1', 'g', '2') + c('HSETNX', 'h', 'f', '3') + c('HSETNX', 'h', 'n', '3') + c('HMSET', 'h', 'f', '4') + c('HINCRBY', 'h', 'f', '1') + c('HINCRBYFLOAT', 'h', 'g', '0.5') + c('HDEL', 'h', 'f', 'nope') + c('HDEL', 'h', 'g', 'n'),
    c('SADD', 's', 'a', 'b', 'c') + c('SADD', 's', 'a') + c('SREM', 's', 'a', 'z') + c('SMOVE', 's', 't', 'b') + c('SMOVE', 's', 't', 'c') + c('SADD', 'u', 'x') + c('SPOP', 'u'),
    c('SADD', 's1', 'a', 'b') + c('SADD', 's2', 'b') + c('SINTERSTORE', 'd', 's1', 's2') + c('SUNIONSTORE', 'd', 's1', 's2') + c('SDIFFSTORE', 'd', 's1', 's2') + c('SDIFFSTORE', 'd', 's2', 's1') + c('SDIFFSTORE', 'd', 's2', 's1'),
  ]);
  await events('sorted sets', 'KEA', [
    c('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd') + c('ZADD', 'z', 'INCR', '5', 'a') + c('ZADD', 'z', 'NX', '1', 'a') + c('ZINCRBY', 'z', '1', 'b') + c('ZREM', 'z', 'b', 'zz'),
    c('ZREMRANGEBYSCORE', 'z', '0', '3') + c('ZREMRANGEBYRANK', 'z', '0', '0') + c('ZADD', 'lex', '0', 'm', '0', 'n') + c('ZREMRANGEBYLEX', 'lex', '[m', '[m') + c('ZREMRANGEBYLEX', 'lex', '-', '+') + c('ZPOPMIN', 'z') + c('ZADD', 'z', '1', 'p', '2', 'q') + c('ZPOPMAX', 'z', '5'),
    c('ZADD', 'y', '1', 'a') + c('ZADD', 'w', '2', 'a', '3', 'b') + c('ZUNIONSTORE', 'o', '2', 'y', 'w') + c('ZINTERSTORE', 'o', '2', 'y', 'w') + c('ZDIFFSTORE', 'o', '2', 'w', 'y') + c('ZRANGESTORE', 'o2', 'w', '0', '0') + c('ZDIFFSTORE', 'o', '2', 'y', 'w') + c('ZMPOP', '1', 'w', 'MIN', 'COUNT', '9'),
    c('RPUSH', 'src', '3', '1', '2') + c('SORT', 'src', 'STORE', 'sorted') + c('SORT', 'nothing', 'STORE', 'sorted'),
  ]);
  await events('bitmaps and HyperLogLogs', 'KEA', [
    c('SETBIT', 'b', '7', '1') + c('SETBIT', 'b2', '0', '1') + c('BITOP', 'AND', 'd', 'b', 'b2') + c('BITOP', 'OR', 'd', 'b', 'b2') + c('BITOP', 'AND', 'd', 'none1', 'none2') + c('BITFIELD', 'bf', 'SET', 'u8', '0', '200') + c('BITFIELD', 'bf', 'GET', 'u8', '0'),
    c('PFADD', 'hll', 'a', 'b') + c('PFADD', 'hll', 'a') + c('PFADD', 'hll2', 'c') + c('PFMERGE', 'hll3', 'hll', 'hll2'),
  ]);
});

test('notify-keyspace-events selects classes and channels as in Redis; MULTI publishes per command; RESP3 pushes', async () => {
  const writes = [c('SET', 'k', '1') + c('LPUSH', 'l', 'x') + c('HSET', 'h', 'f', 'v') + c('SADD', 's', 'm') + c('ZADD', 'z', '1', 'm') + c('EXPIRE', 'k', '100') + c('DEL', 'k', 'l', 'h', 's', 'z')];
  for (const flags of ['K$', 'El', 'Kh', 'Esz', 'Kg', 'KEx', 'E', 'A', 'KA', 'Eg$lshz']) await events(`flags ${flags}`, flags, writes);
  await events('multi', 'KEA', [c('MULTI') + c('SET', 'a', '1') + c('INCR', 'a') + c('RPUSH', 'b', 'x') + c('RPOP', 'b') + c('EXEC')]);
  await events('resp3', 'KEA', writes, 3);
});
