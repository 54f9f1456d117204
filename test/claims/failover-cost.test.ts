// Invariant 7: failover copies only the updates that differ. The cost of
// FailoverSync follows the updates a lagging secondary lacks, not the size of the
// data: the same scenario over a store ten times larger ships the same number of
// updates and resyncs no region.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shippedAfterFailover } from './failover-cost-helpers.ts';

test('FailoverSync ships what the lagging secondary lacks, independently of the data set size', () => {
  const small = shippedAfterFailover({ seed: 77, preloadKeys: 2_000, lagWrites: 40 });
  const large = shippedAfterFailover({ seed: 77, preloadKeys: 20_000, lagWrites: 40 });
  assert.ok(small.keys >= 2_000 && large.keys >= 20_000, `preloaded ${small.keys} and ${large.keys} keys`);
  for (const r of [small, large]) {
    assert.equal(r.regionsResynced, 0, 'no region resync while the logs suffice');
    // Exactly what the lagging node lacked: its lag in updates (writes it missed, plus the
    // configuration update that left it out of dest), nothing more.
    assert.equal(r.shipped, r.lagUpdates, `shipped ${r.shipped}, lag ${r.lagUpdates}`);
    assert.ok(r.lagUpdates < 60, `the lag is the ${r.lagUpdates} updates written while it was cut off`);
  }
  assert.equal(small.shipped, large.shipped, 'ten times the data, the same updates shipped');
});
