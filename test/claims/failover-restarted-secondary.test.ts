// Restarting a secondary must neither depose a healthy primary nor lose the
// secondary's claim-4 pointer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventsOf, Ledger, othersThan, replicaOf, restart, startCluster, updateLogOf } from './helpers.ts';

/** A cluster whose primary P acknowledged a few writes, settled, and one of its secondaries S. */
function primaryWithWrites(): { c: ReturnType<typeof startCluster>['c']; P: string; S: string } {
  const { c, primary } = startCluster({ seed: 404 });
  const P = primary.id;
  const S = othersThan(c, P)[0]!;
  const ledger = new Ledger();
  for (let i = 0; i < 5; i++) ledger.set(c, P, `k${i}`, `v${i}`);
  c.run(500);
  return { c, P, S };
}

test('a restarted secondary rejoins the same primary without an election', () => {
  const { c, P, S } = primaryWithWrites();
  const epoch = replicaOf(c, P).currentEpoch;
  c.crash(S);
  c.run(20);
  const t0 = c.q.now;
  restart(c, S);
  c.run(1000);
  const roles = eventsOf(c, 'role').filter((e) => e.at >= t0).map((e) => `${e.at.toFixed(1)} ${e.node} ${e.e.role} epoch ${e.e.epoch}`);
  assert.deepEqual(roles.filter((r) => !r.includes(`${S} secondary epoch ${epoch}`)), [], `no election after ${S} restarts`);
  assert.equal(c.primary()?.id, P);
  assert.equal(replicaOf(c, P).currentEpoch, epoch);
});

test("claim 4's pointer survives a restart in the protocol's view, not only in the UpdateLog", () => {
  const { c, S } = primaryWithWrites();
  const pointer = updateLogOf(c, S).nextToClear;
  assert.equal(replicaOf(c, S).clearPointer, pointer);
  assert.ok(pointer > 1);
  c.crash(S);
  const r = restart(c, S);
  assert.equal(updateLogOf(c, S).nextToClear, pointer, 'the UpdateLog recovers it');
  assert.equal(r.clearPointer, pointer, 'the restarted replica starts from the persisted pointer');
  assert.ok(r.log.start >= pointer || r.log.get(pointer - 1) === undefined, 'cleared updates are not held again');
});
