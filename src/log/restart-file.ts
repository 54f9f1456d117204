// The intent of a log restart (UpdateLog.restartAfter): written atomically
// before the old segments are touched and removed once the restarted log is
// complete, so that recovery finding it finishes the restart and a crash
// leaves either the old log or the restarted one.
import type { Disk, DoneCb } from '../ports/disk.ts';
import { crc32c } from '../lib/crc32c.ts';
import { UnderstudyError } from '../errors.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { eachSeries } from './callbacks.ts';
import { POINTER_FILE_NAME, encodePointers } from './pointer-file.ts';
import { encodeSegmentHeader, parseSegmentName, segmentName } from './record-frame.ts';

/** "USRS" as a little-endian u32. */
const RESTART_MAGIC = 0x53525355;
const RESTART_VERSION = 1;
export const RESTART_FILE_BYTES = 32;
export const RESTART_FILE_NAME = 'restart';

export interface RestartIntent {
  /** The log continues after this lsn: its first record will be afterLsn + 1. */
  readonly afterLsn: number;
  /** Epoch of record afterLsn (0 if afterLsn is 0). */
  readonly afterEpoch: number;
}

const TWO_32 = 4294967296;

/** magic u32 | version u32 | afterLsn u64 | afterEpoch u64 | 4 reserved | crc32c u32 of bytes 0..28. */
export function encodeRestart(r: RestartIntent): Uint8Array {
  const b = new Uint8Array(RESTART_FILE_BYTES);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, RESTART_MAGIC, true);
  dv.setUint32(4, RESTART_VERSION, true);
  dv.setUint32(8, r.afterLsn % TWO_32, true);
  dv.setUint32(12, Math.floor(r.afterLsn / TWO_32), true);
  dv.setUint32(16, r.afterEpoch % TWO_32, true);
  dv.setUint32(20, Math.floor(r.afterEpoch / TWO_32), true);
  dv.setUint32(28, crc32c(b, 0, 0, 28), true);
  return b;
}

/**
 * The file is only ever put in place by an atomic rename after its content was synced,
 * so a file that fails these checks was damaged afterwards: the node cannot tell whether
 * the old segments are still whole, and refuses to start.
 */
export function decodeRestart(b: Uint8Array, path: string): RestartIntent {
  const bad = (why: string): never => {
    throw new UnderstudyError(
      'LOG_POINTER_FILE_CORRUPT',
      `log restart file ${path} is unreadable (${why}); a restart of the log was under way and the node will not guess ` +
        `where the log continues. See docs/log-format.md, "The way out": delete this node's data directory and let it rejoin with a resync`,
      { path, why },
    );
  };
  if (b.length !== RESTART_FILE_BYTES) return bad(`${b.length} bytes, expected ${RESTART_FILE_BYTES}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, true) !== RESTART_MAGIC) return bad('bad magic');
  if (dv.getUint32(4, true) !== RESTART_VERSION) return bad(`unknown version ${dv.getUint32(4, true)}`);
  if (crc32c(b, 0, 0, 28) !== dv.getUint32(28, true)) return bad('checksum mismatch');
  const afterLsn = dv.getUint32(8, true) + dv.getUint32(12, true) * TWO_32;
  const afterEpoch = dv.getUint32(16, true) + dv.getUint32(20, true) * TWO_32;
  if (!Number.isSafeInteger(afterLsn) || !Number.isSafeInteger(afterEpoch) || afterLsn + 1 > Number.MAX_SAFE_INTEGER || (afterLsn === 0 && afterEpoch !== 0)) {
    return bad(`impossible values afterLsn=${afterLsn} afterEpoch=${afterEpoch}`);
  }
  return { afterLsn, afterEpoch };
}

/**
 * Carries out a restart whose intent file is durable: deletes every segment, creates the
 * new empty segment (first lsn afterLsn + 1, previous epoch afterEpoch), writes the pointers
 * {start, nextToClear} = afterLsn + 1, then removes the intent and fsyncs the directory.
 * Each step may be repeated after a crash: recovery runs this again while the intent exists.
 * Errors are the Disk's, with the path in `where`.
 */
export function completeRestart(disk: Disk, dir: string, r: RestartIntent, cb: (err: Error | null, where?: string) => void): void {
  const first = r.afterLsn + 1;
  const segPath = `${dir}/${segmentName(first)}`;
  const pointerPath = `${dir}/${POINTER_FILE_NAME}`;
  const intentPath = `${dir}/${RESTART_FILE_NAME}`;
  let where = dir;
  const fail = (err: Error): void => cb(err, where);
  disk.list(dir, (err, names) => {
    if (err || !names) return fail(err ?? new Error('no listing'));
    const old = names.filter((n) => parseSegmentName(n) !== undefined);
    eachSeries(
      old,
      (name, next) => {
        where = `${dir}/${name}`;
        disk.unlink(where, next);
      },
      (err) => {
        if (err) return fail(err);
        // Atomic creation (its directory fsync also makes the unlinks durable).
        where = segPath;
        writeFileAtomic(disk, segPath, encodeSegmentHeader({ firstLsn: first, prevEpoch: r.afterEpoch }), (err) => {
          if (err) return fail(err);
          where = pointerPath;
          writeFileAtomic(disk, pointerPath, encodePointers({ start: first, nextToClear: first }), (err) => {
            if (err) return fail(err);
            where = intentPath;
            disk.unlink(intentPath, (err) => {
              if (err) return fail(err);
              where = dir;
              disk.fsyncDir(dir, (err) => (err ? fail(err) : cb(null)));
            });
          });
        });
      },
    );
  });
}

/** Writes the intent durably (atomic replacement). */
export function writeRestartIntent(disk: Disk, dir: string, r: RestartIntent, cb: DoneCb): void {
  writeFileAtomic(disk, `${dir}/${RESTART_FILE_NAME}`, encodeRestart(r), cb);
}
