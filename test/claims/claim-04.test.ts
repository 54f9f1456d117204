// Claim 4: clearing updates a pointer to a location in the log, and the pointer
// points to the location if the location contains the next update to clear.
// After a notification to clear up to lsn C, a secondary's next-to-clear pointer
// (in the protocol's view and in its UpdateLog) is C + 1; when C + 1 holds an
// update not yet acknowledged by all, the pointer points at it; the on-disk
// pointer survives a crash and restart of that secondary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendMsg } from '../../src/core/messages.ts';
import { assertConverged, Ledger, othersThan, recordDeliveries, replicaOf, restart, startCluster, updateLogOf } from './helpers.ts';

test('claim 4: clearing updates a pointer to a location in the log, which points to the location if the location contains a next update to clear', () => {
  const { c, primary } = startCluster({ seed: 404 });
  const P = primary.id;
  const [S, T] = othersThan(c, P) as [string, string];
  const ledger = new Ledger();
  const notices: number[] = [];
  recordDeliveries(c, (d) => {
    if (d.msg.t === 'append' && d.from === P && d.to === S) notices.push((d.msg as AppendMsg).clear.clearLsn);
  });

  for (let i = 0; i < 5; i++) ledger.set(c, P, `claim4-${i}`, `v${i}`);
  const C = replicaOf(c, P).log.last;
  // The notification to clear up to C reaches S, and S's storage area becomes durable (100 ms syncs).
  assert.ok(
    c.runUntil(() => replicaOf(c, S).clearPointer === C + 1 && updateLogOf(c, S).nextToClear === C + 1, 1000),
    `S's pointers reach ${C + 1}: replica ${replicaOf(c, S).clearPointer}, UpdateLog ${updateLogOf(c, S).nextToClear}`,
  );
  assert.ok(notices.some((n) => n === C), `S received a notification to clear up to ${C}`);
  assert.equal(replicaOf(c, S).log.start, C + 1, 'everything before the pointer is cleared from the log');
  assert.equal(replicaOf(c, S).log.get(C + 1), undefined, 'nothing to clear yet: the pointer is at the end of the log');

  // A next update that is not acknowledged by all: T's acknowledgements are cut.
  c.net.partition(T, P, true);
  const w = ledger.submit(c, P, 'claim4-next', 'pending');
  const next = replicaOf(c, P).log.last;
  assert.equal(next, C + 1);
  assert.ok(c.runUntil(() => replicaOf(c, S).durable >= next, 200), 'S holds the next update durably');
  c.run(150); // heartbeats and a storage sync go by; still well under the ack timeout
  assert.equal(w.done(), false, 'without T the next update is not acknowledged by all');
  const rs = replicaOf(c, S);
  assert.equal(rs.clearPointer, next, 'the pointer points to the location of the next update to clear');
  assert.equal(rs.log.get(rs.clearPointer)?.lsn, next, 'that location contains the next update');
  assert.equal(rs.log.get(rs.clearPointer)?.kind, 'data');
  assert.equal(updateLogOf(c, S).nextToClear, next, "the UpdateLog's pointer too");
  assert.equal(replicaOf(c, P).clearPointer, next, "the primary's pointer stops at the unacknowledged update");

  // Acknowledged by all: the next notification moves the pointer past it.
  c.net.heal();
  assert.ok(c.runUntil(w.done, 1000) && w.ok(), 'the next update commits once T acknowledges');
  assert.ok(c.runUntil(() => replicaOf(c, S).clearPointer === next + 1 && updateLogOf(c, S).nextToClear === next + 1, 1000), 'the pointer moves to the following location');

  // The pointer survives a crash and restart of S (once its pointer file is written: the
  // in-memory pointer moves first, so a crash within the write keeps the previous one).
  const pointer = updateLogOf(c, S).nextToClear;
  c.run(50);
  assert.equal(updateLogOf(c, S).nextToClear, pointer);
  c.crash(S);
  restart(c, S);
  assert.equal(updateLogOf(c, S).nextToClear, pointer, "S's UpdateLog recovers its next-to-clear pointer");
  assert.ok(updateLogOf(c, S).start <= pointer);
  assert.ok(updateLogOf(c, S).lastLsn >= pointer - 1, 'the pointer never runs ahead of the records');

  assertConverged(c);
  ledger.verify(c);
});
