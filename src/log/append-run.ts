// A run of appends framed into one growing buffer: the unit of group commit.
// Appends made while the previous batch is being written are framed straight
// into the open run (no per-append allocation), and the whole run goes out as
// one writev followed by one datasync.
import type { DoneCb } from '../ports/disk.ts';
import { writeFrame, type LogRecord } from './record-frame.ts';

const noop = (): void => {};

/** Initial size of a run's buffer; it doubles as needed up to the run's cap. */
const INITIAL_RUN_BYTES = 64 * 1024;
const INITIAL_RUN_RECORDS = 512;

export class AppendRun {
  readonly k = 'append';
  firstLsn = 0;
  count = 0;
  buf: Uint8Array;
  private dv: DataView;
  len = 0;
  /** End offset within buf and epoch of each record. */
  ends: Uint32Array;
  epochs: Float64Array;
  /** Completion of each append in the run, in call order (an array, not objects: no allocation per append). */
  readonly waiterCbs: DoneCb[] = [];
  waiterCount = 0;
  /** Set when its write starts: later appends go to a new run. */
  sealed = false;

  constructor() {
    this.buf = new Uint8Array(INITIAL_RUN_BYTES);
    this.dv = new DataView(this.buf.buffer);
    this.ends = new Uint32Array(INITIAL_RUN_RECORDS);
    this.epochs = new Float64Array(INITIAL_RUN_RECORDS);
  }

  /** Makes a used run ready again (keeps its buffers: they are the point of reuse). */
  reset(): this {
    this.firstLsn = 0;
    this.count = 0;
    this.len = 0;
    this.waiterCbs.fill(noop, 0, this.waiterCount); // drop references to completed callbacks
    this.waiterCount = 0;
    this.sealed = false;
    return this;
  }

  get lastLsn(): number {
    return this.firstLsn + this.count - 1;
  }

  /** Frames records (already validated, consecutive with this run, `bytes` of frames in all) into the buffer. */
  add(records: readonly LogRecord[], bytes: number, cb: DoneCb): void {
    if (this.count === 0 && records.length > 0) this.firstLsn = records[0]!.lsn;
    if (this.len + bytes > this.buf.length || this.count + records.length > this.ends.length) this.reserve(this.len + bytes, this.count + records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      this.len = writeFrame(this.buf, this.dv, this.len, r);
      this.ends[this.count] = this.len;
      this.epochs[this.count] = r.epoch;
      this.count++;
    }
    this.waiterCbs[this.waiterCount++] = cb;
  }

  /** The callbacks of the appends in this run. */
  callbacks(): DoneCb[] {
    return this.waiterCbs.slice(0, this.waiterCount);
  }

  private reserve(bytes: number, records: number): void {
    if (bytes > this.buf.length) {
      const next = new Uint8Array(Math.max(bytes, this.buf.length * 2));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.dv = new DataView(next.buffer);
    }
    if (records > this.ends.length) {
      const n = Math.max(records, this.ends.length * 2);
      const ends = new Uint32Array(n);
      ends.set(this.ends.subarray(0, this.count));
      this.ends = ends;
      const epochs = new Float64Array(n);
      epochs.set(this.epochs.subarray(0, this.count));
      this.epochs = epochs;
    }
  }
}
