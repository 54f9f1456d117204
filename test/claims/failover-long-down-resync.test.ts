// Failover: a secondary down for longer than the logs retain for it
// (limits.maxRetainedUpdates, or the same limit in bytes: limits.maxRetainedLogBytes). The primary marks it for a region resync rather
// than holding every log back, clears past it, and when it returns it is sent
// a restart point and the content of the regions changed meanwhile; it
// converges with nothing acknowledged lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResyncStartMsg } from '../../src/core/messages.ts';
import { assertConverged, Ledger, othersThan, recordDeliveries, replicaOf, restart, startCluster, storedValue } from './helpers.ts';

const RETAIN = 20;
/** opsBytes of one `SET down-<i> d<i>` (16 of overhead, key and value), the smallest of them. */
const MIN_WRITE_BYTES = 16 + 'down-0'.length + 'd0'.length;

const LIMITS = [
  { name: 'limits.maxRetainedUpdates', limits: { maxRetainedUpdates: RETAIN } },
  // In bytes: about RETAIN of these writes (each its own update here).
  { name: 'limits.maxRetainedLogBytes', limits: { maxRetainedBytes: RETAIN * MIN_WRITE_BYTES } },
];

for (const { name, limits } of LIMITS) test(`a secondary down beyond the retention limit (${name}) is marked for a region resync and converges when it returns`, () => {
  const { c, primary } = startCluster({ seed: 6060, limits });
  const P = primary.id;
  const [S, T] = othersThan(c, P) as [string, string];
  const ledger = new Ledger();
  for (let i = 0; i < 5; i++) ledger.set(c, P, `early-${i}`, `e${i}`);
  c.run(200);
  const tLast = replicaOf(c, T).log.last;

  c.crash(T);
  // The first write waits for T's acknowledgement until T is left out of dest.
  ledger.set(c, P, 'down-0', 'd0', 3000);
  for (let i = 1; i < 3 * RETAIN; i++) ledger.set(c, P, `down-${i}`, `d${i}`);
  c.run(300);

  const rp = replicaOf(c, P);
  const prog = rp.progressOf().find((p) => p.id === T)!;
  assert.equal(prog.inDest, false, 'T was left out of dest');
  assert.equal(prog.waived, true, 'T is marked for a region resync');
  assert.ok(prog.resyncRegions > 0, 'with the regions changed past what it holds');
  assert.ok(rp.log.start > tLast + 1, `the primary cleared past T's last update (${rp.log.start} > ${tLast + 1}): the logs were not held back`);
  assert.ok(replicaOf(c, S).log.start > tLast + 1, 'so did the other secondary');
  assert.ok(rp.log.last - (rp.log.start - 1) <= RETAIN + 5, 'the logs stay near the retention limit');

  let resync: ResyncStartMsg | null = null;
  recordDeliveries(c, (d) => {
    if (d.msg.t === 'resync-start' && d.to === T) resync = d.msg as ResyncStartMsg;
  });
  restart(c, T);
  assertConverged(c, 10_000);

  assert.ok(resync, 'T was told to restart its log and resync regions');
  const r = resync as ResyncStartMsg;
  assert.ok(r.afterLsn >= tLast, 'its log restarts after updates it never received');
  assert.ok(r.regions.length > 0, 'regions to fetch');
  assert.deepEqual(replicaOf(c, T).dirtyRegions, [], 'every region resynced');
  for (let i = 0; i < 3 * RETAIN; i++) assert.equal(storedValue(c.node(T), `down-${i}`), `d${i}`, `T holds down-${i}`);
  ledger.verify(c);
});
