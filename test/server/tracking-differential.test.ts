// CLIENT TRACKING against redis-server 7.0: invalidation pushes in RESP3,
// redirection to a RESP2 subscriber of __redis__:invalidate, BCAST with
// prefixes, OPTIN/OPTOUT with CLIENT CACHING, FLUSHALL's null invalidation,
// CLIENT GETREDIR / TRACKINGINFO, and the option errors. Our side runs over the
// single-node harness, which announces each applied update as a node does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd as c, rawConnect, type RawConn } from './raw-client.ts';
import { serversUnderTest } from './differential-session.ts';

const servers = serversUnderTest();

const same = servers.same;

test('RESP3 tracking: a read key is invalidated once when another client changes it', async () => {
  await same('default mode', 2, [
    [1, c('FLUSHALL') + c('SET', 'a', '1') + c('SET', 'b', '1') + c('RPUSH', 'l', 'x') + c('HSET', 'h', 'f', 'v')],
    [0, c('HELLO', '3') + c('CLIENT', 'TRACKING', 'ON') + c('GET', 'a') + c('MGET', 'b', 'nokey') + c('LRANGE', 'l', '0', '-1') + c('HGET', 'h', 'f') + c('CLIENT', 'TRACKINGINFO') + c('CLIENT', 'GETREDIR')],
    [1, c('SET', 'a', '2') + c('SET', 'a', '3') + c('DEL', 'b') + c('RPUSH', 'l', 'y') + c('HDEL', 'h', 'f') + c('SET', 'nokey', 'now') + c('SET', 'unread', 'x')],
    [0, c('GET', 'a') + c('CLIENT', 'TRACKING', 'OFF') + c('CLIENT', 'TRACKINGINFO')],
    [1, c('SET', 'a', '4')],
  ]);
});

/** A RESP2 client tracking with REDIRECT to a subscriber; the redirect id is asked of each server. */
async function redirectSession(port: number): Promise<string> {
  const sub = await rawConnect(port);
  const tracker = await rawConnect(port);
  const writer = await rawConnect(port);
  sub.write(c('CLIENT', 'ID'));
  const id = /^:(\d+)\r\n$/.exec(await sub.until((d) => d.endsWith('\r\n')))![1]!;
  sub.write(c('SUBSCRIBE', '__redis__:invalidate'));
  await sub.until((d) => d.includes('invalidate\r\n:1\r\n'));
  writer.write(c('FLUSHALL') + c('SET', 'k', 'v') + c('SET', 'j', 'v'));
  await writer.until((d) => d === '+OK\r\n+OK\r\n+OK\r\n');
  tracker.write(c('CLIENT', 'TRACKING', 'ON', 'REDIRECT', id) + c('GET', 'k') + c('GET', 'j') + c('CLIENT', 'GETREDIR'));
  const got = await tracker.until((d) => d.endsWith(`:${id}\r\n`));
  writer.write(c('SET', 'k', 'w') + c('FLUSHALL'));
  await writer.until((d) => d.endsWith('+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n'));
  sub.write(c('PING', 'end'));
  const heard = await sub.until((d) => d.endsWith('$3\r\nend\r\n'));
  for (const x of [sub, tracker, writer]) x.end();
  return `${got.replace(`:${id}\r\n`, ':<id>\r\n')}|${heard.slice(heard.indexOf('invalidate\r\n:1\r\n'))}`;
}

test('RESP2 tracking redirected to a subscriber of __redis__:invalidate; FLUSHALL invalidates everything', async () => {
  assert.equal(await redirectSession(servers.ours().port), await redirectSession(servers.redis().port));
});

test('BCAST with prefixes, OPTIN and OPTOUT with CLIENT CACHING match redis-server', async () => {
  await same('bcast', 2, [
    [0, c('HELLO', '3') + c('CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'user:', 'PREFIX', 'job:') + c('CLIENT', 'TRACKINGINFO')],
    // One write per step: Redis batches a broadcast per event-loop turn, understudy per update.
    [1, c('SET', 'user:1', 'a')],
    [1, c('SET', 'other', 'b')],
    [1, c('SET', 'job:7', 'c')],
    [1, c('MSET', 'user:2', 'x', 'user:1', 'y', 'job:1', 'z')],
  ]);
  await same('optin', 2, [
    [1, c('SET', 'p', '1') + c('SET', 'q', '1')],
    [0, c('HELLO', '3') + c('CLIENT', 'TRACKING', 'ON', 'OPTIN') + c('GET', 'p') + c('CLIENT', 'CACHING', 'yes') + c('GET', 'q') + c('CLIENT', 'TRACKINGINFO')],
    [1, c('SET', 'p', '2') + c('SET', 'q', '2')],
  ]);
  await same('optout', 2, [
    [1, c('SET', 'p', '1') + c('SET', 'q', '1')],
    [0, c('HELLO', '3') + c('CLIENT', 'TRACKING', 'ON', 'OPTOUT') + c('CLIENT', 'CACHING', 'no') + c('GET', 'p') + c('GET', 'q')],
    [1, c('SET', 'p', '2') + c('SET', 'q', '2')],
  ]);
  await same('flushall', 2, [
    [0, c('HELLO', '3') + c('CLIENT', 'TRACKING', 'ON') + c('GET', 'p')],
    [1, c('FLUSHALL')],
  ]);
});

test('CLIENT TRACKING and CACHING errors match redis-server', async () => {
  await same('errors', 1, [
    [
      0,
      c('CLIENT', 'TRACKING') + c('CLIENT', 'TRACKING', 'maybe') + c('CLIENT', 'TRACKING', 'ON', 'REDIRECT', '99999') + c('CLIENT', 'TRACKING', 'ON', 'PREFIX', 'a') +
        c('CLIENT', 'TRACKING', 'ON', 'OPTIN', 'OPTOUT') + c('CLIENT', 'TRACKING', 'ON', 'BCAST', 'OPTIN') + c('CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'fo', 'PREFIX', 'foo') +
        c('CLIENT', 'TRACKING', 'ON', 'FOO') + c('CLIENT', 'CACHING', 'yes') + c('CLIENT', 'GETREDIR') + c('CLIENT', 'TRACKINGINFO') + c('CLIENT', 'TRACKING', 'ON') + c('CLIENT', 'GETREDIR') +
        c('CLIENT', 'TRACKING', 'ON', 'BCAST') + c('CLIENT', 'CACHING', 'yes') + c('CLIENT', 'TRACKING', 'OFF') + c('CLIENT', 'TRACKING', 'ON', 'OPTIN') + c('CLIENT', 'CACHING', 'maybe') +
        c('CLIENT', 'CACHING', 'no') + c('CLIENT', 'TRACKING', 'ON', 'REDIRECT', 'abc') + c('CLIENT', 'TRACKING', 'OFF', 'BCAST') + c('CLIENT', 'TRACKING', 'ON', 'REDIRECT') + c('CLIENT', 'TRACKINGINFO'),
    ],
  ]);
});

test('INFO reports pub/sub and tracking figures as redis-server does', async () => {
  const fields = ['tracking_clients', 'pubsub_channels', 'pubsub_patterns', 'pubsubshard_channels', 'tracking_total_keys', 'tracking_total_items', 'tracking_total_prefixes'];
  const figures = async (port: number): Promise<string[]> => {
    const conns = await Promise.all([0, 1, 2, 3, 4].map(() => rawConnect(port)));
    const [subscriber, bcast, reader, reader2, info] = conns as [RawConn, RawConn, RawConn, RawConn, RawConn];
    subscriber.write(c('SUBSCRIBE', 'x', 'y') + c('PSUBSCRIBE', 'p*') + c('SSUBSCRIBE', 's'));
    await subscriber.until((d) => d.includes('ssubscribe'));
    bcast.write(c('CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'a', 'PREFIX', 'b'));
    await bcast.until((d) => d === '+OK\r\n');
    for (const r of [reader, reader2]) {
      r.write(c('CLIENT', 'TRACKING', 'ON') + c('MGET', 'k1', 'k2'));
      await r.until((d) => d.endsWith('$-1\r\n$-1\r\n'));
    }
    info.write(c('INFO', 'clients') + c('INFO', 'stats'));
    const text = await info.until((d) => d.includes('tracking_total_prefixes:') && d.includes('tracking_clients:'));
    for (const x of conns) x.end();
    return fields.map((f) => text.split('\r\n').find((l) => l.startsWith(`${f}:`)) ?? `${f} missing`);
  };
  assert.deepEqual(await figures(servers.ours().port), await figures(servers.redis().port));
});
