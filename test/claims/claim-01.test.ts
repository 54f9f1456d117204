// Claim 1 of US 7,617,369, step by step, on a three-node simulated cluster: one
// SET followed from the primary to both secondaries' logs and storage areas,
// their acknowledgements, the client's OK, and the notification to clear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AckMsg, AppendMsg } from '../../src/core/messages.ts';
import type { NodeId } from '../../src/core/types.ts';
import { assertConverged, Ledger, othersThan, recordDeliveries, replicaOf, startCluster, storedValue } from './helpers.ts';

interface Seen {
  /** The update is in the secondary's log (inserted). */
  inLog?: number;
  /** The update is durable in the secondary's log. */
  durable?: number;
  /** The update's value is readable in the secondary's storage area. */
  copied?: number;
  /** Whether the log held the update durably when the storage area first showed it. */
  durableWhenCopied?: boolean;
  /** First acknowledgement covering the update, delivered to the primary. */
  ack?: number;
  /** Whether the secondary held the update durably when that acknowledgement arrived. */
  durableWhenAcked?: boolean;
  /** First notification to clear covering the update, delivered to the secondary. */
  notice?: number;
  /** The secondary's next-to-clear pointer just before that notification. */
  pointerBeforeNotice?: number;
  /** The pointer right after the secondary handled the notification. */
  pointerAfterNotice?: number;
}

test('claim 1: identifying the secondaries, sending an update that names them, inserting it in each log then copying it to the storage area, acknowledging, determining that all acknowledged, and clearing on a notification sent once all acknowledged', () => {
  const { c, primary } = startCluster({ seed: 101 });
  const P = primary.id;
  const rp = replicaOf(c, P);
  const secondaries = othersThan(c, P);
  assert.equal(secondaries.length, 2);

  // Identifying a plurality of secondary nodes.
  assert.deepEqual([...rp.destination].sort(), secondaries, 'the primary identifies both secondaries');

  const seen = new Map<NodeId, Seen>(secondaries.map((s) => [s, {}]));
  const key = 'claim-1-key';
  const value = 'claim-1-value';
  let lsn = 0;
  let awaitingNotice: NodeId | null = null;
  const deliveries = recordDeliveries(c, (d) => {
    if (lsn === 0) return;
    if (d.msg.t === 'ack' && d.to === P) {
      const m = d.msg as AckMsg;
      const s = seen.get(d.from)!;
      if (m.ok && m.ackLsn >= lsn && s.ack === undefined) {
        s.ack = d.at;
        s.durableWhenAcked = replicaOf(c, d.from).durable >= lsn && replicaOf(c, d.from).log.get(lsn) !== undefined;
      }
    }
    if (d.msg.t === 'append' && d.from === P) {
      const m = d.msg as AppendMsg;
      const s = seen.get(d.to)!;
      if (m.clear.clearLsn >= lsn && s.notice === undefined) {
        s.notice = d.at;
        s.pointerBeforeNotice = replicaOf(c, d.to).clearPointer;
        awaitingNotice = d.to;
      }
    }
  });
  // After every simulated event: what each secondary holds now.
  const probe = (): void => {
    if (awaitingNotice !== null) {
      // The receiver handled the notification within the event that delivered it.
      seen.get(awaitingNotice)!.pointerAfterNotice = replicaOf(c, awaitingNotice).clearPointer;
      awaitingNotice = null;
    }
    for (const id of secondaries) {
      const r = replicaOf(c, id);
      const s = seen.get(id)!;
      if (s.inLog === undefined && r.log.get(lsn) !== undefined) s.inLog = c.q.now;
      if (s.durable === undefined && r.durable >= lsn) s.durable = c.q.now;
      if (s.copied === undefined && storedValue(c.node(id), key) === value) {
        s.copied = c.q.now;
        s.durableWhenCopied = r.durable >= lsn;
      }
    }
  };

  const ledger = new Ledger();
  let atReply: { durable: Record<NodeId, number>; match: Record<NodeId, number>; acked: NodeId[]; commit: number } | null = null;
  const w = ledger.submit(c, P, key, value, () => {
    atReply = {
      durable: Object.fromEntries(secondaries.map((s) => [s, replicaOf(c, s).durable])),
      match: Object.fromEntries(rp.progressOf().map((p) => [p.id, p.matchLsn])),
      acked: secondaries.filter((s) => seen.get(s)!.ack !== undefined),
      commit: rp.commit,
    };
  });
  // The primary stamped the update synchronously.
  lsn = rp.log.last;
  const update = rp.log.get(lsn)!;
  assert.equal(update.kind, 'data');

  // Sending an update that identifies the secondaries to which it will be sent.
  assert.deepEqual([...update.dest].sort(), secondaries, 'the update names both secondaries as its dest');

  assert.ok(c.runUntil(() => {
    probe();
    return secondaries.every((s) => replicaOf(c, s).clearPointer > lsn);
  }, 1000), `both secondaries clear lsn ${lsn}: ${JSON.stringify(Object.fromEntries(seen))}`);
  probe();

  // The update was sent to each secondary in an append.
  for (const s of secondaries) {
    const sent = deliveries.find((d) => d.msg.t === 'append' && d.from === P && d.to === s && (d.msg as AppendMsg).updates.some((u) => u.lsn === lsn));
    assert.ok(sent, `${s} received the update`);
    assert.deepEqual([...(sent.msg as AppendMsg).updates.find((u) => u.lsn === lsn)!.dest].sort(), secondaries, `the update ${s} received names its dest`);
  }

  for (const s of secondaries) {
    const x = seen.get(s)!;
    // Inserting the update in the respective log, at the secondary.
    assert.ok(x.inLog !== undefined && x.durable !== undefined, `${s} inserts the update in its log, durably`);
    // In response to inserting it, copying it from the log to the storage area.
    assert.ok(x.copied !== undefined, `${s} copies the update to its storage area`);
    assert.equal(x.durableWhenCopied, true, `${s} copies the update only once it is durable in its log`);
    assert.ok(x.durable <= x.copied);
    // Sending an acknowledgement that indicates the update has been received.
    assert.ok(x.ack !== undefined, `${s} acknowledges the update`);
    assert.equal(x.durableWhenAcked, true, `${s} acknowledges only what its log holds durably`);
  }

  // Determining that all of the secondaries acknowledged — before the client is told OK.
  assert.equal(w.s.reply, 'OK');
  assert.equal(w.s.lsn, lsn);
  assert.ok(atReply, 'the client got its reply');
  const r = atReply as { durable: Record<NodeId, number>; match: Record<NodeId, number>; acked: NodeId[]; commit: number };
  assert.deepEqual(r.acked, secondaries, 'both acknowledgements arrived before the reply');
  for (const s of secondaries) {
    assert.ok(r.durable[s]! >= lsn, `${s}'s log held lsn ${lsn} durably when the client got OK`);
    assert.ok(r.match[s]! >= lsn, `the primary had recorded ${s}'s acknowledgement of lsn ${lsn}`);
  }
  assert.ok(r.commit >= lsn, 'the primary had determined the update acknowledged by all');

  // In response to the determining: a notification to clear sent to each secondary once all
  // acknowledged; the clearing is performed in response to receiving it.
  const lastAck = Math.max(...secondaries.map((s) => seen.get(s)!.ack!));
  for (const s of secondaries) {
    const x = seen.get(s)!;
    assert.ok(x.notice !== undefined, `${s} received a notification to clear lsn ${lsn}`);
    assert.ok(x.notice > lastAck, `the notification to ${s} left only after every secondary acknowledged`);
    assert.ok(x.pointerBeforeNotice! <= lsn, `${s} had not cleared lsn ${lsn} before the notification`);
    assert.ok(x.pointerAfterNotice! > lsn, `${s} cleared lsn ${lsn} on receiving the notification`);
  }
  // No notification sent before the last acknowledgement covered the update.
  for (const d of deliveries) {
    if (d.msg.t === 'append' && d.from === P && d.at <= lastAck) assert.ok((d.msg as AppendMsg).clear.clearLsn < lsn, 'no early notification');
  }

  // Once each storage area is durable, the cleared update leaves the log itself.
  assert.ok(c.runUntil(() => secondaries.every((s) => replicaOf(c, s).log.start > lsn), 1000), 'the secondaries drop the cleared update from their logs');
  for (const s of secondaries) assert.equal(replicaOf(c, s).log.get(lsn), undefined);

  ledger.verify(c);
  assertConverged(c);
});
