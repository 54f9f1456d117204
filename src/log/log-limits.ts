// Named limits of the update log, and the checks that say what to change
// when one is hit.
import { UnderstudyError } from '../errors.ts';

/** Largest payload of one record. Bounds the memory a reader allocates from an untrusted length field. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/**
 * A segment is closed and a new one started once it reaches this size.
 * Clearing deletes whole segments, so this is also the granularity of space reclaim.
 */
export const SEGMENT_BYTES = 64 * 1024 * 1024;

/** Smallest segment size accepted (tests use small segments to exercise rolling). */
export const MIN_SEGMENT_BYTES = 4096;

/**
 * Largest batch of bytes written by one writev + datasync. Bounds the latency of
 * the appends queued behind a batch and the memory of one write.
 */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;

export function recordTooLarge(lsn: number, bytes: number, maxRecordBytes: number): UnderstudyError {
  return new UnderstudyError(
    'LOG_RECORD_TOO_LARGE',
    `log record lsn ${lsn} has ${bytes} payload bytes, above the limit of ${maxRecordBytes}: ` +
      `split the write into smaller ones, or raise the log's maxRecordBytes (MAX_RECORD_BYTES in src/log/log-limits.ts) on every node`,
    { lsn, bytes, maxRecordBytes },
  );
}

export function checkSegmentBytes(segmentBytes: number, maxRecordBytes: number): void {
  if (!Number.isInteger(segmentBytes) || segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > 2 ** 31) {
    throw new UnderstudyError(
      'CONFIG_INVALID',
      `log segmentBytes ${segmentBytes} is out of range: set it between ${MIN_SEGMENT_BYTES} and 2^31 ` +
        `(default SEGMENT_BYTES = ${SEGMENT_BYTES} in src/log/log-limits.ts)`,
    );
  }
  if (!Number.isInteger(maxRecordBytes) || maxRecordBytes < 1 || maxRecordBytes > 2 ** 30) {
    throw new UnderstudyError(
      'CONFIG_INVALID',
      `log maxRecordBytes ${maxRecordBytes} is out of range: set it between 1 and 2^30 (default MAX_RECORD_BYTES = ${MAX_RECORD_BYTES})`,
    );
  }
}
