// Failover: a secondary down for a while, but within what the logs retain for it
// (limits.maxRetainedUpdates): it catches up from the logs alone. Beyond the
// limit, see failover-long-down-resync.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConverged, Ledger, othersThan, recordDeliveries, replicaOf, restart, startCluster, storedValue } from './helpers.ts';

test('a secondary down within the retention limit catches up from the logs alone, without a region resync', () => {
  const { c, primary } = startCluster({ seed: 6061, limits: { maxRetainedUpdates: 1000 } });
  const P = primary.id;
  const [, T] = othersThan(c, P) as [string, string];
  const ledger = new Ledger();
  for (let i = 0; i < 5; i++) ledger.set(c, P, `early-${i}`, `e${i}`);
  c.run(200);
  const tLast = replicaOf(c, T).log.last;
  c.crash(T);
  ledger.set(c, P, 'down-0', 'd0', 3000);
  for (let i = 1; i < 60; i++) ledger.set(c, P, `down-${i}`, `d${i}`);
  c.run(300);
  const prog = replicaOf(c, P).progressOf().find((p) => p.id === T)!;
  assert.equal(prog.waived, false, 'not marked for a region resync');
  assert.ok(replicaOf(c, P).log.start <= tLast + 1, 'the logs keep everything T lacks');

  const deliveries = recordDeliveries(c);
  restart(c, T);
  assertConverged(c, 10_000);
  assert.ok(!deliveries.some((d) => d.msg.t === 'resync-start' || d.msg.t === 'region-data'), 'no region resync');
  for (let i = 0; i < 60; i++) assert.equal(storedValue(c.node(T), `down-${i}`), `d${i}`);
  ledger.verify(c);
});
