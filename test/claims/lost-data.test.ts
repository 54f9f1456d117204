// A node that lost its disk (docs/protocol.md, "A node that lost data"): the primary notices it
// by its new incarnation, voids what it had counted for it, leaves it out of dest only while a
// majority remains, and refills it (regions, then the log); the node serves no reads until then
// and does not vote as if it still held what it acknowledged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { show } from '../../sim/sim-cluster.ts';
import { assertConverged, eventsOf, Ledger, othersThan, replicaOf, startCluster } from './helpers.ts';

function clusterWithWrites(seed: number, keys = 30): { c: ReturnType<typeof startCluster>['c']; P: string; W: string; O: string; ledger: Ledger } {
  const { c, primary } = startCluster({ seed });
  const P = primary.id;
  const [W, O] = othersThan(c, P) as [string, string];
  const ledger = new Ledger();
  for (let i = 0; i < keys; i++) ledger.set(c, P, `k${i}`, `v${i}`);
  c.run(500);
  return { c, P, W, O, ledger };
}

function incarnationAt(c: ReturnType<typeof startCluster>['c'], P: string, id: string): number {
  return replicaOf(c, P).progressOf().find((x) => x.id === id)!.incarnation;
}

test('a secondary that lost its disk is noticed, left out of dest, refilled, and counts for the majority again', () => {
  const { c, P, W, O, ledger } = clusterWithWrites(1101);
  const before = incarnationAt(c, P, W);
  assert.ok(before > 0 && replicaOf(c, P).destination.includes(W));
  c.loseDisk(W);
  c.run(50);
  c.start(W);
  assert.ok(c.runUntil(() => c.node(W).up, 1000));
  // Empty, and it knows it: no read is served from the empty storage area.
  assert.match(show(c.call(W, 'GET', 'k1')), /^\(error\) LOADING this node lost its data/);
  assert.ok(c.runUntil(() => replicaOf(c, W).lostDataState === null, 10_000), `${W} was never refilled: ${JSON.stringify(replicaOf(c, W).lostDataState)}`);
  const lost = eventsOf(c, 'peer-lost-data').filter((e) => e.node === P && e.e.node === W);
  assert.equal(lost.length, 1, 'the primary noticed the loss once');
  assert.equal(lost[0]!.e.inDest, false, 'and left it out of dest (the other secondary keeps the majority)');
  assert.ok(lost[0]!.e.ackedLsn > 0, 'what it had acknowledged is void');
  assert.ok(incarnationAt(c, P, W) > before);
  assertConverged(c);
  assert.equal(show(c.call(W, 'GET', 'k1')), 'v1');
  assert.ok(c.runUntil(() => replicaOf(c, P).destination.includes(W), 5000), `${W} rejoins dest`);
  // It really holds everything now: with the other secondary gone, writes commit with it alone.
  c.crash(O);
  ledger.set(c, P, 'after', 'x', 5000);
  assert.deepEqual(replicaOf(c, P).destination, [W]);
  ledger.verify(c);
});

test('when the majority needs it, a secondary that lost its disk stays in dest and writes wait until it is refilled', () => {
  const { c, P, W, O, ledger } = clusterWithWrites(1102);
  c.crash(O);
  // A write O cannot acknowledge: after the ack timeout O is left out of dest.
  ledger.set(c, P, 'kick', 'k', 5000);
  assert.deepEqual(replicaOf(c, P).destination, [W], `${O} left dest`);
  c.loseDisk(W);
  c.run(20);
  c.start(W);
  // Every acknowledgement must come from updates W holds durably now (never from its lost log).
  const checks: string[] = [];
  const p = ledger.submit(c, P, 'during', 'y', (s) => {
    const r = c.node(W).driver?.replica;
    if (!r || r.durable < s.lsn || r.log.epochAt(s.lsn) !== replicaOf(c, P).log.epochAt(s.lsn)) checks.push(`acknowledged lsn ${s.lsn} while ${W} held only ${r?.durable}`);
  });
  assert.ok(c.runUntil(p.done, 10_000), 'the write is answered once the secondary is refilled');
  assert.equal(p.s.reply, 'OK');
  assert.deepEqual(checks, []);
  const lost = eventsOf(c, 'peer-lost-data').filter((e) => e.node === P && e.e.node === W);
  assert.equal(lost.length, 1);
  assert.equal(lost[0]!.e.inDest, true, 'it stays in dest: without it the primary alone is no majority');
  assert.deepEqual(replicaOf(c, P).destination, [W]);
  c.start(O);
  assertConverged(c);
  ledger.verify(c);
});

test('a node that lost its disk does not vote for a log missing what it had acknowledged', () => {
  const { c, P, W, O, ledger } = clusterWithWrites(1103, 5);
  // O is cut off and left out of dest: the next writes are committed by P and W alone.
  c.net.isolate(O, c.nodes.map((n) => n.id));
  ledger.set(c, P, 'kick', 'k', 5000);
  assert.deepEqual(replicaOf(c, P).destination, [W]);
  for (let i = 0; i < 5; i++) ledger.set(c, P, `only-pw${i}`, `v${i}`);
  const committed = replicaOf(c, P).commit;
  assert.ok(replicaOf(c, O).log.last < committed, 'O lacks committed updates');
  // W loses its disk, then P crashes: only O holds a log, and it lacks committed updates.
  c.loseDisk(W);
  c.crash(P);
  c.net.heal();
  c.start(W);
  c.run(4000);
  assert.equal(c.primary(), undefined, `no primary may be elected without ${P}: ${c.primary()?.id} was`);
  assert.notEqual(replicaOf(c, W).lostDataState, null, `${W} is still waiting for enough answers`);
  // P returns: the cluster elects a primary holding everything and refills W.
  c.start(P);
  assert.ok(c.runUntil(() => !!c.primary() && c.primary()!.driver!.replica.commit >= committed, 10_000), 'a primary is elected once P is back');
  assertConverged(c, 10_000);
  ledger.verify(c);
  assert.ok(c.runUntil(() => replicaOf(c, W).lostDataState === null, 10_000), `${W} is refilled`);
});

test('a node behind the epoch of the others, holding the only log they would vote for, learns their epoch from refused pre-votes and is elected', () => {
  const { c, P, ledger } = clusterWithWrites(1104, 5);
  const ids = c.nodes.map((n) => n.id);
  // P is cut off and logs writes it can no longer commit: its log becomes the longest.
  c.net.isolate(P, ids);
  for (let i = 0; i < 3; i++) c.submit(P, 'SET', `tail${i}`, 'x');
  c.run(20);
  const tail = replicaOf(c, P).log.last;
  // The other two elect one of themselves in epoch 2, which loses its disk before its first
  // update of the epoch reaches the third: that one is in epoch 2 with a log shorter than P's.
  assert.ok(c.runUntil(() => othersThan(c, P).some((id) => replicaOf(c, id).currentRole === 'primary'), 5000), 'the other two elect a primary');
  const Y = othersThan(c, P).find((id) => replicaOf(c, id).currentRole === 'primary')!;
  const Z = othersThan(c, Y).find((id) => id !== P)!;
  const epochOfY = replicaOf(c, Y).currentEpoch;
  c.loseDisk(Y);
  assert.ok(replicaOf(c, Z).currentEpoch === epochOfY && replicaOf(c, Z).log.last < tail, `${Z} is in epoch ${epochOfY} with a shorter log than ${P}`);
  c.net.heal();
  c.start(Y);
  // Y, until refilled, votes only for a log holding P's tail (its floor), and P refuses Z's
  // shorter log: only P can be elected, and P is behind the epoch the other two are in.
  assert.ok(replicaOf(c, P).currentEpoch < epochOfY, `${P} has not heard of epoch ${epochOfY}`);
  assert.ok(c.runUntil(() => c.primary()?.id === P, 5000), `no primary elected: ${c.nodes.map((n) => `${n.id} epoch ${n.driver?.replica.currentEpoch} ${n.driver?.replica.currentRole} log ${n.driver?.replica.log.last}`).join('; ')}`);
  assert.ok(replicaOf(c, P).currentEpoch > epochOfY);
  assert.ok(c.runUntil(() => replicaOf(c, Y).lostDataState === null, 10_000), `${Y} is refilled`);
  ledger.set(c, P, 'after', 'y');
  assertConverged(c);
  ledger.verify(c);
});
