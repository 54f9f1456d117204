// Regression: a region chunk must hold the content of the lsn it is sent as of. The primary read
// chunks from its storage area while the applies of the same step were still to be carried out
// by the host, so a chunk could miss committed writes its asOfLsn claimed; the secondary, which
// replays its log only after that lsn, kept the older value for good (replicas differing after
// quiescence). Found by the simulator at seed 8 with replies released early (the checkers-bite
// variant, whose faster clients made a region request meet a step that committed); replies
// released early break linearizability, never replica convergence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Replica } from '../../src/core/replica.ts';
import { runSimulation } from '../../sim/simulation.ts';

test('seed 8 with replies released before commit: the history is wrong, but the replicas never differ', () => {
  const proto = Replica.prototype as unknown as Record<string, unknown>;
  const orig = proto['releaseWaiting'];
  proto['releaseWaiting'] = function (this: { role: string; waiting: Array<{ id: number; replies: unknown[]; lsn: number }>; reply(id: number, r: unknown[], l: number): void }) {
    if (this.role !== 'primary') return;
    for (const w of this.waiting) this.reply(w.id, w.replies, w.lsn);
    this.waiting.length = 0;
  };
  try {
    const r = runSimulation({ seed: 8, faultMs: 3000, liveMs: 2000, crash: 'any', clients: 5 });
    assert.doesNotMatch(r.error ?? '', /invariant 6/);
  } finally {
    proto['releaseWaiting'] = orig;
  }
});
