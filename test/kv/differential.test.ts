// Differential tests: every script of differential-cases.ts runs on Debian's redis-server and on
// our parser → executor → writer, and the raw reply bytes must match (RESP2, and RESP3 after
// HELLO 3). Without redis-server these tests fail: install it with `apt-get install redis-server`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RespParser } from '../../src/resp/parser.ts';
import { encodeReply, encodeReplies } from '../../src/resp/writer.ts';
import type { RespVersion } from '../../src/resp/writer.ts';
import { execute } from '../../src/core/kv/executor.ts';
import type { Reply } from '../../src/core/reply.ts';
import { MapView } from './map-view.ts';
import { CASES, DEVIATION_CASES, RAW_CASES } from './differential-cases.ts';
import { HASH_CASES, SET_CASES, TYPE_CASES } from './collection-cases.ts';
import { LCS_CASES } from './lcs-cases.ts';
import { MIXED_SCORE_LEX, ORDER_CASES } from './order-cases.ts';
import { LIST_CASES } from './list-cases.ts';
import { ZSET_CASES } from './zset-cases.ts';
import type { Compare } from './differential-cases.ts';
import { encodeCommand, RawClient, replyEnd, useRedisServer } from './redis-server.ts';

const redis = useRedisServer();

/** Our side: the command's bytes go through the parser, the executor and the writer. */
class Ours {
  readonly view = new MapView();
  private readonly parser = new RespParser();
  constructor(readonly version: RespVersion = 2) {}

  /** run() as a promise, for code that treats both servers alike. */
  readonly runAsync = (args: readonly string[]): Promise<Buffer> => Promise.resolve(this.run(args));

  run(args: readonly string[]): Buffer {
    const { commands, error } = this.parser.feed(encodeCommand(args));
    assert.equal(error, null);
    assert.equal(commands.length, 1);
    const r = execute(commands[0]!, this.view, Date.now());
    this.view.apply(r.ops);
    return encodeReply(r.reply, this.version);
  }
}

/** A decoded reply tree, for comparisons that are not byte for byte. */
type Tree = string | Tree[];

function decode(buf: Buffer, pos = 0): [Tree, number] {
  const end = replyEnd(buf, pos);
  assert.ok(end > 0, 'incomplete reply');
  const type = String.fromCharCode(buf[pos]!);
  const cr = buf.indexOf('\r\n', pos);
  const line = buf.toString('latin1', pos + 1, cr);
  if (type === '*' || type === '~' || type === '%') {
    const n = Number(line) * (type === '%' ? 2 : 1);
    const items: Tree[] = [];
    let p = cr + 2;
    for (let i = 0; i < n; i++) {
      const [t, e] = decode(buf, p);
      items.push(t);
      p = e;
    }
    return [items, end];
  }
  return [buf.toString('latin1', pos, end), end];
}

function sortBulkArrays(t: Tree): Tree {
  if (typeof t === 'string') return t;
  const items = t.map(sortBulkArrays);
  if (items.every((x) => typeof x === 'string')) return [...(items as string[])].sort();
  return items;
}

/** A reply read as (field, value) pairs, sorted: see Compare 'pairs'. */
function pairsOf(buf: Buffer): string[] {
  const [t] = decode(buf);
  if (typeof t === 'string') return [t];
  const out: string[] = [];
  if (t.every((x) => Array.isArray(x))) for (const p of t as Tree[][]) out.push(`${String(p[0])} => ${String(p[1])}`);
  else for (let i = 0; i < t.length; i += 2) out.push(`${String(t[i])} => ${String(t[i + 1])}`);
  return out.sort();
}

/** The reply's structure with every string replaced by its type byte. */
function shapeOf(t: Tree): Tree {
  return typeof t === 'string' ? t[0]! : t.map(shapeOf);
}

function compareReplies(mode: Compare, ours: Buffer, theirs: Buffer, what: string): void {
  if (mode === 'pairs') {
    assert.deepEqual(pairsOf(ours), pairsOf(theirs), what);
  } else if (mode === 'shape') {
    assert.deepEqual(shapeOf(decode(ours)[0]), shapeOf(decode(theirs)[0]), what);
  } else if (mode === 'exact') {
    assert.equal(ours.toString('latin1'), theirs.toString('latin1'), what);
  } else if (mode === 'unordered') {
    assert.deepEqual(sortBulkArrays(decode(ours)[0]), sortBulkArrays(decode(theirs)[0]), what);
  } else {
    const [lo, hi] = mode.intBetween;
    for (const [who, b] of [
      ['ours', ours],
      ['redis', theirs],
    ] as const) {
      const s = b.toString('latin1');
      assert.match(s, /^:-?\d+\r\n$/, `${what}: ${who} replied ${JSON.stringify(s)}`);
      const n = Number(s.slice(1, -2));
      assert.ok(n >= lo && n <= hi, `${what}: ${who} replied ${n}, expected within [${lo}, ${hi}]`);
    }
  }
}

async function runCase(name: string, commands: readonly (readonly string[])[], compare: Readonly<Record<number, Compare>>, version: RespVersion): Promise<void> {
  const c = redis();
  assert.equal((await c.command(['HELLO', String(version)]))[0], version === 3 ? 0x25 : 0x2a);
  assert.equal((await c.command(['FLUSHALL'])).toString(), '+OK\r\n');
  const ours = new Ours(version);
  for (let i = 0; i < commands.length; i++) {
    const args = commands[i]!;
    const theirs = await c.command(args);
    const mine = ours.run(args);
    compareReplies(compare[i] ?? 'exact', mine, theirs, `${name} #${i} ${JSON.stringify(args)} (RESP${version})`);
  }
}

describe('differential: command scripts match redis-server byte for byte', () => {
  for (const version of [2, 3] as const) {
    for (const k of [...CASES, ...TYPE_CASES, ...HASH_CASES, ...SET_CASES, ...LIST_CASES, ...ZSET_CASES, ...LCS_CASES, ...ORDER_CASES]) {
      test(`${k.name} (RESP${version})`, async () => {
        await runCase(k.name, k.commands, k.compare ?? {}, version);
      });
    }
  }
});

describe('differential: where a limit of understudy is narrower than Redis\'s, a validation error and nothing changed', () => {
  for (const k of DEVIATION_CASES) {
    test(k.name, async () => {
      const c = redis();
      await c.command(['HELLO', '2']);
      assert.equal((await c.command(['FLUSHALL'])).toString(), '+OK\r\n');
      const ours = new Ours();
      for (const args of k.setup) assert.equal(ours.run(args).toString('latin1'), (await c.command(args)).toString('latin1'));
      const theirs = (await c.command(k.command)).toString('latin1');
      assert.notEqual(theirs[0], '-', `redis-server refused ${k.name} (${theirs}): this is no longer a deviation`);
      assert.equal(ours.run(k.command).toString('latin1'), k.ours);
      assert.equal(ours.run(k.check).toString('latin1'), k.oursAfter);
    });
  }
});

test('ZRANGEBYLEX over members of mixed scores: the lexical range here, whatever Redis\'s unspecified answer', async () => {
  const c = redis();
  await c.command(['HELLO', '2']);
  await c.command(['FLUSHALL']);
  const ours = new Ours();
  assert.equal(ours.run([...MIXED_SCORE_LEX.setup]).toString(), (await c.command([...MIXED_SCORE_LEX.setup])).toString());
  const theirs = (await c.command([...MIXED_SCORE_LEX.command])).toString('latin1');
  assert.notEqual(theirs, MIXED_SCORE_LEX.ours, 'redis-server gives the lexical range too: no longer a difference');
  assert.equal(ours.run([...MIXED_SCORE_LEX.command]).toString('latin1'), MIXED_SCORE_LEX.ours);
});

describe('differential: raw protocol input, including malformed requests', () => {
  for (const k of RAW_CASES) {
    test(k.name, async () => {
      const c = redis();
      assert.equal((await c.command(['FLUSHALL'])).toString(), '+OK\r\n');
      const input = Buffer.from(k.input, 'latin1');
      const conn = await RawClient.connect(redis.port());
      let theirs: Buffer;
      try {
        theirs = await conn.raw(input);
      } finally {
        conn.close();
      }
      // Ours: parse, execute what parsed, then the protocol error (if any) as Redis would send it.
      const view = new MapView();
      const { commands, error } = new RespParser().feed(input);
      const replies: Reply[] = [];
      for (const cmd of commands) {
        const r = execute(cmd, view, Date.now());
        view.apply(r.ops);
        replies.push(r.reply);
      }
      if (error) replies.push({ t: 'error', msg: error.toResp() });
      assert.equal(encodeReplies(replies).toString('latin1'), theirs.toString('latin1'));
    });
  }
});

describe('differential: SCAN iterations return every key exactly once', () => {
  for (const count of [1, 3, 10, 100]) {
    test(`COUNT ${count} over 500 keys (with shared prefixes)`, async () => {
      const c = redis();
      await c.command(['HELLO', '2']);
      await c.command(['FLUSHALL']);
      const ours = new Ours();
      const keys: string[] = [];
      for (let i = 0; i < 500; i++) keys.push(i % 5 === 0 ? `session:${i}` : i % 5 === 1 ? `k${i}` : `user:1000${i}:profile`);
      for (let i = 0; i < keys.length; i += 50) {
        const args = ['mset', ...keys.slice(i, i + 50).flatMap((k) => [k, 'v'])];
        assert.equal((await c.command(args)).toString(), '+OK\r\n');
        assert.equal(ours.run(args).toString(), '+OK\r\n');
      }
      const iterate = async (send: (args: string[]) => Promise<Buffer>): Promise<string[]> => {
        const seen: string[] = [];
        let cursor = '0';
        for (let calls = 0; calls < 10_000; calls++) {
          const [t] = decode(await send(['scan', cursor, 'count', String(count)]));
          assert.ok(Array.isArray(t) && t.length === 2 && typeof t[0] === 'string' && Array.isArray(t[1]));
          cursor = (t[0] as string).split('\r\n')[1]!;
          for (const k of t[1] as Tree[]) seen.push((k as string).split('\r\n')[1]!);
          if (cursor === '0') return seen;
        }
        assert.fail('SCAN did not finish within 10000 calls');
      };
      const mine = await iterate(async (a) => ours.run(a));
      const theirs = await iterate((a) => c.command(a));
      assert.equal(new Set(mine).size, mine.length, 'our SCAN returned a key twice');
      assert.deepEqual([...mine].sort(), [...keys].sort());
      assert.deepEqual([...new Set(theirs)].sort(), [...keys].sort());
    });
  }
});

describe('differential: HSCAN and SSCAN iterations over a hashtable return every element exactly once', () => {
  for (const [scan, add, pairs] of [
    ['hscan', 'hset', true],
    ['sscan', 'sadd', false],
  ] as const) {
    for (const count of [1, 7, 100]) {
      test(`${scan.toUpperCase()} COUNT ${count} over 700 elements (with shared prefixes)`, async () => {
        const c = redis();
        await c.command(['HELLO', '2']);
        await c.command(['FLUSHALL']);
        const ours = new Ours();
        const elems: string[] = [];
        for (let i = 0; i < 700; i++) elems.push(i % 3 === 0 ? `session:${i}` : `user:1000${i}:profile`);
        for (let i = 0; i < elems.length; i += 100) {
          const args = [add, 'k', ...elems.slice(i, i + 100).flatMap((f) => (pairs ? [f, `v${f}`] : [f]))];
          assert.deepEqual(ours.run(args), await c.command(args));
        }
        const iterate = async (send: (args: string[]) => Promise<Buffer>, mine: boolean): Promise<Map<string, string>> => {
          const seen = new Map<string, string>();
          let cursor = '0';
          for (let calls = 0; calls < 10_000; calls++) {
            const [t] = decode(await send([scan, 'k', cursor, 'count', String(count)]));
            assert.ok(Array.isArray(t) && t.length === 2 && typeof t[0] === 'string' && Array.isArray(t[1]));
            cursor = (t[0] as string).split('\r\n')[1]!;
            const items = (t[1] as Tree[]).map((x) => (x as string).split('\r\n')[1]!);
            const step = pairs ? 2 : 1;
            for (let i = 0; i < items.length; i += step) {
              if (mine) assert.ok(!seen.has(items[i]!), `our ${scan} returned ${items[i]} twice`);
              seen.set(items[i]!, pairs ? items[i + 1]! : '');
            }
            if (cursor === '0') return seen;
          }
          assert.fail(`${scan} did not finish within 10000 calls`);
        };
        const mine = await iterate(ours.runAsync, true);
        const theirs = await iterate((a) => c.command(a), false);
        assert.deepEqual([...mine.keys()].sort(), [...elems].sort());
        if (pairs) for (const f of elems) assert.equal(mine.get(f), `v${f}`);
        assert.deepEqual([...theirs.keys()].sort(), [...elems].sort());
      });
    }
  }
});

describe('differential: random command sequences', () => {
  const key = fc.constantFrom('a', 'b', 'c', 'n', 'f');
  const small = fc.integer({ min: -20, max: 20 }).map(String);
  const num = fc.oneof(
    small,
    fc.constantFrom('9223372036854775807', '-9223372036854775808', '9223372036854775806', 'x', '1.5', '007', ''),
  );
  const floatText = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((d) => String(d)),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((d) => d.toExponential(3)),
    fc.integer({ min: -999, max: 999 }).map((n) => (n / 100).toFixed(2)),
    fc.constantFrom('0.1', '0.2', '1e-5', '3.0e3', '-0', 'inf', '1e400'),
  );
  const value = fc.oneof(small, fc.constantFrom('', 'abc', '1.5', '10', 'x y'), floatText);
  const cmd = fc.oneof(
    fc.tuple(fc.constant('set'), key, value),
    fc.tuple(fc.constant('set'), key, value, fc.constantFrom('nx', 'xx', 'get', 'keepttl')),
    fc.tuple(fc.constant('set'), key, value, fc.constantFrom('ex', 'px'), fc.constantFrom('100', '100000', '0', '-1', 'x')),
    fc.tuple(fc.constantFrom('get', 'incr', 'decr', 'strlen', 'getdel', 'ttl', 'persist', 'type', 'exists', 'del'), key),
    fc.tuple(fc.constantFrom('incrby', 'decrby'), key, num),
    fc.tuple(fc.constant('incrbyfloat'), key, floatText),
    fc.tuple(fc.constant('append'), key, value),
    fc.tuple(fc.constant('getrange'), key, small, small),
    fc.tuple(fc.constant('setrange'), key, fc.integer({ min: -1, max: 12 }).map(String), value),
    fc.tuple(fc.constantFrom('rename', 'renamenx', 'copy'), key, key),
    fc.tuple(fc.constant('expire'), key, fc.constantFrom('100', '200', '-1', '0'), fc.constantFrom('nx', 'xx', 'gt', 'lt')),
    fc.tuple(fc.constant('mget'), key, key, key),
    fc.tuple(fc.constant('msetnx'), key, value, key, value),
    fc.tuple(fc.constant('dbsize')),
  );
  test('60 random scripts of 30 commands give identical replies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 30 }), async (script) => {
        const c = redis();
        await c.command(['HELLO', '2']);
        await c.command(['FLUSHALL']);
        const ours = new Ours();
        for (const args of script) {
          const theirs = await c.command(args);
          const mine = ours.run(args);
          assert.equal(mine.toString('latin1'), theirs.toString('latin1'), JSON.stringify(args));
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('differential: random list command sequences', () => {
  // Few keys and values, so that pivots match, LMOVE meets its own key and inserts pile up at one
  // place (using up the gaps between positions there, then renumbering).
  const key = fc.constantFrom('l', 'm', 's');
  const value = fc.constantFrom('a', 'b', 'c', '1', '2', '10', '');
  const index = fc.oneof(fc.integer({ min: -8, max: 8 }).map(String), fc.constantFrom('9223372036854775807', '-9223372036854775808', 'x'));
  const end = fc.constantFrom('left', 'right', 'LEFT');
  const cmd = fc.oneof(
    { arbitrary: fc.tuple(fc.constantFrom('lpush', 'rpush', 'lpushx', 'rpushx'), key, value, value), weight: 4 },
    { arbitrary: fc.tuple(fc.constantFrom('lpop', 'rpop'), key), weight: 1 },
    { arbitrary: fc.tuple(fc.constantFrom('lpop', 'rpop'), key, fc.constantFrom('0', '1', '3', '-1')), weight: 1 },
    { arbitrary: fc.tuple(fc.constant('linsert'), key, fc.constantFrom('before', 'after'), value, value), weight: 6 },
    { arbitrary: fc.tuple(fc.constantFrom('lrange', 'ltrim'), key, index, index), weight: 2 },
    { arbitrary: fc.tuple(fc.constantFrom('lindex', 'llen', 'type'), key, index).map((t) => (t[0] === 'lindex' ? t : t.slice(0, 2))), weight: 2 },
    { arbitrary: fc.tuple(fc.constant('lset'), key, index, value), weight: 1 },
    { arbitrary: fc.tuple(fc.constant('lrem'), key, fc.constantFrom('0', '1', '-1', '2'), value), weight: 1 },
    { arbitrary: fc.tuple(fc.constant('lpos'), key, value, fc.constantFrom('rank', 'count', 'maxlen'), fc.constantFrom('1', '-1', '0', '2')), weight: 1 },
    { arbitrary: fc.tuple(fc.constant('lmove'), key, key, end, end), weight: 2 },
    { arbitrary: fc.tuple(fc.constant('lmpop'), fc.constant('2'), key, key, end, fc.constantFrom('count', 'COUNT'), fc.constantFrom('1', '2', '5')), weight: 1 },
    { arbitrary: fc.tuple(fc.constant('sort'), key, fc.constantFrom('alpha', 'desc')), weight: 1 },
    { arbitrary: fc.tuple(fc.constant('sadd'), fc.constant('s'), value), weight: 1 },
  );
  test('60 random scripts of 60 list commands give identical replies and leave identical lists', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 60 }), async (script) => {
        const c = redis();
        await c.command(['HELLO', '2']);
        await c.command(['FLUSHALL']);
        const ours = new Ours();
        for (const args of [...script, ['lrange', 'l', '0', '-1'], ['lrange', 'm', '0', '-1']]) {
          const theirs = await c.command(args);
          const mine = ours.run(args);
          assert.equal(mine.toString('latin1'), theirs.toString('latin1'), JSON.stringify(args));
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('differential: random glob patterns for KEYS and SCAN MATCH', () => {
  const alphabet = ['a', 'b', '*', '?', '[', ']', '^', '-', '\\', 'A', '\xe9'];
  const text = (max: number) => fc.array(fc.constantFrom(...alphabet), { maxLength: max }).map((cs) => cs.join(''));
  test('150 random key sets and patterns select the same keys', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(text(6), { minLength: 1, maxLength: 12 }), fc.array(text(8), { minLength: 1, maxLength: 5 }), async (keys, patterns) => {
        const c = redis();
        await c.command(['HELLO', '2']);
        await c.command(['FLUSHALL']);
        const ours = new Ours();
        const mset = ['mset', ...keys.flatMap((k) => [k, 'v'])];
        assert.equal((await c.command(mset)).toString(), '+OK\r\n');
        ours.run(mset);
        for (const p of patterns) {
          for (const args of [['keys', p], ['scan', '0', 'match', p, 'count', '1000']]) {
            compareReplies('unordered', ours.run(args), await c.command(args), JSON.stringify(args));
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('differential: random option lists for SET, GETEX, EXPIRE, COPY, SCAN', () => {
  const token = fc.constantFrom('nx', 'XX', 'get', 'keepttl', 'persist', 'ex', 'PX', 'exat', 'pxat', 'gt', 'lt', 'replace', 'db', 'count', 'match', 'type', '100', '0', '-1', 'x', '4102444800', '*', 'string');
  const opts = fc.array(token, { maxLength: 5 });
  test('200 random option lists give identical replies and state', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('set', 'getex', 'expire', 'pexpireat', 'copy', 'scan'), opts, fc.boolean(), fc.boolean(), async (cmd, options, hasA, aHasTtl) => {
        const c = redis();
        await c.command(['HELLO', '2']);
        await c.command(['FLUSHALL']);
        const ours = new Ours();
        const setup: string[][] = [];
        if (hasA) setup.push(aHasTtl ? ['set', 'a', 'v', 'ex', '500'] : ['set', 'a', 'v']);
        const main = cmd === 'set' ? ['set', 'a', 'new', ...options] : cmd === 'copy' ? ['copy', 'a', 'b', ...options] : cmd === 'scan' ? ['scan', '0', ...options] : cmd === 'getex' ? ['getex', 'a', ...options] : [cmd, 'a', '100', ...options];
        for (const args of [...setup, main, ['get', 'a'], ['ttl', 'a'], ['get', 'b'], ['ttl', 'b'], ['dbsize']]) {
          const mode = cmd === 'scan' && args === main ? 'unordered' : 'exact';
          compareReplies(mode, ours.run(args), await c.command(args), JSON.stringify(args));
        }
      }),
      { numRuns: 200 },
    );
  });
});
