// Failover: a secondary holding (and showing in its storage area) updates the
// new history does not have. Five nodes; only one secondary (A) receives the
// primary's last updates, then the primary crashes and A is cut off until the
// others have elected a new primary and written over that part of the log. When
// A returns it truncates its divergent tail and re-fetches the regions those
// updates had changed in its storage area; every copy ends equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConverged, awaitNewPrimary, digests, eventsOf, othersThan, type Pending, recordDeliveries, replicaOf, startWithDivergentSecondary, storedValue } from './helpers.ts';

test('a secondary with a divergent tail applied to its storage area truncates it and resyncs the regions it touched', () => {
  const { c, P, A, ledger } = startWithDivergentSecondary();
  // Only A receives the next four updates; two rewrite shared keys, two create keys.
  const tail: Pending[] = [
    ledger.submit(c, P, 'shared-0', 'tail-0'),
    ledger.submit(c, P, 'shared-1', 'tail-1'),
    ledger.submit(c, P, 'tail-only-0', 't0'),
    ledger.submit(c, P, 'tail-only-1', 't1'),
  ];
  const tailLast = replicaOf(c, P).log.last;
  assert.ok(c.runUntil(() => c.node(A).storage!.appliedLsn >= tailLast, 200), 'A applied the tail to its storage area');
  assert.equal(storedValue(c.node(A), 'shared-0'), 'tail-0', "A's storage area shows the uncommitted update");
  assert.equal(storedValue(c.node(A), 'tail-only-1'), 't1');

  c.crash(P);
  c.net.heal();
  c.net.isolate(A, othersThan(c, A));
  const W = awaitNewPrimary(c, P).id;
  assert.ok(W !== P && W !== A, 'one of the others is the new primary');
  assert.ok(tail.every((t) => !t.ok()), 'the tail was never acknowledged');
  for (let i = 0; i < 6; i++) ledger.set(c, W, `shared-${i % 3}`, `new-${i}`);
  assert.ok(replicaOf(c, W).log.last >= tailLast, 'the new history covers the lsns of the tail');

  const deliveries = recordDeliveries(c);
  const healAt = c.q.now;
  c.net.heal();
  assertConverged(c, 5000);

  const truncs = eventsOf(c, 'truncate').filter((e) => e.node === A && e.at >= healAt);
  assert.equal(truncs.length, 1, 'A truncated its divergent tail');
  assert.equal(truncs[0]!.e.removed, 4);
  assert.ok(deliveries.some((d) => d.from === A && d.to === W && d.msg.t === 'region-req'), 'A asked the new primary for the regions its tail had changed');
  assert.ok(deliveries.some((d) => d.from === W && d.to === A && d.msg.t === 'region-data'), 'and installed them');
  assert.deepEqual(replicaOf(c, A).dirtyRegions, []);
  assert.equal(storedValue(c.node(A), 'tail-only-0'), undefined, 'the tail is gone from its storage area');
  assert.equal(storedValue(c.node(A), 'tail-only-1'), undefined);
  assert.equal(storedValue(c.node(A), 'shared-0'), storedValue(c.node(W), 'shared-0'));
  const d = digests(c);
  assert.equal(new Set(d.map((x) => x.digest)).size, 1);
  ledger.verify(c);
});
