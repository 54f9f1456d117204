// Differential tests of the connection-level commands: the same bytes are sent
// to our server (over the single-node test harness) and to a real
// redis-server (Debian's 7.0), and the replies must be byte-identical. This is
// what "Redis's exact semantics and error texts" means in practice. Scripts
// avoid what legitimately differs: server identity (HELLO's map, INFO, ids),
// CONFIG values, commands newer than 7.0 (CLIENT SETINFO), Redis's 16 databases
// (we have one), its unbounded argument count (we have limits.maxArgs), and
// WATCH of a key that does not exist across FLUSHALL (we abort; Redis runs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServer } from '../kv/redis-server.ts';
import { RespServer } from '../../src/server/resp-server.ts';
import { SingleNodeHarness } from './single-node.ts';
import { cmd, rawConnect } from './raw-client.ts';

let redis: RedisServer;
let ours: RespServer;

before(async () => {
  redis = await RedisServer.start();
  ours = new RespServer({ node: new SingleNodeHarness(), port: 0 });
  await ours.listen();
});

after(async () => {
  redis.stop();
  await ours.close();
});

const END = cmd('ECHO', '--end-of-script--');
const END_REPLY = '$17\r\n--end-of-script--\r\n';

/** Sends `setup` (replies ignored), then `script`; returns the script's replies (until the marker or close). */
async function exchange(port: number, script: string, opts: { setup?: string; closes?: boolean } = {}): Promise<string> {
  const c = await rawConnect(port);
  let skip = 0;
  if (opts.setup) {
    c.write(opts.setup + END);
    skip = (await c.until((d) => d.endsWith(END_REPLY), 'setup')).length;
  }
  c.write(opts.closes ? script : script + END);
  const got = opts.closes ? await c.closed() : await c.until((d) => d.length > skip && d.endsWith(END_REPLY), 'script');
  c.end();
  return got.slice(skip);
}

async function same(name: string, script: string, opts: { setup?: string; closes?: boolean } = {}): Promise<void> {
  const [theirs, mine] = [await exchange(redis.port, script, opts), await exchange(ours.port, script, opts)];
  assert.equal(mine, theirs, `${name}: our replies differ from redis-server's`);
}

const c = cmd;
const long = 'x'.repeat(200);

test('PING, ECHO, SELECT, arity and unknown-command errors match redis-server', async () => {
  await same('ping/echo', c('PING') + c('PING', 'hi') + c('PING', 'a', 'b') + c('ECHO') + c('ECHO', 'x') + c('ECHO', ''));
  await same('select', c('SELECT', '0') + c('SELECT', '-1') + c('SELECT', 'x') + c('SELECT', '99999999999999999999') + c('SELECT', '01'));
  await same(
    'select at the limits of int and int64',
    c('SELECT', '2147483648') + c('SELECT', '-2147483649') + c('SELECT', '2147483647') + c('SELECT', '-2147483648') + c('SELECT', '9223372036854775807') + c('SELECT', '-9223372036854775808') + c('SELECT', '9223372036854775808') + c('SELECT', '9007199254740993') + c('SELECT', ''),
  );
  await same('unknown', c('NOSUCH') + c('NOSUCH', 'a', 'b') + c('NOSUCH', long, long) + c('nosuch', 'a\r\nb'));
  await same('inline', 'PING\r\nECHO "a b"\r\n' + "ECHO 'c d'\r\n" + '\r\n');
});

test('MULTI / EXEC / DISCARD / WATCH errors and results match redis-server', async () => {
  await same('nesting', c('MULTI') + c('MULTI') + c('WATCH', 'x') + c('DISCARD') + c('DISCARD') + c('EXEC') + c('UNWATCH'));
  await same('execabort', c('MULTI') + c('SET', 'a') + c('NOSUCH', 'x') + c('SET', 'a', '1') + c('EXEC') + c('GET', 'a'));
  await same('exec', c('DEL', 'a') + c('MULTI') + c('SET', 'a', '1') + c('INCR', 'a') + c('GET', 'a') + c('PING') + c('ECHO', 'e') + c('EXEC'));
  await same('exec runtime error', c('DEL', 's') + c('MULTI') + c('SET', 's', 'abc') + c('INCR', 's') + c('GET', 's') + c('EXEC'));
  await same('empty exec', c('MULTI') + c('EXEC'));
  await same('connection commands queued', c('MULTI') + c('AUTH', 'x') + c('CLIENT', 'SETNAME', 'n') + c('WAIT', '0', '0') + c('SELECT', '0') + c('EXEC') + c('CLIENT', 'GETNAME'));
  await same('quit in multi', c('MULTI') + c('PING') + c('QUIT') + c('PING'), { closes: true });
  await same('exec with arguments', c('MULTI') + c('PING') + c('EXEC', 'x') + c('EXEC') + c('EXEC', 'y'));
  await same('own write aborts', c('WATCH', 'w') + c('SET', 'w', '1') + c('MULTI') + c('GET', 'w') + c('EXEC'));
  await same('watch then nothing', c('WATCH', 'w2') + c('MULTI') + c('SET', 'w2', '1') + c('EXEC'));
  await same('unwatch', c('WATCH', 'w3') + c('SET', 'w3', '1') + c('UNWATCH') + c('MULTI') + c('GET', 'w3') + c('EXEC'));
  await same('discard unwatches', c('WATCH', 'w4') + c('SET', 'w4', '1') + c('MULTI') + c('DISCARD') + c('MULTI') + c('GET', 'w4') + c('EXEC'));
  await same('flushall aborts', c('SET', 'w5', 'x') + c('WATCH', 'w5') + c('FLUSHALL') + c('MULTI') + c('PING') + c('EXEC'));
  await same('reset', c('MULTI') + c('PING') + c('RESET') + c('EXEC'));
  const setByScript = "return redis.call('set', KEYS[1], ARGV[1])";
  await same('a script writing a watched key aborts', c('WATCH', 'w6') + c('EVAL', setByScript, '1', 'w6', 'x') + c('MULTI') + c('GET', 'w6') + c('EXEC'));
  await same('a script in a transaction', c('MULTI') + c('EVAL', setByScript, '1', 'w7', 'y') + c('EVAL', "return redis.call('get', KEYS[1])", '1', 'w7') + c('EXEC'));
  await same('select in multi', c('MULTI') + c('SELECT', 'x') + c('SELECT', '0') + c('EXEC'));
});

test('CLIENT subcommands and their errors match redis-server', async () => {
  await same(
    'client',
    c('CLIENT', 'GETNAME') +
      c('CLIENT', 'SETNAME', 'a b') +
      c('CLIENT', 'SETNAME', 'ok-name') +
      c('CLIENT', 'GETNAME') +
      c('CLIENT', 'SETNAME', '') +
      c('CLIENT', 'GETNAME') +
      c('CLIENT', 'SETNAME') +
      c('CLIENT', 'NOPE') +
      c('CLIENT', 'KILL', '1.2.3.4:5') +
      c('CLIENT', 'KILL', 'ID', '0') +
      c('CLIENT', 'KILL', 'ID', 'abc') +
      c('CLIENT', 'KILL', 'ID', '999999') +
      c('CLIENT', 'KILL', 'FOO', 'bar') +
      c('CLIENT', 'KILL', 'ID') +
      c('CLIENT', 'KILL', 'SKIPME', 'maybe') +
      c('CLIENT', 'LIST', 'TYPE', 'bogus') +
      c('CLIENT', 'LIST', 'ID', 'x'),
  );
});

test('HELLO and AUTH errors without a password match redis-server', async () => {
  await same('hello', c('HELLO', '4') + c('HELLO', 'x') + c('HELLO', '2', 'FOO') + c('HELLO', '2', 'AUTH') + c('HELLO', '3', 'SETNAME', 'a b') + c('HELLO', '2', 'AUTH', 'bob', 'pw'));
  await same('auth', c('AUTH', 'x') + c('AUTH', 'default', 'anything') + c('AUTH', 'bob', 'x') + c('AUTH', 'a', 'b', 'c'));
});

test('WAIT argument errors match redis-server', async () => {
  await same('wait', c('WAIT', '0', '0') + c('WAIT', 'x', '0') + c('WAIT', '0', 'y') + c('WAIT', '0', '-1') + c('WAIT', '1'));
  await same(
    'wait at the limits of int64',
    c('WAIT', '0', '9223372036854775807') + c('WAIT', '0', '9007199254740993') + c('WAIT', '0', '9223372036854775808') + c('WAIT', '0', '-9223372036854775808') +
      c('WAIT', '9223372036854775807', '1') + c('WAIT', '-9223372036854775808', '0') + c('WAIT', '9223372036854775808', '0') + c('WAIT', '0', '1.5') + c('WAIT', '', '0'),
  );
});

test('HELLO and CLIENT integer arguments at the limits of int64 match redis-server', async () => {
  await same('hello', c('HELLO', '9223372036854775807') + c('HELLO', '9223372036854775808') + c('HELLO', '-9223372036854775808') + c('HELLO', '4294967298') + c('HELLO', '-1') + c('HELLO', '02'));
  await same(
    'client',
    c('CLIENT', 'KILL', 'ID', '9223372036854775807') + c('CLIENT', 'KILL', 'ID', '9007199254740993') + c('CLIENT', 'KILL', 'ID', '9223372036854775808') + c('CLIENT', 'KILL', 'ID', '-9223372036854775808') +
      c('CLIENT', 'LIST', 'ID', '9223372036854775807') + c('CLIENT', 'LIST', 'ID', '9223372036854775808') + c('CLIENT', 'LIST', 'ID', '0'),
  );
});

test('the subscribed context (RESP2) matches redis-server', async () => {
  // The sentinel port serves SUBSCRIBE; redis-server's pub/sub rules are the reference.
  const { startSentinelServer } = await import('../../src/server/sentinel.ts');
  const sentinel = await startSentinelServer({ node: new SingleNodeHarness(), port: 0 });
  try {
    const script =
      c('UNSUBSCRIBE') + c('PUNSUBSCRIBE') + c('SUBSCRIBE', 'a', 'b') + c('PING') + c('PING', 'x') + c('ECHO', 'y') + c('PSUBSCRIBE', 'c*') +
      c('UNSUBSCRIBE', 'a') + c('UNSUBSCRIBE') + c('PUNSUBSCRIBE') + c('PING');
    const theirs = await exchange(redis.port, script);
    const mine = await exchange(sentinel.port, script);
    assert.equal(mine, theirs);
  } finally {
    await sentinel.close();
  }
});

test('RESP3 replies after HELLO 3 match redis-server', async () => {
  const setup = c('HELLO', '3');
  await same('resp3', c('DEL', 'r') + c('GET', 'r') + c('SET', 'r', '1') + c('INCR', 'r') + c('MULTI') + c('GET', 'nope') + c('EXEC') + c('CLIENT', 'GETNAME') + c('ECHO', 'x'), { setup });
  await same('resp3 watch abort', c('WATCH', 'r') + c('SET', 'r', '2') + c('MULTI') + c('GET', 'r') + c('EXEC'), { setup });
  await same('resp3 reset', c('RESET') + c('GET', 'nope'), { setup });
});

test('QUIT and protocol errors close the connection exactly as redis-server does', async () => {
  await same('quit', c('PING') + c('QUIT') + c('PING'), { closes: true });
  await same('bad count', c('PING') + '*abc\r\n', { closes: true });
  await same('bad bulk', '*1\r\n$1073741824\r\n', { closes: true });
  await same('negative bulk', '*1\r\n$-5\r\n', { closes: true });
  await same('not a bulk', '*2\r\n$3\r\nGET\r\n:1\r\n', { closes: true });
  await same('unbalanced quotes', 'SET "a b\r\n', { closes: true });
});

test('NOAUTH, WRONGPASS and HELLO AUTH with a password match redis-server', async () => {
  const admin = await rawConnect(redis.port);
  admin.write(c('CONFIG', 'SET', 'requirepass', 'pw-1'));
  await admin.until((d) => d === '+OK\r\n');
  admin.end();
  const withPass = new RespServer({ node: new SingleNodeHarness(), port: 0, requirePass: 'pw-1' });
  const { port } = await withPass.listen();
  try {
    // Unknown commands and arity errors are reported before NOAUTH, as Redis orders its checks.
    const script =
      c('NOSUCH') + c('GET') + c('MULTI') + c('GET', 'a') + c('EXEC') + c('GET', 'a') + c('PING') + c('HELLO', '3') + c('AUTH', 'wrong') + c('AUTH', 'bob', 'pw-1') + c('AUTH', 'pw-1') + c('GET', 'never-set') + c('RESET') + c('PING') + c('HELLO', '2', 'AUTH', 'default', 'pw-1') + c('CLIENT', 'GETNAME');
    // HELLO's own map differs between servers (id, version): compare everything but that reply.
    const strip = (s: string): string => s.replace(/\*14\r\n\$6\r\nserver\r\n[\s\S]*?\$7\r\nmodules\r\n\*0\r\n/, '<hello>');
    const theirs = strip(await exchange(redis.port, script));
    const mine = strip(await exchange(port, script));
    assert.ok(theirs.includes('<hello>'), theirs);
    assert.equal(mine, theirs);
  } finally {
    const reset = await rawConnect(redis.port);
    reset.write(c('AUTH', 'pw-1') + c('CONFIG', 'SET', 'requirepass', ''));
    await reset.until((d) => d === '+OK\r\n+OK\r\n');
    reset.end();
    await withPass.close();
  }
});
