// Opening a log directory: reads the pointer file, scans every segment,
// checks that the records form one gap-free run from the start pointer,
// cuts a torn tail off the last segment, and refuses to start on anything
// else that is damaged (docs/log-format.md, "Recovery").
import type { Disk, DiskFile } from '../ports/disk.ts';
import type { EpochStart } from '../core/types.ts';
import { UnderstudyError } from '../errors.ts';
import { eachSeries } from './callbacks.ts';
import { TEMP_SUFFIX, writeFileAtomic } from './atomic-file.ts';
import { POINTER_FILE_NAME, decodePointers, encodePointers, type LogPointers } from './pointer-file.ts';
import {
  SEGMENT_HEADER_BYTES,
  decodeFrame,
  decodeSegmentHeader,
  encodeSegmentHeader,
  parseSegmentName,
  segmentName,
  validRecordAfter,
} from './record-frame.ts';
import { RESTART_FILE_NAME, completeRestart, decodeRestart, type RestartIntent } from './restart-file.ts';
import { Segment } from './segment.ts';

/** What recovery found and repaired; empty lists and zero mean a clean shutdown or crash-free tail. */
export interface RecoveryReport {
  /** Segment whose torn tail was cut off, or null. */
  readonly tornSegment: string | null;
  /** Offset the torn segment was cut at, and how many bytes were removed. */
  readonly tornOffset: number;
  readonly tornBytes: number;
  /** Why the first bad record was judged torn (e.g. "checksum mismatch", "incomplete"). */
  readonly tornReason: string | null;
  /** Segments entirely below the start pointer left by an interrupted clear, now deleted. */
  readonly removedSegments: readonly string[];
  /** Temporary files of an interrupted atomic write, now deleted. */
  readonly removedTempFiles: readonly string[];
  /** True if the directory held no log and a new one was created. */
  readonly created: boolean;
  /** A restart (UpdateLog.restartAfter) interrupted by a crash, now completed; or null. */
  readonly restartCompleted: RestartIntent | null;
  /**
   * Only when opened with `repair`: where damage in the middle was found and everything from
   * it on discarded (records from `firstLsnDiscarded`, later segments deleted), or null.
   */
  readonly repaired: { readonly segment: string; readonly offset: number; readonly firstLsnDiscarded: number; readonly reason: string } | null;
  /**
   * The cut (torn tail or repair) removed records that had been cleared, hence durable and held
   * by every configured secondary: the pointer to the next update to clear was this lsn + 1 and
   * is now the log's end + 1 (their content is in the storage area). 0 when nothing cleared was cut.
   */
  readonly clearedCutTo: number;
}

export interface RecoveredLog {
  readonly pointers: LogPointers;
  readonly segments: Segment[];
  /** Open for append on the last segment. */
  readonly active: DiskFile;
  readonly epochs: EpochStart[];
  readonly lastEpoch: number;
  readonly report: RecoveryReport;
}

export function ioError(what: string, path: string, err: Error): UnderstudyError {
  return new UnderstudyError('LOG_IO', `log I/O failed: ${what} ${path}: ${err.message}`, { path, cause: err.message });
}

/**
 * What an operator runs when the log is damaged in the middle (docs/operations.md): the same
 * start command with this flag ends the log just before the damage, and the node fetches what
 * it lacks from the primary.
 */
export const REPAIR_LOG_FLAG = '--repair-log';

const REPAIR_HINT =
  `if the other nodes are healthy, restart this node with \`understudy start ${REPAIR_LOG_FLAG}\` (its other options unchanged) ` +
  `to cut the log just before the damage and fetch the rest from the primary; never repair two nodes at once. See docs/log-format.md, "The way out"`;

function corrupt(path: string, offset: number, why: string): UnderstudyError {
  return new UnderstudyError(
    'LOG_CORRUPT_RECORD',
    `LOG_CORRUPT_RECORD: log segment ${path} is corrupt at offset ${offset} (${why}) with valid data after it or in a later segment; ` +
      `the node refuses to start because cutting there could discard acknowledged updates: ${REPAIR_HINT}`,
    { path, offset, why },
  );
}

/** A gap the repair option can cut the log before (between segments). */
function repairableGap(dir: string, why: string): UnderstudyError {
  return new UnderstudyError(
    'LOG_GAP',
    `LOG_GAP: log in ${dir} has a gap: ${why}; the node refuses to start because skipping it could lose acknowledged updates: ${REPAIR_HINT}`,
    { dir, why },
  );
}

/** A gap at the start of the log or below the cleared pointer: only rejoining empty gets out. */
function gap(dir: string, why: string): UnderstudyError {
  return new UnderstudyError(
    'LOG_GAP',
    `LOG_GAP: log in ${dir} has a gap: ${why}; the node refuses to start rather than skip updates. ` +
      `Stop it, delete its whole data directory and start it again: it rejoins empty and is refilled from the primary. ` +
      `See docs/log-format.md, "The way out"`,
    { dir, why },
  );
}

function readWhole(disk: Disk, path: string, cb: (err: Error | null, bytes?: Uint8Array) => void): void {
  disk.readFile(path, (err, bytes) => {
    if (err) return cb(ioError('read', path, err));
    if (!bytes) return cb(ioError('read', path, new Error('file vanished')));
    cb(null, bytes);
  });
}

/** Stops the scan of segments once a repair has decided where the log ends. */
const STOP_SCAN = new Error('stop scan');

export function recoverLog(
  disk: Disk,
  dir: string,
  maxRecordBytes: number,
  repair: boolean,
  cb: (err: Error | null, log?: RecoveredLog) => void,
): void {
  const pointerPath = `${dir}/${POINTER_FILE_NAME}`;
  const removedTempFiles: string[] = [];
  const removedSegments: string[] = [];
  let created = false;
  let restartCompleted: RestartIntent | null = null;
  let tornSegment: string | null = null;
  let tornOffset = 0;
  let tornBytes = 0;
  let tornReason: string | null = null;
  /** Offset to cut the last segment at (a torn tail, or a repair), or null. */
  let cutAt: number | null = null;
  let repaired: RecoveryReport['repaired'] = null;
  let clearedCutTo = 0;
  let pointers: LogPointers = { start: 1, nextToClear: 1 };
  let firstLsns: number[] = [];
  const segments: Segment[] = [];
  const epochs: EpochStart[] = [];
  let lastEpoch = 0;

  const fail = (e: Error): void => cb(e);

  disk.mkdirp(dir, (err) => {
    if (err) return fail(ioError('mkdir', dir, err));
    disk.list(dir, (err, names) => {
      if (err || !names) return fail(ioError('list', dir, err ?? new Error('no listing')));
      const temps = names.filter((n) => n.endsWith(TEMP_SUFFIX));
      firstLsns = names.map(parseSegmentName).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
      eachSeries(
        temps,
        (name, next) => {
          removedTempFiles.push(name);
          disk.unlink(`${dir}/${name}`, (e) => next(e && ioError('unlink', `${dir}/${name}`, e)));
        },
        (err) => (err ? fail(err) : names.includes(RESTART_FILE_NAME) ? finishRestart() : readPointers()),
      );
    });
  });

  // An interrupted restart is completed before anything else: whatever the old segments
  // and pointers look like, the log is the restarted one once the intent is durable.
  function finishRestart(): void {
    const intentPath = `${dir}/${RESTART_FILE_NAME}`;
    readWhole(disk, intentPath, (err, bytes) => {
      if (err || !bytes) return fail(err ?? ioError('read', intentPath, new Error('no data')));
      let intent: RestartIntent;
      try {
        intent = decodeRestart(bytes, intentPath);
      } catch (e) {
        return fail(e as Error);
      }
      completeRestart(disk, dir, intent, (err, where) => {
        if (err) return fail(ioError('restart', where ?? dir, err));
        restartCompleted = intent;
        firstLsns = [intent.afterLsn + 1];
        readPointers();
      });
    });
  }

  function readPointers(): void {
    disk.readFile(pointerPath, (err, bytes) => {
      if (err) return fail(ioError('read', pointerPath, err));
      if (bytes === null || bytes === undefined) {
        if (firstLsns.length > 0) {
          return fail(
            new UnderstudyError(
              'LOG_POINTER_FILE_CORRUPT',
              `log pointer file ${pointerPath} is missing but segments exist; the node will not guess which updates were cleared. ` +
                `See docs/log-format.md, "The way out"`,
              { path: pointerPath },
            ),
          );
        }
        // A new log: pointers first, so that a directory with segments always has them.
        created = true;
        return writeFileAtomic(disk, pointerPath, encodePointers(pointers), (err) =>
          err ? fail(ioError('write', pointerPath, err)) : ensureFirstSegment(),
        );
      }
      try {
        pointers = decodePointers(bytes, pointerPath);
      } catch (e) {
        return fail(e as Error);
      }
      ensureFirstSegment();
    });
  }

  function ensureFirstSegment(): void {
    if (firstLsns.length > 0) return dropCleared();
    // Only a log that never held anything may lack a segment (a crash during creation).
    if (pointers.start !== 1) return fail(gap(dir, `no segment files, but the start pointer is ${pointers.start}`));
    const path = `${dir}/${segmentName(1)}`;
    writeFileAtomic(disk, path, encodeSegmentHeader({ firstLsn: 1, prevEpoch: 0 }), (err) => {
      if (err) return fail(ioError('create', path, err));
      firstLsns = [1];
      dropCleared();
    });
  }

  function dropCleared(): void {
    // A clear writes the pointers, then deletes segments: finish an interrupted one.
    const drop: number[] = [];
    while (firstLsns.length > 1 && firstLsns[1]! <= pointers.start) drop.push(firstLsns.shift()!);
    eachSeries(
      drop,
      (lsn, next) => {
        const p = `${dir}/${segmentName(lsn)}`;
        removedSegments.push(segmentName(lsn));
        disk.unlink(p, (e) => next(e && ioError('unlink', p, e)));
      },
      (err) => {
        if (err) return fail(err);
        const first = firstLsns[0]!;
        if (first > pointers.start) {
          return fail(gap(dir, `the start pointer is ${pointers.start} but the first segment begins at lsn ${first} (${segmentName(first)})`));
        }
        scanAll();
      },
    );
  }

  function scanAll(): void {
    let expected = firstLsns[0]!;
    eachSeries(
      firstLsns,
      (firstLsn, next) => {
        const path = `${dir}/${segmentName(firstLsn)}`;
        const isLast = firstLsn === firstLsns[firstLsns.length - 1];
        // Damage that is not a torn tail: fail, or with `repair` end the log just before it.
        const damaged = (e: UnderstudyError, seg: Segment | null, at: number): void => {
          if (!repair) return next(e);
          if (seg === null) {
            const prev = segments[segments.length - 1];
            if (!prev) return next(e); // nothing before the damage to keep
            repaired = { segment: segmentName(firstLsn), offset: at, firstLsnDiscarded: prev.lastLsn + 1, reason: e.message };
          } else {
            segments.push(seg);
            cutAt = at;
            repaired = { segment: seg.name, offset: at, firstLsnDiscarded: seg.lastLsn + 1, reason: e.message };
          }
          next(STOP_SCAN);
        };
        if (firstLsn !== expected) {
          return damaged(repairableGap(dir, `segment ${segmentName(firstLsn)} begins at lsn ${firstLsn}, but the previous segment ends at lsn ${expected - 1}`), null, 0);
        }
        readWhole(disk, path, (err, buf) => {
          if (err || !buf) return next(err);
          const h = decodeSegmentHeader(buf);
          if (typeof h === 'string') return damaged(corrupt(path, 0, h), null, 0);
          if (h.firstLsn !== firstLsn) return damaged(corrupt(path, 0, `header says first lsn ${h.firstLsn}, the file name says ${firstLsn}`), null, 0);
          if (segments.length > 0 && h.prevEpoch !== lastEpoch) {
            return damaged(corrupt(path, 0, `header says the previous record has epoch ${h.prevEpoch}, the previous segment ends with epoch ${lastEpoch}`), null, 0);
          }
          if (segments.length === 0) lastEpoch = h.prevEpoch;
          const seg = new Segment(dir, firstLsn, h.prevEpoch);
          let at = SEGMENT_HEADER_BYTES;
          while (at < buf.length) {
            const d = decodeFrame(buf, at, maxRecordBytes);
            const lsn = seg.lastLsn + 1;
            if (d.k === 'ok') {
              if (d.lsn !== lsn) return damaged(corrupt(path, at, `record has lsn ${d.lsn}, expected ${lsn}`), seg, at);
              if (d.epoch < lastEpoch) return damaged(corrupt(path, at, `record lsn ${lsn} has epoch ${d.epoch}, below the previous ${lastEpoch}`), seg, at);
              if (d.epoch !== lastEpoch || epochs.length === 0) epochs.push({ epoch: d.epoch, startLsn: lsn });
              lastEpoch = d.epoch;
              seg.push(d.end, d.epoch);
              at = d.end;
              continue;
            }
            const why = d.k === 'bad' ? d.reason : 'incomplete record';
            // A torn tail: damage only at the very end of the last segment, nothing valid after it.
            if (!isLast) return damaged(corrupt(path, at, `${why} in a segment that is not the last`), seg, at);
            const later = validRecordAfter(buf, at + 1, maxRecordBytes);
            if (later >= 0) return damaged(corrupt(path, at, `${why}; a valid record follows at offset ${later}`), seg, at);
            tornSegment = seg.name;
            tornOffset = at;
            tornBytes = buf.length - at;
            tornReason = why;
            cutAt = at;
            break;
          }
          segments.push(seg);
          expected = seg.lastLsn + 1;
          next(null);
        });
      },
      (err) => {
        if (err === STOP_SCAN) return dropAfterRepair();
        if (err) return fail(err);
        openActive();
      },
    );
  }

  function dropAfterRepair(): void {
    const keepTo = segments[segments.length - 1]!.firstLsn;
    // Last first, so that a crash midway leaves a gap-free prefix.
    const doomed = firstLsns.filter((l) => l > keepTo).reverse();
    eachSeries(
      doomed,
      (lsn, next) => {
        const p = `${dir}/${segmentName(lsn)}`;
        removedSegments.push(segmentName(lsn));
        disk.unlink(p, (e) => next(e && ioError('unlink', p, e)));
      },
      (err) => {
        if (err) return fail(err);
        disk.fsyncDir(dir, (err) => (err ? fail(ioError('fsync dir', dir, err)) : openActive()));
      },
    );
  }

  function openActive(): void {
    const last = segments[segments.length - 1]!;
    if (pointers.nextToClear > last.lastLsn + 1) {
      // Without a cut the records were lost some other way (a segment deleted): refuse.
      if (cutAt === null) {
        return fail(gap(dir, `updates up to lsn ${pointers.nextToClear - 1} were cleared (hence durable), but the log ends at lsn ${last.lastLsn}`));
      }
      // The cut took records every configured secondary holds and this node's storage area has
      // made durable (a log is never cleared beyond it): nothing is lost here, and the protocol
      // treats the node as behind what it acknowledged (docs/protocol.md, "A node that lost data").
      clearedCutTo = pointers.nextToClear - 1;
      pointers = { start: Math.min(pointers.start, last.lastLsn + 1), nextToClear: last.lastLsn + 1 };
    }
    disk.open(last.path, 'append', (err, file) => {
      if (err || !file) return fail(ioError('open', last.path, err ?? new Error('no handle')));
      const finish = (): void => {
        const dirty = removedSegments.length > 0 || removedTempFiles.length > 0;
        const done = (): void =>
          cb(null, {
            pointers,
            segments,
            active: file,
            epochs,
            lastEpoch,
            report: { tornSegment, tornOffset, tornBytes, tornReason, removedSegments, removedTempFiles, created, restartCompleted, repaired, clearedCutTo },
          });
        if (!dirty) return done();
        disk.fsyncDir(dir, (err) => (err ? fail(ioError('fsync dir', dir, err)) : done()));
      };
      if (cutAt === null) return finish();
      // Cut the torn tail (or the damage found by a repair) durably before anything is appended after it.
      file.truncate(cutAt, (err) => {
        if (err) return fail(ioError('truncate', last.path, err));
        file.datasync((err) => (err ? fail(ioError('datasync', last.path, err)) : finish()));
      });
    });
  }
}
