// In-memory index of one segment file: where each of its records ends, so
// that reads for a lagging peer and truncation find a record's offset without
// scanning. 4 bytes per record.
import { SEGMENT_HEADER_BYTES, segmentName } from './record-frame.ts';

export class Segment {
  readonly name: string;
  readonly path: string;
  /** End offset (exclusive) of record i, i.e. of lsn firstLsn + i. */
  private ends = new Uint32Array(1024);
  /** Records indexed (durable ones). */
  count = 0;
  /** Bytes in the file: header plus the records indexed. */
  size = SEGMENT_HEADER_BYTES;
  /** Epoch of the last record indexed (prevEpoch if none): the next segment's header needs it. */
  lastEpoch: number;

  constructor(
    dir: string,
    readonly firstLsn: number,
    /** Epoch of the record just before firstLsn (0 if none). */
    readonly prevEpoch: number,
  ) {
    this.lastEpoch = prevEpoch;
    this.name = segmentName(firstLsn);
    this.path = `${dir}/${this.name}`;
  }

  /** Last lsn indexed here (firstLsn - 1 if empty). */
  get lastLsn(): number {
    return this.firstLsn + this.count - 1;
  }

  push(end: number, epoch: number): void {
    this.lastEpoch = epoch;
    if (this.count === this.ends.length) {
      const next = new Uint32Array(this.ends.length * 2);
      next.set(this.ends);
      this.ends = next;
    }
    this.ends[this.count++] = end;
    this.size = end;
  }

  /** Offset where record lsn begins (lsn may be lastLsn + 1: the end). */
  offsetOf(lsn: number): number {
    const i = lsn - this.firstLsn;
    return i === 0 ? SEGMENT_HEADER_BYTES : this.ends[i - 1]!;
  }

  /** End offset of record lsn. */
  endOf(lsn: number): number {
    return this.ends[lsn - this.firstLsn]!;
  }

  /** Forgets every record from lsn on; `epochBefore` is the epoch of record lsn - 1. */
  cutFrom(lsn: number, epochBefore: number): void {
    this.lastEpoch = lsn === this.firstLsn ? this.prevEpoch : epochBefore;
    this.size = this.offsetOf(lsn);
    this.count = lsn - this.firstLsn;
  }
}
