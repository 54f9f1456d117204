// Redis's strict number parsing (util.c string2ll, strtoul for SCAN cursors), so that the
// same bytes are accepted or refused as "not an integer" as on Redis.

export const LLONG_MAX = (1n << 63n) - 1n;
export const LLONG_MIN = -(1n << 63n);
export const INT_MAX = 2147483647n;
export const INT_MIN = -2147483648n;
const ULONG_MAX = (1n << 64n) - 1n;
/** Redis's LONG_STR_SIZE: a 64-bit integer string is shorter than this. */
const LONG_STR_SIZE = 21;

const LL_RE = /^(?:0|-?[1-9][0-9]*)$/;

/**
 * string2ll: decimal, optional '-', no '+', no leading zeros ("-0" and "007" are refused), no
 * blanks, within int64. Returns null when Redis would say "value is not an integer or out of range".
 */
export function parseI64(b: Buffer): bigint | null {
  if (b.length === 0 || b.length >= LONG_STR_SIZE) return null;
  const s = b.toString('latin1');
  if (!LL_RE.test(s)) return null;
  const v = BigInt(s);
  return v > LLONG_MAX || v < LLONG_MIN ? null : v;
}

/**
 * strtoul as parseScanCursorOrReply uses it: optional sign (negative values wrap modulo 2^64, as
 * in C), digits, nothing after (a NUL ends the string), no leading blank; "" is 0. Null = invalid.
 */
export function parseCursor(b: Buffer): bigint | null {
  const nul = b.indexOf(0);
  const s = b.toString('latin1', 0, nul < 0 ? b.length : nul);
  if (s === '') return 0n;
  const m = /^([+-]?)([0-9]+)$/.exec(s);
  if (!m) return null;
  let v = BigInt(m[2]!);
  if (v > ULONG_MAX) return null;
  if (m[1] === '-') v = (ULONG_MAX + 1n - v) & ULONG_MAX;
  return v;
}

/** A bigint as the smallest reply-friendly integer: number when exact, else bigint. */
export function intValue(n: bigint): number | bigint {
  return n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : n;
}
