// The log's two pointers (claims 3 and 4), kept in one small file that is
// replaced atomically, so that a crash leaves either the old or the new pair.
import { crc32c } from '../lib/crc32c.ts';
import { UnderstudyError } from '../errors.ts';

/** "USPT" as a little-endian u32. */
const POINTER_MAGIC = 0x54505355;
const POINTER_VERSION = 1;
export const POINTER_FILE_BYTES = 32;
export const POINTER_FILE_NAME = 'pointers';

export interface LogPointers {
  /** Start-of-log pointer (claim 3): the first lsn the log still holds. */
  readonly start: number;
  /** Pointer to the next update to clear (claim 4): every lsn below it has been cleared. */
  readonly nextToClear: number;
}

const TWO_32 = 4294967296;

/** magic u32 | version u32 | start u64 | nextToClear u64 | 4 reserved | crc32c u32 of bytes 0..28. */
export function encodePointers(p: LogPointers): Uint8Array {
  const b = new Uint8Array(POINTER_FILE_BYTES);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, POINTER_MAGIC, true);
  dv.setUint32(4, POINTER_VERSION, true);
  dv.setUint32(8, p.start % TWO_32, true);
  dv.setUint32(12, Math.floor(p.start / TWO_32), true);
  dv.setUint32(16, p.nextToClear % TWO_32, true);
  dv.setUint32(20, Math.floor(p.nextToClear / TWO_32), true);
  dv.setUint32(28, crc32c(b, 0, 0, 28), true);
  return b;
}

export function decodePointers(b: Uint8Array, path: string): LogPointers {
  const bad = (why: string): UnderstudyError =>
    new UnderstudyError(
      'LOG_POINTER_FILE_CORRUPT',
      `log pointer file ${path} is unreadable (${why}); the node will not guess which updates were cleared. ` +
        `See docs/log-format.md, "The way out": delete this node's data directory and let it rejoin with a resync`,
      { path, why },
    );
  if (b.length !== POINTER_FILE_BYTES) return throwIt(bad(`${b.length} bytes, expected ${POINTER_FILE_BYTES}`));
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, true) !== POINTER_MAGIC) return throwIt(bad('bad magic'));
  if (dv.getUint32(4, true) !== POINTER_VERSION) return throwIt(bad(`unknown version ${dv.getUint32(4, true)}`));
  if (crc32c(b, 0, 0, 28) !== dv.getUint32(28, true)) return throwIt(bad('checksum mismatch'));
  const start = dv.getUint32(8, true) + dv.getUint32(12, true) * TWO_32;
  const nextToClear = dv.getUint32(16, true) + dv.getUint32(20, true) * TWO_32;
  // start is the first lsn of the oldest segment kept, and a segment is kept until all of it is cleared.
  if (start < 1 || nextToClear < start || !Number.isSafeInteger(start) || !Number.isSafeInteger(nextToClear)) {
    return throwIt(bad(`impossible pointers start=${start} nextToClear=${nextToClear}`));
  }
  return { start, nextToClear };
}

function throwIt(e: Error): never {
  throw e;
}
