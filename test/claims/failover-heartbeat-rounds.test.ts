// Heartbeat rounds are numbered per primary. A secondary must never echo an older
// primary's round numbers to a new one: the new primary would count rounds it
// never sent, and either never confirm its lease (and flap) or confirm it
// wrongly (a stale read on a minority side). Each test below broke before the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { show } from '../../sim/sim-cluster.ts';
import { awaitNewPrimary, eventsOf, Ledger, othersThan, replicaOf, restart, startCluster } from './helpers.ts';

test('5 nodes: after the primary of a long-running cluster crashes, a new primary keeps its role', () => {
  const members = [1, 2, 3, 4, 5].map((i) => ({ id: `n${i}`, kind: 'data' as const }));
  const { c, primary } = startCluster({ seed: 77, members });
  const P = primary.id;
  const ledger = new Ledger();
  ledger.set(c, P, 'a', '1');
  c.run(2000); // ~40 heartbeat rounds
  const t0 = c.q.now;
  c.crash(P);
  c.run(3000);
  const won = eventsOf(c, 'role').filter((e) => e.at >= t0 && e.e.role === 'primary').map((e) => `${e.at.toFixed(0)} ${e.node} epoch ${e.e.epoch}`);
  assert.equal(won.length, 1, `one failover, one primary: ${won.join('; ')}`);
  ledger.set(c, c.primary()!.id, 'b', '2');
});

test('3 nodes: a new primary cut off from its only live secondary steps down within the election timeout', () => {
  const { c, primary } = startCluster({ seed: 8 });
  const P = primary.id;
  const ledger = new Ledger();
  ledger.set(c, P, 'k', 'v1');
  c.run(2000);
  c.crash(P);
  const W = awaitNewPrimary(c, P).id;
  c.net.isolate(W, othersThan(c, W));
  c.run(1000);
  assert.notEqual(replicaOf(c, W).currentRole, 'primary', `${W} lost contact with every other node 1000 ms ago`);
});

test('5 nodes: after a planned switchover in a long-running cluster, the target keeps its role', () => {
  const members = [1, 2, 3, 4, 5].map((i) => ({ id: `n${i}`, kind: 'data' as const }));
  const { c, primary } = startCluster({ seed: 77, members });
  const P = primary.id;
  const ledger = new Ledger();
  ledger.set(c, P, 'a', '1');
  c.run(2000);
  const to = othersThan(c, P)[0]!;
  const t0 = c.q.now;
  let result: Error | null | undefined;
  c.node(P).driver!.switchover(to, (e) => {
    result = e;
  });
  c.run(2000);
  assert.equal(result, null);
  const won = eventsOf(c, 'role').filter((e) => e.at >= t0 && e.e.role === 'primary').map((e) => `${e.at.toFixed(0)} ${e.node} epoch ${e.e.epoch}`);
  assert.deepEqual(won.map((w) => w.split(' ')[1]), [to], `only the target becomes primary: ${won.join('; ')}`);
});

test('5 nodes: a primary on the minority side of a partition does not serve a read after the majority side acknowledged a newer write', () => {
  const members = [1, 2, 3, 4, 5].map((i) => ({ id: `n${i}`, kind: 'data' as const }));
  const { c, primary } = startCluster({ seed: 1, members });
  const P = primary.id;
  const ledger = new Ledger();
  ledger.set(c, P, 'k', 'v1');
  c.run(2000); // A and B below will echo round ~40 to later primaries
  const [A, B, C, D] = othersThan(c, P) as [string, string, string, string];
  c.crash(P);
  c.crash(C);
  c.crash(D);
  restart(c, C); // C and D restart with lastAckRound 0
  restart(c, D);
  assert.ok(
    c.runUntil(() => {
      const p = c.primary();
      return !!p && p.driver!.replica.currentEpoch > 1 && p.driver!.replica.leaseValid() && p.driver!.replica.commit >= p.driver!.replica.log.last;
    }, 3000),
  );
  const W = c.primary()!.id;
  assert.ok(W === C || W === D, `seed 1 elects a restarted node (got ${W})`);
  const buddy = W === C ? D : C;
  // W and one secondary on one side (2 of 5); A, B and the restarted P on the other (3 of 5).
  for (const a of [W, buddy]) for (const b of [A, B, P]) c.net.partition(a, b);
  restart(c, P);
  assert.ok(c.runUntil(() => [A, B, P].some((id) => replicaOf(c, id).currentRole === 'primary' && replicaOf(c, id).leaseValid()), 3000));
  const W2 = [A, B, P].find((id) => replicaOf(c, id).currentRole === 'primary')!;
  ledger.set(c, W2, 'k', 'v2');
  // W has no majority: its lease must have expired, and it must have stepped down, so that
  // it answers no read as a primary (a secondary's reads are documented as possibly stale).
  assert.equal(replicaOf(c, W).leaseValid(), false, `${W} has no majority; its lease must have expired`);
  assert.notEqual(replicaOf(c, W).currentRole, 'primary', `${W} must have stepped down`);
  const primaries = c.nodes.filter((n) => n.up && n.driver!.replica.currentRole === 'primary').map((n) => n.id);
  assert.deepEqual(primaries, [W2], 'one primary serves reads');
  assert.equal(show(c.call(W2, 'GET', 'k')), 'v2');
});
