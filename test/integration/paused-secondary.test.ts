// A secondary is paused (SIGSTOP) so that it falls behind and is left out of
// dest, writes go on, then the primary is killed with SIGKILL and the paused
// secondary resumes (SIGCONT) at the same moment. The up-to-date secondary must
// win the election (a log behind cannot collect a majority), bring the lagging
// one up to date with the updates it lacks (claims 5–6), and lose no
// acknowledged write; every storage area ends identical.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { assertNoneLost, ProcessCluster, sentinelClient, writeLoad, type LoadResult } from './harness.ts';

/** Writes before the pause, while paused, and after the failover. */
const WRITES_BEFORE = 300;
const WRITES_PAUSED = 600;
const WRITES_AFTER = 300;
const MAX_PHASE_MS = 15_000;
const WORKERS = 4;

let cluster: ProcessCluster;
let redis: Redis | null = null;
let paused: number | null = null;

before(async () => {
  cluster = await ProcessCluster.create({ nodes: 3 });
  await cluster.startAll();
});

after(async () => {
  // A stopped process cannot act on SIGKILL until resumed: resume it first.
  if (paused !== null) process.kill(paused, 'SIGCONT');
  redis?.disconnect();
  await cluster?.close();
});

test('a paused secondary left behind is brought up to date by the new primary when the old one dies; nothing acknowledged is lost', async (t) => {
  const first = await cluster.waitPrimary();
  const [ahead, behind] = cluster.specs.map((s) => s.id).filter((id) => id !== first) as [string, string];
  redis = sentinelClient(cluster);
  const phase = (prefix: string, n: number): Promise<LoadResult> => writeLoad(redis!, { prefix, workers: WORKERS, maxWrites: n, maxMs: MAX_PHASE_MS });

  const p1 = await phase('before', WRITES_BEFORE);
  paused = cluster.pidOf(behind);
  process.kill(paused, 'SIGSTOP');
  const p2 = await phase('paused', WRITES_PAUSED);
  const st = await cluster.status(first);
  const left = st.secondaries.find((s) => s.id === behind);
  assert.ok(left && !left.inDest, `${behind} should have been left out of dest: ${JSON.stringify(st.secondaries)}`);
  const lag = st.log.lastLsn - left.ackedLsn;
  // Lag counts updates, and concurrent writes are gathered several to an update: at least one
  // whole update of the paused phase is missing there.
  assert.ok(lag > 0 && p2.acked.size >= WRITES_PAUSED / 2, `${behind} should lack the writes made while paused (lag ${lag} updates, ${p2.acked.size} writes acknowledged)`);

  await cluster.kill(first, 'SIGKILL');
  process.kill(paused, 'SIGCONT');
  paused = null;

  const second = await cluster.waitPrimary(undefined, first);
  assert.equal(second, ahead, `only ${ahead} holds every acknowledged write, so only it can win`);
  const p3 = await phase('after', WRITES_AFTER);

  for (const p of [p1, p2, p3]) {
    await assertNoneLost(redis, p.acked);
  }
  await cluster.start(first);
  const conv = await cluster.converged();
  assert.equal(new Set([...conv.values()].map((s) => s.digest)).size, 1);
  // Claims 5–6: the new primary shipped the lagging secondary the updates it lacked. (It
  // needed that secondary's vote to win, so the secondary took part in FailoverSync.)
  const epoch = conv.get(second)!.epoch;
  const report = (await cluster.failovers(second)).find((r) => r.newPrimary === second && r.newEpoch <= epoch && r.oldEpoch >= 1);
  assert.ok(report, `no failover report on ${second}`);
  assert.ok((report.shippedTo[behind] ?? 0) > 0, `FailoverSync shipped nothing to ${behind}: ${JSON.stringify(report)}`);
  t.diagnostic(
    `acknowledged ${p1.acked.size} + ${p2.acked.size} while ${behind} was paused (lag ${lag}) + ${p3.acked.size} after; 0 lost; ` +
      `failover report on ${second}: ${JSON.stringify(report)}`,
  );
});
