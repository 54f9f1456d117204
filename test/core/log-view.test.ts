// LogView's byte accounting, which the retention limit (limits.maxRetainedLogBytes) rests on:
// after any mix of appends, truncations, clears and resets, bytesAfter, lowestKeeping and the
// byte budget of range (one append's worth) agree with a direct sum over the updates held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LogView, opsBytes } from '../../src/core/log-view.ts';
import type { Update } from '../../src/core/types.ts';

function update(lsn: number, valueBytes: number): Update {
  return { lsn, epoch: 1, dest: [], kind: 'data', ops: [{ k: 'put', key: Buffer.from(`k${lsn}`), value: Buffer.alloc(valueBytes), expireAtMs: 0 }], regions: [] };
}

type Step = { k: 'append'; bytes: number } | { k: 'truncate'; back: number } | { k: 'clear'; fwd: number } | { k: 'reset'; skip: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('append' as const), bytes: fc.integer({ min: 0, max: 500 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('clear' as const), fwd: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reset' as const), skip: fc.integer({ min: 0, max: 3 }) }) },
);

test('bytesAfter, lowestKeeping and range with a byte budget match a direct sum over the held updates', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 80 }), fc.integer({ min: 0, max: 3000 }), (steps, budget) => {
      const v = new LogView();
      for (const s of steps) {
        if (s.k === 'append') v.append(update(v.last + 1, s.bytes));
        else if (s.k === 'truncate') v.truncateAfter(Math.max(v.start - 1, v.last - s.back));
        else if (s.k === 'clear') v.clearTo(Math.min(v.last, v.start - 1 + s.fwd));
        else v.resetAfter(v.last + s.skip, 1);
      }
      const held = v.range(v.start, v.last, Infinity);
      const after = (l: number): number => held.filter((u) => u.lsn > l).reduce((a, u) => a + opsBytes(u.ops), 0);
      for (let l = v.start - 1; l <= v.last; l++) assert.equal(v.bytesAfter(l), after(l), `bytesAfter(${l})`);
      // range with a byte budget: the longest prefix of [from, last] within it, at least one update.
      for (let from = v.start; from <= v.last; from++) {
        const want: typeof held = [];
        let bytes = 0;
        for (const u of held.filter((x) => x.lsn >= from)) {
          bytes += opsBytes(u.ops);
          if (want.length > 0 && bytes > budget) break;
          want.push(u);
        }
        assert.deepEqual(v.range(from, v.last, Infinity, budget).map((u) => u.lsn), want.map((u) => u.lsn), `range(${from}, last, ∞, ${budget})`);
      }
      const low = v.lowestKeeping(budget);
      assert.ok(after(low) <= budget, 'what is kept fits the budget');
      if (low > v.start - 1) assert.ok(after(low - 1) > budget, 'and keeping one more would not');
    }),
    { numRuns: 300 },
  );
});
