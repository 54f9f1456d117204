// A job queue through a kill -9 of the primary, with real ioredis clients in Sentinel mode:
// producers LPUSH jobs (each id pushed once: producers never resend an unanswered push),
// consumers block in BLMOVE from the queue into their own processing list and acknowledge a
// job with LREM once they have it. The primary's process is killed while all of this runs.
// Afterwards no acknowledged job is lost (each was delivered to a consumer, or is still in the
// queue or in a processing list, where a pop whose reply died with the primary leaves it), no
// job was handed out twice by pops that were answered, nothing is there that no producer sent,
// and the restarted node converges to an equal digest.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { ProcessCluster, SHARED_MACHINE_TIMING, sentinelClient, sleep } from './harness.ts';

const PRODUCERS = 3;
const CONSUMERS = 4;
/** Bounded load: this many jobs or this long, whichever first. */
const MAX_JOBS = 900;
const MAX_LOAD_MS = 15_000;
/** The queue must be drained within this after the producers stop. */
const DRAIN_MS = 20_000;
const KILL_AFTER_DELIVERIES = 250;
const ERROR_BACKOFF_MS = 20;
/** BLMOVE's timeout, seconds: consumers look up now and then whether the work is over. */
const POP_TIMEOUT_S = 0.5;

let cluster: ProcessCluster;
const clients: Redis[] = [];

before(async () => {
  // The subject is the queue through a failover, not how fast one is detected: timing that a
  // busy shared machine does not turn into spurious elections.
  cluster = await ProcessCluster.create({ nodes: 3, extra: { timing: SHARED_MACHINE_TIMING } });
  await cluster.startAll();
});

after(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.close();
});

/** One connection per worker: a blocked BLMOVE holds its connection, as with Redis. */
function client(resend: boolean): Redis {
  // A producer's unanswered LPUSH is never sent again (its outcome stays unknown), so every job
  // id is in the queue at most once and a job delivered twice would be a real double pop.
  const r = sentinelClient(cluster, { commandTimeout: 5000, autoResendUnfulfilledCommands: resend });
  clients.push(r);
  return r;
}

test('kill -9 of the primary under a BLMOVE job queue: no acknowledged job lost, none handed out twice', async (t) => {
  const first = await cluster.waitPrimary();
  const admin = client(true);
  await admin.set('warmup', 'x');
  const pushed = new Set<string>();
  const acked = new Set<string>();
  const delivered = new Map<string, number>();
  const errors: string[] = [];
  let deliveries = 0;
  let jobs = 0;
  let producing = true;
  let killing: Promise<unknown> | null = null;
  const started = Date.now();
  const note = (e: unknown): void => {
    if (errors.length < 20) errors.push((e as Error).message);
  };

  const producer = async (p: number, c: Redis): Promise<void> => {
    for (let i = 0; jobs < MAX_JOBS && Date.now() - started < MAX_LOAD_MS; i++) {
      jobs++;
      const job = `job:${p}:${i}`;
      pushed.add(job);
      try {
        await c.lpush('jobs', job);
        acked.add(job);
      } catch (e) {
        note(e);
        await sleep(ERROR_BACKOFF_MS);
      }
    }
  };

  const consumer = async (w: number, c: Redis): Promise<void> => {
    const processing = `processing:${w}`;
    const drainBy = (): number => (producing ? Infinity : drainStart + DRAIN_MS);
    for (;;) {
      if (Date.now() > drainBy()) return;
      let job: string | null;
      try {
        job = await c.blmove('jobs', processing, 'RIGHT', 'LEFT', POP_TIMEOUT_S);
      } catch (e) {
        note(e);
        await sleep(ERROR_BACKOFF_MS);
        continue;
      }
      if (job === null) {
        if (!producing && (await c.llen('jobs').catch(() => -1)) === 0) return;
        continue;
      }
      delivered.set(job, (delivered.get(job) ?? 0) + 1);
      deliveries++;
      if (deliveries >= KILL_AFTER_DELIVERIES && killing === null) killing = cluster.kill(first, 'SIGKILL');
      // The acknowledgement: an error leaves the job in the processing list, where it is counted.
      await c.lrem(processing, 1, job).catch(note);
    }
  };

  let drainStart = Infinity;
  const consumers = Array.from({ length: CONSUMERS }, (_, w) => consumer(w, client(true)));
  await Promise.all(Array.from({ length: PRODUCERS }, (_, p) => producer(p, client(false))));
  producing = false;
  drainStart = Date.now();
  await Promise.all(consumers);

  assert.ok(killing, `the load ended before ${KILL_AFTER_DELIVERIES} deliveries (${deliveries}; errors: ${errors.join(' | ')})`);
  assert.deepEqual(await killing, { code: null, signal: 'SIGKILL' });
  const second = await cluster.waitPrimary(undefined, first);
  assert.notEqual(second, first);
  assert.ok(deliveries > KILL_AFTER_DELIVERIES, `no job delivered after the kill (errors: ${errors.join(' | ')})`);

  const queue = await admin.lrange('jobs', 0, -1);
  assert.deepEqual(queue, [], 'the consumers drained the queue');
  const inProcessing = new Set<string>();
  for (let w = 0; w < CONSUMERS; w++) for (const j of await admin.lrange(`processing:${w}`, 0, -1)) inProcessing.add(j);

  const twice = [...delivered].filter(([, n]) => n > 1).map(([j]) => j);
  assert.deepEqual(twice, [], 'jobs handed out by more than one answered pop');
  for (const j of [...delivered.keys(), ...inProcessing]) assert.ok(pushed.has(j), `${j} was never pushed`);
  const lost = [...acked].filter((j) => !delivered.has(j) && !inProcessing.has(j));
  assert.deepEqual(lost, [], 'acknowledged jobs neither delivered nor left in a processing list');
  t.diagnostic(
    `jobs: ${jobs} pushed, ${acked.size} acknowledged, ${deliveries} delivered, ${inProcessing.size} left in processing lists by pops in flight at the kill; errors: ${errors.length}`,
  );

  await cluster.rejoinAndConverge(first, second, () => admin.rpush('after-rejoin', 'x'));
});
