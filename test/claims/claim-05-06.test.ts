// Claims 5–6 (FailoverSync): when the primary fails, the new primary determines
// that the location of the next update in one secondary's log differs from
// another's, identifies exactly the set of updates one log holds and the other
// lacks, and applies that set to the other copy. (a) A secondary that fell
// behind is shipped what it lacks by the new primary; (b) the new primary is
// itself behind a secondary and pulls the difference from that log first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimCluster } from '../../sim/sim-cluster.ts';
import type { AppendMsg, PullDataMsg, SyncStateMsg } from '../../src/core/messages.ts';
import type { FailoverSummary } from '../../src/core/failover-sync.ts';
import type { Lsn, NodeId } from '../../src/core/types.ts';
import { assertConverged, awaitNewPrimary, type Delivered, digests, eventsOf, Ledger, type Pending, othersThan, recordDeliveries, replicaOf, startCluster, storedValue } from './helpers.ts';

function failoverOf(c: SimCluster, node: NodeId): { at: number; summary: FailoverSummary } {
  const f = eventsOf(c, 'failover').filter((e) => e.node === node).at(-1);
  assert.ok(f, `${node} reported a failover`);
  return { at: f.at, summary: f.e.summary };
}

interface BehindRun {
  c: SimCluster;
  P: NodeId;
  S: NodeId;
  T: NodeId;
  crashAt: number;
  before: { sLast: Lsn; tLast: Lsn; sDigest: string; tDigest: string; tApplied: Lsn; pEpoch: number };
  deliveries: Delivered[];
  newPrimary: NodeId;
  ledger: Ledger;
}

/** (a): T is cut off from the primary one way and falls behind while writes commit on P and S; then P crashes. */
function behindSecondary(): BehindRun {
  const { c, primary } = startCluster({ seed: 505 });
  const P = primary.id;
  const [S, T] = othersThan(c, P) as [NodeId, NodeId];
  const ledger = new Ledger();
  for (let i = 0; i < 3; i++) ledger.set(c, P, `claim5-early-${i}`, `e${i}`);
  c.run(100);

  c.net.partition(P, T, true);
  // The first write waits until T is left out of dest (timing.ackTimeoutMs, by a config update);
  // the rest commit on P and S alone.
  ledger.set(c, P, 'claim5-0', 'v0', 3000);
  assert.ok(!replicaOf(c, P).destination.includes(T), 'T was left out of dest');
  const rp = replicaOf(c, P);
  const configs = rp.log.range(rp.log.start, rp.log.last, 1 << 20).filter((u) => u.kind === 'config');
  assert.ok(configs.some((u) => !u.dest.includes(T) && u.dest.includes(S)), 'by a configuration update in the log');
  for (let i = 1; i < 20; i++) ledger.set(c, P, `claim5-${i}`, `v${i}`);
  c.run(20);
  const before = {
    sLast: replicaOf(c, S).log.last,
    tLast: replicaOf(c, T).log.last,
    sDigest: c.node(S).storage!.digest(),
    tDigest: c.node(T).storage!.digest(),
    tApplied: replicaOf(c, T).applied,
    pEpoch: replicaOf(c, P).currentEpoch,
  };
  assert.ok(before.tLast < before.sLast, `T is behind S (${before.tLast} < ${before.sLast})`);
  assert.equal(storedValue(c.node(T), 'claim5-19'), undefined, "T's copy lacks the late writes");
  assert.equal(eventsOf(c, 'failover').filter((e) => e.node !== P).length, 0, 'no FailoverSync while the primary lives');

  const deliveries = recordDeliveries(c);
  const crashAt = c.q.now;
  c.crash(P);
  c.net.heal();
  const np = awaitNewPrimary(c, P);
  return { c, P, S, T, crashAt, before, deliveries, newPrimary: np.id, ledger };
}

test('claim 5: determining that the location of the next update in one log differs from that in another, identifying the set of updates in the first log not in the second, and synchronizing the copies by applying that set to the second copy', () => {
  const o = behindSecondary();
  const { c, S, T } = o;
  assert.equal(o.newPrimary, S, 'the secondary with the longer log wins');
  const { summary } = failoverOf(c, S);

  // Determining: T reported where its next update goes, and it differs from S's.
  const reports = o.deliveries.filter((d) => d.msg.t === 'sync-state' && d.from === T && d.to === S);
  assert.ok(reports.length >= 1, 'T reported its log position to the new primary');
  const rep = reports[0]!.msg as SyncStateMsg;
  assert.equal(rep.lastLsn, o.before.tLast, "T's report: its next update goes at tLast + 1");
  assert.notEqual(rep.lastLsn + 1, o.before.sLast + 1, "that location differs from the new primary's");

  // Identifying exactly the set T lacks: S.last − T.last updates, not the whole log.
  assert.equal(summary.shippedTo[T], o.before.sLast - o.before.tLast, 'shipped exactly the updates T lacks');
  assert.ok(summary.shippedTo[T]! < o.before.sLast, 'not the whole log');
  assert.deepEqual(summary.pulledFrom, {}, 'nothing to pull: the new primary holds the most advanced log');
  assert.equal(summary.truncated[T], 0, 'T had no divergent tail');
  const shipped = o.deliveries
    .filter((d) => d.msg.t === 'append' && d.from === S && d.to === T)
    .flatMap((d) => (d.msg as AppendMsg).updates.map((u) => u.lsn))
    .filter((l) => l <= o.before.sLast);
  assert.deepEqual([...new Set(shipped)].sort((a, b) => a - b), Array.from({ length: o.before.sLast - o.before.tLast }, (_, i) => o.before.tLast + 1 + i), 'the appends to T carried exactly lsns tLast+1..sLast');

  // Applying the set to T's copy: the copies are synchronized.
  assertConverged(c);
  assert.notEqual(o.before.tDigest, o.before.sDigest, 'the copies differed before');
  const d = digests(c);
  assert.equal(d.find((x) => x.id === T)!.digest, d.find((x) => x.id === S)!.digest);
  assert.equal(storedValue(c.node(T), 'claim5-19'), 'v19');
  o.ledger.verify(c);
});

test('claim 6: the determining occurs when the primary node maintaining the data fails', () => {
  const o = behindSecondary();
  const { c, P, S, T } = o;
  const f = failoverOf(c, S);
  assert.equal(f.summary.newPrimary, S);
  assert.ok(f.summary.newEpoch > o.before.pEpoch, 'a new epoch after the failed primary');
  assert.ok(f.at > o.crashAt, 'FailoverSync completes after the primary failed');
  // The failed primary's epoch saw no FailoverSync by anyone but the first election's winner.
  assert.ok(eventsOf(c, 'failover').filter((e) => e.at < o.crashAt).every((e) => e.node === P && e.e.summary.newEpoch === o.before.pEpoch));
  // Positions are requested and reported only after the crash, by the new primary.
  const syncMsgs = o.deliveries.filter((d) => d.msg.t === 'sync-req' || d.msg.t === 'sync-state');
  assert.ok(syncMsgs.length >= 2);
  for (const m of syncMsgs) assert.ok(m.at > o.crashAt, 'log positions are compared only after the primary failed');
  assert.ok(syncMsgs.some((m) => m.msg.t === 'sync-req' && m.from === S && m.to === T), 'the new primary asked T where its log stands');
  assert.equal(f.summary.shippedTo[T], o.before.sLast - o.before.tLast);
  assertConverged(c);
  o.ledger.verify(c);
});

/**
 * (b): five nodes. A secondary (A) receives updates the others never get (the primary is cut off
 * from the other three), then the primary crashes. A is isolated during the election, so a node
 * behind it wins; A is healed the moment the winner is elected, before it asks for log positions.
 * A's election timeout is long so that it does not stand while isolated.
 */
test('claim 5 (pull from a log ahead): the new primary finds a secondary whose log extends its own, applies that set to its own copy first, then every copy', () => {
  const members = [1, 2, 3, 4, 5].map((i) => ({ id: `n${i}`, kind: 'data' as const }));
  const AHEAD = 'n5';
  const { c, primary } = startCluster({
    seed: 5050,
    members,
    timing: { syncWaitMs: 400 },
    mutate: (cfg) => (cfg.self === AHEAD ? { ...cfg, timing: { ...cfg.timing, electionTimeoutMs: 3000 } } : cfg),
  });
  const P = primary.id;
  assert.notEqual(P, AHEAD, 'a node with the long election timeout does not start as primary');
  const ledger = new Ledger();
  for (let i = 0; i < 5; i++) ledger.set(c, P, `claim5b-early-${i}`, `e${i}`);
  c.run(100);

  // Only AHEAD receives the next updates: they cannot commit (no majority holds them).
  const rest = othersThan(c, P).filter((id) => id !== AHEAD);
  for (const id of rest) c.net.partition(P, id, true);
  const unacked: Pending[] = [];
  for (let i = 0; i < 4; i++) unacked.push(ledger.submit(c, P, `claim5b-late-${i}`, `late${i}`));
  const aheadLast = replicaOf(c, P).log.last;
  assert.ok(c.runUntil(() => replicaOf(c, AHEAD).durable >= aheadLast, 100), `${AHEAD} holds the late updates`);
  const behindLast = Math.max(...rest.map((id) => replicaOf(c, id).log.last));
  assert.equal(aheadLast - behindLast, 4, `${AHEAD} is 4 updates ahead of the others`);

  const deliveries = recordDeliveries(c);
  c.crash(P);
  c.net.heal();
  c.net.isolate(AHEAD, othersThan(c, AHEAD));
  let winner: NodeId | null = null;
  assert.ok(
    c.runUntil(() => {
      const p = c.primary();
      if (p && p.id !== P) {
        winner = p.id;
        c.net.heal(); // before the new primary's first outputs leave
        return true;
      }
      return false;
    }, 3000),
    'a node behind AHEAD is elected',
  );
  assert.ok(winner !== null && rest.includes(winner), `the winner ${winner} is one of the nodes behind ${AHEAD}`);
  const W = winner as NodeId;
  assert.equal(replicaOf(c, W).log.last, behindLast, 'the winner is behind AHEAD');
  awaitNewPrimary(c, P);
  const { summary } = failoverOf(c, W);

  // Determining: AHEAD's next-update location differs from the winner's (it is further on).
  const rep = deliveries.find((d) => d.msg.t === 'sync-state' && d.from === AHEAD && d.to === W);
  assert.ok(rep, `${AHEAD} reported its position`);
  assert.equal((rep.msg as SyncStateMsg).lastLsn, aheadLast);
  // Identifying the set in AHEAD's log not in the winner's, and applying it to the winner's copy.
  assert.deepEqual(summary.pulledFrom, { [AHEAD]: aheadLast - behindLast }, 'pulled exactly the updates the winner lacked from AHEAD');
  const pulled = deliveries.filter((d) => d.msg.t === 'pull-data' && d.from === AHEAD && d.to === W).flatMap((d) => (d.msg as PullDataMsg).updates.map((u) => u.lsn));
  assert.deepEqual(pulled, [behindLast + 1, behindLast + 2, behindLast + 3, behindLast + 4]);
  // Then each other secondary is shipped what it lacks.
  for (const id of rest.filter((x) => x !== W)) assert.equal(summary.shippedTo[id], aheadLast - behindLast, `${id} is shipped the pulled updates`);
  assert.equal(summary.shippedTo[AHEAD], 0, `${AHEAD} lacks nothing`);

  assertConverged(c);
  for (let i = 0; i < 4; i++) {
    for (const n of c.nodes.filter((x) => x.up)) assert.equal(storedValue(n, `claim5b-late-${i}`), `late${i}`, `${n.id} holds the pulled update ${i}`);
  }
  assert.ok(unacked.every((w) => w.s.status !== 'ok'), 'the late writes were never acknowledged to their client (the primary died first)');
  ledger.verify(c);
});
