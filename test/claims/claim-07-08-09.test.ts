// Claims 7–9: per update and per secondary, a sent indicator (set when the update
// is sent to that secondary) and a received indicator (set when that secondary
// acknowledges it); the notification to clear goes out only once both are set
// for every secondary. One secondary (T) is cut off from the primary one way,
// so it never receives the update until the cut heals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AckMsg, AppendMsg } from '../../src/core/messages.ts';
import type { Lsn, NodeId } from '../../src/core/types.ts';
import { assertConverged, type Delivered, Ledger, othersThan, recordDeliveries, replicaOf, startCluster } from './helpers.ts';

interface Flags {
  sent: Record<NodeId, boolean>;
  received: Record<NodeId, boolean>;
}

interface Observed {
  P: NodeId;
  S: NodeId;
  T: NodeId;
  lsn: Lsn;
  healAt: number;
  /** When the primary's next-to-clear pointer first passed the update, and its indicators then. */
  atClear: { at: number; flags: Flags | null } | undefined;
  /** Indicators when the update was stamped, before it was sent. */
  beforeSend: Flags;
  /** Indicators right after the write was stamped and sent (T cut off). */
  afterSend: Flags;
  /** Indicators 200 ms later, T still cut off. */
  duringCut: Flags;
  /** The primary's next-to-clear pointer then. */
  clearPointerDuringCut: Lsn;
  /** Indicators when T's first acknowledgement covering the update reached the primary. */
  atTsAck: Flags | null;
  tAckAt: number;
  /** Indicators at the moment each notification covering the update reached a secondary. */
  atNotices: Array<{ at: number; to: NodeId; flags: Flags | 'dropped' }>;
  deliveries: Delivered[];
  writeOk: boolean;
  ledger: Ledger;
}

function scenario(): Observed & { c: ReturnType<typeof startCluster>['c'] } {
  const { c, primary } = startCluster({ seed: 709 });
  const P = primary.id;
  const secondaries = othersThan(c, P);
  const [S, T] = secondaries as [NodeId, NodeId];
  const rp = replicaOf(c, P);
  const flags = (lsn: Lsn): Flags | null => {
    const e = rp.inFlight(1 << 20).find((x) => x.lsn === lsn);
    if (!e) return null;
    return {
      sent: Object.fromEntries(secondaries.map((s, i) => [s, e.sentIndicator[i] === 1])),
      received: Object.fromEntries(secondaries.map((s, i) => [s, e.receivedIndicator[i] === 1])),
    };
  };
  const ledger = new Ledger();
  ledger.set(c, P, 'claim7-warmup', 'w'); // the cluster is quiet and every earlier update cleared
  c.run(200);

  let lsn = 0;
  let atTsAck: Flags | null = null;
  let atClear: Observed['atClear'];
  let tAckAt = -1;
  const atNotices: Observed['atNotices'] = [];
  const deliveries = recordDeliveries(c, (d) => {
    if (lsn === 0) return;
    if (d.msg.t === 'ack' && d.from === T && d.to === P && (d.msg as AckMsg).ackLsn >= lsn && tAckAt < 0) {
      tAckAt = d.at; // handled right after this hook: runUntil's check below reads the indicators
    }
    if (d.msg.t === 'append' && d.from === P && (d.msg as AppendMsg).clear.clearLsn >= lsn) {
      atNotices.push({ at: d.at, to: d.to, flags: flags(lsn) ?? 'dropped' });
    }
  });

  c.net.partition(P, T, true); // P → T dropped; T → P still open
  const w = ledger.submit(c, P, 'claim7-key', 'claim7-value');
  lsn = rp.log.last;
  const beforeSend = flags(lsn)!;
  c.run(0); // the primary's outputs are flushed: the update goes on the wire (nothing arrives yet)
  const afterSend = flags(lsn)!;
  c.run(200);
  const duringCut = flags(lsn)!;
  const clearPointerDuringCut = rp.clearPointer;

  const healAt = c.q.now;
  c.net.heal();
  assert.ok(
    c.runUntil(() => {
      if (tAckAt >= 0 && atTsAck === null) atTsAck = flags(lsn);
      if (rp.clearPointer > lsn && atClear === undefined) atClear = { at: c.q.now, flags: flags(lsn) };
      return w.done() && replicaOf(c, S).clearPointer > lsn && replicaOf(c, T).clearPointer > lsn;
    }, 2000),
    'after the cut heals the update commits and is cleared everywhere',
  );
  return { c, P, S, T, lsn, atClear, healAt, beforeSend, afterSend, duringCut, clearPointerDuringCut, atTsAck, tAckAt, atNotices, deliveries, writeOk: w.ok(), ledger };
}

test('claim 7: setting a sent indicator for the update for one of the secondary nodes when the update is sent to that secondary node', () => {
  const o = scenario();
  const none = { [o.S]: false, [o.T]: false };
  assert.deepEqual(o.beforeSend, { sent: none, received: none }, 'no indicator set before the update is sent');
  // Sent to both (the message to T was lost on the way: it was still sent).
  assert.deepEqual(o.afterSend.sent, { [o.S]: true, [o.T]: true }, 'sent indicators set for both secondaries on sending');
  assert.deepEqual(o.afterSend.received, none, 'nothing acknowledged yet');
  const carries = (d: Delivered): boolean => d.msg.t === 'append' && (d.msg as AppendMsg).updates.some((u) => u.lsn === o.lsn);
  assert.ok(o.deliveries.some((d) => d.to === o.S && carries(d)), 'S received the update');
  assert.ok(!o.deliveries.some((d) => d.to === o.T && d.at < o.healAt && carries(d)), 'T did not receive it while cut off');
  assert.ok(o.writeOk);
  assertConverged(o.c);
  o.ledger.verify(o.c);
});

test('claim 8: setting a received indicator for the update for the one secondary node when an acknowledgement of the update is received from it', () => {
  const o = scenario();
  // S acknowledged; T never received the update while cut off.
  assert.deepEqual(o.duringCut.received, { [o.S]: true, [o.T]: false }, 'received indicator for S only while T is cut off');
  assert.deepEqual(o.duringCut.sent, { [o.S]: true, [o.T]: true });
  // T's acknowledgement sets T's received indicator.
  assert.ok(o.tAckAt >= 0, 'T acknowledged after the cut healed');
  assert.ok(o.atTsAck, 'the update was still tracked when T acknowledged');
  assert.deepEqual(o.atTsAck.received, { [o.S]: true, [o.T]: true }, 'received indicators set for both once T acknowledges');
  assert.deepEqual(o.atTsAck.sent, { [o.S]: true, [o.T]: true });
  assertConverged(o.c);
  o.ledger.verify(o.c);
});

test('claim 9: sending the notification to each secondary comprises determining that the sent and received indicators for the update are set for each of the secondary nodes', () => {
  const o = scenario();
  // While T's received indicator is unset, the update is not cleared.
  assert.ok(o.clearPointerDuringCut <= o.lsn, `the primary does not clear lsn ${o.lsn} while T has not acknowledged (pointer ${o.clearPointerDuringCut})`);
  for (const d of o.deliveries) {
    if (d.msg.t === 'append' && d.from === o.P && d.at < o.tAckAt) {
      assert.ok((d.msg as AppendMsg).clear.clearLsn < o.lsn, `no notification covering lsn ${o.lsn} before T acknowledged (to ${d.to} at ${d.at})`);
    }
  }
  // The primary decided to clear once both indicators were set for both secondaries.
  assert.ok(o.atClear, 'the primary cleared the update');
  assert.ok(o.atClear.at >= o.tAckAt, 'not before T acknowledged');
  assert.ok(o.atClear.flags, 'the update was still tracked when the decision was made');
  assert.deepEqual(o.atClear.flags.sent, { [o.S]: true, [o.T]: true }, 'both sent indicators set');
  assert.deepEqual(o.atClear.flags.received, { [o.S]: true, [o.T]: true }, 'both received indicators set');
  // Then the notification covering the update reached each secondary.
  assert.deepEqual([...new Set(o.atNotices.map((n) => n.to))].sort(), [o.S, o.T].sort(), 'each secondary is notified');
  for (const n of o.atNotices) {
    assert.ok(n.at > o.atClear.at, 'notifications leave after the decision');
    if (n.flags === 'dropped') continue; // the primary's own log has cleared it meanwhile
    assert.deepEqual(n.flags.received, { [o.S]: true, [o.T]: true });
  }
  assertConverged(o.c);
  o.ledger.verify(o.c);
});

test("claim 9: an update committed without a secondary (left out of dest after the ack timeout) is not cleared until that secondary's received indicator is set too", () => {
  const { c, primary } = startCluster({ seed: 910 });
  const P = primary.id;
  const secondaries = othersThan(c, P);
  const [S, T] = secondaries as [NodeId, NodeId];
  const rp = replicaOf(c, P);
  const ledger = new Ledger();
  ledger.set(c, P, 'claim9-warmup', 'w');
  c.run(200);

  // T receives everything but its acknowledgements are lost: no received indicator for T.
  c.net.partition(T, P, true);
  const w = ledger.submit(c, P, 'claim9-key', 'claim9-value');
  const lsn = rp.log.last;
  assert.ok(c.runUntil(w.done, 3000) && w.ok(), 'the write commits once T is left out of dest (timing.ackTimeoutMs)');
  assert.ok(!rp.destination.includes(T));
  assert.ok(replicaOf(c, T).durable >= lsn, 'T holds the update');
  c.run(300);
  const e = rp.inFlight(1 << 20).find((x) => x.lsn === lsn);
  assert.ok(e, 'the update is still tracked');
  const iT = secondaries.indexOf(T);
  const iS = secondaries.indexOf(S);
  assert.equal(e.sentIndicator[iT], 1, "T's sent indicator is set");
  assert.equal(e.receivedIndicator[iT], 0, "T's received indicator is not");
  assert.equal(e.receivedIndicator[iS], 1);
  assert.ok(rp.commit >= lsn, 'committed');
  assert.ok(rp.clearPointer <= lsn, `but not cleared (pointer ${rp.clearPointer})`);
  for (const s of secondaries) assert.ok(replicaOf(c, s).clearPointer <= lsn, `${s} was not told to clear it`);

  c.net.heal();
  assert.ok(c.runUntil(() => secondaries.every((s) => replicaOf(c, s).clearPointer > lsn), 1000), 'cleared everywhere once T acknowledges');
  assertConverged(c);
  ledger.verify(c);
});
