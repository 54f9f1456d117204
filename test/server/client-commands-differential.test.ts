// Differential tests of the client and diagnostics commands (CLIENT KILL / PAUSE / UNPAUSE /
// NO-EVICT / LIST TYPE, MONITOR, SLOWLOG, LATENCY, OBJECT IDLETIME / FREQ, TOUCH): the same
// bytes go to our server (over the single-node harness) and to a real redis-server 7.0, and
// the replies must be byte-identical. Where the output depends on time or on the server (MONITOR
// timestamps and client addresses, SLOWLOG ids, times and durations), both sides are reduced
// to the same shape first; no test asserts on a timing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServer, replyEnd } from '../kv/redis-server.ts';
import { RespServer } from '../../src/server/resp-server.ts';
import { SingleNodeHarness } from './single-node.ts';
import { cmd as c, rawConnect, type RawConn } from './raw-client.ts';

let redis: RedisServer;
/** Slowlog off, as redis-server is set up below: no entry depends on how fast a command ran. */
let ours: RespServer;

before(async () => {
  redis = await RedisServer.start();
  const admin = await rawConnect(redis.port);
  admin.write(c('CONFIG', 'SET', 'slowlog-log-slower-than', '-1'));
  await admin.until((d) => d === '+OK\r\n');
  admin.end();
  ours = new RespServer({ node: new SingleNodeHarness(), port: 0, diagnostics: { slowlogLogSlowerThanUs: -1 } });
  await ours.listen();
});

after(async () => {
  redis.stop();
  await ours.close();
});

const END = c('ECHO', '--end-of-script--');
const END_REPLY = '$17\r\n--end-of-script--\r\n';

async function exchange(port: number, script: string, opts: { closes?: boolean } = {}): Promise<string> {
  const conn = await rawConnect(port);
  conn.write(opts.closes ? script : script + END);
  const got = opts.closes ? await conn.closed() : await conn.until((d) => d.endsWith(END_REPLY), 'script');
  conn.end();
  return got;
}

async function same(name: string, script: string, opts: { closes?: boolean } = {}): Promise<void> {
  const theirs = await exchange(redis.port, script, opts);
  const mine = await exchange(ours.port, script, opts);
  assert.equal(mine, theirs, `${name}: our replies differ from redis-server's`);
}

test('CLIENT PAUSE, UNPAUSE and NO-EVICT arguments and errors match redis-server', async () => {
  await same(
    'pause',
    c('CLIENT', 'PAUSE') + c('CLIENT', 'PAUSE', 'abc') + c('CLIENT', 'PAUSE', '-1') + c('CLIENT', 'PAUSE', '1.5') + c('CLIENT', 'PAUSE', '10', 'foo') +
      c('CLIENT', 'PAUSE', '10', 'write', 'extra') + c('CLIENT', 'PAUSE', '0') + c('CLIENT', 'PAUSE', '0', 'WRITE') + c('CLIENT', 'PAUSE', '0', 'all') +
      c('CLIENT', 'PAUSE', '9223372036854775808') + c('CLIENT', 'UNPAUSE') + c('CLIENT', 'UNPAUSE', 'x') + c('SET', 'p', '1') + c('GET', 'p'),
  );
  await same('no-evict', c('CLIENT', 'NO-EVICT') + c('CLIENT', 'NO-EVICT', 'maybe') + c('CLIENT', 'NO-EVICT', 'on') + c('CLIENT', 'NO-EVICT', 'OFF') + c('CLIENT', 'NO-EVICT', 'on', 'x'));
});

test('CLIENT KILL filters and their errors match redis-server', async () => {
  await same(
    'kill filters',
    c('CLIENT', 'KILL', 'TYPE', 'foo') + c('CLIENT', 'KILL', 'TYPE', 'master') + c('CLIENT', 'KILL', 'TYPE', 'replica') + c('CLIENT', 'KILL', 'TYPE', 'slave') +
      c('CLIENT', 'KILL', 'TYPE', 'pubsub') + c('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes') + c('CLIENT', 'KILL', 'USER', 'nobody') +
      c('CLIENT', 'KILL', 'USER', 'default') + c('CLIENT', 'KILL', 'ADDR', '1.2.3.4:5') + c('CLIENT', 'KILL', 'LADDR', 'x') + c('CLIENT', 'KILL', 'id') +
      c('CLIENT', 'KILL', 'ID', '1', 'ID', '2') + c('CLIENT', 'KILL', '1.2.3.4:5', 'x') + c('CLIENT', 'KILL', 'TYPE', 'normal', 'USER', 'nobody') +
      c('CLIENT', 'KILL', 'USER', 'nobody', 'TYPE', 'foo') + c('CLIENT', 'LIST', 'TYPE', 'master') + c('CLIENT', 'LIST', 'TYPE', 'pubsub') + c('CLIENT', 'LIST', 'TYPE', 'replica'),
  );
  // Killing oneself by type answers the count, then closes once the reply is written.
  await same('kill self by type', c('PING') + c('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'no') + c('PING'), { closes: true });
  await same('kill self by user', c('CLIENT', 'KILL', 'USER', 'default', 'SKIPME', 'no') + c('PING'), { closes: true });
});

test('SLOWLOG and LATENCY replies and errors match redis-server', async () => {
  await same(
    'slowlog',
    c('SLOWLOG') + c('SLOWLOG', 'RESET') + c('SLOWLOG', 'GET') + c('SLOWLOG', 'GET', '0') + c('SLOWLOG', 'GET', '-1') + c('SLOWLOG', 'GET', '-2') + c('SLOWLOG', 'GET', 'abc') +
      c('SLOWLOG', 'GET', '1', '2') + c('SLOWLOG', 'LEN') + c('SLOWLOG', 'LEN', 'x') + c('SLOWLOG', 'RESET', 'x') + c('SLOWLOG', 'foo') + c('SLOWLOG', 'HELP') + c('SLOWLOG', 'HELP', 'x') +
      c('SLOWLOG', 'GET', '9223372036854775807') + c('SLOWLOG', 'GET', '9223372036854775808'),
  );
  await same(
    'latency',
    c('LATENCY') + c('LATENCY', 'LATEST') + c('LATENCY', 'LATEST', 'x') + c('LATENCY', 'HISTORY') + c('LATENCY', 'HISTORY', 'command') + c('LATENCY', 'HISTORY', 'foo') +
      c('LATENCY', 'RESET') + c('LATENCY', 'RESET', 'foo', 'bar') + c('LATENCY', 'DOCTOR') + c('LATENCY', 'DOCTOR', 'x') + c('LATENCY', 'foo'),
  );
});

test('OBJECT FREQ and IDLETIME, and TOUCH, match redis-server (noeviction: FREQ is refused)', async () => {
  await same(
    'object',
    c('DEL', 'o', 'h') + c('SET', 'o', '1') + c('HSET', 'h', 'f', 'v') + c('OBJECT', 'IDLETIME', 'nokey') + c('OBJECT', 'FREQ', 'o') + c('OBJECT', 'FREQ', 'nokey') +
      c('OBJECT', 'IDLETIME') + c('OBJECT', 'IDLETIME', 'o', 'x') + c('OBJECT', 'HELP', 'x') + c('OBJECT', 'foo', 'o') + c('TOUCH') + c('TOUCH', 'o', 'h', 'nokey', 'o'),
  );
  // An idle time depends on when a second boundary passes (Redis's LRU clock ticks in its cron):
  // compare the replies' shape, every integer as one.
  const script = c('OBJECT', 'IDLETIME', 'o') + c('MULTI') + c('OBJECT', 'IDLETIME', 'h') + c('DEL', 'h') + c('OBJECT', 'IDLETIME', 'h') + c('EXEC');
  const shape = (x: string): string => x.replace(/:\d+\r\n/g, ':<n>\r\n');
  const theirs = await exchange(redis.port, script);
  assert.equal(shape(await exchange(ours.port, script)), shape(theirs));
  assert.equal(shape(theirs), shape(':0\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:0\r\n:1\r\n$-1\r\n' + END_REPLY));
});

/** MONITOR output reduced to what does not depend on time or on the server: timestamps and client ports go. */
function monitorShape(s: string): string {
  return s.replace(/\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\]/g, '+<time> [0 <client>]');
}

async function monitorExchange(port: number, monitorScript: string, clientScript: string): Promise<{ monitor: string; client: string }> {
  const mon: RawConn = await rawConnect(port);
  mon.write(c('MONITOR'));
  await mon.until((d) => d.startsWith('+OK\r\n'), 'MONITOR');
  const client = await exchange(port, clientScript);
  // The monitoring client's own commands come last; the script ends out of monitor mode (RESET),
  // so the marker's reply is the last thing it receives.
  mon.write(monitorScript + END);
  const monitor = await mon.until((d) => d.endsWith(END_REPLY), 'monitor feed');
  mon.end();
  return { monitor, client };
}

test('MONITOR streams what ran, in Redis line format, and what a monitoring client may send, as redis-server does', async () => {
  const clientScript =
    c('SET', 'm', '1') + c('GET', 'm') + c('LPUSH', 'm', 'x') + c('NOSUCH') + c('GET') + c('MULTI') + c('SET', 'm2', '2') + c('INCR', 'm2') + c('PING') + c('EXEC') +
    c('MULTI') + c('GET') + c('EXEC') + c('AUTH', 'secret') + c('AUTH', 'user', 'secret') + c('CONFIG', 'GET', 'maxclients') + c('CLIENT', 'LIST', 'TYPE', 'master') + c('CLIENT', 'GETNAME') +
    c('SLOWLOG', 'LEN') + c('OBJECT', 'ENCODING', 'm') + c('PING') + c('SET', 'sp ace', Buffer.from('q"uo\\te\n\r\t\x07\x08\x00\xff é', 'latin1')) +
    c('HELLO', '2', 'AUTH', 'default', 'pw', 'SETNAME', 'a b') + c('CLIENT', 'KILL', '9.9.9.9:9') + c('DEL', 'm', 'm2', 'sp ace');
  const monitorScript = c('PING') + c('GET', 'm') + c('MONITOR') + c('MULTI') + c('MONITOR') + c('EXEC') + c('RESET') + c('PING');
  const theirs = await monitorExchange(redis.port, monitorScript, clientScript);
  const mine = await monitorExchange(ours.port, monitorScript, clientScript);
  assert.equal(mine.client, theirs.client, 'the sending client sees the same replies');
  assert.ok(theirs.monitor.includes('"set" "m" "1"') || theirs.monitor.includes('"SET" "m" "1"'), theirs.monitor);
  assert.equal(monitorShape(mine.monitor), monitorShape(theirs.monitor));
});

test('CONFIG GET and SET of slowlog-log-slower-than, slowlog-max-len and latency-monitor-threshold match redis-server', async () => {
  const names = ['slowlog-log-slower-than', 'slowlog-max-len', 'latency-monitor-threshold'];
  let script = names.map((n) => c('CONFIG', 'GET', n)).join('');
  for (const name of names)
    for (const v of ['-2', '-1', 'abc', '1.5', '010', '+5', '1k', '', '9223372036854775807', '9223372036854775808', '5']) script += c('CONFIG', 'SET', name, v) + c('CONFIG', 'GET', name);
  // Back to the state the other tests expect: slowlog off, 128 entries, latency monitor off.
  script += c('CONFIG', 'SET', 'slowlog-log-slower-than', '-1', 'slowlog-max-len', '128', 'latency-monitor-threshold', '0') + names.map((n) => c('CONFIG', 'GET', n)).join('');
  await same('config', script);
});

/**
 * Sends each command once the previous one is answered: here a connection command pipelined
 * behind a data command runs before it (the reply order is kept, not the order of running).
 */
async function oneByOne(port: number, cmds: readonly string[]): Promise<string> {
  const conn = await rawConnect(port);
  for (const x of cmds) {
    const before = conn.received().length;
    conn.write(x);
    await conn.until(() => replyEnd(conn.received(), before) !== -1, x);
  }
  conn.end();
  return conn.received().toString('latin1');
}

/** SLOWLOG GET output without what depends on time and on the server: ids, times, durations, client ports. */
function slowlogShape(s: string): string {
  return s.replace(/\*6\r\n:\d+\r\n:\d+\r\n:\d+\r\n/g, '*6\r\n<id time duration>\r\n').replace(/127\.0\.0\.1:\d+/g, '<client>');
}

test('SLOWLOG entries (every command logged) have redis-server\'s shape: arguments cut at 32 and at 128 bytes, AUTH redacted, client name', async () => {
  const many = Array.from({ length: 40 }, (_, i) => `e${i}`);
  const cmds = [
    c('CONFIG', 'SET', 'slowlog-log-slower-than', '0'),
    c('SLOWLOG', 'RESET'),
    c('CLIENT', 'SETNAME', 'logged'),
    c('DEL', 'sl', 'sk'),
    c('RPUSH', 'sl', ...many),
    c('SET', 'sk', 'v'.repeat(200)),
    c('AUTH', 'not-a-password'),
    c('GET', 'sk'),
  ];
  const tail = [c('SLOWLOG', 'GET', '-1'), c('SLOWLOG', 'LEN'), c('CONFIG', 'SET', 'slowlog-log-slower-than', '-1'), c('SLOWLOG', 'RESET')];
  const theirs = slowlogShape(await oneByOne(redis.port, [...cmds, ...tail]));
  const mine = slowlogShape(await oneByOne(ours.port, [...cmds, ...tail]));
  assert.ok(theirs.includes('... (11 more arguments)') && theirs.includes('... (72 more bytes)'), theirs);
  assert.equal(mine, theirs);
});
