// LZF decompression (liblzf's lzf_d.c, which Redis uses for compressed strings in RDB and DUMP
// payloads): literal runs and back references, every read and write checked against the input
// and the announced output length.

/** The `outLen` bytes `input` decompresses to, or null if it is not valid LZF for that length. */
export function lzfDecompress(input: Uint8Array, outLen: number): Buffer | null {
  const out = Buffer.allocUnsafe(outLen);
  let ip = 0;
  let op = 0;
  while (ip < input.length) {
    const ctrl = input[ip++]!;
    if (ctrl < 32) {
      // A literal run of ctrl + 1 bytes.
      const n = ctrl + 1;
      if (op + n > outLen || ip + n > input.length) return null;
      for (let i = 0; i < n; i++) out[op++] = input[ip++]!;
    } else {
      // A back reference: length (ctrl >> 5) + 2, or 7 + the next byte + 2.
      let len = ctrl >> 5;
      if (ip >= input.length) return null;
      if (len === 7) {
        len += input[ip++]!;
        if (ip >= input.length) return null;
      }
      const ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++]!;
      len += 2;
      if (op + len > outLen || ref < 0) return null;
      for (let i = 0; i < len; i++) out[op++] = out[ref + i]!;
    }
  }
  return op === outLen ? out : null;
}
