// The failover report names the failed primary and its epoch, even when another
// node cut off from the primary tried to stand meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { awaitNewPrimary, eventsOf, Ledger, othersThan, replicaOf, startCluster } from './helpers.ts';

test('the failover summary names the failed primary and its epoch after a multi-round election', () => {
  const { c, primary } = startCluster({ seed: 505 });
  const P = primary.id;
  const [, T] = othersThan(c, P) as [string, string];
  const ledger = new Ledger();
  ledger.set(c, P, 'a', '1');
  // T hears nothing from P: it tries to stand (its pre-votes fail while S hears P).
  c.net.partition(P, T, true);
  ledger.set(c, P, 'b', '2', 3000);
  c.run(500);
  const oldEpoch = replicaOf(c, P).currentEpoch;
  assert.equal(replicaOf(c, T).currentEpoch, oldEpoch, 'T did not raise its epoch while cut off (pre-vote)');
  c.crash(P);
  c.net.heal();
  const np = awaitNewPrimary(c, P);
  const f = eventsOf(c, 'failover').filter((e) => e.node === np.id).at(-1)!.e.summary;
  assert.equal(f.oldPrimary, P);
  assert.equal(f.oldEpoch, oldEpoch);
  assert.ok(f.detectionMs >= 0 && f.electionMs >= 0 && f.failoverSyncMs >= 0);
  assert.ok(f.committedBefore >= 2, 'the new primary had learned that the writes before the crash were committed');
  assert.equal(f.acknowledgedWritesLost, 0, 'computed from what the new primary holds');
});
