// The UpdateLog: claim 1's "respective log of updates" on every node. An
// append-only sequence of opaque records in segment files, made durable with
// group commit (one writev + one datasync per batch of queued appends), with
// the start-of-log pointer (claim 3) and the pointer to the next update to
// clear (claim 4), truncation of a divergent tail, and reads for shipping to
// a lagging peer. The log does not know what an Update is.
//
// Ordering: appends, truncateAfter, restartAfter and close run in call order
// on one lane; clearTo runs on a second lane so that a clear never holds up
// appends (it only touches the pointer file and segments that are no longer
// written). A restart waits for a running clear and supersedes queued ones.
import type { Disk, DiskFile, DoneCb, ResultCb } from '../ports/disk.ts';
import type { EpochStart } from '../core/types.ts';
import { assert } from '../lib/assert.ts';
import { UnderstudyError } from '../errors.ts';
import { eachSeries } from './callbacks.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { MAX_BATCH_BYTES, MAX_RECORD_BYTES, SEGMENT_BYTES, checkSegmentBytes, recordTooLarge } from './log-limits.ts';
import { POINTER_FILE_NAME, encodePointers } from './pointer-file.ts';
import { SEGMENT_HEADER_BYTES, decodeFrame, encodeSegmentHeader, frameBytes, type LogRecord } from './record-frame.ts';
import { AppendRun } from './append-run.ts';
import { ioError, recoverLog, type RecoveryReport } from './log-recovery.ts';
import { RESTART_FILE_NAME, completeRestart, writeRestartIntent } from './restart-file.ts';
import { Segment } from './segment.ts';

export type { LogRecord } from './record-frame.ts';
export type { RecoveryReport } from './log-recovery.ts';

export interface UpdateLogOptions {
  /** Roll to a new segment at this size (default SEGMENT_BYTES). */
  readonly segmentBytes?: number;
  /** Largest payload accepted (default MAX_RECORD_BYTES); must be the same on every node. */
  readonly maxRecordBytes?: number;
  /**
   * Runs fn on a later turn (default queueMicrotask). The simulator passes its own
   * scheduler so that every step of the log happens under its control.
   */
  readonly defer?: (fn: () => void) => void;
  /**
   * The way out of LOG_CORRUPT_RECORD and of a gap between segments, for an operator who
   * knows the other nodes hold the updates: end the log just before the damage, discarding
   * everything from there on (reported in RecoveryReport.repaired). Never on by default.
   */
  readonly repair?: boolean;
}

interface TruncateItem {
  readonly k: 'truncate';
  readonly lsn: number;
  /** Epoch of record lsn, taken at call time (a later restart changes what epochAt answers). */
  readonly epoch: number;
  readonly cb: DoneCb;
}
interface CloseItem {
  readonly k: 'close';
  readonly cb: DoneCb;
}
interface RestartItem {
  readonly k: 'restart';
  readonly afterLsn: number;
  readonly afterEpoch: number;
  readonly cb: DoneCb;
  /** Clears queued before the restart: it supersedes them, and they complete with it. */
  readonly superseded: DoneCb[];
}
type LaneItem = AppendRun | TruncateItem | CloseItem | RestartItem;

/** Runs kept for reuse: one being written and one filling is the steady state. */
const SPARE_RUNS = 2;

function closedError(): UnderstudyError {
  return new UnderstudyError('LOG_CLOSED', 'the update log is closed: open it again to use it');
}

export class UpdateLog {
  private readonly segmentBytes: number;
  private readonly maxRecordBytes: number;
  private readonly later: (fn: () => void) => void;
  private readonly segments: Segment[];
  private active: DiskFile;
  private readonly epochs: EpochStart[];
  /** Epoch of the record just before the first one held. */
  private baseEpoch: number;
  /** The lsn just before the first one held (its epoch is baseEpoch). */
  private baseLsn: number;
  /**
   * Restarts called and not yet carried out. While one is pending, completions of work
   * queued before it leave durableLsn alone (it belongs to the lineage the restart
   * discards) and clears wait (they would act on segments the restart deletes).
   */
  private pendingRestarts = 0;
  /** A restart in the lane waits for the clear being carried out to finish. */
  private afterClear: (() => void) | null = null;
  /** The restart being carried out (an I/O error must complete its callbacks). */
  private restartRunning: RestartItem | null = null;

  private _lastLsn: number;
  private _lastEpoch: number;
  private _durableLsn: number;
  private _start: number;
  private _nextToClear: number;
  /** Lowest lsn of the truncations queued but not yet carried out: nothing above it is durable in the new lineage. */
  private truncFloor = Infinity;
  /** Highest lsn a clearTo has asked for (truncation may never go below it). */
  private clearRequestedTo: number;

  private readonly lane: LaneItem[] = [];
  private busy = false;
  private kickScheduled = false;
  private readonly clearLane: Array<{ lsn: number; cb: DoneCb }> = [];
  private clearing = false;
  private closing = false;
  private closed = false;
  private failed: Error | null = null;
  private readonly spareRuns: AppendRun[] = [];
  /** A run is closed to new appends at this many bytes (it must fit one batch and one segment). */
  private readonly runCapBytes: number;
  private onClearIdle: Array<() => void> = [];
  /** Reads in flight: a truncation called meanwhile lowers their limit (they must not return removed records). */
  private readonly activeReads = new Set<{ limit: number }>();
  /** Counters for metrics and the benchmark. */
  readonly stats = { batches: 0, records: 0, rolls: 0 };

  private constructor(
    private readonly disk: Disk,
    readonly dir: string,
    opts: { segmentBytes: number; maxRecordBytes: number; defer: (fn: () => void) => void },
    rec: { segments: Segment[]; active: DiskFile; epochs: EpochStart[]; lastEpoch: number; start: number; nextToClear: number },
  ) {
    this.segmentBytes = opts.segmentBytes;
    this.maxRecordBytes = opts.maxRecordBytes;
    this.later = opts.defer;
    // A run fills at most an empty segment, so segments stay within segmentBytes.
    this.runCapBytes = Math.min(MAX_BATCH_BYTES, opts.segmentBytes - SEGMENT_HEADER_BYTES);
    this.segments = rec.segments;
    this.active = rec.active;
    this.epochs = rec.epochs;
    this.baseEpoch = rec.segments[0]!.prevEpoch;
    this.baseLsn = rec.segments[0]!.firstLsn - 1;
    const last = rec.segments[rec.segments.length - 1]!;
    this._lastLsn = last.lastLsn;
    this._durableLsn = last.lastLsn;
    this._lastEpoch = rec.lastEpoch;
    this._start = rec.start;
    this._nextToClear = rec.nextToClear;
    this.clearRequestedTo = rec.nextToClear - 1;
  }

  /**
   * Opens (or creates) the log in `dir`. A torn tail is cut off and described in the
   * report; any other damage is an UnderstudyError (LOG_CORRUPT_RECORD, LOG_GAP,
   * LOG_POINTER_FILE_CORRUPT, LOG_IO) and no log is returned.
   */
  static open(disk: Disk, dir: string, opts: UpdateLogOptions, cb: (err: Error | null, log?: UpdateLog, report?: RecoveryReport) => void): void {
    const full = {
      segmentBytes: opts.segmentBytes ?? SEGMENT_BYTES,
      maxRecordBytes: opts.maxRecordBytes ?? MAX_RECORD_BYTES,
      defer: opts.defer ?? queueMicrotask,
    };
    try {
      checkSegmentBytes(full.segmentBytes, full.maxRecordBytes);
    } catch (e) {
      return full.defer(() => cb(e as Error));
    }
    recoverLog(disk, dir, full.maxRecordBytes, opts.repair ?? false, (err, r) => {
      if (err || !r) return cb(err ?? new Error('recovery returned nothing'));
      const log = new UpdateLog(disk, dir, full, {
        segments: r.segments,
        active: r.active,
        epochs: r.epochs,
        lastEpoch: r.lastEpoch,
        start: Math.max(r.pointers.start, r.segments[0]!.firstLsn),
        nextToClear: r.pointers.nextToClear,
      });
      log.recovery = r.report;
      cb(null, log, r.report);
    });
  }

  // ---- state ----

  /** What recovery found and cut when the log was opened (the host decides from it whether the node lost data). */
  recovery: RecoveryReport | null = null;

  /** Highest lsn appended (durable or not). 0 for an empty log. */
  get lastLsn(): number {
    return this._lastLsn;
  }
  /** Epoch of the record lastLsn (or of the record before the log's first, if empty). */
  get lastEpoch(): number {
    return this._lastEpoch;
  }
  /**
   * Highest lsn known durable: every record up to it, in the lineage the caller sees
   * (after its truncateAfter calls), is on disk.
   */
  get durableLsn(): number {
    return this._durableLsn;
  }
  /** Start-of-log pointer (claim 3): the first lsn still held. */
  get start(): number {
    return this._start;
  }
  /** Pointer to the next update to clear (claim 4): every lsn below it is cleared. */
  get nextToClear(): number {
    return this._nextToClear;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  /** Bytes in segment files (headers and records written). */
  get bytesOnDisk(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }
  /** The first lsn of each epoch among the records held (appended ones included). */
  epochHistory(): EpochStart[] {
    return this.epochs.map((e) => ({ ...e }));
  }
  /**
   * Epoch of record `lsn`, for lsn in [start - 1, lastLsn] (start - 1: the record just
   * before the first held; 0 for lsn 0); undefined outside.
   */
  epochAt(lsn: number): number | undefined {
    if (lsn > this._lastLsn || lsn < this.baseLsn) return undefined;
    if (lsn === this.baseLsn) return lsn === 0 ? 0 : this.baseEpoch;
    let lo = 0;
    let hi = this.epochs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.epochs[mid]!.startLsn <= lsn) lo = mid;
      else hi = mid - 1;
    }
    return this.epochs[lo]?.epoch;
  }

  // ---- appends (group commit) ----

  /**
   * Appends records with consecutive lsns (lastLsn + 1, …) and non-decreasing epochs;
   * cb fires once all of them are durable. Appends queued while a batch is being
   * written go out together as the next batch: one writev and one datasync. An empty
   * list is a barrier: cb fires when every earlier append is durable.
   */
  append(records: readonly LogRecord[], cb: DoneCb): void {
    if (this.closing) return this.later(() => cb(closedError()));
    if (this.failed) return this.later(() => cb(this.failed));
    let lsn = this._lastLsn;
    let epoch = this._lastEpoch;
    let bytes = 0;
    // The hot path of every write: checks without allocating (messages only on failure).
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (r.lsn !== lsn + 1) assert(false, `log append out of order: lsn ${r.lsn} after ${lsn}`);
      if (r.epoch < epoch) assert(false, `log append lsn ${r.lsn}: epoch ${r.epoch} below ${epoch}`);
      if (r.payload.length > this.maxRecordBytes) return this.later(() => cb(recordTooLarge(r.lsn, r.payload.length, this.maxRecordBytes)));
      lsn = r.lsn;
      epoch = r.epoch;
      bytes += frameBytes(r.payload.length);
    }
    if (records.length > 0 && epoch !== this._lastEpoch) {
      for (const r of records) {
        const last = this.epochs[this.epochs.length - 1];
        if (!last || last.epoch !== r.epoch) this.epochs.push({ epoch: r.epoch, startLsn: r.lsn });
      }
    } else if (records.length > 0 && this.epochs.length === 0) {
      this.epochs.push({ epoch, startLsn: records[0]!.lsn });
    }
    this._lastLsn = lsn;
    this._lastEpoch = epoch;
    const tail = this.lane[this.lane.length - 1];
    let run: AppendRun;
    if (tail instanceof AppendRun && !tail.sealed && (tail.len === 0 || tail.len + bytes <= this.runCapBytes)) run = tail;
    else {
      run = this.spareRuns.pop()?.reset() ?? new AppendRun();
      this.lane.push(run);
    }
    run.add(records, bytes, cb);
    this.kick();
  }

  /** Starts the next batch once the current turn ends, so appends made together go out together. */
  private kick(): void {
    if (this.busy || this.kickScheduled) return;
    this.kickScheduled = true;
    this.later(() => {
      this.kickScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy || this.failed) return;
    const head = this.lane[0];
    if (!head) return;
    if (head.k === 'truncate') return this.runTruncate(head);
    if (head.k === 'close') return this.runClose(head);
    if (head.k === 'restart') return this.runRestart(head);
    const seg = this.segments[this.segments.length - 1]!;
    if (seg.count > 0 && seg.size + head.len > this.segmentBytes) return this.roll();
    const run = head;
    run.sealed = true;
    this.busy = true;
    const file = this.active;
    const sync = (): void =>
      file.datasync((err) => {
        if (err) return this.fail(ioError('datasync', seg.path, err), run.callbacks());
        this.completeBatch(seg, run);
      });
    if (run.len === 0) return sync();
    file.writev([run.buf.subarray(0, run.len)], (err) => (err ? this.fail(ioError('write', seg.path, err), run.callbacks()) : sync()));
  }

  private completeBatch(seg: Segment, run: AppendRun): void {
    this.lane.shift();
    const base = seg.size;
    for (let i = 0; i < run.count; i++) seg.push(base + run.ends[i]!, run.epochs[i]!);
    if (run.count > 0 && this.pendingRestarts === 0) this._durableLsn = Math.min(run.lastLsn, this.truncFloor);
    this.stats.batches++;
    this.stats.records += run.count;
    this.busy = false;
    this.kick();
    this.pumpClear();
    for (let i = 0; i < run.waiterCount; i++) run.waiterCbs[i]!(null);
    if (this.spareRuns.length < SPARE_RUNS) this.spareRuns.push(run);
  }

  /** Closes the full segment and starts the next one (its header written atomically). */
  private roll(): void {
    this.busy = true;
    const prev = this.segments[this.segments.length - 1]!;
    const next = new Segment(this.dir, prev.lastLsn + 1, prev.lastEpoch);
    writeFileAtomic(this.disk, next.path, encodeSegmentHeader({ firstLsn: next.firstLsn, prevEpoch: next.prevEpoch }), (err) => {
      if (err) return this.fail(ioError('create', next.path, err), []);
      this.active.close((err) => {
        if (err) return this.fail(ioError('close', prev.path, err), []);
        this.disk.open(next.path, 'append', (err, file) => {
          if (err || !file) return this.fail(ioError('open', next.path, err ?? new Error('no handle')), []);
          this.active = file;
          this.segments.push(next);
          this.stats.rolls++;
          this.busy = false;
          this.pump();
        });
      });
    });
  }

  /** An I/O error: the log stops (a failed datasync cannot be retried safely); reopen to recover. */
  private fail(err: Error, batch: readonly DoneCb[]): void {
    this.failed = err;
    this.busy = false;
    const waiting: DoneCb[] = [...batch];
    for (const item of this.lane.splice(0)) {
      if (item instanceof AppendRun) {
        if (!item.sealed) waiting.push(...item.callbacks());
      } else {
        waiting.push(item.cb);
        if (item.k === 'restart') waiting.push(...item.superseded);
      }
    }
    for (const c of this.clearLane.splice(0)) waiting.push(c.cb);
    const r = this.restartRunning;
    if (r) {
      this.restartRunning = null;
      this.afterClear = null;
      waiting.push(r.cb, ...r.superseded);
    }
    for (const cb of waiting) cb(err);
  }

  // ---- truncation of a divergent tail ----

  /**
   * Removes every record after `lsn`, durably, after the appends queued before it.
   * Appends made after this call continue at lsn + 1. Cleared records cannot be removed.
   */
  truncateAfter(lsn: number, cb: DoneCb): void {
    if (this.closing) return this.later(() => cb(closedError()));
    if (this.failed) return this.later(() => cb(this.failed));
    assert(lsn >= this.clearRequestedTo, () => `truncateAfter(${lsn}) below cleared lsn ${this.clearRequestedTo}`);
    assert(lsn <= this._lastLsn, () => `truncateAfter(${lsn}) beyond lastLsn ${this._lastLsn}`);
    const epoch = this.epochAt(lsn) ?? this._lastEpoch;
    this._lastEpoch = epoch;
    while (this.epochs.length > 0 && this.epochs[this.epochs.length - 1]!.startLsn > lsn) this.epochs.pop();
    this._lastLsn = lsn;
    // The records after lsn leave the lineage now, durable or not.
    this._durableLsn = Math.min(this._durableLsn, lsn);
    this.truncFloor = Math.min(this.truncFloor, lsn);
    for (const r of this.activeReads) r.limit = Math.min(r.limit, lsn);
    this.lane.push({ k: 'truncate', lsn, epoch, cb });
    this.kick();
  }

  private runTruncate(item: TruncateItem): void {
    this.lane.shift();
    this.truncFloor = Infinity;
    for (const i of this.lane) if (i.k === 'truncate') this.truncFloor = Math.min(this.truncFloor, i.lsn);
    this.busy = true;
    const lsn = item.lsn;
    const done = (err: Error | null): void => {
      if (err) return this.fail(err, [item.cb]);
      if (this.pendingRestarts === 0) this._durableLsn = Math.min(this._durableLsn, lsn);
      this.busy = false;
      this.kick();
      item.cb(null);
    };
    // The segment that holds lsn + 1 (or would): the last one starting at or before it.
    let k = this.segments.length - 1;
    while (k > 0 && this.segments[k]!.firstLsn > lsn + 1) k--;
    if (k > 0 && this.segments[k]!.firstLsn === lsn + 1) k--;
    const keep = this.segments[k]!;
    if (keep.lastLsn <= lsn && k === this.segments.length - 1) return done(null);
    // Later segments go first, last one first, so that a crash midway leaves a gap-free prefix.
    const doomed = this.segments.splice(k + 1).reverse();
    const closeActive = (next: DoneCb): void => (doomed.length > 0 ? this.active.close(next) : next(null));
    closeActive((err) => {
      if (err) return done(ioError('close', keep.path, err));
      eachSeries(
        doomed,
        (s, next) => this.disk.unlink(s.path, (e) => next(e && ioError('unlink', s.path, e))),
        (err) => {
          if (err) return done(err);
          const afterDir = (): void => {
            const reopen = (next: (f: DiskFile) => void): void => {
              if (doomed.length === 0) return next(this.active);
              this.disk.open(keep.path, 'append', (err, f) => {
                if (err || !f) return done(ioError('open', keep.path, err ?? new Error('no handle')));
                this.active = f;
                next(f);
              });
            };
            reopen((file) => {
              if (keep.lastLsn <= lsn) return done(null);
              const at = keep.offsetOf(lsn + 1);
              file.truncate(at, (err) => {
                if (err) return done(ioError('truncate', keep.path, err));
                file.datasync((err) => {
                  if (err) return done(ioError('datasync', keep.path, err));
                  keep.cutFrom(lsn + 1, item.epoch);
                  done(null);
                });
              });
            });
          };
          if (doomed.length === 0) return afterDir();
          this.disk.fsyncDir(this.dir, (err) => (err ? done(ioError('fsync dir', this.dir, err)) : afterDir()));
        },
      );
    });
  }

  // ---- restart after a region resync ----

  /**
   * Empties the log and makes it continue after `afterLsn`, whose epoch is `afterEpoch`:
   * for a secondary that lacks updates every other node has cleared and gets the content by
   * a region resync. Every record held is discarded, whether afterLsn is below, inside or
   * beyond the current range. From this call on, lastLsn = durableLsn = afterLsn, start =
   * nextToClear = afterLsn + 1, epochAt(afterLsn) = afterEpoch, the epoch history is empty,
   * and the next append must be afterLsn + 1. Carried out on disk after the appends,
   * truncations and restarts called before it; a running clear finishes first, queued ones
   * are superseded (they complete with the restart). A crash at any point leaves the old log
   * or the restarted one (docs/log-format.md, "Restarting a log").
   */
  restartAfter(afterLsn: number, afterEpoch: number, cb: DoneCb): void {
    if (this.closing) return this.later(() => cb(closedError()));
    if (this.failed) return this.later(() => cb(this.failed));
    assert(Number.isSafeInteger(afterLsn) && afterLsn >= 0 && afterLsn < Number.MAX_SAFE_INTEGER, () => `restartAfter(${afterLsn}): not an lsn`);
    assert(Number.isSafeInteger(afterEpoch) && afterEpoch >= 0, () => `restartAfter(${afterLsn}, ${afterEpoch}): not an epoch`);
    assert(afterLsn > 0 || afterEpoch === 0, () => `restartAfter(0, ${afterEpoch}): lsn 0 has epoch 0`);
    const superseded = this.clearLane.splice(0).map((c) => c.cb);
    this.pendingRestarts++;
    this._lastLsn = afterLsn;
    this._lastEpoch = afterEpoch;
    this._durableLsn = afterLsn;
    this._start = afterLsn + 1;
    this._nextToClear = afterLsn + 1;
    this.clearRequestedTo = afterLsn;
    this.baseLsn = afterLsn;
    this.baseEpoch = afterEpoch;
    this.epochs.length = 0;
    // A truncation queued before cannot lower durableLsn below afterLsn: nothing up to it is held.
    this.truncFloor = Infinity;
    for (const r of this.activeReads) r.limit = 0;
    this.lane.push({ k: 'restart', afterLsn, afterEpoch, cb, superseded });
    this.kick();
  }

  private runRestart(item: RestartItem): void {
    this.lane.shift();
    this.busy = true;
    this.restartRunning = item;
    const intent = { afterLsn: item.afterLsn, afterEpoch: item.afterEpoch };
    const fail = (err: Error): void => {
      this.restartRunning = null;
      this.fail(err, [item.cb, ...item.superseded]);
    };
    const go = (): void =>
      // 1. The intent, durably: from here on recovery completes the restart.
      writeRestartIntent(this.disk, this.dir, intent, (err) => {
        if (err) return fail(ioError('write', `${this.dir}/${RESTART_FILE_NAME}`, err));
        const old = this.segments[this.segments.length - 1]!;
        this.active.close((err) => {
          if (err) return fail(ioError('close', old.path, err));
          // 2. Old segments out, new segment and pointers in, intent removed.
          completeRestart(this.disk, this.dir, intent, (err, where) => {
            if (err) return fail(ioError('restart', where ?? this.dir, err));
            const seg = new Segment(this.dir, item.afterLsn + 1, item.afterEpoch);
            this.disk.open(seg.path, 'append', (err, file) => {
              if (err || !file) return fail(ioError('open', seg.path, err ?? new Error('no handle')));
              this.restartRunning = null;
              this.active = file;
              this.segments.length = 0;
              this.segments.push(seg);
              this.pendingRestarts--;
              // Truncations queued after this restart still bound what is durable.
              for (const i of this.lane) if (i.k === 'truncate') this.truncFloor = Math.min(this.truncFloor, i.lsn);
              this.busy = false;
              this.kick();
              item.cb(null);
              for (const c of item.superseded) c(null);
              this.pumpClear();
            });
          });
        });
      });
    // A running clear writes the pointer file and deletes segments: let it finish first.
    if (this.clearing) this.afterClear = go;
    else go();
  }

  // ---- clearing (claims 1, 3, 4) ----

  /**
   * Clears every update up to `lsn` (a ClearNotice): advances nextToClear to lsn + 1,
   * deletes the segments whose records are all cleared (never the one being written),
   * moves start to the first lsn still held, and persists both pointers atomically.
   * Waits until lsn is durable in this log: a pointer never runs ahead of the records.
   */
  clearTo(lsn: number, cb: DoneCb): void {
    if (this.closing) return this.later(() => cb(closedError()));
    if (this.failed) return this.later(() => cb(this.failed));
    assert(lsn <= this._lastLsn, () => `clearTo(${lsn}) beyond lastLsn ${this._lastLsn}`);
    this.clearRequestedTo = Math.max(this.clearRequestedTo, lsn);
    this.clearLane.push({ lsn, cb });
    this.pumpClear();
  }

  private pumpClear(): void {
    if (this.clearing || this.failed) return;
    const waiter = this.afterClear;
    if (waiter) {
      this.afterClear = null;
      return waiter();
    }
    if (this.pendingRestarts > 0) return; // resumed when the restart completes
    const head = this.clearLane[0];
    if (!head) {
      for (const f of this.onClearIdle.splice(0)) f();
      return;
    }
    if (head.lsn > this._durableLsn) return; // resumed by completeBatch
    this.clearLane.shift();
    const ntc = Math.max(this._nextToClear, head.lsn + 1);
    let drop = 0;
    while (drop < this.segments.length - 1 && this.segments[drop + 1]!.firstLsn <= ntc) drop++;
    if (ntc === this._nextToClear && drop === 0) {
      this.later(() => head.cb(null));
      return this.pumpClear();
    }
    this.clearing = true;
    const doomed = this.segments.splice(0, drop);
    const start = Math.max(this._start, this.segments[0]!.firstLsn);
    this.baseEpoch = this.segments[0]!.prevEpoch;
    this.baseLsn = this.segments[0]!.firstLsn - 1;
    this._start = start;
    this._nextToClear = ntc;
    // Epoch history covers the records held: drop epochs that ended before the new first record.
    const firstHeld = this.segments[0]!.firstLsn;
    while (this.epochs.length > 1 && this.epochs[1]!.startLsn <= firstHeld) this.epochs.shift();
    const e0 = this.epochs[0];
    if (e0 && e0.startLsn < firstHeld) {
      if (firstHeld <= this._lastLsn) this.epochs[0] = { epoch: e0.epoch, startLsn: firstHeld };
      else this.epochs.shift();
    }
    const finish = (err: Error | null): void => {
      this.clearing = false;
      if (err) return this.fail(err, [head.cb]);
      head.cb(null);
      this.pumpClear();
    };
    const pointerPath = `${this.dir}/${POINTER_FILE_NAME}`;
    writeFileAtomic(this.disk, pointerPath, encodePointers({ start, nextToClear: ntc }), (err) => {
      if (err) return finish(ioError('write', pointerPath, err));
      if (doomed.length === 0) return finish(null);
      eachSeries(
        doomed,
        (s, next) => this.disk.unlink(s.path, (e) => next(e && ioError('unlink', s.path, e))),
        (err) => {
          if (err) return finish(err);
          this.disk.fsyncDir(this.dir, (err) => finish(err && ioError('fsync dir', this.dir, err)));
        },
      );
    });
  }

  // ---- reads ----

  /**
   * Durable records from `fromLsn` on, at most about maxBytes of frames (always at least
   * one record if any), from one segment: a reader loops until it has what it needs. An
   * empty result means fromLsn > durableLsn, or that a truncateAfter called during the
   * read removed fromLsn (a read never returns a record removed before it completes).
   * fromLsn must be ≥ start.
   */
  read(fromLsn: number, maxBytes: number, cb: ResultCb<LogRecord[]>): void {
    if (this.closed) return this.later(() => cb(closedError()));
    assert(fromLsn >= this._start, () => `read from lsn ${fromLsn} below start ${this._start} (cleared)`);
    const readable = this._durableLsn;
    if (fromLsn > readable) return this.later(() => cb(null, []));
    let k = this.segments.length - 1;
    while (k > 0 && this.segments[k]!.firstLsn > fromLsn) k--;
    const seg = this.segments[k]!;
    const lastLsn = Math.min(seg.lastLsn, readable);
    let to = fromLsn;
    const from = seg.offsetOf(fromLsn);
    while (to < lastLsn && seg.endOf(to + 1) - from <= maxBytes) to++;
    const end = seg.endOf(to);
    const active = { limit: to };
    this.activeReads.add(active);
    const finish = (err: Error | null, recs?: LogRecord[]): void => {
      this.activeReads.delete(active);
      // A restart called during the read may have deleted its segment: nothing of it is in the log any more.
      if (active.limit < fromLsn) return cb(null, []);
      cb(err, recs);
    };
    this.disk.open(seg.path, 'read', (err, file) => {
      if (err || !file) return finish(ioError('open', seg.path, err ?? new Error('no handle')));
      file.read(from, end - from, (err, buf) => {
        file.close(() => {
          if (err || !buf) return finish(ioError('read', seg.path, err ?? new Error('no data')));
          const out: LogRecord[] = [];
          let at = 0;
          for (let lsn = fromLsn; lsn <= active.limit; lsn++) {
            const d = decodeFrame(buf, at, this.maxRecordBytes);
            if (d.k !== 'ok' || d.lsn !== lsn) {
              return finish(
                new UnderstudyError(
                  'LOG_CORRUPT_RECORD',
                  `log segment ${seg.path} is corrupt at offset ${from + at} (${d.k === 'ok' ? `lsn ${d.lsn}, expected ${lsn}` : d.k === 'bad' ? d.reason : 'incomplete'}): ` +
                    `see docs/log-format.md, "The way out"`,
                  { path: seg.path, offset: from + at },
                ),
              );
            }
            out.push({ lsn, epoch: d.epoch, payload: new Uint8Array(buf.subarray(d.payloadAt, d.end)) });
            at = d.end;
          }
          finish(null, out);
        });
      });
    });
  }

  /** Calls onRecord for every durable record from `fromLsn` on, in order (recovery replay). */
  forEach(fromLsn: number, onRecord: (r: LogRecord) => void, cb: DoneCb, chunkBytes = 1024 * 1024): void {
    const step = (lsn: number): void => {
      if (lsn > this._durableLsn) return cb(null);
      this.read(lsn, chunkBytes, (err, recs) => {
        if (err || !recs) return cb(err ?? new Error('no records'));
        if (recs.length === 0) return cb(null);
        for (const r of recs) onRecord(r);
        step(recs[recs.length - 1]!.lsn + 1);
      });
    };
    step(Math.max(fromLsn, this._start));
  }

  /** Every durable record held, from start. */
  readAll(cb: ResultCb<LogRecord[]>): void {
    const out: LogRecord[] = [];
    this.forEach(this._start, (r) => out.push(r), (err) => (err ? cb(err) : cb(null, out)));
  }

  /** Waits for everything queued, then closes the file. Later calls fail with LOG_CLOSED. */
  close(cb: DoneCb): void {
    if (this.closing) return this.later(() => cb(closedError()));
    this.closing = true;
    if (this.failed) {
      this.closed = true;
      return this.active.close(() => cb(null));
    }
    this.lane.push({ k: 'close', cb });
    this.kick();
  }

  private runClose(item: CloseItem): void {
    this.lane.shift();
    this.busy = true;
    const whenClearIdle = (fn: () => void): void => {
      if (!this.clearing && this.clearLane.length === 0) return fn();
      this.onClearIdle.push(fn);
    };
    whenClearIdle(() =>
      this.active.close((err) => {
        this.closed = true;
        item.cb(err && ioError('close', this.dir, err));
      }),
    );
  }
}

