// INFO against redis-server 7.0: which sections INFO, INFO default, all, everything and lists of
// sections print, in which order; commandstats (calls, rejected and failed calls per command
// and subcommand, time masked) and errorstats after the same commands; keyspace's keys, expires
// and avg_ttl. Each test starts a fresh redis-server and a fresh server of ours, so that both
// count from zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServer } from '../kv/redis-server.ts';
import { RespServer } from '../../src/server/resp-server.ts';
import { SingleNodeHarness } from './single-node.ts';
import { cmd, rawConnect } from './raw-client.ts';

const END = cmd('ECHO', '--end--');
const END_REPLY = '$7\r\n--end--\r\n';

async function run(port: number, script: string): Promise<string> {
  const c = await rawConnect(port);
  c.write(script + END);
  const got = await c.until((d) => d.endsWith(END_REPLY), 'script');
  c.end();
  return got.slice(0, -END_REPLY.length);
}

/** The body of the one bulk (or verbatim) reply an INFO answers. */
function infoBody(reply: string): string {
  const eol = reply.indexOf('\r\n');
  return reply.slice(eol + 2, -2);
}

async function withBoth(fn: (ours: number, theirs: number) => Promise<void>): Promise<void> {
  const redis = await RedisServer.start();
  const ours = new RespServer({ node: new SingleNodeHarness(), port: 0 });
  await ours.listen();
  try {
    await fn(ours.port, redis.port);
  } finally {
    redis.stop();
    await ours.close();
  }
}

const headers = (body: string): string[] => body.split('\r\n').filter((l) => l.startsWith('# '));

test('INFO, INFO default, all, everything and section lists print the sections redis-server prints, in its order', async () => {
  await withBoth(async (ours, theirs) => {
    for (const args of [[], ['default'], ['all'], ['everything'], ['keyspace', 'server'], ['CPU', 'Commandstats'], ['errorstats'], ['modules'], ['module_list'], ['latencystats'], ['cluster'], ['nosuch'], ['default', 'commandstats'], ['all', 'nosuch'], ['memory']]) {
      const [mine, redis] = [infoBody(await run(ours, cmd('INFO', ...args))), infoBody(await run(theirs, cmd('INFO', ...args)))];
      assert.deepEqual(headers(mine), headers(redis), `INFO ${args.join(' ')}`);
    }
    assert.equal(await run(ours, cmd('INFO', 'nosuch')), await run(theirs, cmd('INFO', 'nosuch')));
  });
});

test('INFO commandstats and errorstats count calls, rejected and failed calls and error codes as redis-server does', async () => {
  const script =
    cmd('SET', 's', '1') + cmd('GET', 's') + cmd('GET', 'nokey') + cmd('INCR', 's') + cmd('HSET', 'h', 'f', 'v') + cmd('GET', 'h') + cmd('INCR', 'h') +
    cmd('GET') + cmd('GET', 'a', 'b') + cmd('NOSUCH', 'x') + cmd('CLIENT', 'BOGUS') + cmd('CLIENT', 'SETNAME', 'n') + cmd('CLIENT', 'GETNAME') + cmd('CLIENT', 'SETNAME') +
    cmd('OBJECT', 'ENCODING', 's') + cmd('OBJECT', 'NOSUCH', 's') + cmd('COMMAND', 'GETKEYS', 'GET', 'k') + cmd('LCS', 'h', 's') + cmd('INCRBY', 's', 'x') +
    cmd('MULTI') + cmd('SET', 'm', '1') + cmd('INCR', 'h') + cmd('GET', 'm') + cmd('EXEC') +
    cmd('MULTI') + cmd('SET', 'm') + cmd('GET', 'm') + cmd('EXEC') + cmd('EXEC') + cmd('DISCARD') +
    cmd('ZADD', 'z', 'x', 'm') + cmd('ZADD', 'z', '1', 'm') + cmd('LPUSH', 's', 'x');
  await withBoth(async (ours, theirs) => {
    assert.equal(await run(ours, script), await run(theirs, script), 'the script itself');
    const mask = (body: string): string[] =>
      body
        .split('\r\n')
        // RedisServer.start's readiness probe is a PING: leave PING out.
        .filter((l) => l.startsWith('cmdstat_') && !l.startsWith('cmdstat_ping:'))
        .map((l) => l.replace(/usec=\d+,usec_per_call=[\d.]+/, 'usec=*'))
        .sort();
    const [mine, redis] = [infoBody(await run(ours, cmd('INFO', 'commandstats'))), infoBody(await run(theirs, cmd('INFO', 'commandstats')))];
    assert.deepEqual(mask(mine), mask(redis));
    const [me, re] = [infoBody(await run(ours, cmd('INFO', 'errorstats'))), infoBody(await run(theirs, cmd('INFO', 'errorstats')))];
    assert.equal(me, re);
    const total = (body: string): string | undefined => body.split('\r\n').find((l) => l.startsWith('total_error_replies:'));
    assert.equal(total(infoBody(await run(ours, cmd('INFO', 'stats')))), total(infoBody(await run(theirs, cmd('INFO', 'stats')))));
  });
});

test('INFO keyspace: keys, expires and avg_ttl as redis-server reports them', async () => {
  const setup = cmd('SET', 'a', '1') + cmd('SET', 'b', '2', 'EX', '1000') + cmd('HSET', 'h', 'f', 'v') + cmd('EXPIRE', 'h', '2000') + cmd('RPUSH', 'l', 'x') + cmd('PERSIST', 'b') + cmd('SET', 'c', '3', 'PX', '3000000');
  await withBoth(async (ours, theirs) => {
    const empty = cmd('INFO', 'keyspace');
    assert.equal(await run(ours, empty), await run(theirs, empty), 'an empty keyspace prints the header alone');
    assert.equal(await run(ours, setup), await run(theirs, setup));
    const line = async (port: number): Promise<string> => infoBody(await run(port, cmd('INFO', 'keyspace'))).split('\r\n')[1]!;
    const [mine, redis] = [await line(ours), await line(theirs)];
    const parse = (l: string): RegExpExecArray => /^db0:keys=(\d+),expires=(\d+),avg_ttl=(\d+)$/.exec(l)!;
    const [m, r] = [parse(mine), parse(redis)];
    assert.ok(m && r, `${mine} / ${redis}`);
    assert.deepEqual([m[1], m[2]], [r[1], r[2]], 'keys and expires');
    // Redis's avg_ttl is the running estimate of its expiry cycle (0 until a cycle has sampled); ours the mean of the sample.
    assert.ok(Number(m[3]) > 2_400_000 && Number(m[3]) <= 2_500_000, `avg_ttl ${m[3]} is the mean remaining ttl of h (2000 s) and c (3000 s)`);
  });
});
