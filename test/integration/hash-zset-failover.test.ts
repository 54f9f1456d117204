// Hashes and sorted sets through a kill -9 of the primary, written by two real clients: ioredis
// workers (HSET and ZADD, HINCRBY now and then), and a redis-py process in Sentinel mode
// (Debian's python3-redis) doing the same. Afterwards, on the new primary, every acknowledged field holds its value and every acknowledged member its score, nothing is there
// that no client sent, and the restarted node converges to an equal digest.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { MASTER_NAME, ProcessCluster, REPO_ROOT, sentinelClient, sleep } from './harness.ts';

const WORKERS = 3;
/** Bounded load: this many writes or this long, whichever first. */
const MAX_WRITES = 1500;
const MAX_LOAD_MS = 15_000;
const KILL_AFTER_ACKS = 400;
const ERROR_BACKOFF_MS = 20;
/** Debian's interpreter, where apt-get puts python3-redis (a PATH python may be another one). */
const PYTHON = '/usr/bin/python3';

let cluster: ProcessCluster;
let redis: Redis | undefined;

before(async () => {
  cluster = await ProcessCluster.create({ nodes: 3 });
  await cluster.startAll();
});

after(async () => {
  redis?.disconnect();
  await cluster?.close();
});

/** One write a client was asked to make, and whether it was acknowledged. */
interface Sent {
  readonly kind: 'hset' | 'zadd';
  readonly key: string;
  readonly name: string;
  readonly value: string;
  acked: boolean;
}

/** Reads every hash and sorted set written and checks the acknowledged writes against them. */
async function checkAcknowledged(client: Redis, sent: readonly Sent[], counters: ReadonlyMap<string, number>): Promise<number> {
  let lost = 0;
  const keys = new Map<string, 'hset' | 'zadd'>();
  for (const s of sent) keys.set(s.key, s.kind);
  for (const [key, kind] of keys) {
    const mine = sent.filter((s) => s.key === key);
    const known = new Map(mine.map((s) => [s.name, s.value]));
    if (kind === 'hset') {
      const got = await client.hgetall(key);
      for (const [f, v] of Object.entries(got)) {
        if (f === 'counter') continue;
        assert.equal(known.get(f), v, `${key} holds ${f}=${v}, which no client sent`);
      }
      for (const s of mine) if (s.acked && got[s.name] !== s.value) lost++;
      const acked = counters.get(key) ?? 0;
      const counter = Number(got.counter ?? 0);
      // Every acknowledged HINCRBY is counted; an unacknowledged one may have been applied too.
      assert.ok(counter >= acked, `${key} counter ${counter} below its ${acked} acknowledged increments`);
    } else {
      const got = await client.zrange(key, '0', '-1', 'WITHSCORES');
      const scores = new Map<string, string>();
      for (let i = 0; i < got.length; i += 2) scores.set(got[i]!, got[i + 1]!);
      for (const [m, sc] of scores) assert.equal(known.get(m), sc, `${key} holds ${m} with score ${sc}, which no client sent`);
      for (const s of mine) if (s.acked && scores.get(s.name) !== s.value) lost++;
      assert.equal(await client.zcard(key), scores.size);
    }
  }
  return lost;
}

test('kill -9 of the primary while ioredis writes hashes and sorted sets: every acknowledged field and member is there', async (t) => {
  const first = await cluster.waitPrimary();
  redis = sentinelClient(cluster);
  const client = redis;
  await client.hset('warmup', 'f', 'v');
  const sent: Sent[] = [];
  const counters = new Map<string, number>();
  let acks = 0;
  let attempts = 0;
  let killing: Promise<unknown> | null = null;
  const errors: string[] = [];
  const started = Date.now();
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; attempts < MAX_WRITES && Date.now() - started < MAX_LOAD_MS; i++) {
      attempts++;
      const kind = i % 2 === 0 ? 'hset' : 'zadd';
      const s: Sent = kind === 'hset' ? { kind, key: `hash:${w}`, name: `f${i}`, value: `v${w}.${i}`, acked: false } : { kind, key: `zset:${w}`, name: `m${i}`, value: String((i * 7919) % 1000), acked: false };
      sent.push(s);
      try {
        if (kind === 'hset') assert.equal(await client.hset(s.key, s.name, s.value), 1);
        else assert.equal(await client.zadd(s.key, s.value, s.name), 1);
        s.acked = true;
        acks++;
        if (i % 10 === 0) {
          await client.hincrby(`hash:${w}`, 'counter', 1);
          counters.set(`hash:${w}`, (counters.get(`hash:${w}`) ?? 0) + 1);
        }
        if (acks >= KILL_AFTER_ACKS && killing === null) killing = cluster.kill(first, 'SIGKILL');
      } catch (e) {
        if (errors.length < 20) errors.push((e as Error).message);
        await sleep(ERROR_BACKOFF_MS);
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  assert.ok(killing, `the load ended before ${KILL_AFTER_ACKS} acknowledgements (${acks}; errors: ${errors.join(' | ')})`);
  assert.deepEqual(await killing, { code: null, signal: 'SIGKILL' });
  const second = await cluster.waitPrimary(undefined, first);
  assert.notEqual(second, first);
  assert.ok(acks > KILL_AFTER_ACKS, `no write acknowledged after the kill (errors: ${errors.join(' | ')})`);
  assert.equal(await checkAcknowledged(client, sent, counters), 0, 'acknowledged fields or members missing');
  t.diagnostic(`writes: ${attempts} attempted, ${acks} acknowledged, 0 lost; ${errors.length} errors during the failover`);

  await cluster.rejoinAndConverge(first, second, () => client.hset('after-rejoin', 'f', 'v'));
});

test('kill -9 of the primary while redis-py (Sentinel mode) writes hashes and sorted sets: every acknowledged write is there', async (t) => {
  const probe = spawnSync(PYTHON, ['-c', 'import redis'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `${PYTHON} cannot import redis (${probe.stderr.trim()}): apt-get install -y python3-redis (.ci/run does)`);
  const first = await cluster.waitPrimary();
  redis ??= sentinelClient(cluster);
  const client = redis;
  const sentinels = cluster.specs.map((s) => `${s.host}:${s.sentinelPort}`).join(',');
  const child = spawn(PYTHON, [`${REPO_ROOT}test/integration/redis-py-writer.py`, sentinels, MASTER_NAME, String(MAX_WRITES), String(MAX_LOAD_MS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const sent = new Map<string, Sent>();
  let acks = 0;
  let killing: Promise<unknown> | null = null;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    // "send kind key name value", then "ack key name" once redis-py returned.
    const [what, a, b, c, d] = line.split(' ');
    if (what === 'send') sent.set(`${b} ${c}`, { kind: a as 'hset' | 'zadd', key: b!, name: c!, value: d!, acked: false });
    else if (what === 'ack') {
      sent.get(`${a} ${b}`)!.acked = true;
      acks++;
      if (acks >= KILL_AFTER_ACKS && killing === null) killing = cluster.kill(first, 'SIGKILL');
    }
  });
  const exit = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  assert.equal(exit, 0, `redis-py writer failed: ${stderr}`);
  assert.ok(killing, `the load ended before ${KILL_AFTER_ACKS} acknowledgements (${acks}): ${stderr}`);
  assert.deepEqual(await killing, { code: null, signal: 'SIGKILL' });
  const second = await cluster.waitPrimary(undefined, first);
  assert.notEqual(second, first);
  assert.equal(await checkAcknowledged(client, [...sent.values()], new Map()), 0, 'acknowledged fields or members missing');
  t.diagnostic(`redis-py writes: ${sent.size} sent, ${acks} acknowledged, 0 lost`);
  await cluster.rejoinAndConverge(first, second, () => client.hset('after-rejoin', 'f', 'w'));
});
