// Failover: a secondary truncates a divergent tail it had applied to its storage area,
// and crashes right after the truncation reached its log. The storage area's lowered
// applied lsn and dirty regions must be durable before the log's truncation is: else the
// restarted node finds a storage area saying it applied those lsns (with the old
// history's content) while its log holds the new history there, applies neither and
// fetches nothing, and its copy stays different for good (DESIGN.md invariant 6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConverged, awaitNewPrimary, eventsOf, othersThan, replicaOf, restart, startWithDivergentSecondary, storedValue, updateLogOf } from './helpers.ts';

test('a secondary that crashes just after truncating an applied divergent tail converges after restart', () => {
  const { c, P, A, ledger } = startWithDivergentSecondary();
  // Only A receives the next updates, and applies them to its storage area.
  ledger.submit(c, P, 'shared-0', 'tail-0');
  ledger.submit(c, P, 'tail-only-0', 't0');
  const tailLast = replicaOf(c, P).log.last;
  assert.ok(c.runUntil(() => c.node(A).storage!.appliedLsn >= tailLast, 200), 'A applied the tail to its storage area');
  // A storage sync makes the tail durable in A's storage area.
  assert.ok(c.runUntil(() => c.node(A).storage!.durableLsn >= tailLast, 500), "A's storage area made the tail durable");

  c.crash(P);
  c.net.heal();
  c.net.isolate(A, othersThan(c, A));
  const W = awaitNewPrimary(c, P).id;
  for (let i = 0; i < 6; i++) ledger.set(c, W, `shared-${i % 3}`, `new-${i}`);
  assert.ok(replicaOf(c, W).log.last >= tailLast, 'the new history covers the lsns of the tail');

  const healAt = c.q.now;
  c.net.heal();
  const truncated = (): boolean => eventsOf(c, 'truncate').some((e) => e.node === A && e.at >= healAt);
  assert.ok(c.runUntil(truncated, 3000), 'A truncated its divergent tail');
  // Crash A once the truncation (and the new history's updates after it) had time to reach
  // its log on disk, well before its storage area's next periodic sync.
  c.run(5);
  assert.equal(updateLogOf(c, A).lastEpoch, replicaOf(c, W).log.lastEpoch, "A's log holds the new history");
  c.crash(A);
  restart(c, A);
  assertConverged(c, 5000);
  assert.equal(storedValue(c.node(A), 'tail-only-0'), undefined, 'the tail is gone from its storage area');
  assert.equal(storedValue(c.node(A), 'shared-0'), storedValue(c.node(W), 'shared-0'));
  ledger.verify(c);
});
