// COMMAND and CLIENT REPLY against redis-server 7.0: for every command this server answers,
// COMMAND INFO and COMMAND DOCS say what Redis says (containers list only the subcommands served
// here, each as Redis describes it), COMMAND GETKEYS / GETKEYSANDFLAGS find the same keys with
// the same flags, COMMAND LIST FILTERBY gives Redis's list restricted to the commands served
// here, and CLIENT REPLY ON / OFF / SKIP silences the same replies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, RedisServer } from '../kv/redis-server.ts';
import { RespServer } from '../../src/server/resp-server.ts';
import { SingleNodeHarness } from './single-node.ts';
import { cmd, rawConnect } from './raw-client.ts';

let redis: RedisServer;
let ours: RespServer;
let theirsClient: RawClient;
let oursClient: RawClient;

before(async () => {
  redis = await RedisServer.start();
  ours = new RespServer({ node: new SingleNodeHarness(), port: 0 });
  await ours.listen();
  theirsClient = await RawClient.connect(redis.port);
  oursClient = await RawClient.connect(ours.port);
});

after(async () => {
  theirsClient.close();
  oursClient.close();
  redis.stop();
  await ours.close();
});

/** Commands served here that Redis 7.0 does not have: Redis 7.2's, which current clients send. */
const NEWER_THAN_7_0 = ['client|setinfo', 'client|no-touch'];

/** A decoded reply: strings for bulk/simple/integer (prefixed by type), arrays for aggregates. */
type Tree = string | null | Tree[];

function decode(buf: Buffer, pos = 0): [Tree, number] {
  const eol = buf.indexOf('\r\n', pos);
  const type = String.fromCharCode(buf[pos]!);
  const line = buf.toString('latin1', pos + 1, eol);
  let p = eol + 2;
  if ('+-:_,#'.includes(type)) return [type === '_' ? null : type + line, p];
  if (type === '$' || type === '=') {
    const n = Number(line);
    if (n < 0) return [null, p];
    return ['$' + buf.toString('latin1', p, p + n), p + n + 2];
  }
  const n = Number(line);
  if (n < 0) return [null, p];
  const items: Tree[] = [];
  for (let i = 0; i < n * (type === '%' ? 2 : 1); i++) {
    const [t, q] = decode(buf, p);
    items.push(t);
    p = q;
  }
  return [items, p];
}

async function both(args: readonly string[]): Promise<[Buffer, Buffer]> {
  return [await oursClient.command(args), await theirsClient.command(args)];
}

async function ourNames(): Promise<string[]> {
  const [t] = decode(await oursClient.command(['COMMAND', 'LIST']));
  return (t as string[]).map((s) => s.slice(1));
}

for (const version of ['2', '3']) {
  test(`COMMAND INFO and COMMAND DOCS of every served command match redis-server's (RESP${version})`, async () => {
    await both(['HELLO', version]);
    const names = await ourNames();
    const unknownToRedis: string[] = [];
    for (const name of names) {
      const [mine, theirs] = await both(['COMMAND', 'INFO', name]);
      if (decode(theirs)[0]![0] === null) {
        unknownToRedis.push(name);
        continue;
      }
      const [m] = decode(mine) as [Tree[][], number];
      const [r] = decode(theirs) as [Tree[][], number];
      const [mi, ri] = [m[0]!, r[0]!];
      assert.deepEqual(mi.slice(0, 9), ri.slice(0, 9), `COMMAND INFO ${name}`);
      // A container: each subcommand served here is in Redis's list, described alike.
      const theirSubs = new Map((ri[9] as Tree[][]).map((s) => [s[0], s]));
      for (const s of mi[9] as Tree[][]) if (theirSubs.has(s[0])) assert.deepEqual(s, theirSubs.get(s[0]), `COMMAND INFO ${name}: subcommand ${String(s[0])}`);

      const [md, rd] = await both(['COMMAND', 'DOCS', name]);
      if ((mi[9] as Tree[]).length === 0) assert.equal(md.toString('latin1'), rd.toString('latin1'), `COMMAND DOCS ${name}`);
      else {
        const strip = (t: Tree): Tree[] => {
          const entries = (t as Tree[])[1] as Tree[];
          const at = entries.indexOf('$subcommands');
          return at < 0 ? entries : entries.slice(0, at);
        };
        assert.deepEqual(strip(decode(md)[0]), strip(decode(rd)[0]), `COMMAND DOCS ${name}`);
      }
    }
    assert.deepEqual(unknownToRedis.sort(), [...NEWER_THAN_7_0].sort(), 'commands served here that Redis 7.0 does not have');
  });
}

test('COMMAND GETKEYS and GETKEYSANDFLAGS match redis-server, errors included', async () => {
  await both(['HELLO', '2']);
  const cases: string[][] = [
    ['get', 'k'],
    ['set', 'k', 'v'],
    ['set', 'k', 'v', 'get'],
    ['set', 'k', 'v', 'EX', '10', 'GET'],
    ['mset', 'a', '1', 'b', '2', 'c', '3'],
    ['mget', 'a', 'b', 'c'],
    ['del', 'a', 'b'],
    ['rename', 'a', 'b'],
    ['copy', 'a', 'b', 'replace'],
    ['lmove', 'a', 'b', 'left', 'right'],
    ['lmpop', '2', 'a', 'b', 'left', 'count', '3'],
    ['lmpop', '0', 'a', 'left'],
    ['lmpop', 'x', 'a', 'left'],
    ['lmpop', '5', 'a', 'left'],
    ['sintercard', '2', 'a', 'b', 'limit', '1'],
    ['zunionstore', 'd', '2', 'a', 'b', 'weights', '1', '2'],
    ['zinterstore', 'd', '1', 'a'],
    ['zunion', '2', 'a', 'b', 'withscores'],
    ['zdiff', '3', 'a', 'b'],
    ['zmpop', '2', 'a', 'b', 'min'],
    ['zrangestore', 'd', 's', '0', '-1'],
    ['sort', 'k'],
    ['sort', 'k', 'by', 'w_*', 'get', '#', 'limit', '0', '1', 'store', 'd'],
    ['sort', 'k', 'store', 'd1', 'store', 'd2'],
    ['sort', 'k', 'get', 'store', 'store', 'x'],
    ['sort_ro', 'k', 'by', 'nosort'],
    ['smove', 'a', 'b', 'm'],
    ['sinterstore', 'd', 'a', 'b'],
    ['object', 'encoding', 'k'],
    ['object', 'help'],
    ['lcs', 'a', 'b', 'idx'],
    ['ping'],
    ['command', 'info'],
    ['get'],
    ['get', 'a', 'b'],
    ['nosuch', 'a'],
    ['object', 'nosuch', 'k'],
    ['object'],
    ['client', 'list'],
    ['exists', 'a', 'b', 'c'],
    ['touch', 'a'],
    ['expire', 'a', '10', 'nx'],
    ['hset', 'h', 'f', 'v'],
    ['zadd', 'z', '1', 'm'],
    ['watch', 'a', 'b'],
  ];
  for (const args of cases) {
    for (const sub of ['GETKEYS', 'GETKEYSANDFLAGS']) {
      const [mine, theirs] = await both(['COMMAND', sub, ...args]);
      assert.equal(mine.toString('latin1'), theirs.toString('latin1'), `COMMAND ${sub} ${args.join(' ')}`);
    }
  }
  for (const args of [['COMMAND', 'GETKEYS'], ['COMMAND', 'GETKEYSANDFLAGS', 'get'], ['COMMAND', 'HELP'], ['command', 'help'], ['COMMAND', 'BOGUS'], ['COMMAND', 'INFO', 'nosuch', 'get', 'object|encoding', 'OBJECT|Encoding', 'get|x', 'a|b|c'], ['COMMAND', 'DOCS', 'nosuch', 'lcs', 'client|reply'], ['COMMAND', 'HELP', 'x'], ['COMMAND', 'COUNT', 'x']]) {
    const [mine, theirs] = await both(args);
    assert.equal(mine.toString('latin1'), theirs.toString('latin1'), args.join(' '));
  }
});

test('COMMAND LIST FILTERBY gives redis-server\'s list restricted to the served commands; COUNT counts them', async () => {
  await both(['HELLO', '2']);
  const served = new Set(await ourNames());
  const names = async (c: RawClient, args: string[]): Promise<string[]> => ((decode(await c.command(args))[0] as string[]) ?? []).map((s) => s.slice(1)).sort();
  for (const filter of [
    ['aclcat', 'string'],
    ['ACLCAT', 'KEYSPACE'],
    ['aclcat', 'sortedset'],
    ['aclcat', 'fast'],
    ['aclcat', 'dangerous'],
    ['aclcat', 'nosuchcat'],
    ['pattern', 'z*'],
    ['pattern', 'CLIENT|*'],
    ['pattern', '*|*'],
    ['pattern', '?et'],
    ['module', 'json'],
  ]) {
    const args = ['COMMAND', 'LIST', 'FILTERBY', ...filter];
    const theirs = (await names(theirsClient, args)).filter((n) => served.has(n));
    assert.deepEqual((await names(oursClient, args)).filter((n) => !NEWER_THAN_7_0.includes(n)), theirs, args.join(' '));
  }
  for (const args of [['COMMAND', 'LIST', 'FILTERBY'], ['COMMAND', 'LIST', 'FILTERBY', 'bogus', 'x'], ['COMMAND', 'LIST', 'FILTERBY', 'pattern'], ['COMMAND', 'LIST', 'x'], ['COMMAND', 'LIST', 'FILTERBY', 'pattern', 'a', 'b']]) {
    const [mine, theirs] = await both(args);
    assert.equal(mine.toString('latin1'), theirs.toString('latin1'), args.join(' '));
  }
  const top = [...served].filter((n) => !n.includes('|'));
  assert.equal((await oursClient.command(['COMMAND', 'COUNT'])).toString(), `:${top.length}\r\n`);
  const [all] = decode(await oursClient.command(['COMMAND'])) as [Tree[][], number];
  assert.deepEqual(all.map((e) => String(e[0]).slice(1)).sort(), top.sort());
});

test('CLIENT REPLY ON, OFF and SKIP silence the replies redis-server silences', async () => {
  const END = cmd('ECHO', '--end--');
  const script =
    cmd('SET', 'r', '1') + cmd('CLIENT', 'REPLY', 'SKIP') + cmd('INCR', 'r') + cmd('GET', 'r') +
    cmd('CLIENT', 'REPLY', 'OFF') + cmd('INCR', 'r') + cmd('NOSUCH') + cmd('CLIENT', 'REPLY', 'SKIP') + cmd('GET', 'r') + cmd('CLIENT', 'REPLY', 'BOGUS') +
    cmd('CLIENT', 'REPLY', 'ON') + cmd('GET', 'r') + cmd('CLIENT', 'REPLY', 'SKIP') + cmd('CLIENT', 'REPLY', 'ON') + cmd('GET', 'r') +
    cmd('CLIENT', 'REPLY', 'BOGUS') + cmd('CLIENT', 'REPLY') + cmd('CLIENT', 'REPLY', 'SKIP') + cmd('CLIENT', 'REPLY', 'SKIP') + cmd('GET', 'r') + cmd('GET', 'r') +
    cmd('CLIENT', 'REPLY', 'OFF') + cmd('RESET') + cmd('GET', 'r') + cmd('CLIENT', 'REPLY', 'SKIP') + cmd('MULTI') + cmd('INCR', 'r') + cmd('EXEC') + END;
  const run = async (port: number): Promise<string> => {
    const c = await rawConnect(port);
    c.write(script);
    const got = await c.until((d) => d.endsWith('$7\r\n--end--\r\n'), 'client reply script');
    c.end();
    return got;
  };
  assert.equal(await run(ours.port), await run(redis.port));
});
