// The per-key linearizability checker: hand-made histories with a known
// verdict, generated histories from a real sequential register (always
// linearizable) and single impossible mutations of them (always caught).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HistoryRecorder } from '../../sim/history.ts';
import type { HistoryOp, OpCall, OpResult } from '../../sim/history.ts';
import { checkLinearizable } from '../../sim/linearizability.ts';
import type { CheckResult } from '../../sim/linearizability.ts';
import { Prng } from '../../src/lib/prng.ts';

const r = (key = 'k'): OpCall => ({ kind: 'read', key });
const w = (value: string, key = 'k'): OpCall => ({ kind: 'write', key, value });
const del = (key = 'k'): OpCall => ({ kind: 'delete', key });
const incr = (by: number, key = 'k'): OpCall => ({ kind: 'incr', key, by });
const app = (suffix: string, key = 'k'): OpCall => ({ kind: 'append', key, suffix });
const cas = (expect: string, value: string, key = 'k'): OpCall => ({ kind: 'cas', key, expect, value });

/** [client, call, invoked, completed | 'info' | 'fail', result] */
type Spec = readonly [string, OpCall, number, number | 'info' | 'fail', OpResult?];

/** Builds a history directly, so hand-made cases read as interval tables. */
function hist(...specs: Spec[]): HistoryOp[] {
  return specs.map(([client, call, inv, end, result], id) => {
    if (end === 'info') return { id, client, call, status: 'info', result: null, invokeTime: inv, completeTime: Infinity, gaveUpTime: inv + 1 };
    if (end === 'fail') return { id, client, call, status: 'fail', result: null, invokeTime: inv, completeTime: inv + 1, gaveUpTime: null };
    return { id, client, call, status: 'ok', result: result ?? null, invokeTime: inv, completeTime: end, gaveUpTime: null };
  });
}

function assertOk(res: CheckResult): void {
  assert.equal(res.ok, true, res.ok === false ? res.explanation : JSON.stringify(res));
}

function assertViolation(res: CheckResult, key = 'k'): Extract<CheckResult, { ok: false }> {
  assert.equal(res.ok, false, `expected a violation, got ${JSON.stringify(res)}`);
  if (res.ok !== false) throw new Error('unreachable');
  assert.equal(res.key, key);
  assert.match(res.explanation, /not linearizable/);
  assert.match(res.explanation, /✗/);
  return res;
}

// ---------------------------------------------------------------- linearizable

test('concurrent writes: later reads may see either, but all the same one', () => {
  for (const v of ['a', 'b']) {
    assertOk(checkLinearizable(hist(['c1', w('a'), 0, 10], ['c2', w('b'), 0, 10], ['c3', r(), 11, 12, v], ['c4', r(), 13, 14, v])));
  }
});

test('reads concurrent with two writes may see them in either order', () => {
  assertOk(
    checkLinearizable(
      hist(['c1', w('a'), 0, 100], ['c2', w('b'), 0, 100], ['c3', r(), 10, 20, 'b'], ['c3', r(), 30, 40, 'a'], ['c4', r(), 50, 60, 'a']),
    ),
  );
});

test('a read concurrent with a write sees the old or the new value', () => {
  for (const v of [null, 'a']) assertOk(checkLinearizable(hist(['c1', w('a'), 0, 10], ['c2', r(), 5, 6, v])));
});

test('an info write may be seen, late, or never', () => {
  assertOk(checkLinearizable(hist(['c1', w('x'), 0, 'info'], ['c2', r(), 50, 60, 'x'])));
  assertOk(checkLinearizable(hist(['c1', w('x'), 0, 'info'], ['c2', r(), 50, 60, null], ['c2', r(), 70, 80, null])));
  assertOk(checkLinearizable(hist(['c1', w('x'), 0, 'info'], ['c2', r(), 50, 60, null], ['c2', r(), 900, 901, 'x'])));
  // It may even take effect after a later acknowledged write (a delayed commit).
  assertOk(checkLinearizable(hist(['c1', w('x'), 0, 'info'], ['c2', w('y'), 50, 60], ['c2', r(), 70, 80, 'x'])));
});

test('an info incr that failed in its state (not an integer) simply had no effect', () => {
  assertOk(checkLinearizable(hist(['c1', w('abc'), 0, 1], ['c2', incr(1), 2, 'info'], ['c3', r(), 10, 11, 'abc'])));
});

test('compare-and-set: replaces only the expected value, and two cas from one value cannot both win', () => {
  assertOk(checkLinearizable(hist(['c1', w('a'), 0, 1], ['c1', cas('a', 'b'), 2, 3, 1], ['c1', cas('a', 'c'), 4, 5, 0], ['c1', r(), 6, 7, 'b'])));
  assertViolation(checkLinearizable(hist(['c1', w('a'), 0, 1], ['c1', cas('a', 'b'), 2, 3, 0])));
  assertViolation(checkLinearizable(hist(['c1', w('a'), 0, 1], ['c2', cas('a', 'b'), 2, 10, 1], ['c3', cas('a', 'c'), 2, 10, 1])));
  // An info cas may have replaced the value, or not.
  assertOk(checkLinearizable(hist(['c1', w('a'), 0, 1], ['c2', cas('a', 'b'), 2, 'info'], ['c3', r(), 10, 11, 'b'])));
  assertViolation(checkLinearizable(hist(['c1', w('a'), 0, 1], ['c2', cas('x', 'b'), 2, 'info'], ['c3', r(), 10, 11, 'b'])));
});

test('concurrent incrs return distinct consecutive values in any overlap order', () => {
  assertOk(
    checkLinearizable(
      hist(
        ['c1', incr(1), 0, 50, 2],
        ['c2', incr(1), 5, 40, 3],
        ['c3', incr(1), 10, 30, 1],
        ['c4', r(), 20, 60, '3'],
        ['c5', incr(10), 70, 80, 13],
      ),
    ),
  );
});

test('delete counts, append lengths (in UTF-8 bytes) and fail ops that are ignored', () => {
  assertOk(
    checkLinearizable(
      hist(
        ['c1', del(), 0, 1, 0],
        ['c1', app('ab'), 2, 3, 2],
        ['c1', app('é'), 4, 5, 4],
        ['c2', w('zzz'), 6, 'fail'],
        ['c1', r(), 8, 9, 'abé'],
        ['c1', del(), 10, 11, 1],
        ['c1', del(), 12, 13],
        ['c1', r(), 14, 15, null],
      ),
    ),
  );
});

test('keys are checked independently', () => {
  assertOk(checkLinearizable(hist(['c1', w('a', 'x'), 0, 10], ['c2', w('b', 'y'), 0, 10], ['c3', r('x'), 20, 21, 'a'], ['c3', r('y'), 22, 23, 'b'])));
});

test('an empty history, or one of failed ops only, is linearizable', () => {
  assertOk(checkLinearizable([]));
  assertOk(checkLinearizable(hist(['c1', w('a'), 0, 'fail'])));
});

// ------------------------------------------------------------ not linearizable

test('stale read after a completed write', () => {
  const res = assertViolation(
    checkLinearizable(hist(['c1', w('a'), 0, 10], ['c1', w('b'), 20, 30], ['c2', r(), 40, 50, 'a'])),
  );
  assert.equal(res.culprit.id, 2);
  assert.match(res.explanation, /✗ #2 /);
});

test('read of a value never written', () => {
  const res = assertViolation(checkLinearizable(hist(['c1', w('a'), 0, 10], ['c2', r(), 5, 15, 'z'])));
  assert.equal(res.culprit.id, 1);
});

test('a read of a value nothing could have produced is shown alone', () => {
  const res = assertViolation(
    checkLinearizable(hist(['c1', w('a'), 0, 10], ['c2', r(), 11, 12, 'a'], ['c1', app('x'), 13, 14, 2], ['c2', r(), 15, 16, 'ay'])),
  );
  assert.equal(res.culprit.id, 3);
  assert.deepEqual(
    res.ops.map((o) => o.id),
    [3],
  );
  assert.match(res.explanation, /no write of it, no append ending in it/);
});

test('two readers observing two writes in opposite orders', () => {
  assertViolation(
    checkLinearizable(
      hist(
        ['c1', w('a'), 0, 100],
        ['c2', w('b'), 0, 100],
        ['c3', r(), 10, 20, 'a'],
        ['c4', r(), 10, 20, 'b'],
        ['c3', r(), 30, 40, 'b'],
        ['c4', r(), 30, 40, 'a'],
      ),
    ),
  );
});

test('a lost acknowledged write (an append that vanished)', () => {
  assertViolation(checkLinearizable(hist(['c1', app('a'), 0, 10, 1], ['c2', app('b'), 20, 30, 2], ['c3', r(), 40, 50, 'b'])));
  assertViolation(checkLinearizable(hist(['c1', w('a'), 0, 10], ['c2', r(), 20, 30, null])));
});

test('an incr whose result skips a value', () => {
  const res = assertViolation(checkLinearizable(hist(['c1', incr(1), 0, 10, 1], ['c1', incr(1), 20, 30, 3])));
  assert.equal(res.culprit.id, 1);
});

test("a failed write's value is read", () => {
  assertViolation(checkLinearizable(hist(['c1', w('x'), 0, 'fail'], ['c2', r(), 20, 30, 'x'])));
});

test('an info write seen and then unseen flickers', () => {
  assertViolation(checkLinearizable(hist(['c1', w('x'), 0, 'info'], ['c2', r(), 50, 60, 'x'], ['c2', r(), 70, 80, null])));
});

test('a wrong delete count', () => {
  assertViolation(checkLinearizable(hist(['c1', w('a'), 0, 1], ['c1', del(), 2, 3, 0])));
});

test('the failure reported is the one on the failing key', () => {
  const res = checkLinearizable(hist(['c1', w('a', 'good'), 0, 10], ['c2', r('good'), 20, 30, 'a'], ['c1', w('a', 'bad'), 40, 50], ['c2', r('bad'), 60, 70, null]));
  assertViolation(res, 'bad');
});

test('the explanation is the shortest failing prefix, without reads it does not need', () => {
  const specs: Spec[] = [['c1', w('a'), 0, 10], ['c2', r(), 1, 2, null], ['c2', r(), 12, 13, 'a'], ['c3', r(), 14, 15, null]];
  // Plenty of correct traffic after the violation.
  for (let i = 0; i < 50; i++) specs.push(['c1', w(`v${i}`), 100 + 10 * i, 105 + 10 * i], ['c2', r(), 106 + 10 * i, 107 + 10 * i, `v${i}`]);
  const res = assertViolation(checkLinearizable(hist(...specs)));
  assert.equal(res.culprit.id, 3);
  assert.deepEqual(
    res.ops.map((o) => o.id),
    [0, 3],
    res.explanation,
  );
  assert.match(res.explanation, /read\(s\) not needed/);
  assert.doesNotMatch(res.explanation, /v49/);
});

test('ops still running at the cut are shown as pending', () => {
  const res = assertViolation(
    checkLinearizable(hist(['c1', w('a'), 0, 10], ['c3', w('b'), 12, 100], ['c2', r(), 20, 30, null])),
  );
  assert.equal(res.culprit.id, 2);
  const pending = res.ops.find((o) => o.id === 1);
  assert.equal(pending?.status, 'info');
  assert.match(res.explanation, /not yet completed/);
});

// ----------------------------------------------------------------- the budget

/** Many concurrent info writes and distinct-valued reads: a wide search. */
function hardHistory(): HistoryOp[] {
  const specs: Spec[] = [];
  for (let i = 0; i < 14; i++) specs.push([`w${i}`, w(`v${i}`), i, 'info']);
  for (let i = 0; i < 14; i++) specs.push([`r${i}`, r(), 100 + 2 * i, 101 + 2 * i, `v${(i * 5) % 14}`]);
  // No value is that long: only an exhaustive search can tell.
  specs.push(['z', app('q'), 1000, 1001, 100]);
  return hist(...specs);
}

test('a search over its step budget reports unknown instead of running on', () => {
  const res = checkLinearizable(hardHistory(), { maxStepsPerKey: 50 });
  assert.equal(res.ok, 'unknown');
  if (res.ok !== 'unknown') return;
  assert.deepEqual(res.keys, ['k']);
  assert.ok(res.steps <= 51);
  assert.match(res.reason, /50 steps/);
});

test('a spent time budget reports unknown, read through the clock passed in', () => {
  let now = 0;
  const res = checkLinearizable(hist(['c1', w('a'), 0, 1], ['c1', r(), 2, 3, 'a']), { clock: () => (now += 1000), maxTimeMs: 1 });
  assert.equal(res.ok, 'unknown');
  if (res.ok === 'unknown') assert.match(res.reason, /time budget/);
});

// --------------------------------------------------------------- the recorder

test('the recorder keeps one outstanding op per client and time moving forward', () => {
  const h = new HistoryRecorder();
  const a = h.invoke('c1', w('a'), 0);
  assert.throws(() => h.invoke('c1', r(), 1), /still outstanding/);
  const b = h.invoke('c2', r(), 1);
  assert.throws(() => h.ok(b, 'x', 0), /backwards/);
  assert.throws(() => h.ok(a, 5, 2), /wrong shape/);
  h.ok(a, null, 2);
  assert.throws(() => h.ok(a, null, 3), /not outstanding/);
  h.info(b, 3);
  // After a timeout the client moves on.
  const c = h.invoke('c2', incr(2), 4);
  h.fail(c, 5);
  const d = h.invoke('c3', app('z'), 6);
  assert.equal(h.outstanding(), 1);
  const ops = h.ops();
  assert.deepEqual(
    ops.map((o) => [o.id, o.status, o.completeTime]),
    [
      [a, 'ok', 2],
      [b, 'info', Infinity],
      [c, 'fail', 5],
      [d, 'info', Infinity],
    ],
  );
  assert.equal(ops[1]?.gaveUpTime, 3);
});

// ------------------------------------------------ against a brute-force oracle

/** A plainly written oracle: tries every order respecting real time. */
function bruteForce(ops: readonly HistoryOp[]): boolean {
  const live = ops.filter((o) => o.status !== 'fail');
  const used = live.map(() => false);
  const go = (store: Map<string, string>): boolean => {
    if (live.every((o, i) => used[i] || o.status !== 'ok')) return true;
    for (let i = 0; i < live.length; i++) {
      const o = live[i]!;
      if (used[i]) continue;
      // Every ok op that completed before this one was invoked must already be placed.
      if (live.some((p, j) => !used[j] && p.status === 'ok' && p.completeTime < o.invokeTime)) continue;
      const copy = new Map(store);
      const res = apply(copy, o.call);
      if (o.status === 'ok' && (res === 'error' || (o.call.kind !== 'write' && !(o.call.kind === 'delete' && o.result === null) && res !== o.result))) continue;
      used[i] = true;
      const found = go(res === 'error' ? store : copy);
      used[i] = false;
      if (found) return true;
    }
    return false;
  };
  return go(new Map());
}

const smallOp = fc.record({
  call: fc.oneof(
    fc.constant(r()),
    fc.constantFrom('a', 'b', '1').map((v) => w(v)),
    fc.constant(del()),
    fc.integer({ min: -1, max: 2 }).map((by) => incr(by)),
    fc.constantFrom('a', '1').map((x) => app(x)),
  ),
  start: fc.nat({ max: 12 }),
  length: fc.nat({ max: 8 }),
  status: fc.constantFrom('ok', 'ok', 'ok', 'info', 'fail'),
  guess: fc.constantFrom<OpResult>(null, 'a', 'b', '1', '2', 'a1', 0, 1, 2, 3),
});

for (const searchOrder of ['auto', 'time', 'unknown-last'] as const) test(`property: on small random histories the checker (${searchOrder} order) agrees with brute force`, () => {
  const verdicts = { ok: 0, fail: 0 };
  fc.assert(
    fc.property(fc.array(smallOp, { maxLength: 7 }), (specs) => {
      const ops: HistoryOp[] = specs.map((x, id) => {
        const g = x.guess;
        // Bend the guess into the shape this kind of op returns.
        const shaped: OpResult =
          x.call.kind === 'read'
            ? typeof g === 'number' ? String(g) : g
            : x.call.kind === 'write'
              ? null
              : x.call.kind === 'delete'
                ? g === 0 || g === 1 ? g : null
                : typeof g === 'number' ? g : 0;
        return {
          id,
          client: `c${id}`,
          call: x.call,
          status: x.status as 'ok' | 'info' | 'fail',
          result: x.status === 'ok' ? shaped : null,
          invokeTime: x.start,
          completeTime: x.status === 'info' ? Infinity : x.start + x.length,
          gaveUpTime: null,
        };
      });
      const expected = bruteForce(ops);
      const res = checkLinearizable(ops, { searchOrder });
      assert.notEqual(res.ok, 'unknown');
      assert.equal(res.ok, expected, res.ok === false ? res.explanation : 'checker says linearizable');
      verdicts[expected ? 'ok' : 'fail']++;
    }),
    { numRuns: 1500 },
  );
  // Both verdicts must be common, or the comparison proves little.
  assert.ok(verdicts.ok > 200 && verdicts.fail > 200, JSON.stringify(verdicts));
});

// -------------------------------------------------- generated from a register

interface GenOp {
  readonly client: number;
  readonly key: number;
  readonly call: 'read' | 'write' | 'delete' | 'incr' | 'append';
  readonly arg: number;
  readonly outcome: 'ok' | 'info-applied' | 'info-lost' | 'fail';
  readonly before: number; // in [0, 1): how far before its instant the op is invoked
  readonly after: number; // in [0, 1): how far after its instant it completes
}

const VALUES = ['a', 'b', 'c', '1', '2', '10', '-3'];
const SUFFIXES = ['x', 'y', '1', 'é'];

function makeCall(g: GenOp): OpCall {
  const key = `k${g.key}`;
  switch (g.call) {
    case 'read':
      return { kind: 'read', key };
    case 'write':
      return { kind: 'write', key, value: VALUES[g.arg % VALUES.length]! };
    case 'delete':
      return { kind: 'delete', key };
    case 'incr':
      return { kind: 'incr', key, by: (g.arg % 5) - 1 };
    case 'append':
      return { kind: 'append', key, suffix: SUFFIXES[g.arg % SUFFIXES.length]! };
  }
}

/** A real register applied in list order: returns the result, or 'error'. */
function apply(store: Map<string, string>, call: OpCall): OpResult | 'error' {
  const cur = store.get(call.key) ?? null;
  switch (call.kind) {
    case 'read':
      return cur;
    case 'write':
      store.set(call.key, call.value);
      return null;
    case 'delete':
      store.delete(call.key);
      return cur === null ? 0 : 1;
    case 'incr': {
      if (cur !== null && !/^(0|-?[1-9][0-9]*)$/.test(cur)) return 'error';
      const n = Number(cur ?? '0') + call.by;
      store.set(call.key, String(n));
      return n;
    }
    case 'append': {
      const v = (cur ?? '') + call.suffix;
      store.set(call.key, v);
      return new TextEncoder().encode(v).length;
    }
    case 'cas':
      if (cur !== call.expect) return 0;
      store.set(call.key, call.value);
      return 1;
  }
}

/**
 * Op i takes effect at instant 100·i. With `overlap`, its interval stretches
 * up to halfway to its client's previous and next instants, so ops of other
 * clients overlap while one client's ops never do; without, intervals stay
 * within ±49 of the instant and nothing overlaps. The events are replayed
 * through a HistoryRecorder in time order.
 */
function generate(gen: readonly GenOp[], overlap: boolean): HistoryOp[] {
  const store = new Map<string, string>();
  const instants = new Map<number, number[]>();
  gen.forEach((g, i) => {
    const list = instants.get(g.client) ?? [];
    list.push(100 * i);
    instants.set(g.client, list);
  });
  const seen = new Map<number, number>();
  type Ev = { t: number; order: number; run: (h: HistoryRecorder, ids: Map<number, number>) => void };
  const events: Ev[] = [];
  gen.forEach((g, i) => {
    const at = 100 * i;
    const call = makeCall(g);
    const mine = instants.get(g.client)!;
    const k = seen.get(g.client) ?? 0;
    seen.set(g.client, k + 1);
    const prevGap = k > 0 ? at - mine[k - 1]! : 2000;
    const nextGap = k + 1 < mine.length ? mine[k + 1]! - at : 2000;
    const reachBefore = overlap ? Math.floor(prevGap / 2) - 1 : 49;
    const reachAfter = overlap ? Math.floor(nextGap / 2) - 1 : 49;
    const inv = at - Math.floor(g.before * reachBefore);
    const end = at + Math.floor(g.after * reachAfter);
    let outcome = g.outcome;
    let result: OpResult = null;
    if (outcome !== 'fail' && outcome !== 'info-lost') {
      const res = apply(store, call);
      if (res === 'error') outcome = 'fail';
      else result = res;
    }
    events.push({ t: inv, order: 2 * i, run: (h, ids) => ids.set(i, h.invoke(`c${g.client}`, call, inv)) });
    events.push({
      t: end,
      order: 2 * i + 1,
      run: (h, ids) => {
        const id = ids.get(i)!;
        if (outcome === 'ok') h.ok(id, result, end);
        else if (outcome === 'fail') h.fail(id, end);
        else h.info(id, end);
      },
    });
  });
  events.sort((a, b) => a.t - b.t || a.order - b.order);
  const h = new HistoryRecorder();
  const ids = new Map<number, number>();
  for (const e of events) e.run(h, ids);
  return h.ops();
}

const genOp = (clients: number, keys: number): fc.Arbitrary<GenOp> =>
  fc.record({
    client: fc.nat({ max: clients - 1 }),
    key: fc.nat({ max: keys - 1 }),
    call: fc.constantFrom('read', 'read', 'write', 'delete', 'incr', 'append'),
    arg: fc.nat({ max: 20 }),
    outcome: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'ok', 'info-applied', 'info-lost', 'fail'),
    before: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    after: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  });

test('property: histories of a real register with non-overlapping timings are linearizable', () => {
  fc.assert(
    fc.property(fc.array(genOp(3, 2), { maxLength: 60 }), (gen) => {
      const res = checkLinearizable(generate(gen, false));
      assert.equal(res.ok, true, res.ok === false ? res.explanation : JSON.stringify(res));
    }),
    { numRuns: 200 },
  );
});

test('property: histories of a real register with overlapping timings are linearizable', () => {
  fc.assert(
    fc.property(fc.array(genOp(5, 2), { maxLength: 60 }), (gen) => {
      const res = checkLinearizable(generate(gen, true));
      assert.equal(res.ok, true, res.ok === false ? res.explanation : JSON.stringify(res));
    }),
    { numRuns: 200 },
  );
});

test('property: one read mutated to return a value never written is caught on its key', () => {
  fc.assert(
    fc.property(fc.array(genOp(5, 3), { minLength: 1, maxLength: 60 }), fc.boolean(), fc.nat(), (gen, overlap, pick) => {
      const ops = generate(gen, overlap);
      const reads = ops.filter((o) => o.status === 'ok' && o.call.kind === 'read');
      fc.pre(reads.length > 0);
      const victim = reads[pick % reads.length]!;
      // '!' appears in no written value or suffix, and never in an integer.
      const mutated = ops.map((o) => (o === victim ? { ...o, result: '!never' } : o));
      const res = checkLinearizable(mutated);
      assert.equal(res.ok, false, JSON.stringify(res));
      if (res.ok === false) {
        assert.equal(res.key, victim.call.key);
        assert.equal(res.culprit.id, victim.id);
      }
    }),
    { numRuns: 200 },
  );
});

test('property: a stale read appended after a generated history is caught by the search', () => {
  fc.assert(
    fc.property(fc.array(genOp(5, 2), { minLength: 1, maxLength: 40 }), fc.boolean(), fc.nat(), (gen, overlap, pick) => {
      const ops = generate(gen, overlap);
      // A letter value some ok write stored, which no op of unknown outcome
      // writes and no append or incr can produce: after a later completed
      // write of another value, reading it is stale whatever the order.
      const stale = ops.filter(
        (o) =>
          o.status === 'ok' &&
          o.call.kind === 'write' &&
          /^[a-c]$/.test(o.call.value) &&
          !ops.some((p) => p.status === 'info' && p.call.key === o.call.key && p.call.kind === 'write' && p.call.value === (o.call as { value: string }).value),
      );
      fc.pre(stale.length > 0);
      const victim = stale[pick % stale.length]!;
      const key = victim.call.key;
      const value = (victim.call as { value: string }).value;
      const end = Math.max(...ops.map((o) => (Number.isFinite(o.completeTime) ? o.completeTime : o.invokeTime)));
      const tail: HistoryOp[] = [
        { id: 9000, client: 'x', call: w('fresh', key), status: 'ok', result: null, invokeTime: end + 1, completeTime: end + 2, gaveUpTime: null },
        { id: 9001, client: 'y', call: r(key), status: 'ok', result: value, invokeTime: end + 3, completeTime: end + 4, gaveUpTime: null },
      ];
      const res = checkLinearizable([...ops, ...tail]);
      assert.equal(res.ok, false, JSON.stringify(res));
      if (res.ok === false) {
        assert.equal(res.key, key);
        assert.equal(res.culprit.id, 9001);
      }
    }),
    { numRuns: 150 },
  );
});

/** 10 clients × 200 ops, round-robin so that all ten overlap, on 5 keys. */
function bigHistory(seed: number, unknownOutcomes = true): HistoryOp[] {
  const prng = new Prng(seed);
  const gen: GenOp[] = [];
  const calls = ['read', 'read', 'write', 'delete', 'incr', 'append'] as const;
  const outcomes = unknownOutcomes
    ? (['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'info-applied', 'info-lost', 'fail'] as const)
    : (['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'fail'] as const);
  for (let i = 0; i < 2000; i++) {
    gen.push({
      client: i % 10,
      key: prng.int(0, 4),
      call: prng.pick(calls),
      arg: prng.int(0, 20),
      outcome: prng.pick(outcomes),
      before: prng.float(),
      after: prng.float(),
    });
  }
  return generate(gen, true);
}

// These assert completion within the default step budget (a verdict, not
// 'unknown'), never a duration: timings vary from machine to machine.
test('performance: 10 clients × 200 ops on 5 keys completes within the step budget', () => {
  for (const seed of [1, 2, 3]) {
    const ops = bigHistory(seed);
    assert.equal(ops.length, 2000);
    const res = checkLinearizable(ops);
    assert.equal(res.ok, true, res.ok === false ? res.explanation : JSON.stringify(res));
  }
});

test('performance: one impossible read among 2000 ops is found and explained within the step budget', () => {
  const ops = bigHistory(4);
  const reads = ops.filter((o) => o.status === 'ok' && o.call.kind === 'read');
  const victim = reads[Math.floor(reads.length / 2)]!;
  const res = checkLinearizable(ops.map((o) => (o === victim ? { ...o, result: '!never' } : o)));
  assert.equal(res.ok, false, JSON.stringify(res));
  if (res.ok !== false) return;
  assert.equal(res.culprit.id, victim.id);
  assert.match(res.explanation, /shortest prefix/);
  assert.ok(res.ops.length < 400, `window of ${res.ops.length} ops`);
});

test('performance: a stale read after 2000 ops, which needs an exhaustive search, is found within the step budget', () => {
  // Without ops of unknown outcome: each of those multiplies the orders a
  // failure proof must rule out (see docs/linearizability.md).
  const ops = bigHistory(5, false);
  const end = Math.max(...ops.map((o) => o.completeTime));
  const key = 'k2';
  // 'a' is only ever written whole: no append or incr can produce it again.
  assert.ok(ops.some((o) => o.call.key === key && o.call.kind === 'write' && o.call.value === 'a' && o.status === 'ok'));
  const tail: HistoryOp[] = [
    { id: 5000, client: 'x', call: w('fresh', key), status: 'ok', result: null, invokeTime: end + 1, completeTime: end + 2, gaveUpTime: null },
    { id: 5001, client: 'y', call: r(key), status: 'ok', result: 'a', invokeTime: end + 3, completeTime: end + 4, gaveUpTime: null },
  ];
  const res = checkLinearizable([...ops, ...tail]);
  assert.equal(res.ok, false, JSON.stringify(res));
  if (res.ok !== false) return;
  assert.equal(res.key, key);
  assert.equal(res.culprit.id, 5001);
  assert.match(res.explanation, /shortest prefix/);
});
