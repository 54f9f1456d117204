// A secondary's process is killed with SIGKILL under load and restarted while
// the load goes on: writes keep being acknowledged by the primary and the other
// secondary (a majority) while it is down; on restart it catches up from the
// retained logs, and every node ends with an equal storage digest.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { assertNoneLost, CONVERGE_TIMEOUT_MS, ProcessCluster, sentinelClient, waitFor, writeLoad, SHARED_MACHINE_TIMING } from './harness.ts';

const MAX_WRITES = 3000;
const MAX_LOAD_MS = 15_000;
/** The secondary dies after this many acknowledgements and is restarted after RESTART_AFTER_ACKS. */
const KILL_AFTER_ACKS = 500;
const RESTART_AFTER_ACKS = 1500;
const WORKERS = 4;
/** WAIT's timeout in the orderly-stop test. */
const WAIT_TIMEOUT_MS = 300;

let cluster: ProcessCluster;
let redis: Redis | null = null;

before(async () => {
  cluster = await ProcessCluster.create({ nodes: 3, extra: { timing: SHARED_MACHINE_TIMING } });
  await cluster.startAll();
});

after(async () => {
  redis?.disconnect();
  await cluster?.close();
});

test('kill -9 and restart of a secondary under load: writes continue, it catches up, digests equal', async (t) => {
  const primary = await cluster.waitPrimary();
  const victim = cluster.specs.map((s) => s.id).find((id) => id !== primary)!;
  redis = sentinelClient(cluster);
  await redis.set('warmup', '1');

  let killing: Promise<unknown> | null = null;
  let restarting: Promise<void> | null = null;
  let ackedWhileDown = 0;
  let down = false;
  const load = await writeLoad(redis, {
    prefix: 'sr',
    workers: WORKERS,
    maxWrites: MAX_WRITES,
    maxMs: MAX_LOAD_MS,
    onAck: (n) => {
      if (down) ackedWhileDown++;
      if (n >= KILL_AFTER_ACKS && killing === null) {
        down = true;
        killing = cluster.kill(victim, 'SIGKILL');
      }
      if (n >= RESTART_AFTER_ACKS && restarting === null && killing !== null) {
        restarting = killing.then(() => cluster.start(victim)).then(() => {
          down = false;
        });
      }
    },
  });
  assert.ok(killing, `the load ended before ${KILL_AFTER_ACKS} acknowledgements (${load.errors.slice(0, 5).join(' | ')})`);
  assert.ok(restarting, `the load ended before ${RESTART_AFTER_ACKS} acknowledgements (${load.errors.slice(0, 5).join(' | ')})`);
  await restarting;
  assert.ok(ackedWhileDown > 0, 'no write was acknowledged while the secondary was down');

  await assertNoneLost(redis, load.acked);

  await redis.set('after-restart', 'x');
  const st = await cluster.converged();
  assert.equal(new Set([...st.values()].map((s) => s.digest)).size, 1);
  const p = [...st.values()].find((s) => s.role === 'primary')!;
  assert.equal(p.id, primary, 'the primary should not have changed when a secondary died');
  // Equal data comes first; its return to dest is a configuration update it must then acknowledge.
  const back = await waitFor(`${victim} back in dest`, CONVERGE_TIMEOUT_MS, async () => {
    const s = (await cluster.status(primary)).secondaries.find((x) => x.id === victim);
    return s?.inDest ? s : undefined;
  }).catch(() => p.secondaries.find((s) => s.id === victim));
  assert.ok(back?.inDest, `${victim} should be back in dest: ${JSON.stringify(p.secondaries)}`);
  t.diagnostic(
    `writes: ${load.attempts} attempted, ${load.acked.size} acknowledged (${ackedWhileDown} while ${victim} was down), ${load.unknown.size} unknown, 0 lost; ` +
      `longest client-observed gap ${load.maxGapMs} ms; ${victim} caught up to lsn ${st.get(victim)?.log.lastLsn}`,
  );
});

test('SIGTERM stops a node in order (exit code 0, log and storage closed) and it restarts from its files', async () => {
  const primary = await cluster.waitPrimary();
  const victim = cluster.specs.map((s) => s.id).find((id) => id !== primary)!;
  const exit = await cluster.kill(victim, 'SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, `orderly stop failed:\n${cluster.logTail(victim)}`);
  assert.match(cluster.logTail(victim, 5), /"msg":"stopped"/);
  await redis!.set('while-stopped', 'y');
  // WAIT: with one secondary stopped only the other holds the write; the primary waits out the timeout.
  const waitStarted = Date.now();
  assert.equal(await redis!.call('WAIT', '2', String(WAIT_TIMEOUT_MS)), 1);
  assert.ok(Date.now() - waitStarted >= WAIT_TIMEOUT_MS - 5, 'WAIT answered before its timeout with a secondary missing');
  await cluster.start(victim);
  await redis!.set('after-orderly-restart', 'z');
  const st = await cluster.converged();
  // Both secondaries hold every write again.
  assert.equal(await redis!.call('WAIT', '2', String(WAIT_TIMEOUT_MS)), 2);
  assert.equal(new Set([...st.values()].map((s) => s.digest)).size, 1);
  assert.equal(st.get(victim)?.role, 'secondary');
});
