// Failover: the old primary returns with an unreplicated tail. Cut off from both
// secondaries, it takes writes it cannot commit; the others elect a new primary
// and commit other writes; when the cut heals, the old primary truncates its
// divergent tail and its storage area equals the new primary's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConverged, awaitNewPrimary, digests, eventsOf, Ledger, othersThan, replicaOf, startCluster, storedValue } from './helpers.ts';

test('an old primary returning with an unreplicated tail truncates it and converges to the new primary', () => {
  const { c, primary } = startCluster({ seed: 1 });
  const P = primary.id;
  const others = othersThan(c, P);
  const ledger = new Ledger();
  for (let i = 0; i < 3; i++) ledger.set(c, P, `before-${i}`, `b${i}`);
  c.run(100);
  const committedBefore = replicaOf(c, P).commit;
  const oldEpoch = replicaOf(c, P).currentEpoch;

  c.net.isolate(P, others);
  const tail = [0, 1, 2].map((i) => ledger.submit(c, P, `tail-${i}`, `t${i}`));
  const tailLsns = [replicaOf(c, P).log.last - 2, replicaOf(c, P).log.last];
  assert.ok(tailLsns[0]! > committedBefore, "the tail is in the old primary's log only");
  const W = awaitNewPrimary(c, P).id;
  assert.ok(others.includes(W));
  for (let i = 0; i < 5; i++) ledger.set(c, W, `after-${i}`, `a${i}`);
  c.run(300);

  // The old primary could not commit its tail: its clients never got OK.
  assert.ok(tail.every((t) => t.done() && !t.ok()), `the tail writes failed: ${tail.map((t) => t.s.reply).join(' | ')}`);
  assert.notEqual(replicaOf(c, P).currentRole, 'primary', 'the cut-off primary stepped down');
  for (const l of tailLsns) assert.equal(replicaOf(c, P).log.get(l)?.epoch, oldEpoch, 'its log still holds the tail of its old epoch');
  const healAt = c.q.now;
  c.net.heal();

  assertConverged(c);
  const truncs = eventsOf(c, 'truncate').filter((e) => e.node === P && e.at >= healAt);
  assert.equal(truncs.length, 1, 'the old primary truncated once');
  assert.equal(truncs[0]!.e.afterLsn, committedBefore, 'right after the last update the new history shares');
  assert.equal(truncs[0]!.e.removed, 3, 'exactly the unreplicated tail');
  for (const l of tailLsns) assert.notEqual(replicaOf(c, P).log.get(l)?.epoch, oldEpoch, 'the tail is gone from its log');
  const d = digests(c);
  assert.equal(d.find((x) => x.id === P)!.digest, d.find((x) => x.id === W)!.digest, "the old primary's storage area equals the new primary's");
  for (const n of c.nodes) for (let i = 0; i < 3; i++) assert.equal(storedValue(n, `tail-${i}`), undefined, `${n.id} holds none of the tail`);
  ledger.verify(c);
});
