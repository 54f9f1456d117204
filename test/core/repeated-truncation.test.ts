// A repeated truncation notice (FailoverSync's append.truncateAfter, sent again because a
// secondary's mismatch report was answered twice) must not cut updates of the current epoch
// that the secondary already inserted — and may have acknowledged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, DEFAULT_TIMING } from '../../src/core/config.ts';
import type { AppendMsg } from '../../src/core/messages.ts';
import { Replica } from '../../src/core/replica.ts';
import type { Update } from '../../src/core/types.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';

function upd(lsn: number, epoch: number): Update {
  return { lsn, epoch, dest: ['n2', 'n3'], kind: 'data', ops: [{ k: 'put', key: Buffer.from(`k${lsn}`), value: Buffer.from('v'), expireAtMs: 0 }], regions: [] };
}

function append(prevLsn: number, prevEpoch: number, updates: Update[], truncateAfter: number): AppendMsg {
  return { t: 'append', epoch: 2, prevLsn, prevEpoch, updates, commitLsn: 0, clear: { clearLsn: 0 }, truncateAfter, round: 1 };
}

test('a truncation repeated after updates of the current epoch arrived cuts nothing', () => {
  const members = [{ id: 'n1', kind: 'data' as const }, { id: 'n2', kind: 'data' as const }, { id: 'n3', kind: 'data' as const }];
  // n2 holds an unreplicated tail of epoch 1 (lsn 2-3) from a former primary.
  const r = new Replica(
    { self: 'n2', members, timing: DEFAULT_TIMING, limits: DEFAULT_LIMITS, seed: 1 },
    { epoch: 1, votedFor: null, logStart: 1, nextToClear: 1, boundaryEpoch: 0, updates: [upd(1, 1), upd(2, 1), upd(3, 1)], storage: new MemoryStorage(), storageAppliedLsn: 0, storageDurableLsn: 0, dirtyRegions: [] },
  );
  // The new primary of epoch 2 cuts the tail after 1 and appends its own updates 2-3.
  r.step(1, { t: 'message', from: 'n1', msg: append(1, 1, [upd(2, 2), upd(3, 2)], 1) });
  r.ready();
  assert.deepEqual([r.log.epochAt(2), r.log.epochAt(3)], [2, 2]);
  // The same truncation again, on a later (empty) append: nothing of epoch 2 may go.
  r.step(2, { t: 'message', from: 'n1', msg: append(3, 2, [], 1) });
  const out = r.ready();
  assert.equal(r.log.last, 3, 'the updates of epoch 2 stay');
  assert.deepEqual([r.log.epochAt(2), r.log.epochAt(3)], [2, 2]);
  assert.equal(out.truncateAfter, -1, 'no truncation reaches the log');
});
