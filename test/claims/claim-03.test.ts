// Claim 3: clearing an update from a log updates the log's start-of-log pointer.
// Enough data to fill several 64 KiB segments of the simulated UpdateLog; once
// every update is acknowledged by all and the storage areas are durable, each
// node's start-of-log pointer (in the protocol's view and in the UpdateLog on
// disk) moves past the cleared updates and the segment files holding only
// cleared updates are deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SIM_SEGMENT_BYTES } from '../../sim/sim-node.ts';
import type { Pending } from './helpers.ts';
import { assertConverged, Ledger, replicaOf, restart, startCluster, updateLogOf } from './helpers.ts';

const LOG_DIR = '/data/log';

/** First lsn of each segment file in a node's log directory, in order. */
function segmentStarts(names: readonly string[]): number[] {
  return names
    .filter((n) => /^seg-\d+\.log$/.test(n))
    .map((n) => Number(n.slice(4, -4)))
    .sort((a, b) => a - b);
}

test('claim 3: clearing the update from the respective log comprises updating a start-of-log pointer in the respective log', () => {
  const { c, primary } = startCluster({ seed: 303 });
  const P = primary.id;
  const ledger = new Ledger();
  const value = 'v'.repeat(1024);

  // 300 SETs of 1 KiB, pipelined 50 at a time: several segments' worth on every node.
  let pending: Pending[] = [];
  for (let i = 0; i < 300; i++) {
    pending.push(ledger.submit(c, P, `claim3-${i}`, `${i}:${value}`));
    if (pending.length === 50) {
      assert.ok(c.runUntil(() => pending.every((p) => p.done()), 5000), 'a batch of writes is answered');
      assert.ok(pending.every((p) => p.ok()), 'every write is acknowledged');
      pending = [];
    }
  }
  const last = replicaOf(c, P).log.last;
  assert.ok(last >= 300);

  const before = new Map(c.nodes.map((n) => [n.id, n.disk.names(LOG_DIR)]));
  for (const n of c.nodes) {
    const segs = segmentStarts(before.get(n.id)!);
    assert.ok(segs.length >= 4, `${n.id} rolled its log over several segments of ${SIM_SEGMENT_BYTES} bytes: ${segs.join(',')}`);
    assert.equal(segs[0], 1, `${n.id} still holds its first segment before clearing`);
    assert.equal(updateLogOf(c, n.id).start, 1, `${n.id}'s UpdateLog starts at lsn 1 before clearing`);
  }

  // Acknowledged by all → clear notices; storage syncs (every 100 ms) let each log clear.
  assert.ok(
    c.runUntil(
      () =>
        c.nodes.every(
          (n) =>
            replicaOf(c, n.id).log.start > last &&
            updateLogOf(c, n.id).nextToClear > last &&
            segmentStarts(n.disk.names(LOG_DIR))[0] === updateLogOf(c, n.id).start,
        ),
      2000,
    ),
    'every node clears everything written and deletes the segments below its start-of-log pointer',
  );

  for (const n of c.nodes) {
    const r = replicaOf(c, n.id);
    const log = updateLogOf(c, n.id);
    const cleared = r.clearPointer - 1;
    assert.equal(cleared, last, `${n.id} cleared every update`);
    // The protocol's start-of-log pointer moved past every cleared update; they are gone from its view.
    assert.equal(r.log.start, cleared + 1, `${n.id}: replica.log.start follows the cleared updates`);
    assert.equal(r.log.get(cleared), undefined);
    assert.equal(r.log.get(1), undefined);
    // The UpdateLog's own pointers: nextToClear exactly, start at the first segment still held.
    assert.equal(log.nextToClear, cleared + 1, `${n.id}: UpdateLog.nextToClear`);
    assert.ok(log.start > 1, `${n.id}: UpdateLog.start moved from 1 to ${log.start}`);
    assert.ok(log.start <= cleared + 1);

    const after = n.disk.names(LOG_DIR);
    const segs = segmentStarts(after);
    assert.equal(segs[0], log.start, `${n.id}: the oldest segment left begins at the start-of-log pointer`);
    // No segment left holds only cleared updates (the next one would begin at or below nextToClear).
    if (segs.length > 1) assert.ok(segs[1]! > log.nextToClear - 1, `${n.id}: a segment of cleared updates is left: ${after.join(',')}`);
    // The old segment files are gone from the disk.
    const gone = before.get(n.id)!.filter((f) => !after.includes(f));
    assert.ok(segmentStarts(gone).length >= 3, `${n.id}: old segment files were deleted (${gone.join(',')})`);
    for (const f of gone) assert.ok(segmentStarts([f])[0]! < log.start, `${n.id}: only segments below the start-of-log pointer were deleted`);
  }

  // The pointer is durable: a secondary restarted from its disk keeps it and the deleted files stay deleted.
  const S = c.nodes.find((n) => n.id !== P)!.id;
  const startBefore = updateLogOf(c, S).start;
  const filesBefore = c.node(S).disk.names(LOG_DIR);
  c.crash(S);
  restart(c, S);
  assert.equal(updateLogOf(c, S).start, startBefore, `${S}'s start-of-log pointer survives a crash`);
  assert.deepEqual(c.node(S).disk.names(LOG_DIR).filter((f) => f.startsWith('seg-')), filesBefore.filter((f) => f.startsWith('seg-')));

  assert.equal(ledger.ackedCount, 300);
  assertConverged(c);
  ledger.verify(c);
});
