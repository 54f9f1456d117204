// Failover: a secondary cut off during the election. Five nodes; the primary
// crashes and, at the same moment, one secondary is isolated: the other three
// elect a new primary without it and commit writes; when the cut heals, the
// returning secondary catches up and every copy is equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendMsg } from '../../src/core/messages.ts';
import { assertConverged, awaitNewPrimary, eventsOf, Ledger, othersThan, recordDeliveries, replicaOf, startCluster, storedValue } from './helpers.ts';

const FIVE = [1, 2, 3, 4, 5].map((i) => ({ id: `n${i}`, kind: 'data' as const }));

function setup(seed: number): { c: ReturnType<typeof startCluster>['c']; P: string; CUT: string; ledger: Ledger; crashAt: number } {
  const { c, primary } = startCluster({ seed, members: FIVE });
  const P = primary.id;
  const CUT = othersThan(c, P).at(-1)!;
  const ledger = new Ledger();
  for (let i = 0; i < 5; i++) ledger.set(c, P, `before-${i}`, `b${i}`);
  c.run(50);
  const crashAt = c.q.now;
  c.crash(P);
  c.net.isolate(CUT, othersThan(c, CUT));
  return { c, P, CUT, ledger, crashAt };
}

test('a secondary cut off during the election catches up from the new primary once the cut heals', () => {
  const { c, P, CUT, ledger, crashAt } = setup(9);
  const deliveries = recordDeliveries(c);
  const W = awaitNewPrimary(c, P).id;
  assert.notEqual(W, CUT);
  const summary = eventsOf(c, 'failover').filter((e) => e.node === W && e.at > crashAt).at(-1)!.e.summary;
  assert.equal(summary.shippedTo[CUT], undefined, 'the cut-off secondary took no part in FailoverSync');
  assert.ok(!deliveries.some((d) => d.from === CUT), 'nothing from the cut-off secondary reached anyone');
  for (let i = 0; i < 5; i++) ledger.set(c, W, `after-${i}`, `a${i}`);
  const behind = replicaOf(c, CUT).log.last;
  assert.ok(behind < replicaOf(c, W).log.last, 'the cut-off secondary is behind');
  assert.equal(storedValue(c.node(CUT), 'after-4'), undefined);

  const healAt = c.q.now;
  c.net.heal();
  assertConverged(c);
  // It caught up by being sent what it lacked, without truncating anything or a region resync.
  const sent = deliveries.filter((d) => d.at >= healAt && d.to === CUT && d.msg.t === 'append').flatMap((d) => (d.msg as AppendMsg).updates.map((u) => u.lsn));
  assert.ok(sent.includes(behind + 1) && sent.includes(replicaOf(c, W).log.last), 'the new primary sent it the updates after its last');
  assert.equal(eventsOf(c, 'truncate').filter((e) => e.node === CUT).length, 0, 'nothing to truncate: its log was a prefix');
  assert.ok(!deliveries.some((d) => d.at >= healAt && d.msg.t === 'resync-start'), 'no region resync');
  assert.equal(c.primary()?.id, W, 'the new primary stays primary');
  assert.equal(replicaOf(c, CUT).log.last, replicaOf(c, W).log.last);
  assert.equal(storedValue(c.node(CUT), 'after-4'), 'a4');
  ledger.verify(c);
});

test('a secondary that tried to stand alone for a second rejoins without any acknowledged write lost', () => {
  const { c, P, CUT, ledger } = setup(9);
  const W = awaitNewPrimary(c, P).id;
  for (let i = 0; i < 5; i++) ledger.set(c, W, `after-${i}`, `a${i}`);
  c.run(1000);
  // Alone, its pre-votes fail: it does not raise its epoch, so it cannot disturb W when it returns.
  assert.ok(replicaOf(c, CUT).currentEpoch <= replicaOf(c, W).currentEpoch, 'alone, it did not raise its epoch');
  c.net.heal();
  // Every live copy ends equal and nothing acknowledged is lost.
  assertConverged(c, 10_000);
  const p = c.primary()!.id;
  for (let i = 0; i < 5; i++) ledger.set(c, p, `later-${i}`, `l${i}`);
  assertConverged(c);
  assert.ok(replicaOf(c, CUT).log.last >= replicaOf(c, p).commit);
  ledger.verify(c);
});
