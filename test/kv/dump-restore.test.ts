// DUMP and RESTORE against redis-server 7.0, both ways: a value DUMPed by redis-server (in its
// compact encodings: listpack, intset, quicklists of listpacks, LZF-compressed strings and
// quicklist nodes) RESTOREs here to the same contents, and a value DUMPed here RESTOREs into
// redis-server to the same contents; payloads in the older forms Redis 7.0 still reads
// (ziplist, zipmap, quicklist of ziplists, text-score zsets), built by hand, RESTORE alike on
// both; every error (options, BUSYKEY, TTL, checksum, version, damaged data) is Redis's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execute } from '../../src/core/kv/executor.ts';
import { crc64 } from '../../src/lib/crc64.ts';
import { encodeReply } from '../../src/resp/writer.ts';
import { MapView } from './map-view.ts';
import { useRedisServer } from './redis-server.ts';

const redisClient = useRedisServer();

type Arg = string | Buffer;

class Ours {
  readonly view = new MapView();
  run(args: readonly Arg[]): Buffer {
    const r = execute(
      args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a)),
      this.view,
      Date.now(),
    );
    this.view.apply(r.ops);
    return encodeReply(r.reply, 2);
  }
}

const redis = (args: readonly Arg[]): Promise<Buffer> => redisClient().command(args);

/** The bulk body of a DUMP reply. */
function bulkBody(reply: Buffer): Buffer {
  const s = reply.toString('latin1');
  assert.ok(s.startsWith('$') && !s.startsWith('$-1'), `not a bulk reply: ${JSON.stringify(s.slice(0, 80))}`);
  const eol = reply.indexOf('\r\n');
  const n = Number(s.slice(1, eol));
  return reply.subarray(eol + 2, eol + 2 + n);
}

/** Reads that show a key's whole contents in an order both servers share. */
function reads(key: string, type: string): Arg[][] {
  switch (type) {
    case 'string':
      return [['get', key], ['strlen', key]];
    case 'list':
      return [['lrange', key, '0', '-1'], ['llen', key]];
    case 'set':
      return [['sort', key, 'alpha'], ['scard', key]];
    case 'hash':
      return [['sort', key, 'by', 'nosort'], ['hlen', key]];
    default:
      return [['zrange', key, '0', '-1', 'withscores'], ['zcard', key]];
  }
}

/** Sorted fields and values of a hash, as `field=value` lines. */
async function hashLines(run: (args: readonly Arg[]) => Promise<Buffer> | Buffer, key: string): Promise<string[]> {
  const raw = (await run(['hgetall', key])).toString('latin1').split('\r\n');
  const items: string[] = [];
  for (let i = 1; i < raw.length - 1; i += 2) items.push(raw[i + 1]!);
  const pairs: string[] = [];
  for (let i = 0; i < items.length; i += 2) pairs.push(`${items[i]}=${items[i + 1]}`);
  return pairs.sort();
}

async function sameContents(ours: Ours, key: string, type: string, what: string): Promise<void> {
  assert.equal(ours.run(['type', key]).toString(), `+${type}\r\n`, `${what}: TYPE`);
  if (type === 'hash') {
    assert.deepEqual(await hashLines((a) => ours.run(a), key), await hashLines(redis, key), `${what}: HGETALL`);
    return;
  }
  for (const args of reads(key, type)) {
    if (type === 'hash' && args[0] === 'sort') continue;
    assert.equal(ours.run(args).toString('latin1'), (await redis(args)).toString('latin1'), `${what}: ${args.join(' ')}`);
  }
}

const range = (n: number, f: (i: number) => string[]): string[] => Array.from({ length: n }, (_, i) => f(i)).flat();

/** Values in every encoding redis-server 7.0 gives them, each built by the same commands on both servers. */
const VALUES: Array<{ key: string; type: string; build: Arg[][] }> = [
  { key: 'int8', type: 'string', build: [['set', 'int8', '-12']] },
  { key: 'int16', type: 'string', build: [['set', 'int16', '30000']] },
  { key: 'int32', type: 'string', build: [['set', 'int32', '-2147483648']] },
  { key: 'int64', type: 'string', build: [['set', 'int64', '9223372036854775807']] },
  { key: 'notint', type: 'string', build: [['set', 'notint', '007']] },
  { key: 'short', type: 'string', build: [['set', 'short', 'hello world']] },
  { key: 'empty', type: 'string', build: [['set', 'empty', '']] },
  { key: 'lzf', type: 'string', build: [['set', 'lzf', 'abcabcabcabcabcabcabcabcabcabcabcabcabcabc'.repeat(20)]] },
  { key: 'random', type: 'string', build: [['set', 'random', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 73 + 11) % 256))]] },
  { key: 'lp-hash', type: 'hash', build: [['hset', 'lp-hash', ...range(10, (i) => [`f${i}`, i % 2 ? `v${i}` : String(i * 1000)])]] },
  { key: 'ht-hash', type: 'hash', build: [['hset', 'ht-hash', ...range(600, (i) => [`field:${i}`, `value-${i}`])]] },
  { key: 'long-hash', type: 'hash', build: [['hset', 'long-hash', 'f', 'x'.repeat(100)]] },
  { key: 'intset', type: 'set', build: [['sadd', 'intset', '5', '-3', '70000', '-9000000000', '1']] },
  { key: 'ht-set', type: 'set', build: [['sadd', 'ht-set', 'a', 'b', '3', 'c']] },
  { key: 'big-intset', type: 'set', build: [['sadd', 'big-intset', ...range(600, (i) => [String(i * 7)])]] },
  { key: 'lp-zset', type: 'zset', build: [['zadd', 'lp-zset', '1', 'a', '-2.5', 'b', '3', '77', 'inf', 'c', '-inf', 'd', '0.1', 'e']] },
  { key: 'sl-zset', type: 'zset', build: [['zadd', 'sl-zset', ...range(200, (i) => [String((i * 37) % 101) + '.25', `m${i}`])]] },
  { key: 'small-list', type: 'list', build: [['rpush', 'small-list', 'a', '1', '-200', 'b', '']] },
  { key: 'big-list', type: 'list', build: [['rpush', 'big-list', ...range(3000, (i) => [i % 3 ? `element-${i}` : String(i)])]] },
  { key: 'plain-list', type: 'list', build: [['rpush', 'plain-list', 'x'.repeat(20000), 'small', 'y'.repeat(9000)]] },
];

test('a value DUMPed by redis-server RESTOREs here to the same contents (every encoding Redis 7.0 writes)', async () => {
  await redis(['flushall']);
  await redis(['config', 'set', 'list-compress-depth', '1']); // compressed quicklist nodes (LZF blobs) in the big list
  try {
    const ours = new Ours();
    for (const v of VALUES) {
      for (const b of v.build) await redis(b);
      const payload = bulkBody(await redis(['dump', v.key]));
      assert.equal(ours.run(['restore', v.key, '0', payload]).toString(), '+OK\r\n', `RESTORE ${v.key}`);
      await sameContents(ours, v.key, v.type, `redis → ours ${v.key}`);
    }
  } finally {
    await redis(['config', 'set', 'list-compress-depth', '0']);
  }
});

test('a value DUMPed here RESTOREs into redis-server to the same contents, and the encoding Redis picks for it is the one it gives the same value', async () => {
  await redis(['flushall']);
  const ours = new Ours();
  for (const v of VALUES) {
    for (const b of v.build) ours.run(b);
    const payload = bulkBody(ours.run(['dump', v.key]));
    assert.equal((await redis(['restore', v.key, '0', payload])).toString(), '+OK\r\n', `redis RESTORE ${v.key}`);
    await sameContents(ours, v.key, v.type, `ours → redis ${v.key}`);
    assert.equal((await redis(['object', 'encoding', v.key])).toString(), ours.run(['object', 'encoding', v.key]).toString(), `OBJECT ENCODING ${v.key}`);
  }
});

test('DUMP of integers and short strings is byte for byte redis-server\'s', async () => {
  await redis(['flushall']);
  const ours = new Ours();
  for (const s of ['0', '-1', '127', '128', '-129', '32767', '32768', '-2147483649', '2147483647', '12345678901', '-0', '01', '+1', ' 1', 'abc', '', 'twenty-bytes-exactly']) {
    await redis(['set', 'k', s]);
    ours.run(['set', 'k', s]);
    assert.equal(ours.run(['dump', 'k']).toString('latin1'), (await redis(['dump', 'k'])).toString('latin1'), `DUMP of ${JSON.stringify(s)}`);
  }
  assert.equal(ours.run(['dump', 'nokey']).toString(), (await redis(['dump', 'nokey'])).toString());
});

// ---- payloads in the forms only older Redis versions wrote --------------------------------

function withFooter(body: Buffer, version = 10): Buffer {
  const b = Buffer.concat([body, Buffer.from([version & 0xff, version >> 8])]);
  return Buffer.concat([b, crc64(b)]);
}

function rdbLen(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0x80;
  b.writeUInt32BE(n, 1);
  return b;
}

const rdbString = (s: Buffer | string): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([rdbLen(b.length), b]);
};

/** A ziplist of `entries` (strings, or integers written in the integer encodings). */
function ziplist(entries: Array<string | number>): Buffer {
  const parts: Buffer[] = [];
  let prev = 0;
  for (const e of entries) {
    let enc: Buffer;
    if (typeof e === 'number') {
      if (e >= 0 && e <= 12) enc = Buffer.from([0xf1 + e]);
      else if (e >= -128 && e <= 127) enc = Buffer.from([0xfe, e & 0xff]);
      else if (e >= -32768 && e <= 32767) {
        enc = Buffer.alloc(3);
        enc[0] = 0xc0;
        enc.writeInt16LE(e, 1);
      } else if (e >= -(2 ** 23) && e < 2 ** 23) {
        enc = Buffer.alloc(4);
        enc[0] = 0xf0;
        enc.writeIntLE(e, 1, 3);
      } else if (e >= -(2 ** 31) && e < 2 ** 31) {
        enc = Buffer.alloc(5);
        enc[0] = 0xd0;
        enc.writeInt32LE(e, 1);
      } else {
        enc = Buffer.alloc(9);
        enc[0] = 0xe0;
        enc.writeBigInt64LE(BigInt(e), 1);
      }
    } else {
      const s = Buffer.from(e);
      if (s.length < 64) enc = Buffer.concat([Buffer.from([s.length]), s]);
      else if (s.length < 16384) enc = Buffer.concat([Buffer.from([0x40 | (s.length >> 8), s.length & 0xff]), s]);
      else {
        const h = Buffer.alloc(5);
        h[0] = 0x80;
        h.writeUInt32BE(s.length, 1);
        enc = Buffer.concat([h, s]);
      }
    }
    const prevLen = prev < 254 ? Buffer.from([prev]) : Buffer.concat([Buffer.from([0xfe]), (() => { const b = Buffer.alloc(4); b.writeUInt32LE(prev); return b; })()]);
    const entry = Buffer.concat([prevLen, enc]);
    parts.push(entry);
    prev = entry.length;
  }
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(10);
  header.writeUInt32LE(10 + body.length + 1, 0);
  header.writeUInt32LE(10 + body.length - prev, 4);
  header.writeUInt16LE(entries.length, 8);
  return Buffer.concat([header, body, Buffer.from([0xff])]);
}

function zipmap(pairs: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [Buffer.from([pairs.length])];
  for (const [f, v] of pairs) parts.push(Buffer.from([f.length]), Buffer.from(f), Buffer.from([v.length, 2]), Buffer.from(v), Buffer.from([0, 0]));
  parts.push(Buffer.from([0xff]));
  return Buffer.concat(parts);
}

const OLD_FORMS: Array<{ name: string; key: string; type: string; payload: Buffer }> = [
  { name: 'list as a ziplist (RDB_TYPE_LIST_ZIPLIST)', key: 'zl-list', type: 'list', payload: withFooter(Buffer.concat([Buffer.from([10]), rdbString(ziplist(['a', 5, -7, 300, -40000, 5_000_000, 3_000_000_000, 'x'.repeat(100), '']))])) },
  { name: 'quicklist of ziplists (RDB_TYPE_LIST_QUICKLIST)', key: 'ql-list', type: 'list', payload: withFooter(Buffer.concat([Buffer.from([14]), rdbLen(2), rdbString(ziplist(['one', 2, 'three'])), rdbString(ziplist([4, 'five']))])) },
  { name: 'plain list (RDB_TYPE_LIST)', key: 'plain-list', type: 'list', payload: withFooter(Buffer.concat([Buffer.from([1]), rdbLen(3), rdbString('a'), Buffer.from([0xc0, 7]), rdbString('c')])) },
  { name: 'hash as a ziplist (RDB_TYPE_HASH_ZIPLIST)', key: 'zl-hash', type: 'hash', payload: withFooter(Buffer.concat([Buffer.from([13]), rdbString(ziplist(['f1', 'v1', 'f2', 12, 'n', -5]))])) },
  { name: 'hash as a zipmap (RDB_TYPE_HASH_ZIPMAP)', key: 'zm-hash', type: 'hash', payload: withFooter(Buffer.concat([Buffer.from([9]), rdbString(zipmap([['name', 'redis'], ['ver', '2']]))])) },
  { name: 'zset as a ziplist (RDB_TYPE_ZSET_ZIPLIST)', key: 'zl-zset', type: 'zset', payload: withFooter(Buffer.concat([Buffer.from([12]), rdbString(ziplist(['c', -3, 'a', 1, 'b', '2.5', 'd', 'inf']))])) },
  { name: 'zset with text scores (RDB_TYPE_ZSET)', key: 'txt-zset', type: 'zset', payload: withFooter(Buffer.concat([Buffer.from([3]), rdbLen(4), rdbString('a'), Buffer.from([3]), Buffer.from('1.5'), rdbString('b'), Buffer.from([254]), rdbString('c'), Buffer.from([255]), rdbString('d'), Buffer.from([2]), Buffer.from('-7')])) },
  { name: 'payload of RDB version 9', key: 'v9', type: 'string', payload: withFooter(Buffer.concat([Buffer.from([0]), rdbString('old')]), 9) },
];

test('payloads in the ziplist-era forms Redis 7.0 still reads RESTORE here as on redis-server', async () => {
  await redis(['flushall']);
  const ours = new Ours();
  for (const f of OLD_FORMS) {
    const theirs = (await redis(['restore', f.key, '0', f.payload])).toString();
    assert.equal(theirs, '+OK\r\n', `redis-server RESTOREs ${f.name}`);
    assert.equal(ours.run(['restore', f.key, '0', f.payload]).toString(), theirs, f.name);
    await sameContents(ours, f.key, f.type, f.name);
  }
});

test('RESTORE options, TTLs and errors match redis-server', async () => {
  await redis(['flushall']);
  const ours = new Ours();
  await redis(['set', 'src', 'value']);
  ours.run(['set', 'src', 'value']);
  const good = bulkBody(await redis(['dump', 'src']));
  const badCrc = Buffer.from(good);
  badCrc[badCrc.length - 1] = badCrc[badCrc.length - 1]! ^ 1;
  const newer = withFooter(Buffer.concat([Buffer.from([0]), rdbString('x')]), 11);
  const damaged = withFooter(Buffer.from([0, 0x45]));
  const unknownType = withFooter(Buffer.concat([Buffer.from([8]), rdbString('x')]));
  const emptySet = withFooter(Buffer.concat([Buffer.from([2]), rdbLen(0)]));
  const dupSet = withFooter(Buffer.concat([Buffer.from([2]), rdbLen(2), rdbString('a'), rdbString('a')]));
  const dupHash = withFooter(Buffer.concat([Buffer.from([4]), rdbLen(2), rdbString('f'), rdbString('1'), rdbString('f'), rdbString('2')]));
  const nanZset = withFooter(Buffer.concat([Buffer.from([3]), rdbLen(1), rdbString('m'), Buffer.from([253])]));
  const script: Arg[][] = [
    ['restore', 'src', '0', good],
    ['restore', 'a', '0', good, 'bogus'],
    ['restore', 'a', '0', good, 'idletime'],
    ['restore', 'a', '0', good, 'idletime', '-1'],
    ['restore', 'a', '0', good, 'idletime', 'x'],
    ['restore', 'a', '0', good, 'freq', '256'],
    ['restore', 'a', '0', good, 'freq', '-1'],
    ['restore', 'a', '0', good, 'idletime', '5', 'freq', '5'],
    ['restore', 'a', '0', good, 'freq', '5', 'idletime', '5'],
    ['restore', 'a', 'x', good],
    ['restore', 'a', '-1', good],
    ['restore', 'a', '0', 'short'],
    ['restore', 'a', '0', badCrc],
    ['restore', 'a', '0', newer],
    ['restore', 'a', '0', damaged],
    ['restore', 'a', '0', unknownType],
    ['restore', 'a', '0', emptySet],
    ['restore', 'a', '0', dupSet],
    ['restore', 'a', '0', nanZset],
    ['exists', 'a'],
    ['restore', 'a', '0', good, 'idletime', '100'],
    ['get', 'a'],
    ['restore', 'b', '0', good, 'FREQ', '7', 'REPLACE'],
    ['hset', 'h', 'f', 'v'],
    ['restore', 'h', '0', good],
    ['restore', 'h', '0', good, 'replace'],
    ['type', 'h'],
    ['get', 'h'],
    ['restore', 'past', '1000', good, 'absttl'],
    ['exists', 'past'],
    ['restore', 'h', '1', good, 'absttl', 'replace'],
    ['exists', 'h'],
    ['restore', 'future', '4102444800123', good, 'absttl'],
    ['pexpiretime', 'future'],
    ['restore', 'rel', '100000', good],
    ['restore', 'src', '0', good, 'replace', 'replace', 'absttl'],
    ['restore', 'a'],
  ];
  for (const args of script) {
    const what = args.map((x) => (typeof x === 'string' ? x : `<${x.length} bytes>`)).join(' ');
    assert.equal(ours.run(args).toString('latin1'), (await redis(args)).toString('latin1'), what);
  }
  // A small hash with a field twice: Redis (sanitize-dump-payload no) keeps both copies in its
  // listpack; a hash here cannot hold a field twice, so the payload is refused as bad data.
  assert.equal((await redis(['restore', 'dup', '0', dupHash])).toString(), '+OK\r\n', 'redis-server accepts the duplicate field: still a deviation');
  assert.equal(ours.run(['restore', 'dup', '0', dupHash]).toString(), '-ERR Bad data format\r\n');
  assert.equal(ours.run(['exists', 'dup']).toString(), ':0\r\n');
  const pttl = (b: Buffer): number => Number(b.toString().slice(1, -2));
  const [mine, theirs] = [pttl(ours.run(['pttl', 'rel'])), pttl(await redis(['pttl', 'rel']))];
  assert.ok(mine > 90_000 && mine <= 100_000 && theirs > 90_000 && theirs <= 100_000, `PTTL ${mine} / ${theirs}`);
});

test('RESTORE is one ordinary write: within the write limit it is element ops, past it the error names the limit and nothing is written', async () => {
  await redis(['flushall']);
  await redis(['hset', 'big', ...range(2000, (i) => [`field-${i}`, 'v'.repeat(50)])]);
  const payload = bulkBody(await redis(['dump', 'big']));
  const view = new MapView();
  const args = ['restore', 'big', '0', payload].map((a) => (typeof a === 'string' ? Buffer.from(a) : a));
  const refused = execute(args, view, Date.now(), { maxWriteBytes: 64 * 1024 });
  assert.match(encodeReply(refused.reply, 2).toString(), /^-ERR write too large: its update would hold \d+ bytes .* above the 65536 bytes one update may hold/);
  assert.equal(refused.ops.length, 0);
  const ok = execute(args, view, Date.now(), { maxWriteBytes: 1024 * 1024 });
  assert.equal(encodeReply(ok.reply, 2).toString(), '+OK\r\n');
  assert.equal(ok.ops.length, 2000);
  assert.ok(ok.ops.every((op) => op.k === 'elem' && op.type === 'hash'));
});
