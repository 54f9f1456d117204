// UpdateLog.restartAfter: the log becomes empty and continues after a given
// lsn (a secondary brought back by a region resync). Unit cases on the
// simulated disk, crashes (torn or not) at every step of a restart and of the
// recovery that completes it, and the plain path on the real file system.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SimDisk } from '../../sim/sim-disk.ts';
import { Prng } from '../../src/lib/prng.ts';
import { FsDisk } from '../../src/host/fs-disk.ts';
import type { Disk } from '../../src/ports/disk.ts';
import { UnderstudyError } from '../../src/errors.ts';
import { UpdateLog, type LogRecord, type RecoveryReport } from '../../src/log/update-log.ts';
import { writeFileAtomic } from '../../src/log/atomic-file.ts';
import { RESTART_FILE_NAME } from '../../src/log/restart-file.ts';
import { idOf, payloadOf, readAllOn } from './records.ts';
import { SimLoop } from './sim-loop.ts';

const DIR = '/node/log';
const SEGMENT_BYTES_FOR_TESTS = 4096;

/** Payload naming its record: id (unique per test), then filler derived from it. */
interface Meta {
  readonly lsn: number;
  readonly epoch: number;
  readonly size: number;
}

class Rig {
  readonly loop = new SimLoop();
  readonly disk: SimDisk;
  log!: UpdateLog;
  report!: RecoveryReport;
  /** Every record ever appended, by id. */
  readonly all = new Map<number, Meta>();
  /** Ids whose append was reported durable. */
  readonly durable = new Set<number>();
  nextId = 1;
  /** Opens that found an interrupted restart and completed it. */
  recoveredRestarts = 0;

  constructor(seed: number) {
    this.disk = new SimDisk(new Prng(seed), this.loop.schedule, { fsyncLatencyMs: 1, opLatencyMs: 0.05, jitter: 1 });
    this.open();
  }

  /** Opens the log; with `maxEvents`, stops after that many events and returns false if the open had not finished. */
  open(maxEvents = Infinity): boolean {
    let result: { err: Error | null; log?: UpdateLog; report?: RecoveryReport } | undefined;
    UpdateLog.open(this.disk, DIR, { segmentBytes: SEGMENT_BYTES_FOR_TESTS, defer: this.loop.defer }, (err, log, report) => {
      result = { err, log, report };
    });
    for (let n = 0; result === undefined && n < maxEvents && this.loop.step(); n++);
    if (result === undefined) {
      assert.ok(maxEvents !== Infinity, 'open never completed');
      return false;
    }
    assert.equal(result.err, null, `open failed: ${result.err?.message}`);
    this.log = result.log!;
    this.report = result.report!;
    if (this.report.restartCompleted) this.recoveredRestarts++;
    return true;
  }

  crash(tear: boolean): void {
    this.disk.crash({ tear });
    this.loop.clear();
  }

  /** Appends n records at lastLsn + 1 … with the given epoch; returns their ids. */
  append(n: number, epoch: number, size = 120): number[] {
    const recs: LogRecord[] = [];
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.nextId++;
      const lsn = this.log.lastLsn + 1 + i;
      const payload = payloadOf(id, size);
      recs.push({ lsn, epoch, payload });
      this.all.set(id, { lsn, epoch, size: payload.length });
      ids.push(id);
    }
    this.log.append(recs, (err) => {
      assert.equal(err, null);
      for (const id of ids) this.durable.add(id);
    });
    return ids;
  }

  readAll(): LogRecord[] {
    return readAllOn(this.log, this.loop);
  }

  /** Checks every record held against what was appended; returns their ids in lsn order. */
  check(): number[] {
    const recs = this.readAll();
    assert.equal(this.log.durableLsn, this.log.lastLsn);
    assert.equal(recs.length, this.log.lastLsn - this.log.start + 1, 'records from start to lastLsn, no gap');
    return recs.map((r, i) => {
      assert.equal(r.lsn, this.log.start + i);
      const id = idOf(r.payload);
      const meta = this.all.get(id);
      assert.ok(meta, `lsn ${r.lsn} holds id ${id} that was never appended`);
      assert.equal(r.lsn, meta.lsn);
      assert.equal(r.epoch, meta.epoch);
      assert.deepEqual(r.payload, payloadOf(id, meta.size));
      assert.equal(this.log.epochAt(r.lsn), r.epoch);
      return id;
    });
  }

  segNames(): string[] {
    return this.disk.names(DIR).filter((n) => n.startsWith('seg-'));
  }

  restart(afterLsn: number, afterEpoch: number): { done: boolean; err: Error | null } {
    const state = { done: false, err: null as Error | null };
    this.log.restartAfter(afterLsn, afterEpoch, (err) => {
      state.done = true;
      state.err = err;
    });
    return state;
  }
}

function assertRestartedState(log: UpdateLog, afterLsn: number, afterEpoch: number): void {
  assert.equal(log.lastLsn, afterLsn);
  assert.equal(log.durableLsn, afterLsn);
  assert.equal(log.start, afterLsn + 1);
  assert.equal(log.nextToClear, afterLsn + 1);
  assert.equal(log.epochAt(afterLsn), afterEpoch);
  assert.equal(log.epochAt(afterLsn + 1), undefined);
  if (afterLsn > 0) assert.equal(log.epochAt(afterLsn - 1), undefined);
  assert.equal(log.lastEpoch, afterEpoch);
  assert.deepEqual(log.epochHistory(), []);
}

/** 80 records, epoch 1 up to lsn 30 and 2 after, cleared to 40: several segments, the first deleted. */
function oldLog(seed: number): Rig {
  const r = new Rig(seed);
  for (let i = 0; i < 8; i++) r.append(10, i < 3 ? 1 : 2);
  r.loop.run();
  r.log.clearTo(40, (err) => assert.equal(err, null));
  r.loop.run();
  assert.equal(r.log.nextToClear, 41);
  assert.ok(r.log.start > 5 && r.log.start <= 41, `start ${r.log.start}`);
  assert.ok(r.log.segmentCount >= 2, `${r.log.segmentCount} segments`);
  return r;
}

for (const [where, afterLsn, afterEpoch] of [
  ['below the current range', 5, 1],
  ['inside the current range', 50, 2],
  ['beyond the current range', 1000, 7],
] as const) {
  test(`restart ${where}: empty at once, appends continue after it, durable across a reopen`, () => {
    const r = oldLog(10 + afterLsn);
    const oldIds = new Set(r.all.keys());
    const s = r.restart(afterLsn, afterEpoch);
    assertRestartedState(r.log, afterLsn, afterEpoch);
    // Accepted right after the call, before anything reached the disk.
    const ids = r.append(3, afterEpoch);
    assert.equal(r.log.lastLsn, afterLsn + 3);
    assert.deepEqual(r.log.epochHistory(), [{ epoch: afterEpoch, startLsn: afterLsn + 1 }]);
    assert.throws(() => r.log.append([{ lsn: afterLsn + 4, epoch: afterEpoch - 1, payload: payloadOf(999) }], () => {}), /below/);
    r.loop.run();
    assert.ok(s.done && s.err === null);
    assert.deepEqual(r.check(), ids);
    assert.equal(r.log.epochAt(afterLsn), afterEpoch);
    assert.deepEqual(r.segNames(), [`seg-${String(afterLsn + 1).padStart(16, '0')}.log`]);
    assert.ok(!r.disk.names(DIR).includes(RESTART_FILE_NAME));
    r.crash(false);
    r.open();
    assert.equal(r.report.restartCompleted, null);
    assert.equal(r.log.start, afterLsn + 1);
    assert.equal(r.log.nextToClear, afterLsn + 1);
    assert.equal(r.log.epochAt(afterLsn), afterEpoch);
    const after = r.check();
    assert.deepEqual(after, ids);
    for (const id of after) assert.ok(!oldIds.has(id));
  });
}

test('read, readAll, clearTo and truncateAfter after a restart', () => {
  const r = oldLog(21);
  r.restart(100, 3);
  // Nothing to read yet, and a read from the new start is not an error.
  let early: LogRecord[] | undefined;
  r.log.read(101, 1000, (err, recs) => {
    assert.equal(err, null);
    early = recs;
  });
  assert.deepEqual(r.readAll(), []);
  r.loop.run();
  assert.deepEqual(early, []);
  assert.throws(() => r.log.read(100, 1000, () => {}), /below start/);
  const ids = [...r.append(20, 3), ...r.append(20, 4)];
  r.loop.run();
  assert.ok(r.log.segmentCount >= 2, 'the restarted log rolls segments');
  assert.deepEqual(r.check(), ids);
  let got: LogRecord[] | undefined;
  r.log.read(125, 300, (err, recs) => {
    assert.equal(err, null);
    got = recs;
  });
  r.loop.run();
  assert.ok(got && got.length >= 1);
  assert.equal(got[0]!.lsn, 125);
  assert.equal(idOf(got[0]!.payload), ids[24]);
  // Clearing within the restarted log moves the pointers from the new start.
  r.log.clearTo(130, (err) => assert.equal(err, null));
  r.loop.run();
  assert.equal(r.log.nextToClear, 131);
  assert.ok(r.log.start > 101 && r.log.start <= 131);
  // Truncation down to the restart point is allowed (nothing up to it is held); below is not.
  assert.throws(() => r.log.truncateAfter(129, () => {}), /below cleared/);
  r.log.truncateAfter(135, (err) => assert.equal(err, null));
  r.loop.run();
  assert.equal(r.log.lastLsn, 135);
  assert.deepEqual(r.check(), ids.slice(r.log.start - 101, 35));
  const start = r.log.start;
  r.crash(false);
  r.open();
  assert.equal(r.log.start, start);
  assert.equal(r.log.nextToClear, 131);
  assert.equal(r.log.lastLsn, 135);
  const recs = r.readAll();
  const expected: Array<{ epoch: number; startLsn: number }> = [];
  for (const x of recs) if (expected.at(-1)?.epoch !== x.epoch) expected.push({ epoch: x.epoch, startLsn: x.lsn });
  assert.deepEqual(r.log.epochHistory(), expected);
  assert.equal(expected.at(-1)?.epoch, 4);
});

test('truncateAfter right down to the restart point leaves the restarted empty log', () => {
  const r = oldLog(22);
  r.restart(100, 3);
  r.append(5, 3);
  r.log.truncateAfter(100, (err) => assert.equal(err, null));
  assertRestartedState(r.log, 100, 3);
  r.loop.run();
  assertRestartedState(r.log, 100, 3);
  r.crash(false);
  r.open();
  assertRestartedState(r.log, 100, 3);
  assert.deepEqual(r.check(), []);
});

test('restart twice, the second before the first reached the disk, and again after it', () => {
  const r = oldLog(23);
  r.restart(100, 3);
  r.append(5, 3);
  r.restart(50, 2);
  assertRestartedState(r.log, 50, 2);
  const ids = r.append(4, 2);
  r.loop.run();
  assert.deepEqual(r.check(), ids);
  r.restart(500, 9);
  const ids2 = r.append(2, 9);
  r.loop.run();
  assert.deepEqual(r.check(), ids2);
  r.crash(false);
  r.open();
  assert.equal(r.log.start, 501);
  assert.deepEqual(r.check(), ids2);
  assert.deepEqual(r.segNames(), ['seg-0000000000000501.log']);
});

test('appends and a truncation queued before the restart are carried out in order, then discarded', () => {
  const r = oldLog(24);
  r.append(10, 2);
  r.log.truncateAfter(65, (err) => assert.equal(err, null));
  r.append(10, 5);
  const s = r.restart(30, 2);
  const ids = r.append(3, 2);
  // The appends queued before complete (they were made durable in the old lineage), but
  // durableLsn stays at the restart point until the records after it are durable.
  let sawDurable = -1;
  r.log.append([], () => (sawDurable = r.log.durableLsn));
  assert.equal(r.log.durableLsn, 30);
  r.loop.run();
  assert.ok(s.done && s.err === null);
  assert.equal(sawDurable, 33);
  assert.deepEqual(r.check(), ids);
});

test('a clear queued before the restart is superseded; a running clear finishes first', () => {
  const r = new Rig(25);
  r.append(60, 1);
  r.loop.run();
  let firstDone = false;
  let secondDone = false;
  r.log.clearTo(30, (err) => {
    assert.equal(err, null);
    firstDone = true;
  });
  // Let the first clear start writing the pointer file, then queue another one.
  for (let i = 0; i < 2; i++) r.loop.step();
  r.log.clearTo(50, (err) => {
    assert.equal(err, null);
    secondDone = true;
  });
  const s = r.restart(40, 1);
  r.loop.run();
  assert.ok(firstDone && secondDone && s.done && s.err === null);
  assertRestartedState(r.log, 40, 1);
  r.crash(false);
  r.open();
  assertRestartedState(r.log, 40, 1);
  assert.deepEqual(r.segNames(), ['seg-0000000000000041.log']);
});

test('a read overtaken by a restart returns nothing, not an error', () => {
  const r = oldLog(26);
  let got: LogRecord[] | undefined;
  r.log.read(45, 10_000, (err, recs) => {
    assert.equal(err, null);
    got = recs;
  });
  r.restart(10, 1);
  r.loop.run();
  assert.deepEqual(got, []);
});

test('restart then close: both in call order; later calls fail with LOG_CLOSED', () => {
  const r = oldLog(27);
  const s = r.restart(70, 2);
  r.append(2, 2);
  let closed = false;
  r.log.close((err) => {
    assert.equal(err, null);
    closed = true;
  });
  let late: Error | null = null;
  r.log.restartAfter(5, 1, (err) => (late = err));
  r.loop.run();
  assert.ok(s.done && closed);
  assert.ok(late && (late as UnderstudyError).code === 'LOG_CLOSED');
  r.open();
  assert.equal(r.log.start, 71);
  assert.equal(r.log.lastLsn, 72);
});

test('a damaged restart file stops the open with LOG_POINTER_FILE_CORRUPT naming it', () => {
  const r = oldLog(28);
  const path = `${DIR}/${RESTART_FILE_NAME}`;
  for (const bytes of [new Uint8Array(32), new Uint8Array(7), new TextEncoder().encode('garbage that is not a restart file')]) {
    let wrote = false;
    writeFileAtomic(r.disk, path, bytes, (err) => {
      assert.equal(err, null);
      wrote = true;
    });
    r.loop.run();
    assert.ok(wrote);
    r.crash(false);
    let err: Error | null = null;
    UpdateLog.open(r.disk, DIR, { segmentBytes: SEGMENT_BYTES_FOR_TESTS, defer: r.loop.defer }, (e) => (err = e));
    r.loop.run();
    assert.ok(err, 'open must fail');
    const e = err as UnderstudyError;
    assert.equal(e.code, 'LOG_POINTER_FILE_CORRUPT');
    assert.match(e.message, /restart file .*restart is unreadable/);
    assert.match(e.message, /The way out/);
  }
  // A valid intent with a flipped bit is caught by its checksum.
  r.disk.remove(path);
  r.open();
  const firstSeg = r.segNames()[0]!;
  r.restart(60, 2);
  // Old segments are deleted only once the intent is durable.
  for (let n = 0; n < 10_000 && r.segNames().includes(firstSeg); n++) {
    if (!r.loop.step()) break;
    if (!r.segNames().includes(firstSeg)) break;
  }
  assert.ok(!r.segNames().includes(firstSeg) && r.disk.names(DIR).includes(RESTART_FILE_NAME), 'the intent is in place before a segment goes');
  r.disk.flipByte(path, 9);
  r.crash(false);
  let err: Error | null = null;
  UpdateLog.open(r.disk, DIR, { segmentBytes: SEGMENT_BYTES_FOR_TESTS, defer: r.loop.defer }, (e) => (err = e));
  r.loop.run();
  assert.match((err as Error | null)?.message ?? '', /checksum mismatch/);
});

// ---- crashes during a restart ----

interface Scenario {
  readonly seed: number;
  readonly oldRecords: number;
  readonly clearFrac: number;
  /** Appends issued, not yet durable, just before the restart call. */
  readonly inFlight: number;
  /** Where afterLsn lies relative to the old log. */
  readonly where: 'below' | 'inside' | 'beyond';
  readonly whereFrac: number;
  /** Appends issued right after the call, then more once some events ran. */
  readonly postNow: number;
  readonly postLater: number;
  /** Events run after the call before the crash. */
  readonly crashAfter: number;
  readonly tear: boolean;
  /** Events the first reopen may run before a second crash (Infinity: none). */
  readonly recoveryCrashAfter: number;
  readonly recoveryTear: boolean;
}

interface Outcome {
  restarted: boolean;
  /** A reopen completed the restart from its intent file. */
  recovered: boolean;
  /** A reopen that was completing the restart was itself cut by a crash. */
  recoveryInterrupted: boolean;
  /** The crash came after the restart completed. */
  restartCompleted: boolean;
}

function crashScenario(sc: Scenario): Outcome {
  const r = new Rig(sc.seed);
  const epochOld = 2;
  r.append(Math.ceil(sc.oldRecords / 2), 1);
  r.append(Math.floor(sc.oldRecords / 2), epochOld);
  r.loop.run();
  const clearTo = Math.floor(sc.clearFrac * r.log.lastLsn);
  r.log.clearTo(clearTo, (err) => assert.equal(err, null));
  r.loop.run();
  const oldStart = r.log.start;
  const oldNtc = r.log.nextToClear;
  const oldIds = r.check();
  const oldLast = r.log.lastLsn;
  const inFlight = sc.inFlight > 0 ? r.append(sc.inFlight, epochOld) : [];
  const afterLsn =
    sc.where === 'below'
      ? Math.floor(sc.whereFrac * (oldStart - 1))
      : sc.where === 'inside'
        ? oldStart - 1 + Math.floor(sc.whereFrac * (oldLast - oldStart + 2))
        : oldLast + sc.inFlight + 1 + Math.floor(sc.whereFrac * 1000);
  const afterEpoch = afterLsn === 0 ? 0 : 3;
  const s = r.restart(afterLsn, afterEpoch);
  const post = [...r.append(sc.postNow, afterEpoch)];
  let ran = 0;
  for (; ran < Math.floor(sc.crashAfter / 2) && r.loop.step(); ran++);
  post.push(...r.append(sc.postLater, afterEpoch));
  for (; ran < sc.crashAfter && r.loop.step(); ran++);
  const restartCompleted = s.done;
  if (s.done) assert.equal(s.err, null);
  const durablePost = post.filter((id) => r.durable.has(id));
  const durableInFlight = inFlight.filter((id) => r.durable.has(id));
  r.crash(sc.tear);
  const intentAfterCrash = r.disk.names(DIR).includes(RESTART_FILE_NAME);
  let recoveryInterrupted = false;
  if (sc.recoveryCrashAfter !== Infinity && !r.open(sc.recoveryCrashAfter)) {
    r.crash(sc.recoveryTear);
    recoveryInterrupted = intentAfterCrash;
  }
  r.open();
  const recovered = r.recoveredRestarts > 0;
  assert.ok(!r.disk.names(DIR).some((n) => n === RESTART_FILE_NAME || n.endsWith('.tmp')), 'no intent or temp file left after an open');
  assert.equal(r.segNames().length, r.log.segmentCount, 'no segment file outside the log');
  const ids = r.check();
  const postSet = new Set(post);
  const restarted = r.log.start === afterLsn + 1 && r.log.nextToClear === afterLsn + 1 && ids.every((id) => postSet.has(id)) && r.log.epochAt(afterLsn) === afterEpoch;
  if (restarted) {
    // The restarted log: only records appended after the call, a gap-free prefix of them.
    assert.deepEqual(ids, post.slice(0, ids.length));
    for (const id of durablePost) assert.ok(ids.includes(id), `post-restart id ${id} was reported durable but is missing`);
    if (ids.length === 0) assertRestartedState(r.log, afterLsn, afterEpoch);
  } else {
    // The old log exactly: its records, plus a prefix of the appends that were in flight.
    assert.ok(!restartCompleted, 'the restart completed, yet the old log came back');
    assert.equal(durablePost.length, 0, 'appends after the restart were durable, yet the old log came back');
    assert.equal(r.log.start, oldStart);
    assert.equal(r.log.nextToClear, oldNtc);
    assert.deepEqual(ids.slice(0, oldIds.length), oldIds);
    const extra = ids.slice(oldIds.length);
    assert.deepEqual(extra, inFlight.slice(0, extra.length));
    assert.ok(extra.length >= durableInFlight.length, 'an in-flight append reported durable is missing');
  }
  // Either way the log works on.
  const more = r.append(2, r.log.lastEpoch);
  r.loop.run();
  r.crash(false);
  r.open();
  const final = r.check();
  assert.deepEqual(final.slice(-2), more);
  if (intentAfterCrash || recovered) assert.ok(restarted, 'the intent was durable, so the reopened log must be the restarted one');
  return { restarted, restartCompleted, recovered, recoveryInterrupted };
}

test('regression: the open that completes a restart is cut after removing the intent, before it finishes', () => {
  const o = crashScenario({
    seed: 1,
    oldRecords: 0,
    clearFrac: 0,
    inFlight: 0,
    where: 'below',
    whereFrac: 0,
    postNow: 0,
    postLater: 0,
    crashAfter: 8,
    tear: false,
    recoveryCrashAfter: 21,
    recoveryTear: false,
  });
  assert.ok(o.restarted);
});

test('a crash at every step of a restart leaves the old log or the restarted one', () => {
  const seen = { old: 0, restarted: 0, completed: 0, recovered: 0 };
  for (const tear of [false, true]) {
    for (const where of ['below', 'inside', 'beyond'] as const) {
      let completedOnce = false;
      // Bounded: a restart takes far fewer events than this; the sweep stops once it completed.
      for (let k = 0; k < 400 && !completedOnce; k++) {
        const o = crashScenario({
          seed: 1000 + k,
          oldRecords: 80,
          clearFrac: 0.3,
          inFlight: 3,
          where,
          whereFrac: 0.5,
          postNow: 2,
          postLater: 2,
          crashAfter: k,
          tear,
          recoveryCrashAfter: Infinity,
          recoveryTear: false,
        });
        if (o.restartCompleted) {
          completedOnce = true;
          seen.completed++;
        }
        if (o.restarted) seen.restarted++;
        else seen.old++;
        if (o.recovered) seen.recovered++;
      }
      assert.ok(completedOnce, `the restart (${where}, tear ${tear}) never completed within the sweep`);
    }
  }
  assert.ok(seen.old > 10 && seen.restarted > 10, `old ${seen.old}, restarted ${seen.restarted}: both outcomes must occur`);
  assert.ok(seen.recovered > 10, `only ${seen.recovered} crashes fell between the intent and its removal`);
});

test('property: crashes (torn or not) around and during a restart and its recovery', () => {
  const outcomes = { old: 0, restarted: 0, recovered: 0, recoveryInterrupted: 0 };
  fc.assert(
    fc.property(
      fc.record({
        seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        oldRecords: fc.integer({ min: 0, max: 120 }),
        clearFrac: fc.double({ min: 0, max: 1, noNaN: true }),
        inFlight: fc.integer({ min: 0, max: 5 }),
        where: fc.constantFrom('below' as const, 'inside' as const, 'beyond' as const),
        whereFrac: fc.double({ min: 0, max: 0.999, noNaN: true }),
        postNow: fc.integer({ min: 0, max: 4 }),
        postLater: fc.integer({ min: 0, max: 40 }),
        crashAfter: fc.integer({ min: 0, max: 200 }),
        tear: fc.boolean(),
        recoveryCrashAfter: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 60 })),
        recoveryTear: fc.boolean(),
      }),
      (sc) => {
        const o = crashScenario(sc);
        if (o.restarted) outcomes.restarted++;
        else outcomes.old++;
        if (o.recovered) outcomes.recovered++;
        if (o.recoveryInterrupted) outcomes.recoveryInterrupted++;
      },
    ),
    { numRuns: 300 },
  );
  assert.ok(outcomes.old > 20 && outcomes.restarted > 20, `old ${outcomes.old}, restarted ${outcomes.restarted}`);
  assert.ok(outcomes.recovered > 5, `only ${outcomes.recovered} restarts were completed by recovery`);
  assert.ok(outcomes.recoveryInterrupted > 0, 'no crash hit a recovery that was completing a restart');
});

// ---- the real file system ----

function promised<T>(f: (cb: (err: Error | null, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));
}

async function openFs(disk: Disk, dir: string): Promise<{ log: UpdateLog; report: RecoveryReport }> {
  return new Promise((resolve, reject) =>
    UpdateLog.open(disk, dir, { segmentBytes: SEGMENT_BYTES_FOR_TESTS }, (err, log, report) => (err || !log || !report ? reject(err) : resolve({ log, report }))),
  );
}

function appendFs(log: UpdateLog, from: number, n: number, epoch: number): Promise<void> {
  const recs: LogRecord[] = [];
  for (let i = 0; i < n; i++) recs.push({ lsn: from + i, epoch, payload: payloadOf(from + i + epoch * 100_000, 200) });
  return promised<void>((cb) => log.append(recs, cb));
}

test('restart on the real file system: below, inside and beyond, then a reopen', async () => {
  for (const [afterLsn, afterEpoch] of [
    [10, 1],
    [50, 2],
    [400, 6],
  ] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'understudy-log-restart-'));
    try {
      const disk = new FsDisk();
      const { log } = await openFs(disk, dir);
      await appendFs(log, 1, 40, 1);
      await appendFs(log, 41, 40, 2);
      await promised<void>((cb) => log.clearTo(30, cb));
      const restarted = promised<void>((cb) => log.restartAfter(afterLsn, afterEpoch, cb));
      assertRestartedState(log, afterLsn, afterEpoch);
      const appended = appendFs(log, afterLsn + 1, 25, afterEpoch);
      await restarted;
      await appended;
      const recs = await promised<LogRecord[]>((cb) => log.readAll(cb));
      assert.deepEqual(
        recs.map((r) => r.lsn),
        Array.from({ length: 25 }, (_, i) => afterLsn + 1 + i),
      );
      await promised<void>((cb) => log.close(cb));
      assert.ok(!readdirSync(dir).includes(RESTART_FILE_NAME));
      const again = await openFs(disk, dir);
      assert.equal(again.report.restartCompleted, null);
      assert.equal(again.log.start, afterLsn + 1);
      assert.equal(again.log.nextToClear, afterLsn + 1);
      assert.equal(again.log.epochAt(afterLsn), afterEpoch);
      assert.equal(again.log.lastLsn, afterLsn + 25);
      const back = await promised<LogRecord[]>((cb) => again.log.readAll(cb));
      assert.equal(back.length, 25);
      for (const r of back) assert.deepEqual(r.payload, payloadOf(r.lsn + afterEpoch * 100_000, 200));
      assert.equal(readdirSync(dir).filter((n) => n.startsWith('seg-'))[0], `seg-${String(afterLsn + 1).padStart(16, '0')}.log`);
      await promised<void>((cb) => again.log.close(cb));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
