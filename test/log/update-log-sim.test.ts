// Property tests of the UpdateLog on the simulated disk: random appends,
// partial progress, crashes (clean and torn), reopenings, clears and
// truncations. After every crash the log must hold a gap-free run of records
// that includes every append reported durable, nothing that was never
// appended, and nothing a completed truncation removed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SimDisk } from '../../sim/sim-disk.ts';
import { Prng } from '../../src/lib/prng.ts';
import { UpdateLog, type LogRecord, type RecoveryReport } from '../../src/log/update-log.ts';
import { idOf, payloadOf, readAllOn } from './records.ts';
import { SimLoop } from './sim-loop.ts';

const DIR = '/node/log';
const SEGMENT_BYTES_FOR_TESTS = 4096;

type Cmd =
  | { k: 'append'; n: number; size: number; bump: boolean }
  | { k: 'run'; events: number }
  | { k: 'settle' }
  | { k: 'clear'; frac: number }
  | { k: 'truncate'; frac: number }
  | { k: 'crash'; tear: boolean }
  | { k: 'crash-mid-write'; n: number; size: number; events: number }
  | { k: 'read'; frac: number; maxBytes: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('append' as const),
      n: fc.integer({ min: 1, max: 6 }),
      // Mostly small records; sometimes an append larger than a whole segment.
      size: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 8, max: 400 }) }, { weight: 1, arbitrary: fc.integer({ min: 8, max: 1500 }) }),
      bump: fc.boolean(),
    }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('run' as const), events: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 40 })) }) },
  { weight: 2, arbitrary: fc.constant({ k: 'settle' as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('clear' as const), frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('truncate' as const), frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('crash' as const), tear: fc.boolean() }) },
  // Appends, lets the batch's write start, and pulls the plug before its datasync completes.
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('crash-mid-write' as const),
      n: fc.integer({ min: 1, max: 30 }),
      size: fc.integer({ min: 8, max: 400 }),
      events: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('read' as const), frac: fc.double({ min: 0, max: 1, noNaN: true }), maxBytes: fc.integer({ min: 1, max: 3000 }) }) },
);

class Harness {
  readonly loop = new SimLoop();
  readonly disk: SimDisk;
  log!: UpdateLog;
  /** Every record ever appended, by id. */
  readonly all = new Map<number, { lsn: number; epoch: number; size: number }>();
  /** The log's lineage as the appender sees it: lsn → id. */
  current = new Map<number, number>();
  /** Records reported durable (and not removed by a truncation called since): lsn → id. */
  mustHave = new Map<number, number>();
  /** Ids removed by a completed truncation: must never come back. */
  readonly dead = new Set<number>();
  nextId = 1;
  epoch = 1;
  clearRequested = 0;
  clearDone = 0;
  crashes = 0;
  torn = 0;
  truncations = 0;

  constructor(seed: number) {
    this.disk = new SimDisk(new Prng(seed), this.loop.schedule, { fsyncLatencyMs: 1, opLatencyMs: 0.05, jitter: 1 });
    this.open();
  }

  open(): void {
    let result: { err: Error | null; log?: UpdateLog; report?: RecoveryReport } | undefined;
    UpdateLog.open(this.disk, DIR, { segmentBytes: SEGMENT_BYTES_FOR_TESTS, defer: this.loop.defer }, (err, log, report) => {
      result = { err, log, report };
    });
    this.loop.runUntil(() => result !== undefined);
    assert.ok(result, 'open never completed');
    assert.equal(result.err, null, `open failed: ${result.err?.message}`);
    this.log = result.log!;
    if (result.report?.tornSegment) this.torn++;
  }

  append(n: number, size: number, bump: boolean): void {
    if (bump) this.epoch++;
    const recs: LogRecord[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.nextId++;
      const lsn = this.log.lastLsn + 1 + i;
      const rec = { lsn, epoch: this.epoch, payload: payloadOf(id, size) };
      recs.push(rec);
      this.all.set(id, { lsn, epoch: this.epoch, size: rec.payload.length });
      this.current.set(lsn, id);
    }
    const log = this.log;
    log.append(recs, (err) => {
      assert.equal(err, null);
      const lastRec = recs[recs.length - 1]!;
      if (this.current.get(lastRec.lsn) === idOf(lastRec.payload)) assert.ok(log.durableLsn >= lastRec.lsn, 'an append completed before it was durable');
      for (const r of recs) {
        const id = idOf(r.payload);
        if (this.current.get(r.lsn) === id) this.mustHave.set(r.lsn, id);
      }
    });
  }

  clear(frac: number): void {
    const lsn = Math.floor(frac * this.log.lastLsn);
    this.clearRequested = Math.max(this.clearRequested, lsn);
    this.log.clearTo(lsn, (err) => {
      assert.equal(err, null);
      this.clearDone = Math.max(this.clearDone, lsn);
    });
  }

  truncate(frac: number): void {
    const lo = this.clearRequested;
    const lsn = lo + Math.floor(frac * (this.log.lastLsn - lo));
    const removed: number[] = [];
    for (const [l, id] of this.current) {
      if (l > lsn) {
        removed.push(id);
        this.current.delete(l);
        this.mustHave.delete(l);
      }
    }
    this.truncations++;
    this.log.truncateAfter(lsn, (err) => {
      assert.equal(err, null);
      for (const id of removed) this.dead.add(id);
    });
  }

  read(frac: number, maxBytes: number): void {
    const from = this.log.start + Math.floor(frac * (this.log.durableLsn + 1 - this.log.start));
    const expected = new Map(this.current);
    const durable = this.log.durableLsn;
    const lastLsn = this.log.lastLsn;
    const truncations = this.truncations;
    this.log.read(from, maxBytes, (err, recs) => {
      assert.equal(err, null);
      assert.ok(recs);
      // Unless a truncation called before or during the read removed it, a durable record is returned.
      if (from <= Math.min(durable, lastLsn) && truncations === this.truncations) {
        assert.ok(recs.length >= 1, 'read returned nothing though records were durable');
      }
      recs.forEach((r, i) => {
        assert.equal(r.lsn, from + i);
        const id = idOf(r.payload);
        // A truncation called after this read may have replaced the lineage: compare with the lineage at call time.
        if (expected.has(r.lsn)) assert.equal(id, expected.get(r.lsn));
        this.checkRecord(r);
      });
    });
  }

  checkRecord(r: LogRecord): void {
    const id = idOf(r.payload);
    const meta = this.all.get(id);
    assert.ok(meta, `record lsn ${r.lsn} holds id ${id} that was never appended`);
    assert.equal(r.lsn, meta.lsn);
    assert.equal(r.epoch, meta.epoch);
    assert.deepEqual(r.payload, payloadOf(id, meta.size));
  }

  readAll(): LogRecord[] {
    return readAllOn(this.log, this.loop);
  }

  crash(tear: boolean): void {
    this.disk.crash({ tear });
    this.loop.clear();
    this.crashes++;
    this.open();
    const log = this.log;
    const recs = this.readAll();
    assert.equal(log.durableLsn, log.lastLsn);
    assert.equal(recs.length, log.lastLsn - log.start + 1, 'records from start to lastLsn, no gap');
    const got = new Map<number, number>();
    recs.forEach((r, i) => {
      assert.equal(r.lsn, log.start + i);
      this.checkRecord(r);
      assert.ok(!this.dead.has(idOf(r.payload)), `lsn ${r.lsn}: a record removed by a completed truncation came back`);
      got.set(r.lsn, idOf(r.payload));
    });
    for (const [lsn, id] of this.mustHave) {
      if (lsn < log.start) continue; // cleared, and its segment deleted
      assert.equal(got.get(lsn), id, `lsn ${lsn} was reported durable but is ${got.has(lsn) ? 'different' : 'missing'} after a crash`);
    }
    assert.ok(log.nextToClear >= this.clearDone + 1, `nextToClear ${log.nextToClear} went back below a completed clear to ${this.clearDone}`);
    assert.ok(log.nextToClear <= this.clearRequested + 1);
    assert.ok(log.start <= log.nextToClear);
    this.checkEpochs(recs);
    // What survived a crash is on disk: from now on the log must keep it.
    this.current = new Map(got);
    this.mustHave = new Map(got);
    this.clearRequested = log.nextToClear - 1;
    this.clearDone = this.clearRequested;
    this.epoch = Math.max(this.epoch, log.lastEpoch);
  }

  settle(): void {
    this.loop.run();
    const recs = this.readAll();
    const log = this.log;
    assert.equal(log.durableLsn, log.lastLsn);
    assert.equal(recs.length, log.lastLsn - log.start + 1);
    recs.forEach((r) => {
      this.checkRecord(r);
      assert.equal(idOf(r.payload), this.current.get(r.lsn), `lsn ${r.lsn} differs from what was appended`);
    });
    assert.equal(log.nextToClear, this.clearRequested + 1);
    this.checkEpochs(recs);
  }

  checkEpochs(recs: LogRecord[]): void {
    const expected: Array<{ epoch: number; startLsn: number }> = [];
    for (const r of recs) if (expected.at(-1)?.epoch !== r.epoch) expected.push({ epoch: r.epoch, startLsn: r.lsn });
    assert.deepEqual(this.log.epochHistory(), expected);
    for (const r of recs) assert.equal(this.log.epochAt(r.lsn), r.epoch);
  }
}

function runScenario(seed: number, cmds: readonly Cmd[]): Harness {
  const h = new Harness(seed);
  for (const c of cmds) {
    switch (c.k) {
      case 'append':
        h.append(c.n, c.size, c.bump);
        break;
      case 'run':
        for (let i = 0; i < c.events && h.loop.step(); i++);
        break;
      case 'settle':
        h.settle();
        break;
      case 'clear':
        h.clear(c.frac);
        break;
      case 'truncate':
        h.truncate(c.frac);
        break;
      case 'crash':
        h.crash(c.tear);
        break;
      case 'crash-mid-write':
        h.append(c.n, c.size, false);
        for (let i = 0; i < c.events && h.loop.step(); i++);
        h.crash(true);
        break;
      case 'read':
        h.read(c.frac, c.maxBytes);
        break;
    }
  }
  h.settle();
  h.crash(true);
  return h;
}

test('regression: a read racing a truncation, then an append at the truncated lsn', () => {
  runScenario(1, [
    { k: 'append', n: 1, size: 8, bump: false },
    { k: 'truncate', frac: 0 },
    { k: 'run', events: 3 },
    { k: 'read', frac: 0, maxBytes: 1 },
    { k: 'append', n: 1, size: 8, bump: false },
  ]);
});

test('regression: a read after a truncation and a new append returns the new record, not the old one', () => {
  runScenario(1, [
    { k: 'append', n: 1, size: 8, bump: false },
    { k: 'run', events: 3 },
    { k: 'truncate', frac: 0 },
    { k: 'append', n: 1, size: 8, bump: false },
    { k: 'read', frac: 0, maxBytes: 1 },
  ]);
});

test('regression: a truncation queued behind appends, then a crash mid-way', () => {
  runScenario(1, [
    { k: 'crash-mid-write', n: 16, size: 152, events: 3 },
    { k: 'append', n: 4, size: 249, bump: false },
    { k: 'truncate', frac: 0 },
    { k: 'run', events: 8 },
    { k: 'crash', tear: false },
  ]);
});

test('after any crash the log holds a gap-free prefix with every durable append and nothing invented', () => {
  let crashes = 0;
  let torn = 0;
  let rolls = 0;
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.array(cmdArb, { minLength: 1, maxLength: 80 }), (seed, cmds) => {
      const h = runScenario(seed, cmds);
      crashes += h.crashes;
      torn += h.torn;
      rolls += h.log.segmentCount;
    }),
    { numRuns: 300 },
  );
  // The generator must reach the interesting cases, or the property proves little.
  assert.ok(crashes > 300, `only ${crashes} crashes`);
  assert.ok(torn > 20, `only ${torn} torn tails were cut`);
  assert.ok(rolls > 300, 'segments never rolled');
});

test('group commit: appends made while a batch is in flight share the next writev and datasync', () => {
  const h = new Harness(42);
  for (let i = 0; i < 10; i++) h.append(1, 100, false);
  h.loop.run();
  const syncs = h.disk.stats.datasyncs;
  const writes = h.disk.stats.writes;
  const rolls = h.log.stats.rolls;
  // One batch was started by the first turn; the other nine joined it (same turn).
  assert.equal(h.log.stats.batches, 1);
  for (let i = 0; i < 100; i++) {
    h.append(1, 100, false);
    h.loop.step(); // the first batch starts; the rest queue behind it
  }
  h.loop.run();
  assert.equal(h.log.durableLsn, 110);
  assert.ok(h.log.stats.batches < 1 + 100 / 2, `${h.log.stats.batches} batches for 100 appends`);
  // Rolling a segment writes and syncs its header once; every other write and sync is a batch's.
  const newRolls = h.log.stats.rolls - rolls;
  assert.ok(newRolls >= 1, 'expected the segment to roll');
  assert.equal(h.disk.stats.datasyncs - syncs, h.log.stats.batches - 1 + newRolls);
  assert.equal(h.disk.stats.writes - writes, h.log.stats.batches - 1 + newRolls);
});

test('clearTo deletes whole segments below the start pointer and persists both pointers', () => {
  const h = new Harness(3);
  for (let i = 0; i < 200; i++) h.append(1, 200, i === 100);
  h.loop.run();
  const segsBefore = h.log.segmentCount;
  assert.ok(segsBefore >= 5);
  h.clear(150 / 200);
  h.loop.run();
  assert.equal(h.log.nextToClear, 151);
  assert.ok(h.log.segmentCount < segsBefore);
  assert.ok(h.log.start <= 151 && h.log.start > 1);
  assert.equal(h.disk.names(DIR).filter((n) => n.startsWith('seg-')).length, h.log.segmentCount);
  assert.equal(h.log.epochAt(h.log.start - 1), h.log.start - 1 > 100 ? 2 : 1);
  const { start, nextToClear } = h.log;
  h.crash(false);
  assert.equal(h.log.start, start);
  assert.equal(h.log.nextToClear, nextToClear);
  assert.equal(h.log.lastLsn, 200);
});

test('truncateAfter into the middle of a segment and across segments is durable', () => {
  const h = new Harness(4);
  for (let i = 0; i < 120; i++) h.append(1, 150, false);
  h.loop.run();
  h.truncate(55 / 120);
  h.loop.run();
  assert.equal(h.log.lastLsn, 55);
  h.append(3, 50, true);
  h.loop.run();
  h.crash(false);
  assert.equal(h.log.lastLsn, 58);
  assert.deepEqual(h.log.epochHistory(), [
    { epoch: 1, startLsn: 1 },
    { epoch: 2, startLsn: 56 },
  ]);
});

test('truncating everything held leaves an empty log that remembers the epoch before it', () => {
  const h = new Harness(5);
  for (let i = 0; i < 60; i++) h.append(1, 200, i === 30);
  h.loop.run();
  h.clear(40 / 60);
  h.loop.run();
  const start = h.log.start;
  h.truncate(0); // down to the cleared lsn 40
  h.loop.run();
  assert.equal(h.log.lastLsn, 40);
  assert.equal(h.log.epochAt(40), 2);
  h.crash(false);
  assert.equal(h.log.lastLsn, 40);
  assert.equal(h.log.lastEpoch, 2);
  assert.ok(h.log.start >= start);
  h.append(2, 100, false);
  h.settle();
  assert.equal(h.log.lastLsn, 42);
});

test('appends out of order are an assertion error, not a silent gap', () => {
  const h = new Harness(6);
  h.append(2, 10, false);
  assert.throws(() => h.log.append([{ lsn: 5, epoch: 1, payload: new Uint8Array(1) }], () => {}), /out of order/);
  assert.throws(() => h.log.append([{ lsn: 3, epoch: 0, payload: new Uint8Array(1) }], () => {}), /epoch 0 below 1/);
});

test('a clear interrupted after its pointer write: recovery deletes the segments left below start', () => {
  let finished = 0;
  for (let steps = 0; steps <= 40; steps++) {
    const h = new Harness(100 + steps);
    for (let i = 0; i < 120; i++) h.append(1, 200, false);
    h.loop.run();
    const before = h.log.segmentCount;
    h.clear(100 / 120);
    for (let i = 0; i < steps && h.loop.step(); i++);
    h.disk.crash();
    h.loop.clear();
    let report: RecoveryReport | undefined;
    UpdateLog.open(h.disk, DIR, { segmentBytes: SEGMENT_BYTES_FOR_TESTS, defer: h.loop.defer }, (err, log, r) => {
      assert.equal(err, null);
      assert.ok(log);
      h.log = log;
      report = r;
    });
    h.loop.run();
    assert.ok(report);
    const segs = h.disk.names(DIR).filter((n) => n.startsWith('seg-'));
    assert.equal(segs.length, h.log.segmentCount, 'no segment file outside the log');
    if (h.log.nextToClear === 101) {
      assert.ok(h.log.segmentCount < before);
      if (report.removedSegments.length > 0) finished++;
    } else assert.equal(h.log.nextToClear, 1, 'the pointers are the old or the new ones');
  }
  assert.ok(finished > 0, 'some crash point must fall between the pointer write and the deletions');
});
