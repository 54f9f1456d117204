// CRC-64/Jones as Redis computes it (crc64.c: polynomial 0xad93d23594c935a9, reflected, initial
// value 0): the footer of a DUMP payload, checked by RESTORE. Table driven over two 32-bit
// halves, so no BigInt arithmetic runs per byte.

/** The reflected polynomial (0xad93d23594c935a9 with its bits reversed), as two halves. */
const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5;

const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let k = 0; k < 8; k++) {
    const bit = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi >>>= 1;
    if (bit) {
      hi = (hi ^ POLY_HI) >>> 0;
      lo = (lo ^ POLY_LO) >>> 0;
    }
  }
  TABLE_HI[i] = hi;
  TABLE_LO[i] = lo;
}

/** The CRC of bytes[start, end) as 8 bytes, little-endian (the order the DUMP footer holds it in). */
export function crc64(bytes: Uint8Array, start = 0, end = bytes.length): Buffer {
  let hi = 0;
  let lo = 0;
  for (let i = start; i < end; i++) {
    const idx = (lo ^ bytes[i]!) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ TABLE_LO[idx]!) >>> 0;
    hi = ((hi >>> 8) ^ TABLE_HI[idx]!) >>> 0;
  }
  const out = Buffer.alloc(8);
  out.writeUInt32LE(lo, 0);
  out.writeUInt32LE(hi, 4);
  return out;
}
