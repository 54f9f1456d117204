// Differential tests of pub/sub: the same scripts, over several connections at
// once, go to our data port (over the single-node harness) and to a real
// redis-server 7.0; every connection's bytes must be identical, in RESP2 and
// RESP3. Scripts avoid what Redis orders by hash (UNSUBSCRIBE of several
// channels at once, PUBSUB CHANNELS with several channels).
import { test } from 'node:test';
import { cmd as c } from './raw-client.ts';
import { serversUnderTest } from './differential-session.ts';

const servers = serversUnderTest();

const same = servers.same;

const HELLO3 = c('HELLO', '3');

test('SUBSCRIBE, PSUBSCRIBE and PUBLISH between connections match redis-server (RESP2)', async () => {
  await same('channel and pattern', 2, [
    [0, c('SUBSCRIBE', 'news', 'news', 'other') + c('PSUBSCRIBE', 'n*', 'x?z')],
    [1, c('PUBLISH', 'news', 'hello') + c('PUBLISH', 'xyz', 'p') + c('PUBLISH', 'nobody', 'q') + c('PUBLISH', 'other', '')],
    [0, c('UNSUBSCRIBE', 'news') + c('PUNSUBSCRIBE', 'x?z')],
    [1, c('PUBLISH', 'news', 'again') + c('PUBSUB', 'NUMSUB', 'news', 'other', 'none') + c('PUBSUB', 'NUMPAT') + c('PUBSUB', 'CHANNELS') + c('PUBSUB', 'CHANNELS', 'o*')],
    [0, c('UNSUBSCRIBE', 'other') + c('PUNSUBSCRIBE') + c('UNSUBSCRIBE') + c('GET', 'k')],
  ]);
  await same('binary channel and message', 2, [
    [0, c('SUBSCRIBE', Buffer.from([0, 0xff, 0x0d, 0x0a])) + c('PSUBSCRIBE', Buffer.from([0xfe, 0x2a]))],
    [1, c('PUBLISH', Buffer.from([0, 0xff, 0x0d, 0x0a]), Buffer.from([1, 2, 0xff])) + c('PUBLISH', Buffer.from([0xfe, 0x41, 0x42]), 'm')],
  ]);
  await same('a publisher subscribed to its own channel', 1, [[0, c('HELLO', '3') + c('SUBSCRIBE', 'me') + c('PSUBSCRIBE', 'm*') + c('PUBLISH', 'me', 'self')]]);
});

test('the subscribed context, RESET and errors match redis-server (RESP2)', async () => {
  await same('context', 1, [
    [
      0,
      c('UNSUBSCRIBE') + c('PUNSUBSCRIBE') + c('SUNSUBSCRIBE') + c('SUBSCRIBE', 'a') + c('PUBLISH', 'a', 'b') + c('PUBSUB', 'NUMSUB') + c('PUBSUB', 'FOO') +
        c('PUBSUB') + c('GET', 'x') + c('SET', 'x', '1') + c('PING') + c('PING', 'x') + c('SSUBSCRIBE', 's') + c('UNSUBSCRIBE', 'a') + c('GET', 'x') +
        c('SUNSUBSCRIBE') + c('GET', 'x') + c('SUBSCRIBE', 'r') + c('RESET') + c('PING') + c('PUBSUB', 'NUMSUB', 'r'),
    ],
  ]);
  await same('arity and subcommand errors', 1, [
    [
      0,
      c('SUBSCRIBE') + c('PSUBSCRIBE') + c('SSUBSCRIBE') + c('PUBLISH', 'a') + c('PUBLISH', 'a', 'b', 'c') + c('SPUBLISH', 'a') + c('PUBSUB', 'NUMPAT', 'x') +
        c('PUBSUB', 'CHANNELS', '*', 'x') + c('PUBSUB', 'SHARDCHANNELS', '*', 'x') + c('PUBSUB', 'HELP') + c('PUBSUB', 'help', 'x') + c('PUBSUB', 'nope', 'x') + c('PUBSUB', 'SHARDNUMSUB'),
    ],
  ]);
});

test('SUBSCRIBE and PUBLISH inside MULTI match redis-server (RESP2 and RESP3)', async () => {
  await same('multi resp2', 1, [
    [0, c('MULTI') + c('SUBSCRIBE', 'a', 'b') + c('PING') + c('UNSUBSCRIBE', 'b') + c('PSUBSCRIBE', 'p*') + c('EXEC') + c('PING') + c('GET', 'x') + c('UNSUBSCRIBE', 'a') + c('PUNSUBSCRIBE')],
  ]);
  await same('multi resp3', 2, [
    [0, c('HELLO', '3') + c('MULTI') + c('SUBSCRIBE', 'a', 'b') + c('PING') + c('PUBLISH', 'a', 'self') + c('GET', 'x') + c('SET', 'x', '1') + c('EXEC')],
    [1, c('PUBLISH', 'b', 'other') + c('MULTI') + c('PUBLISH', 'a', 'm1') + c('PUBLISH', 'b', 'm2') + c('EXEC')],
  ]);
});

test('shard channels (SSUBSCRIBE, SPUBLISH, PUBSUB SHARD*) match redis-server', async () => {
  await same('shard', 2, [
    [0, c('SSUBSCRIBE', 'sh', 'sh') + c('SUBSCRIBE', 'sh') + c('PSUBSCRIBE', 's*')],
    [1, c('SPUBLISH', 'sh', 'm1') + c('PUBLISH', 'sh', 'm2') + c('PUBSUB', 'SHARDNUMSUB', 'sh', 'x') + c('PUBSUB', 'SHARDCHANNELS') + c('PUBSUB', 'SHARDCHANNELS', 'z*') + c('PUBSUB', 'NUMSUB', 'sh')],
    [0, c('SUNSUBSCRIBE', 'sh') + c('SUNSUBSCRIBE', 'sh')],
    [1, c('SPUBLISH', 'sh', 'm3')],
  ]);
});

test('pub/sub in RESP3 (push messages, no subscribed context) matches redis-server', async () => {
  await same('resp3', 2, [
    [0, HELLO3 + c('SUBSCRIBE', 'a', 'b') + c('PSUBSCRIBE', 'a*') + c('SSUBSCRIBE', 'c') + c('GET', 'x') + c('SET', 'x', '1') + c('PING')],
    [1, c('PUBLISH', 'a', 'one') + c('SPUBLISH', 'c', 'two') + c('PUBLISH', 'b', 'three')],
    [0, c('UNSUBSCRIBE', 'a') + c('PUNSUBSCRIBE', 'a*') + c('SUNSUBSCRIBE') + c('UNSUBSCRIBE', 'b') + c('UNSUBSCRIBE') + c('PUBSUB', 'NUMSUB', 'a')],
    [1, c('HELLO', '3') + c('PUBSUB', 'NUMSUB', 'a', 'b') + c('PUBSUB', 'CHANNELS') + c('PUBLISH', 'a', 'gone')],
  ]);
});
