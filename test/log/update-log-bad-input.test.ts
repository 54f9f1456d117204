// Damaged or hostile input gives a clear error with a stable code, never a
// silently shorter or longer log: a flipped byte mid-log, a truncated or lost
// segment, a garbage pointer file, an oversized record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsDisk } from '../../src/host/fs-disk.ts';
import { SimDisk } from '../../sim/sim-disk.ts';
import { Prng } from '../../src/lib/prng.ts';
import { isUnderstudyError, type ErrorCode } from '../../src/errors.ts';
import { UpdateLog, type RecoveryReport } from '../../src/log/update-log.ts';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, segmentName } from '../../src/log/record-frame.ts';
import { POINTER_FILE_NAME } from '../../src/log/pointer-file.ts';
import { HARD_STATE_FILE_NAME, HardStateFile } from '../../src/log/hard-state.ts';
import { SimLoop } from './sim-loop.ts';

const DIR = '/n1/log';
const SEG = 4096;
const PAYLOAD = 100;
const FRAME = RECORD_HEADER_BYTES + PAYLOAD;
/** Records per 4 KiB segment with 132-byte frames. */
const PER_SEG = Math.floor((SEG - SEGMENT_HEADER_BYTES) / FRAME);

interface Opened {
  err: Error | null;
  log?: UpdateLog;
  report?: RecoveryReport;
}

class Env {
  readonly loop = new SimLoop();
  readonly disk = new SimDisk(new Prng(11), this.loop.schedule);

  open(opts: { maxRecordBytes?: number; repair?: boolean } = {}): Opened {
    let out: Opened | undefined;
    UpdateLog.open(this.disk, DIR, { segmentBytes: SEG, defer: this.loop.defer, ...opts }, (err, log, report) => (out = { err, log, report }));
    this.loop.run();
    assert.ok(out);
    return out;
  }

  /** A log with `n` durable records of 100 bytes, closed. */
  withRecords(n: number, epochAt = (_lsn: number) => 1): void {
    const { log } = this.open();
    assert.ok(log);
    for (let lsn = 1; lsn <= n; lsn++) log.append([{ lsn, epoch: epochAt(lsn), payload: new Uint8Array(PAYLOAD).fill(lsn & 0xff) }], () => {});
    log.close(() => {});
    this.loop.run();
    assert.equal(log.durableLsn, n);
  }

  segPath(firstLsn: number): string {
    return `${DIR}/${segmentName(firstLsn)}`;
  }
}

function expectCode(o: Opened, code: ErrorCode, ...mentions: Array<string | RegExp>): void {
  assert.equal(o.log, undefined, 'a damaged log must not open');
  assert.ok(isUnderstudyError(o.err, code), `expected ${code}, got ${o.err?.name}: ${o.err?.message}`);
  for (const m of mentions) assert.match(o.err.message, typeof m === 'string' ? new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : m);
}

test('a flipped byte in a record with valid records after it: LOG_CORRUPT_RECORD naming file and offset', () => {
  const env = new Env();
  env.withRecords(PER_SEG * 2 + 5);
  const path = env.segPath(2 * PER_SEG + 1); // the last segment
  const offset = SEGMENT_HEADER_BYTES + 2 * FRAME + 40; // inside the payload of its third record
  env.disk.flipByte(path, offset);
  const o = env.open();
  expectCode(o, 'LOG_CORRUPT_RECORD', path, `offset ${SEGMENT_HEADER_BYTES + 2 * FRAME}`, 'checksum mismatch', 'docs/log-format.md');
});

test('damage in a segment that is not the last is corruption even in its final record', () => {
  const env = new Env();
  env.withRecords(PER_SEG * 2 + 5);
  const path = env.segPath(1);
  env.disk.flipByte(path, SEGMENT_HEADER_BYTES + (PER_SEG - 1) * FRAME + 3); // magic of its last record
  expectCode(env.open(), 'LOG_CORRUPT_RECORD', path, 'bad magic', 'not the last');
});

test('a truncated segment that is not the last: LOG_CORRUPT_RECORD; the last one: a torn tail cut and reported', () => {
  const env = new Env();
  env.withRecords(PER_SEG * 2 + 5);
  env.disk.chop(env.segPath(PER_SEG + 1), SEGMENT_HEADER_BYTES + 3 * FRAME + 10);
  expectCode(env.open(), 'LOG_CORRUPT_RECORD', env.segPath(PER_SEG + 1), 'incomplete record');

  const env2 = new Env();
  env2.withRecords(PER_SEG * 2 + 5);
  const last = env2.segPath(2 * PER_SEG + 1);
  env2.disk.chop(last, SEGMENT_HEADER_BYTES + 4 * FRAME + 10);
  const o = env2.open();
  assert.equal(o.err, null);
  assert.equal(o.log?.lastLsn, 2 * PER_SEG + 4);
  assert.equal(o.report?.tornSegment, segmentName(2 * PER_SEG + 1));
  assert.equal(o.report?.tornOffset, SEGMENT_HEADER_BYTES + 4 * FRAME);
  assert.equal(o.report?.tornBytes, 10);
  assert.equal(env2.disk.sizeOf(last), SEGMENT_HEADER_BYTES + 4 * FRAME, 'the torn bytes are cut from the file');
});

test('a bad last record of the last segment is indistinguishable from a torn write: cut and reported', () => {
  const env = new Env();
  env.withRecords(10);
  env.disk.flipByte(env.segPath(1), SEGMENT_HEADER_BYTES + 9 * FRAME + 50);
  const o = env.open();
  assert.equal(o.err, null);
  assert.equal(o.log?.lastLsn, 9);
  assert.equal(o.report?.tornReason, 'checksum mismatch');
});

test('a lost segment in the middle or at the start: LOG_GAP', () => {
  const env = new Env();
  env.withRecords(PER_SEG * 3 + 1);
  env.disk.remove(env.segPath(PER_SEG + 1));
  expectCode(env.open(), 'LOG_GAP', segmentName(2 * PER_SEG + 1), `ends at lsn ${PER_SEG}`);

  const env2 = new Env();
  env2.withRecords(PER_SEG * 3 + 1);
  env2.disk.remove(env2.segPath(1));
  expectCode(env2.open(), 'LOG_GAP', 'start pointer is 1');
});

test('a garbage or missing pointer file: LOG_POINTER_FILE_CORRUPT', () => {
  const env = new Env();
  env.withRecords(5);
  const path = `${DIR}/${POINTER_FILE_NAME}`;
  env.disk.overwrite(path, new TextEncoder().encode('this is not a pointer file at all'));
  expectCode(env.open(), 'LOG_POINTER_FILE_CORRUPT', path);
  const env2 = new Env();
  env2.withRecords(5);
  env2.disk.flipByte(path, 9); // inside the start pointer: the checksum catches it
  expectCode(env2.open(), 'LOG_POINTER_FILE_CORRUPT', 'checksum mismatch');
  const env3 = new Env();
  env3.withRecords(5);
  env3.disk.remove(path);
  expectCode(env3.open(), 'LOG_POINTER_FILE_CORRUPT', 'missing');
});

test('an oversized record is refused with LOG_RECORD_TOO_LARGE and the log stays usable', () => {
  const env = new Env();
  const { log } = env.open({ maxRecordBytes: 1000 });
  assert.ok(log);
  let err: Error | null | undefined;
  log.append([{ lsn: 1, epoch: 1, payload: new Uint8Array(1001) }], (e) => (err = e));
  env.loop.run();
  assert.ok(isUnderstudyError(err, 'LOG_RECORD_TOO_LARGE'), String(err));
  assert.match(err.message, /1001 payload bytes, above the limit of 1000/);
  assert.match(err.message, /maxRecordBytes/);
  assert.equal(log.lastLsn, 0, 'a refused append takes no lsn');
  log.append([{ lsn: 1, epoch: 1, payload: new Uint8Array(1000) }], (e) => (err = e));
  env.loop.run();
  assert.equal(err, null);
  assert.equal(log.durableLsn, 1);
});

test('a length field above maxRecordBytes on disk, followed by valid records, is corruption', () => {
  const env = new Env();
  env.withRecords(6);
  // The length field (bytes 12..15 of the frame) of record 2, high byte: 100 + 0xff * 2^24.
  env.disk.flipByte(env.segPath(1), SEGMENT_HEADER_BYTES + FRAME + 15);
  expectCode(env.open({ maxRecordBytes: 1000 }), 'LOG_CORRUPT_RECORD', 'above maxRecordBytes 1000');
});

test('updates cleared (hence durable) but missing from the log: LOG_GAP', () => {
  const env = new Env();
  const { log } = env.open();
  assert.ok(log);
  for (let lsn = 1; lsn <= 10; lsn++) log.append([{ lsn, epoch: 1, payload: new Uint8Array(PAYLOAD) }], () => {});
  log.clearTo(8, () => {});
  log.close(() => {});
  env.loop.run();
  env.disk.chop(env.segPath(1), SEGMENT_HEADER_BYTES + 5 * FRAME);
  expectCode(env.open(), 'LOG_GAP', 'cleared');
});

test('damage found while reading for a peer is LOG_CORRUPT_RECORD too', () => {
  const env = new Env();
  env.withRecords(10);
  const { log } = env.open();
  assert.ok(log);
  env.disk.flipByte(env.segPath(1), SEGMENT_HEADER_BYTES + 4 * FRAME + 60);
  let err: Error | null | undefined;
  log.read(3, 10_000, (e) => (err = e));
  env.loop.run();
  assert.ok(isUnderstudyError(err, 'LOG_CORRUPT_RECORD'), String(err));
  assert.match(err.message, new RegExp(`offset ${SEGMENT_HEADER_BYTES + 4 * FRAME}`));
});

test('the way out: opening with repair ends the log just before the damage', () => {
  const env = new Env();
  env.withRecords(PER_SEG * 3 + 2);
  env.disk.flipByte(env.segPath(PER_SEG + 1), SEGMENT_HEADER_BYTES + 5 * FRAME + 60);
  expectCode(env.open(), 'LOG_CORRUPT_RECORD');
  const o = env.open({ repair: true });
  assert.equal(o.err, null);
  assert.ok(o.log);
  assert.equal(o.log.lastLsn, PER_SEG + 5);
  assert.equal(o.report?.repaired?.firstLsnDiscarded, PER_SEG + 6);
  assert.deepEqual(o.report?.removedSegments, [segmentName(3 * PER_SEG + 1), segmentName(2 * PER_SEG + 1)]);
  o.log.append([{ lsn: PER_SEG + 6, epoch: 2, payload: new Uint8Array(1) }], () => {});
  o.log.close(() => {});
  env.loop.run();
  const again = env.open();
  assert.equal(again.err, null);
  assert.equal(again.log?.lastLsn, PER_SEG + 6);
});

test('invalid segment size: CONFIG_INVALID saying what to change', () => {
  const env = new Env();
  let err: Error | null | undefined;
  UpdateLog.open(env.disk, DIR, { segmentBytes: 100, defer: env.loop.defer }, (e) => (err = e));
  env.loop.run();
  assert.ok(isUnderstudyError(err, 'CONFIG_INVALID'));
  assert.match(err.message, /segmentBytes 100 .* set it between 4096/);
});

test('hard state: saved atomically, reloaded, and garbage is LOG_HARD_STATE_CORRUPT', () => {
  const env = new Env();
  const path = `${DIR}/${HARD_STATE_FILE_NAME}`;
  env.disk.mkdirp(DIR, () => {});
  let hs: HardStateFile | undefined;
  HardStateFile.load(env.disk, path, (e, f) => {
    assert.equal(e, null);
    hs = f;
  });
  env.loop.run();
  assert.ok(hs);
  assert.deepEqual(hs.get(), { epoch: 0, votedFor: null, incarnation: 0, lostData: false });
  assert.equal(hs.missing, true);
  let saved = false;
  hs.save({ epoch: 3, votedFor: 'n2', incarnation: 7, lostData: true }, (e) => (saved = e === null));
  env.loop.run();
  assert.ok(saved);
  assert.throws(() => hs!.save({ epoch: 2, votedFor: null, incarnation: 7, lostData: false }, () => {}), /going backwards/);
  env.disk.crash();
  let reloaded: HardStateFile | undefined;
  HardStateFile.load(env.disk, path, (e, f) => (reloaded = f));
  env.loop.run();
  assert.deepEqual(reloaded?.get(), { epoch: 3, votedFor: 'n2', incarnation: 7, lostData: true });
  assert.equal(reloaded?.missing, false);
  env.disk.flipByte(path, 21);
  let err: Error | null | undefined;
  HardStateFile.load(env.disk, path, (e) => (err = e));
  env.loop.run();
  assert.ok(isUnderstudyError(err, 'LOG_HARD_STATE_CORRUPT'), String(err));
  assert.match(err.message, /checksum mismatch/);
});

test('hard state: a crash during a save leaves the old or the new vote, never garbage', () => {
  let sawOld = false;
  let sawNew = false;
  for (let seed = 1; seed <= 60; seed++) {
    const loop = new SimLoop();
    const disk = new SimDisk(new Prng(seed), loop.schedule, { fsyncLatencyMs: 1 });
    const path = `${DIR}/${HARD_STATE_FILE_NAME}`;
    disk.mkdirp(DIR, () => {});
    let hs: HardStateFile | undefined;
    HardStateFile.load(disk, path, (_e, f) => (hs = f));
    loop.run();
    hs!.save({ epoch: 1, votedFor: 'n1', incarnation: 0, lostData: false }, () => {});
    loop.run();
    hs!.save({ epoch: 2, votedFor: 'n3', incarnation: 0, lostData: false }, () => {});
    const steps = new Prng(seed * 7).int(0, 8);
    for (let i = 0; i < steps && loop.step(); i++);
    disk.crash({ tear: true });
    loop.clear();
    let got: HardStateFile | undefined;
    let err: Error | null = null;
    HardStateFile.load(disk, path, (e, f) => {
      err = e;
      got = f;
    });
    loop.run();
    assert.equal(err, null);
    const s = got!.get();
    if (s.epoch === 1) {
      assert.deepEqual(s, { epoch: 1, votedFor: 'n1', incarnation: 0, lostData: false });
      sawOld = true;
    } else {
      assert.deepEqual(s, { epoch: 2, votedFor: 'n3', incarnation: 0, lostData: false });
      sawNew = true;
    }
  }
  assert.ok(sawOld && sawNew, 'crash points must cover both outcomes');
});

test('on the real file system too: a flipped byte mid-log is LOG_CORRUPT_RECORD, a garbage pointer file LOG_POINTER_FILE_CORRUPT', async () => {
  const root = mkdtempSync(join(tmpdir(), 'understudy-log-bad-'));
  const open = (): Promise<Opened> =>
    new Promise((resolve) => UpdateLog.open(new FsDisk(), root, { segmentBytes: SEG }, (err, log, report) => resolve({ err, log, report })));
  try {
    const first = await open();
    assert.ok(first.log);
    const log = first.log;
    await new Promise<void>((resolve, reject) => {
      for (let lsn = 1; lsn <= 20; lsn++) log.append([{ lsn, epoch: 1, payload: new Uint8Array(PAYLOAD).fill(lsn) }], (e) => (e ? reject(e) : lsn === 20 && resolve()));
    });
    await new Promise<void>((resolve) => log.close(() => resolve()));
    const seg = join(root, segmentName(1));
    const bytes = readFileSync(seg);
    const at = SEGMENT_HEADER_BYTES + 7 * FRAME + 50;
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(seg, bytes);
    expectCode(await open(), 'LOG_CORRUPT_RECORD', seg, `offset ${SEGMENT_HEADER_BYTES + 7 * FRAME}`);
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(seg, bytes);
    const restored = await open();
    assert.equal(restored.log?.lastLsn, 20, 'the same log opens once the byte is restored');
    await new Promise<void>((resolve) => restored.log!.close(() => resolve()));
    writeFileSync(join(root, POINTER_FILE_NAME), 'garbage');
    expectCode(await open(), 'LOG_POINTER_FILE_CORRUPT', join(root, POINTER_FILE_NAME));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
