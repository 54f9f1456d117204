// Frames on a byte stream (the peer TCP connections): each payload is
// preceded by its length and a CRC32C, so the receiver can cut the stream
// back into payloads across arbitrary TCP splits and detect corruption before
// decoding anything.
//
// Frame layout (little endian):
//   u32  payload length
//   u32  CRC32C over the 4 length bytes, then the payload
//   ...  payload
// The checksum covers the length too, so a corrupted length is caught as a
// checksum error rather than read as a different frame boundary (once enough
// bytes arrive; an oversized length is refused at once).
import { crc32c } from '../lib/crc32c.ts';
import { UnderstudyError } from '../errors.ts';

/** Bytes before each payload: length + checksum. */
export const FRAME_HEADER_BYTES = 8;
/**
 * Default largest payload accepted. It bounds the memory a single peer can make
 * us buffer; region-data chunks and append batches are sized below it.
 */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** The length field is a u32: no configured limit can exceed it. */
const LENGTH_FIELD_MAX = 0xffff_ffff;

function tooLarge(len: number, limit: number, side: 'encode' | 'decode'): UnderstudyError {
  return new UnderstudyError(
    'FRAME_TOO_LARGE',
    side === 'decode'
      ? `frame announces ${len} bytes, over the limit of ${limit} bytes (maxFrameBytes, default MAX_FRAME_BYTES); raise maxFrameBytes on the receiving node if such frames are legitimate`
      : `payload of ${len} bytes is over the limit of ${limit} bytes (maxFrameBytes, default MAX_FRAME_BYTES); send smaller batches or raise maxFrameBytes on every node`,
    { length: len, limit },
  );
}

/** Writes the header for the payload already at buf[offset + 8, offset + 8 + len). */
export function writeFrameHeader(buf: Buffer, offset: number, len: number): void {
  buf.writeUInt32LE(len, offset);
  const lenCrc = crc32c(buf, 0, offset, offset + 4);
  buf.writeUInt32LE(crc32c(buf, lenCrc, offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + len), offset + 4);
}

/** One payload as one frame. */
export function encodeFrame(payload: Uint8Array, maxFrameBytes = MAX_FRAME_BYTES): Buffer {
  if (payload.length > maxFrameBytes) throw tooLarge(payload.length, maxFrameBytes, 'encode');
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.set(payload, FRAME_HEADER_BYTES);
  writeFrameHeader(out, 0, payload.length);
  return out;
}

/** Many payloads as consecutive frames in one buffer: one socket write for a batch. */
export function encodeFrames(payloads: readonly Uint8Array[], maxFrameBytes = MAX_FRAME_BYTES): Buffer {
  let total = 0;
  for (const p of payloads) {
    if (p.length > maxFrameBytes) throw tooLarge(p.length, maxFrameBytes, 'encode');
    total += FRAME_HEADER_BYTES + p.length;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const p of payloads) {
    out.set(p, at + FRAME_HEADER_BYTES);
    writeFrameHeader(out, at, p.length);
    at += FRAME_HEADER_BYTES + p.length;
  }
  return out;
}

/**
 * Incremental decoder: push chunks as they arrive, take payloads out. Holds the
 * chunks of an incomplete frame without concatenating them until the frame is
 * whole (no quadratic copying for large frames arriving in small pieces).
 *
 * Any error (oversized length, bad checksum) poisons the decoder: a stream
 * that lost its framing cannot be resynchronised, the connection must close.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  /** Read offset into chunks[0]. */
  private head = 0;
  private buffered = 0;
  private failed: UnderstudyError | null = null;
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);

  /**
   * @param maxFrameBytes largest payload accepted; may be changed between
   *   `next()` calls (the peer transport accepts only small frames until a
   *   connection is authenticated).
   */
  constructor(public maxFrameBytes = MAX_FRAME_BYTES) {
    if (!(Number.isInteger(maxFrameBytes) && maxFrameBytes >= 0 && maxFrameBytes <= LENGTH_FIELD_MAX)) {
      throw new UnderstudyError('CONFIG_INVALID', `maxFrameBytes must be an integer in 0..${LENGTH_FIELD_MAX}, got ${maxFrameBytes}`);
    }
  }

  /** Bytes received but not yet returned as payloads. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds received bytes. */
  push(chunk: Buffer): void {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete payload, or undefined until more bytes arrive. Throws on a bad frame. */
  next(): Buffer | undefined {
    if (this.failed) throw this.failed;
    if (this.buffered < FRAME_HEADER_BYTES) return undefined;
    this.copyOut(this.header, 0, FRAME_HEADER_BYTES);
    const len = this.header.readUInt32LE(0);
    if (len > this.maxFrameBytes) return this.fail(tooLarge(len, this.maxFrameBytes, 'decode'));
    if (this.buffered < FRAME_HEADER_BYTES + len) return undefined;
    const want = this.header.readUInt32LE(4);
    this.skip(FRAME_HEADER_BYTES);
    const payload = this.take(len);
    const got = crc32c(payload, crc32c(this.header, 0, 0, 4));
    if (got !== want) {
      return this.fail(
        new UnderstudyError(
          'FRAME_CORRUPT',
          `frame checksum mismatch: header says ${want.toString(16).padStart(8, '0')}, payload of ${len} bytes hashes to ${got.toString(16).padStart(8, '0')} (corrupted or not an understudy peer stream)`,
          { length: len },
        ),
      );
    }
    return payload;
  }

  /** Adds a chunk and returns every payload now complete. */
  feed(chunk: Buffer): Buffer[] {
    this.push(chunk);
    const out: Buffer[] = [];
    for (let p = this.next(); p !== undefined; p = this.next()) out.push(p);
    return out;
  }

  private fail(e: UnderstudyError): never {
    this.failed = e;
    this.chunks = [];
    this.buffered = 0;
    this.head = 0;
    throw e;
  }

  /** Copies n buffered bytes into dst without consuming them. */
  private copyOut(dst: Buffer, dstAt: number, n: number): void {
    let i = 0;
    let off = this.head;
    while (n > 0) {
      const c = this.chunks[i]!;
      const k = Math.min(n, c.length - off);
      c.copy(dst, dstAt, off, off + k);
      dstAt += k;
      n -= k;
      i++;
      off = 0;
    }
  }

  private skip(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      const left = c.length - this.head;
      if (n < left) {
        this.head += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Consumes n bytes: a view when they lie in one chunk, else one copy. */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first !== undefined && first.length - this.head >= n) {
      const view = first.subarray(this.head, this.head + n);
      this.skip(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    this.copyOut(out, 0, n);
    this.skip(n);
    return out;
  }
}
