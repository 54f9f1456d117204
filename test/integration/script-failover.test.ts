// Scripts through a kill -9 of the primary, with ioredis: a script-based rate limiter (INCR +
// PEXPIRE in one EVALSHA) and a Redlock-style lock (SET NX PX, released by a compare-and-delete
// script) run while the primary's process is killed. Afterwards no acknowledged increment is
// lost (the limiter never allowed more than its limit), no two workers ever held the lock at
// once, and the new primary runs both scripts by sha: the one SCRIPT LOAD cached and the one
// EVAL cached — the script cache went through the log like any write, to every node.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { ProcessCluster, sentinelClient, sleep } from './harness.ts';

const WORKERS = 3;
/** Bounded load: this many script calls or this long, whichever first. */
const MAX_CALLS = 1200;
const MAX_LOAD_MS = 15_000;
const KILL_AFTER_ACKS = 300;
const ERROR_BACKOFF_MS = 20;
/** The limiter's allowance per window; the window outlasts the test, so it never resets. */
const RATE_LIMIT = 150;
const RATE_WINDOW_MS = 600_000;
/** Long enough that no lock expires during a failover on a loaded machine. */
const LOCK_TTL_MS = 30_000;

const RATE_LIMITER = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return 0 end
return 1`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

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

test('kill -9 of the primary under a script rate limiter and a Redlock-style lock: nothing lost, never two holders, EVALSHA works on the new primary', async (t) => {
  const first = await cluster.waitPrimary();
  redis = sentinelClient(cluster);
  const client = redis;
  const limiterSha = (await client.script('LOAD', RATE_LIMITER)) as string;
  // The release script is cached by EVAL, not SCRIPT LOAD: both must reach the new primary.
  assert.equal(await client.eval(RELEASE, 1, 'lock', 'nobody'), 0);
  const releaseSha = createHash('sha1').update(RELEASE).digest('hex');

  let acks = 0;
  let calls = 0;
  let allowed = 0;
  const incrementsAcked = new Map<string, number>();
  let holders = 0;
  let maxHolders = 0;
  let lockAcquired = 0;
  let killing: Promise<unknown> | null = null;
  const errors: string[] = [];
  const started = Date.now();
  const ack = (): void => {
    acks++;
    if (acks >= KILL_AFTER_ACKS && killing === null) killing = cluster.kill(first, 'SIGKILL');
  };
  const fail = async (e: unknown): Promise<void> => {
    if (errors.length < 20) errors.push((e as Error).message);
    await sleep(ERROR_BACKOFF_MS);
  };
  const limiter = async (w: number): Promise<void> => {
    const key = `rate:${w}`;
    while (calls < MAX_CALLS && Date.now() - started < MAX_LOAD_MS) {
      calls++;
      try {
        const r = await client.evalsha(limiterSha, 1, key, String(RATE_LIMIT), String(RATE_WINDOW_MS));
        assert.ok(r === 0 || r === 1, `limiter replied ${String(r)}`);
        if (r === 1) allowed++;
        incrementsAcked.set(key, (incrementsAcked.get(key) ?? 0) + 1);
        ack();
      } catch (e) {
        await fail(e);
      }
    }
  };
  const locker = async (w: number): Promise<void> => {
    for (let i = 0; calls < MAX_CALLS && Date.now() - started < MAX_LOAD_MS; i++) {
      calls++;
      const token = `${w}:${i}`;
      let got: unknown;
      try {
        got = await client.set('lock', token, 'PX', LOCK_TTL_MS, 'NX');
      } catch (e) {
        // Outcome unknown: if it was applied, the token is in the lock; release it below.
        got = 'unknown';
        await fail(e);
      }
      if (got === 'OK') {
        holders++;
        lockAcquired++;
        maxHolders = Math.max(maxHolders, holders);
        ack();
        holders--; // the critical section ends when the release is decided
      }
      // A null may answer a resend of our own SET that was applied before a failover (the client
      // retries): the lock then holds our token, and is ours to release.
      if (got === null) {
        let mine = false;
        try {
          mine = (await client.get('lock')) === token;
        } catch (e) {
          await fail(e);
          mine = true; // unknown: release (compare-and-delete makes it harmless)
        }
        if (!mine) continue;
      }
      // Release (retried until a reply: the compare-and-delete makes a repeat harmless).
      for (;;) {
        try {
          await client.evalsha(releaseSha, 1, 'lock', token);
          ack();
          break;
        } catch (e) {
          await fail(e);
        }
      }
    }
  };
  await Promise.all([...Array.from({ length: WORKERS }, (_, w) => limiter(w)), locker(0), locker(1)]);
  assert.ok(killing, `the load ended before ${KILL_AFTER_ACKS} acknowledgements (${acks}; errors: ${errors.join(' | ')})`);
  assert.deepEqual(await killing, { code: null, signal: 'SIGKILL' });
  const second = await cluster.waitPrimary(undefined, first);
  assert.notEqual(second, first);

  // Every acknowledged INCR of the limiter is there (an unacknowledged one may be too).
  for (const [key, n] of incrementsAcked) {
    const stored = Number(await client.get(key));
    assert.ok(stored >= n, `${key} holds ${stored}, but ${n} increments were acknowledged`);
  }
  assert.ok(allowed <= WORKERS * RATE_LIMIT, `the limiter allowed ${allowed} calls, above ${WORKERS} × ${RATE_LIMIT}`);
  assert.equal(maxHolders, 1, 'two workers held the lock at once');
  assert.ok(lockAcquired > 0, 'no lock was ever acquired');

  // The new primary knows both shas: no NOSCRIPT, and they run against its data.
  assert.deepEqual(await client.script('EXISTS', limiterSha, releaseSha), [1, 1]);
  assert.equal(await client.set('lock', 'mine', 'PX', LOCK_TTL_MS, 'NX'), 'OK');
  assert.equal(await client.evalsha(releaseSha, 1, 'lock', 'other'), 0);
  assert.equal(await client.evalsha(releaseSha, 1, 'lock', 'mine'), 1);
  assert.equal(await client.evalsha(limiterSha, 1, 'rate:new', '1', String(RATE_WINDOW_MS)), 1);
  t.diagnostic(`script calls: ${calls}, ${acks} acknowledged; limiter allowed ${allowed}; lock taken ${lockAcquired} times; ${errors.length} errors during the failover`);

  // The killed node comes back as a secondary and holds the same scripts and data.
  await cluster.rejoinAndConverge(first, second, () => client.set('after-rejoin', 'x'));
  const direct = new Redis({ port: cluster.spec(first).redisPort, host: '127.0.0.1', lazyConnect: true });
  try {
    await direct.connect();
    assert.deepEqual(await direct.script('EXISTS', limiterSha, releaseSha), [1, 1], `${first} (a secondary now) lacks a script`);
    // A secondary runs a read-only script by sha, and refuses its writes as a Redis replica does.
    assert.equal(await direct.call('EVALSHA_RO', releaseSha, '1', 'nolock', 'x'), 0);
    await assert.rejects(direct.evalsha(limiterSha, 1, 'rate:x', '1', '1000'), /READONLY You can't write against a read only replica/);
  } finally {
    direct.disconnect();
  }
});
