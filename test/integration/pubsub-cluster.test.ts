// Pub/sub across a real 3-node process cluster: ioredis subscribers on every
// node receive what is published at the primary and at a secondary (carried on
// the peer channel), PUBLISH counts this node's receivers as Redis does, and
// the sentinel port's +switch-master stays its own; keyspace notifications and
// tracking invalidations come from every node that applies a change.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { ProcessCluster, SHARED_MACHINE_TIMING, waitFor } from './harness.ts';
import { cmd, rawConnect, type RawConn } from '../server/raw-client.ts';

/** How long a published message may take to reach a subscriber on another node. */
const DELIVERY_TIMEOUT_MS = 10_000;

let cluster: ProcessCluster;
const clients: Redis[] = [];

function client(id: string): Redis {
  const r = new Redis({ port: cluster.spec(id).redisPort, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 1 });
  clients.push(r);
  return r;
}

before(async () => {
  cluster = await ProcessCluster.create({ nodes: 3, extra: { timing: SHARED_MACHINE_TIMING } });
  await cluster.startAll();
});

after(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.close();
});

interface Got {
  readonly node: string;
  readonly channel: string;
  readonly message: string;
  readonly pattern?: string;
}

test('a message published at any node reaches ioredis subscribers on every node; PUBLISH counts the local receivers', async () => {
  const primary = await cluster.waitPrimary();
  const ids = cluster.specs.map((s) => s.id);
  const secondaries = ids.filter((id) => id !== primary);
  const got: Got[] = [];
  for (const id of ids) {
    const sub = client(id);
    sub.on('message', (channel: string, message: string) => got.push({ node: id, channel, message }));
    sub.on('pmessage', (pattern: string, channel: string, message: string) => got.push({ node: id, channel, message, pattern }));
    await sub.subscribe('orders');
    await sub.psubscribe('ord*');
  }
  const has = (node: string, message: string, pattern?: string): boolean =>
    got.some((g) => g.node === node && g.message === message && g.channel === 'orders' && g.pattern === pattern);

  // At the primary: its own subscriber counts twice (channel and pattern), the others are remote.
  const atPrimary = client(primary);
  assert.equal(await atPrimary.publish('orders', 'from-primary'), 2);
  await waitFor('every node delivers the primary’s message', DELIVERY_TIMEOUT_MS, () =>
    ids.every((id) => has(id, 'from-primary') && has(id, 'from-primary', 'ord*')) ? true : undefined,
  );

  // At a secondary: the primary's and the other secondary's subscribers get it too.
  const atSecondary = client(secondaries[0]!);
  assert.equal(await atSecondary.publish('orders', 'from-secondary'), 2);
  await waitFor('every node delivers the secondary’s message', DELIVERY_TIMEOUT_MS, () =>
    ids.every((id) => has(id, 'from-secondary') && has(id, 'from-secondary', 'ord*')) ? true : undefined,
  );
  // Exactly once per subscription on each node: no node relays what it received.
  for (const id of ids) for (const m of ['from-primary', 'from-secondary']) assert.equal(got.filter((g) => g.node === id && g.message === m).length, 2, `${id} ${m}`);

  // PUBSUB answers for this node's subscriptions, as Redis Cluster does.
  assert.deepEqual(await atSecondary.pubsub('NUMSUB', 'orders'), ['orders', 1]);
  assert.equal(await atSecondary.pubsub('NUMPAT'), 1);
});

test('SPUBLISH reaches shard subscribers on every node; +switch-master subscribers on the sentinel port get no data-port messages', async () => {
  const primary = await cluster.waitPrimary();
  const ids = cluster.specs.map((s) => s.id);
  const got: Array<{ node: string; message: string }> = [];
  const subs: Redis[] = [];
  for (const id of ids) {
    const sub = client(id);
    subs.push(sub);
    sub.on('smessage', (_channel: string, message: string) => got.push({ node: id, message }));
    await sub.call('SSUBSCRIBE', 'shard-a');
  }
  const sentinel = new Redis({ port: cluster.spec(primary).sentinelPort, host: '127.0.0.1' });
  clients.push(sentinel);
  const sentinelGot: string[] = [];
  sentinel.on('message', (channel: string) => sentinelGot.push(channel));
  await sentinel.subscribe('+switch-master');
  const pub = client(ids.find((id) => id !== primary)!);
  // Published first: peers deliver in order, so it has arrived wherever it goes once m1 has.
  assert.equal(await pub.publish('+switch-master', 'not a sentinel event'), 0);
  assert.equal(await pub.call('SPUBLISH', 'shard-a', 'm1'), 1);
  await waitFor('every node delivers the shard message', DELIVERY_TIMEOUT_MS, () => (ids.every((id) => got.some((g) => g.node === id && g.message === 'm1')) ? true : undefined));
  await sentinel.ping(); // anything already queued for the sentinel subscriber came before this reply
  assert.deepEqual(sentinelGot, []);
});

test('keyspace notifications, expired included, are published by every node that applies the change', async () => {
  const primary = await cluster.waitPrimary();
  const ids = cluster.specs.map((s) => s.id);
  const got: Array<{ node: string; channel: string; message: string }> = [];
  for (const id of ids) {
    const admin = client(id);
    // A per-node setting, as on Redis: each node is told what to publish.
    assert.equal(await admin.config('SET', 'notify-keyspace-events', 'KEA'), 'OK');
    const sub = client(id);
    sub.on('pmessage', (_p: string, channel: string, message: string) => got.push({ node: id, channel, message }));
    await sub.psubscribe('__key*@0__:ks-*', '__keyevent@0__:*');
  }
  const w = client(primary);
  await w.set('ks-a', '1', 'PX', 300); // set, expire, and later expired (active expiry at the primary)
  await w.incr('ks-n');
  await w.rpush('ks-l', 'x');
  await w.lpop('ks-l'); // empties it: lpop, then del
  const keyspace = (node: string): string[] => got.filter((g) => g.node === node && g.channel.startsWith('__keyspace@0__:ks-')).map((g) => `${g.channel.slice(15)} ${g.message}`);
  const want = ['ks-a set', 'ks-a expire', 'ks-n incrby', 'ks-l rpush', 'ks-l lpop', 'ks-l del', 'ks-a expired'];
  await waitFor('every node publishes the events, expired last', DELIVERY_TIMEOUT_MS, () => (ids.every((id) => keyspace(id).length >= want.length) ? true : undefined));
  for (const id of ids) {
    assert.deepEqual(keyspace(id), want, id);
    assert.ok(got.some((g) => g.node === id && g.channel === '__keyevent@0__:expired' && g.message === 'ks-a'), `${id} keyevent expired`);
  }
  for (const id of ids) assert.equal(await client(id).config('SET', 'notify-keyspace-events', ''), 'OK');
});

test('CLIENT TRACKING invalidates keys read on a secondary and on the primary when the change is applied there', async () => {
  const primary = await cluster.waitPrimary();
  const ids = cluster.specs.map((s) => s.id);
  const w = client(primary);
  await w.set('tr-k', 'v1');
  // Wait until every node holds the first value, so each tracked read reads it.
  const readers = new Map<string, RawConn>();
  for (const id of ids) {
    await waitFor(`${id} holds tr-k`, DELIVERY_TIMEOUT_MS, async () => ((await client(id).get('tr-k')) === 'v1' ? true : undefined));
    const r = await rawConnect(cluster.spec(id).redisPort);
    readers.set(id, r);
    r.write(cmd('HELLO', '3') + cmd('CLIENT', 'TRACKING', 'ON') + cmd('GET', 'tr-k'));
    await r.until((d) => d.endsWith('$2\r\nv1\r\n'), `${id} tracked read`);
  }
  await w.set('tr-k', 'v2');
  const push = '>2\r\n$10\r\ninvalidate\r\n*1\r\n$4\r\ntr-k\r\n';
  for (const [id, r] of readers) {
    await r.until((d) => d.includes(push), `${id} invalidation`);
    r.end();
  }
});
