// Failover: a secondary down for longer than the logs retain for it
// (limits.maxRetainedUpdates). The primary marks it for a region resync rather
// than holding every log back, and clears past it. (Its return — a log restart
// point and the content of the regions changed meanwhile — is not covered here:
// the host does not carry out the core's log restart yet.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConverged, Ledger, othersThan, recordDeliveries, replicaOf, restart, startCluster, storedValue } from './helpers.ts';

const RETAIN = 20;

test('a secondary down beyond the retention limit is marked for a region resync instead of holding the logs back', () => {
  const { c, primary } = startCluster({ seed: 6060, limits: { maxRetainedUpdates: RETAIN } });
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

  // While T is down, the others go on: every live copy equal, nothing acknowledged lost.
  assertConverged(c);
  ledger.verify(c);
});

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
