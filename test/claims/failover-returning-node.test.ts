// A node cut off from the cluster must not depose the healthy primary when it
// returns. Without pre-vote it would stand again and again while alone, raising
// its epoch, and its refusal of the primary's next append (carrying the higher
// epoch) would depose the primary. With pre-vote it never gets a majority's
// pre-votes while alone, so its epoch stays put.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConverged, awaitNewPrimary, eventsOf, Ledger, othersThan, replicaOf, startCluster } from './helpers.ts';

test('a node returning from isolation with a higher epoch does not depose the primary', () => {
  const { c, primary } = startCluster({ seed: 1 });
  const P = primary.id;
  const ledger = new Ledger();
  for (let i = 0; i < 3; i++) ledger.set(c, P, `before-${i}`, `b${i}`);
  c.run(100);
  c.net.isolate(P, othersThan(c, P));
  const W = awaitNewPrimary(c, P).id;
  for (let i = 0; i < 5; i++) ledger.set(c, W, `after-${i}`, `a${i}`);
  c.run(1500); // P would stand again and again while alone
  const epochW = replicaOf(c, W).currentEpoch;
  assert.ok(replicaOf(c, P).currentEpoch < epochW, 'P did not raise its epoch while cut off (its pre-votes failed)');
  const healAt = c.q.now;
  c.net.heal();
  c.run(1500);
  const changes = eventsOf(c, 'role').filter((e) => e.at >= healAt && e.node !== P).map((e) => `${e.at.toFixed(0)} ${e.node} ${e.e.role} epoch ${e.e.epoch}`);
  assert.deepEqual(changes, [], 'nobody but the returning node changes role');
  assert.equal(c.primary()?.id, W);
  assertConverged(c);
  ledger.verify(c);
});
