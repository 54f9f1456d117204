// The checkers must catch a broken protocol, not only pass a correct one. Each
// test breaks one rule on purpose (on the prototype, restored afterwards) and
// requires the simulator to report the invariant that guards it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Indicators } from '../../src/core/indicators.ts';
import { Replica } from '../../src/core/replica.ts';
import { runSimulation } from '../../sim/simulation.ts';

type Proto = Record<string, (...a: unknown[]) => unknown>;

function withBroken(
  method: string,
  broken: (orig: (...a: unknown[]) => unknown) => (this: unknown, ...a: unknown[]) => unknown,
  body: () => void,
  on: object = Replica.prototype,
): void {
  const proto = on as unknown as Proto;
  const orig = proto[method]!;
  proto[method] = broken(orig);
  try {
    body();
  } finally {
    proto[method] = orig;
  }
}

function firstViolation(crash: 'any' | 'secondaries' | 'none', seeds: number): string | null {
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runSimulation({ seed, faultMs: 3000, liveMs: 2000, crash, clients: 5 });
    if (!r.ok) return r.error ?? 'failed';
  }
  return null;
}

test('acknowledging before the update is durable is caught (invariant 5: committed but not durable on a majority)', () => {
  withBroken(
    'sendAck',
    (orig) =>
      function (this: unknown, ...a: unknown[]) {
        const self = this as { durableLsn: number; log: { last: number } };
        const saved = self.durableLsn;
        self.durableLsn = self.log.last; // pretend everything received is on disk
        try {
          return orig.apply(this, a);
        } finally {
          self.durableLsn = saved;
        }
      },
    () => {
      const v = firstViolation('any', 30);
      assert.ok(v, 'the broken variant went unnoticed');
      assert.match(v, /invariant [15]/);
    },
  );
});

test('clearing before every secondary acknowledged is caught (invariant 5)', () => {
  withBroken(
    'clearableUpTo',
    () =>
      // Clear everything committed, whether every secondary holds it or not.
      function (this: unknown, _waived: unknown, capLsn: unknown) {
        return capLsn;
      },
    () => {
      const v = firstViolation('secondaries', 30);
      assert.ok(v, 'the broken variant went unnoticed');
      assert.match(v, /invariant 5|LOG|resync|append/);
    },
    Indicators.prototype,
  );
});

test('replying to a write before it is committed is caught (invariant 2: the history is not linearizable, or 1)', () => {
  withBroken(
    'releaseWaiting',
    () =>
      function (this: unknown) {
        const self = this as { role: string; waiting: Array<{ id: number; replies: unknown[]; lsn: number }>; reply(id: number, r: unknown[], l: number): void };
        if (self.role !== 'primary') return;
        for (const w of self.waiting) self.reply(w.id, w.replies, w.lsn);
        self.waiting.length = 0;
      },
    () => {
      const v = firstViolation('any', 30);
      assert.ok(v, 'the broken variant went unnoticed');
      assert.match(v, /invariant [12]/);
    },
  );
});
