// On-disk framing of log records and segment headers (docs/log-format.md).
// Every field is little-endian; 64-bit numbers are stored as two 32-bit
// halves and must be below 2^53 (JavaScript's exact integers).
import { crc32c } from '../lib/crc32c.ts';

/** One record of the log: opaque payload bytes, with the lsn and epoch the protocol gave them. */
export interface LogRecord {
  readonly lsn: number;
  readonly epoch: number;
  readonly payload: Uint8Array;
}

/** "USLG" read as a little-endian u32: marks the start of every record. */
export const RECORD_MAGIC = 0x474c5355;
/** "USSG": marks the header at the start of every segment file. */
export const SEGMENT_MAGIC = 0x47535355;
export const FORMAT_VERSION = 1;
export const RECORD_HEADER_BYTES = 32;
export const SEGMENT_HEADER_BYTES = 32;

const TWO_32 = 4294967296;

function putU64(dv: DataView, at: number, v: number): void {
  // ToUint32 is v mod 2^32: the low half, without a division.
  dv.setUint32(at, v >>> 0, true);
  dv.setUint32(at + 4, (v / TWO_32) >>> 0, true);
}

function getU64(dv: DataView, at: number): number {
  return dv.getUint32(at, true) + dv.getUint32(at + 4, true) * TWO_32;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Below this, a byte loop copies a payload faster than TypedArray.prototype.set's call overhead. */
const SMALL_COPY_BYTES = 64;

export function frameBytes(payloadBytes: number): number {
  return RECORD_HEADER_BYTES + payloadBytes;
}

/**
 * Writes the frame of one record into `out` at `at`; returns the end offset.
 * Layout: magic u32 | crc32c u32 | version u8 | 3 reserved | payload length u32 | lsn u64 | epoch u64 | payload.
 * The CRC covers everything after it (header fields and payload) in one contiguous run.
 */
export function writeFrame(out: Uint8Array, dv: DataView, at: number, rec: LogRecord): number {
  const p = rec.payload;
  const len = p.length;
  dv.setUint32(at, RECORD_MAGIC, true);
  dv.setUint32(at + 8, FORMAT_VERSION, true);
  dv.setUint32(at + 12, len, true);
  putU64(dv, at + 16, rec.lsn);
  putU64(dv, at + 24, rec.epoch);
  const body = at + RECORD_HEADER_BYTES;
  if (len < SMALL_COPY_BYTES) for (let i = 0; i < len; i++) out[body + i] = p[i]!;
  else out.set(p, body);
  const end = body + len;
  dv.setUint32(at + 4, crc32c(out, 0, at + 8, end), true);
  return end;
}

export type DecodeResult =
  | { readonly k: 'ok'; readonly lsn: number; readonly epoch: number; readonly payloadAt: number; readonly end: number }
  /** Too few bytes left for the header or the payload. */
  | { readonly k: 'incomplete' }
  | { readonly k: 'bad'; readonly reason: string };

/** Decodes the frame at `at` without copying; checks magic, version, length bound and CRC. */
export function decodeFrame(buf: Uint8Array, at: number, maxRecordBytes: number): DecodeResult {
  if (buf.length - at < RECORD_HEADER_BYTES) return { k: 'incomplete' };
  const dv = view(buf);
  if (dv.getUint32(at, true) !== RECORD_MAGIC) return { k: 'bad', reason: 'bad magic' };
  const version = dv.getUint32(at + 8, true);
  if (version !== FORMAT_VERSION) return { k: 'bad', reason: `unknown version ${version}` };
  const len = dv.getUint32(at + 12, true);
  if (len > maxRecordBytes) return { k: 'bad', reason: `length ${len} above maxRecordBytes ${maxRecordBytes}` };
  const end = at + RECORD_HEADER_BYTES + len;
  if (end > buf.length) return { k: 'incomplete' };
  if (crc32c(buf, 0, at + 8, end) !== dv.getUint32(at + 4, true)) return { k: 'bad', reason: 'checksum mismatch' };
  return { k: 'ok', lsn: getU64(dv, at + 16), epoch: getU64(dv, at + 24), payloadAt: at + RECORD_HEADER_BYTES, end };
}

/**
 * True if a complete, checksum-valid record starts anywhere in buf[from..): tells a
 * torn tail (nothing valid after the damage) from corruption in the middle.
 */
export function validRecordAfter(buf: Uint8Array, from: number, maxRecordBytes: number): number {
  const magic = new Uint8Array(4);
  view(magic).setUint32(0, RECORD_MAGIC, true);
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let i = b.indexOf(magic, from);
  while (i >= 0) {
    if (decodeFrame(buf, i, maxRecordBytes).k === 'ok') return i;
    i = b.indexOf(magic, i + 1);
  }
  return -1;
}

/** Segment header: magic u32 | version u8 | 3 reserved | first lsn u64 | epoch of the record before it u64 | 4 reserved | crc32c u32. */
export interface SegmentHeader {
  readonly firstLsn: number;
  /** Epoch of record firstLsn - 1 (0 if none): lets the log answer epochAt for the lsn just before it. */
  readonly prevEpoch: number;
}

export function encodeSegmentHeader(h: SegmentHeader): Uint8Array {
  const b = new Uint8Array(SEGMENT_HEADER_BYTES);
  const dv = view(b);
  dv.setUint32(0, SEGMENT_MAGIC, true);
  dv.setUint32(4, FORMAT_VERSION, true);
  putU64(dv, 8, h.firstLsn);
  putU64(dv, 16, h.prevEpoch);
  dv.setUint32(28, crc32c(b, 0, 0, 28), true);
  return b;
}

export function decodeSegmentHeader(b: Uint8Array): SegmentHeader | string {
  if (b.length < SEGMENT_HEADER_BYTES) return `segment header incomplete (${b.length} bytes)`;
  const dv = view(b);
  if (dv.getUint32(0, true) !== SEGMENT_MAGIC) return 'segment header has a bad magic';
  if (dv.getUint32(4, true) !== FORMAT_VERSION) return `segment header has unknown version ${dv.getUint32(4, true)}`;
  if (crc32c(b, 0, 0, 28) !== dv.getUint32(28, true)) return 'segment header checksum mismatch';
  return { firstLsn: getU64(dv, 8), prevEpoch: getU64(dv, 16) };
}

/** Segment files are named by their first lsn, zero-padded so that names sort in lsn order. */
export function segmentName(firstLsn: number): string {
  return `seg-${String(firstLsn).padStart(16, '0')}.log`;
}

const SEGMENT_NAME = /^seg-(\d{16})\.log$/;

export function parseSegmentName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}
