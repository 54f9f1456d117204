// The pure parts of "a node that lost data" (docs/protocol.md): how many answers it needs, the
// floor they give, and how the primary judges a report by its incarnation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answersNeeded, LostData } from '../../src/core/disk-loss.ts';
import { incarnationVerdict, newProgress, resetAfterLostData } from '../../src/core/progress.ts';

test('answers needed: enough of the others to meet every majority that does not count the node', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 7].map(answersNeeded), [0, 1, 2, 2, 3, 4]);
});

test('the floor: the highest epoch of all answers, the most up-to-date log of the data members only', () => {
  const l = new LostData(2);
  assert.equal(l.floor, null);
  assert.equal(l.allowsVoteFor({ lastEpoch: 9, lastLsn: 999 }), false, 'no vote before enough answers');
  assert.equal(l.answer('n1', { t: 'recover-state', epoch: 4, lastLsn: 50, lastEpoch: 3 }, false), null);
  // A witness ahead (headers no data member holds) sets the epoch, not the log.
  const f = l.answer('w3', { t: 'recover-state', epoch: 5, lastLsn: 60, lastEpoch: 3 }, true);
  assert.deepEqual(f, { epoch: 5, lastEpoch: 3, lastLsn: 50 });
  assert.equal(l.allowsVoteFor({ lastEpoch: 3, lastLsn: 49 }), false);
  assert.equal(l.allowsVoteFor({ lastEpoch: 3, lastLsn: 50 }), true);
  assert.equal(l.allowsVoteFor({ lastEpoch: 4, lastLsn: 1 }), true, 'a later epoch is more up to date');
  assert.equal(l.refilledBy({ lastEpoch: 3, lastLsn: 50 }), true);
  assert.equal(l.answer('n1', { t: 'recover-state', epoch: 9, lastLsn: 90, lastEpoch: 9 }, false), null, 'learned once');
});

test('a lone voter that lost data has nobody to ask', () => {
  assert.deepEqual(new LostData(answersNeeded(1)).floor, { epoch: 0, lastEpoch: 0, lastLsn: 0 });
});

test('incarnations: the first heard is taken, a higher one means lost data and resets the progress, a lower one is stale', () => {
  const p = newProgress('n2', 'data', 11, 0);
  assert.equal(incarnationVerdict(p, 100), 'first');
  p.incarnation = 100;
  p.matchLsn = 10;
  p.inDest = true;
  p.mode = 'replicate';
  assert.equal(incarnationVerdict(p, 100), 'same');
  assert.equal(incarnationVerdict(p, 99), 'stale');
  assert.equal(incarnationVerdict(p, 101), 'lost-data');
  resetAfterLostData(p, 101, 10, 5);
  assert.deepEqual([p.incarnation, p.matchLsn, p.nextLsn, p.mode], [101, 0, 11, 'probe']);
  assert.equal(p.inDest, true, 'dest is left by the replica, by the majority rule');
});

test('incarnation 0 is a real incarnation (an initialised member, a format-1 hard state): 1 after it is lost data, not a first report', () => {
  const p = newProgress('n2', 'data', 11, 0);
  assert.equal(incarnationVerdict(p, 0), 'first');
  p.incarnation = 0;
  p.matchLsn = 10;
  assert.equal(incarnationVerdict(p, 0), 'same');
  assert.equal(incarnationVerdict(p, 1), 'lost-data');
});
