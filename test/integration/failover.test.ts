// The primary's process is killed with SIGKILL while a Sentinel-aware client
// (ioredis) writes continuously: the client carries on against the new primary,
// every write it was told OK about is read back, and the killed node restarts,
// rejoins as a secondary and ends with a storage digest equal to the others'.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { assertNoneLost, ProcessCluster, sentinelClient, waitFor, writeLoad, CONVERGE_TIMEOUT_MS } from './harness.ts';

/** Bounded load: this many writes or this long, whichever first. */
const MAX_WRITES = 3000;
const MAX_LOAD_MS = 15_000;
/** The primary dies once this many writes were acknowledged. */
const KILL_AFTER_ACKS = 800;
const WORKERS = 4;

let cluster: ProcessCluster;
const clients: Redis[] = [];

before(async () => {
  // Demo mode on: the last test kills the primary through the dashboard's action.
  cluster = await ProcessCluster.create({ nodes: 3, extra: { demo: true } });
  await cluster.startAll();
});

after(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.close();
});

function trackedClient(c: ProcessCluster): Redis {
  const r = sentinelClient(c);
  clients.push(r);
  return r;
}

test('kill -9 of the primary under load: no acknowledged write lost, the old primary rejoins with an equal digest', async (t) => {
  const first = await cluster.waitPrimary();
  const redis = trackedClient(cluster);
  await redis.set('warmup', '1');

  let killedAt = 0;
  let killing: Promise<unknown> | null = null;
  const load = await writeLoad(redis, {
    prefix: 'fo',
    workers: WORKERS,
    maxWrites: MAX_WRITES,
    maxMs: MAX_LOAD_MS,
    onAck: (n) => {
      if (n >= KILL_AFTER_ACKS && killing === null) {
        killedAt = Date.now();
        killing = cluster.kill(first, 'SIGKILL');
      }
    },
  });
  assert.ok(killing, `the load ended before ${KILL_AFTER_ACKS} acknowledgements (acked ${load.acked.size}; errors: ${load.errors.slice(0, 5).join(' | ')})`);
  const exit = await killing;
  assert.deepEqual(exit, { code: null, signal: 'SIGKILL' });

  const second = await cluster.waitPrimary(undefined, first);
  assert.notEqual(second, first);
  // The client carried on against the new primary after the kill.
  const ackedAfterKill = [...load.acked.keys()].length - KILL_AFTER_ACKS;
  assert.ok(ackedAfterKill > 0, `no write was acknowledged after the kill (errors: ${load.errors.slice(0, 5).join(' | ')})`);

  await assertNoneLost(redis, load.acked);

  // The new primary reports the failover it completed. (Its oldPrimary is the primary it knew
  // when it stood for election: null when an earlier candidate's failed round came first.)
  const secondStatus = await cluster.status(second);
  const reports = await cluster.failovers(second);
  const report = reports.find((r) => r.newPrimary === second && r.newEpoch === secondStatus.epoch);
  assert.ok(report, `no failover report for ${second} in epoch ${secondStatus.epoch} on ${second}: ${JSON.stringify(reports)}`);
  t.diagnostic(
    `writes: ${load.attempts} attempted, ${load.acked.size} acknowledged (${ackedAfterKill} after the kill), ${load.unknown.size} unknown, 0 lost; ` +
      `client-observed gap ${load.maxGapMs} ms; failover detection ${report.detectionMs.toFixed(0)} ms + election ${report.electionMs.toFixed(0)} ms + sync ${report.failoverSyncMs.toFixed(0)} ms; ` +
      `shipped ${JSON.stringify(report.shippedTo)}, truncated ${JSON.stringify(report.truncated)}, reported old primary ${String(report.oldPrimary)} epoch ${report.oldEpoch}; ` +
      `kill → new primary's report ${report.at - killedAt} ms; load ${load.elapsedMs} ms`,
  );

  // The killed node restarts, rejoins as a secondary of the new primary and converges.
  await cluster.start(first);
  await waitFor(`${first} to rejoin as a secondary of ${second}`, CONVERGE_TIMEOUT_MS, async () => {
    const s = await cluster.statusOrNull(first);
    return s?.role === 'secondary' && s.primaryId === second ? s : undefined;
  });
  await redis.set('after-rejoin', 'x'); // one more update through the whole cluster
  const st = await cluster.converged();
  const digests = new Set([...st.values()].map((s) => s.digest));
  assert.equal(digests.size, 1, `digests differ: ${JSON.stringify([...st.values()].map((s) => [s.id, s.digest]))}`);
  assert.equal(st.get(first)?.keys, st.get(second)?.keys);
});

test("demo mode: kill-primary asked of a secondary's admin API kills the primary's process; another takes over", async () => {
  const before = await cluster.waitPrimary();
  const secondary = cluster.specs.map((s) => s.id).find((id) => id !== before)!;
  const pid = cluster.pidOf(before);
  const r = await fetch(`${cluster.adminUrl(secondary)}/demo/kill-primary`, { method: 'POST', signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { ok: true, killed: before });
  await waitFor(`${before} (pid ${pid}) to exit`, CONVERGE_TIMEOUT_MS, () => (cluster.isRunning(before) ? undefined : true));
  assert.deepEqual(cluster.lastExit.get(before), { code: null, signal: 'SIGKILL' }, 'the primary ended abruptly (kill -9), not by an orderly stop');
  const after = await cluster.waitPrimary(undefined, before);
  assert.notEqual(after, before);
});
