// Exact binary-float formatting and x87 long-double arithmetic.
//
// Redis computes INCRBYFLOAT in C `long double` (on x86-64: 64-bit mantissa, 15-bit exponent)
// and prints the result with "%.17Lf"; it prints RESP doubles with "%.17g". JS numbers are
// 53-bit doubles and Number#toPrecision rounds ties away from zero, so neither would give
// Redis's bytes. Here a finite float is an exact pair (m, e) meaning m * 2^e, and parsing,
// addition and printing are done exactly with BigInt, rounding to nearest-even like the FPU
// and glibc do. Only INCRBYFLOAT and double replies use this, so BigInt cost is acceptable.

/** Mantissa bits of x87 extended precision (the C `long double` of x86-64 Linux builds). */
export const LONG_DOUBLE_MANTISSA_BITS = 64;
/** Exponent of the smallest subnormal, as m * 2^e with m < 2^64: 2^-16445. */
const LD_MIN_EXP = -16445;
/** Largest e with m < 2^64 (max finite is about 1.19e4932). */
const LD_MAX_EXP = 16383 - 63;
/** Redis refuses float strings this long or longer (MAX_LONG_DOUBLE_CHARS). */
export const MAX_LONG_DOUBLE_CHARS = 5 * 1024;

export type LongDouble =
  | { readonly kind: 'finite'; readonly neg: boolean; readonly m: bigint; readonly e: number }
  | { readonly kind: 'inf'; readonly neg: boolean }
  | { readonly kind: 'nan' };

function bitLength(n: bigint): number {
  if (n === 0n) return 0;
  const hex = n.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)));
}

const TWO64 = 1n << 64n;

/** Rounds num/den (both > 0) to a long double, nearest-even; overflow gives inf. */
function roundRational(neg: boolean, num: bigint, den: bigint): LongDouble {
  if (num === 0n) return { kind: 'finite', neg, m: 0n, e: 0 };
  let s = bitLength(num) - bitLength(den) - LONG_DOUBLE_MANTISSA_BITS;
  if (s < LD_MIN_EXP) s = LD_MIN_EXP;
  const quot = (sh: number): [bigint, bigint, bigint] => {
    // num / (den * 2^sh) as quotient, remainder, divisor
    const n = sh < 0 ? num << BigInt(-sh) : num;
    const d = sh > 0 ? den << BigInt(sh) : den;
    return [n / d, n % d, d];
  };
  let [q, r, d] = quot(s);
  // The estimate is off by at most one bit in either direction.
  if (q >= TWO64) {
    s++;
    [q, r, d] = quot(s);
  } else if (q < TWO64 >> 1n && s > LD_MIN_EXP) {
    s--;
    [q, r, d] = quot(s);
  }
  const twice = r * 2n;
  if (twice > d || (twice === d && (q & 1n) === 1n)) q++;
  if (q === TWO64) {
    q >>= 1n;
    s++;
  }
  if (s > LD_MAX_EXP) return { kind: 'inf', neg };
  return { kind: 'finite', neg, m: q, e: s };
}

const DEC_RE = /^([+-]?)(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?$/;
const HEX_RE = /^([+-]?)0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP]([+-]?\d+))?$/;
const INF_RE = /^([+-]?)(?:inf|infinity)$/i;

/**
 * Redis's string2ld: strtold over the whole string. Accepts decimal, hex ("0x1.8p3") and
 * inf/infinity; refuses empty, too long, leading blank, trailing junk, NaN, overflow and
 * underflow to zero, and NUL bytes. Returns null if invalid.
 */
export function parseLongDouble(bytes: Buffer): LongDouble | null {
  if (bytes.length === 0 || bytes.length >= MAX_LONG_DOUBLE_CHARS) return null;
  // Redis also checks that strtold consumed every byte, so a NUL inside makes it invalid.
  if (bytes.indexOf(0) >= 0) return null;
  const s = bytes.toString('latin1');
  const c0 = s.charCodeAt(0);
  if (c0 === 0x20 || (c0 >= 9 && c0 <= 13)) return null;
  let m = DEC_RE.exec(s);
  if (m) {
    const neg = m[1] === '-';
    const mant = m[2]!;
    const dot = mant.indexOf('.');
    const digits = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
    const fracLen = dot < 0 ? 0 : mant.length - dot - 1;
    const expText = m[3] ?? '0';
    // Exponents far outside the range are decided without building huge numbers.
    const exp = Math.max(-1e6, Math.min(1e6, Number(expText))) - fracLen;
    const d = BigInt(digits);
    if (d === 0n) return { kind: 'finite', neg, m: 0n, e: 0 };
    const mag = digits.replace(/^0+/, '').length + exp; // value < 10^mag
    if (mag > 4940) return null; // overflow (ERANGE, HUGE_VALL)
    if (mag < -4960) return null; // underflow to zero (ERANGE, 0)
    const v = exp >= 0 ? roundRational(neg, d * 10n ** BigInt(exp), 1n) : roundRational(neg, d, 10n ** BigInt(-exp));
    if (v.kind !== 'finite' || v.m === 0n) return null;
    return v;
  }
  m = HEX_RE.exec(s);
  if (m) {
    const neg = m[1] === '-';
    const mant = m[2]!;
    const dot = mant.indexOf('.');
    const digits = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
    const fracLen = dot < 0 ? 0 : mant.length - dot - 1;
    const exp2 = Math.max(-1e6, Math.min(1e6, Number(m[3] ?? '0'))) - 4 * fracLen;
    const d = BigInt('0x' + digits);
    if (d === 0n) return { kind: 'finite', neg, m: 0n, e: 0 };
    const mag = bitLength(d) + exp2;
    if (mag > 16400) return null;
    if (mag < -16500) return null;
    const v = exp2 >= 0 ? roundRational(neg, d << BigInt(exp2), 1n) : roundRational(neg, d, 1n << BigInt(-exp2));
    if (v.kind !== 'finite' || v.m === 0n) return null;
    return v;
  }
  m = INF_RE.exec(s);
  if (m) return { kind: 'inf', neg: m[1] === '-' };
  return null; // includes "nan": Redis refuses NaN
}

/** a + b rounded to long double (x87 round-to-nearest-even). */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble {
  if (a.kind === 'nan' || b.kind === 'nan') return { kind: 'nan' };
  if (a.kind === 'inf' || b.kind === 'inf') {
    if (a.kind === 'inf' && b.kind === 'inf' && a.neg !== b.neg) return { kind: 'nan' };
    return a.kind === 'inf' ? a : b;
  }
  if (a.m === 0n && b.m === 0n) return { kind: 'finite', neg: a.neg && b.neg, m: 0n, e: 0 };
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const av = (a.m << BigInt(a.e - e)) * (a.neg ? -1n : 1n);
  const bv = (b.m << BigInt(b.e - e)) * (b.neg ? -1n : 1n);
  const sum = av + bv;
  if (sum === 0n) return { kind: 'finite', neg: false, m: 0n, e: 0 }; // x + -x = +0 when rounding to nearest
  const neg = sum < 0n;
  const abs = neg ? -sum : sum;
  return e >= 0 ? roundRational(neg, abs << BigInt(e), 1n) : roundRational(neg, abs, 1n << BigInt(-e));
}

/** Exact m * 2^e * 10^scale rounded to an integer, nearest-even. */
function scaledRound(m: bigint, e: number, scale: number): bigint {
  let num = m * (scale >= 0 ? 10n ** BigInt(scale) : 1n);
  let den = scale < 0 ? 10n ** BigInt(-scale) : 1n;
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  const q = num / den;
  const r2 = (num % den) * 2n;
  return r2 > den || (r2 === den && (q & 1n) === 1n) ? q + 1n : q;
}

/** printf("%.{prec}f") of an exact m * 2^e (m >= 0). */
function formatFixed(neg: boolean, m: bigint, e: number, prec: number): string {
  const q = scaledRound(m, e, prec);
  const digits = q.toString().padStart(prec + 1, '0');
  const int = digits.slice(0, digits.length - prec);
  const frac = digits.slice(digits.length - prec);
  return (neg ? '-' : '') + int + (prec > 0 ? '.' + frac : '');
}

/**
 * Redis's ld2string(LD_STR_HUMAN): "%.17Lf", trailing zeros (and a bare '.') removed, "-0" → "0".
 * inf and NaN are never stored (INCRBYFLOAT refuses them first).
 */
export function formatLongDoubleHuman(v: LongDouble): string {
  if (v.kind === 'nan') return 'nan';
  if (v.kind === 'inf') return v.neg ? '-inf' : 'inf';
  let s = formatFixed(v.neg, v.m, v.e, 17);
  s = s.replace(/0+$/, '');
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s === '-0') s = '0';
  return s;
}

/** Splits a JS double into sign and exact m * 2^e. */
function decomposeDouble(d: number): { neg: boolean; m: bigint; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const neg = hi >>> 31 === 1;
  const bexp = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (bexp === 0) return { neg, m: frac, e: -1074 };
  return { neg, m: frac | (1n << 52n), e: bexp - 1075 };
}

/**
 * printf("%.17g") of a double, as Redis 7.0 writes RESP doubles (addReplyDouble); infinities as
 * "inf" / "-inf", NaN as "nan" (glibc prints "-nan" for a negative NaN; JS has one NaN).
 */
export function formatDouble(d: number): string {
  if (Number.isNaN(d)) return 'nan';
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  const { neg, m, e } = decomposeDouble(d);
  const P = 17;
  if (m === 0n) return neg ? '-0' : '0';
  // Decimal exponent X of the value rounded to P significant digits.
  let x = Math.floor(Math.log10(Math.abs(d)));
  let q = scaledRound(m, e, P - 1 - x);
  const lim = 10n ** BigInt(P);
  if (q >= lim) {
    x++;
    q = scaledRound(m, e, P - 1 - x);
  } else if (q < lim / 10n) {
    x--;
    q = scaledRound(m, e, P - 1 - x);
  }
  if (q >= lim) {
    // Rounding carried into a new digit (e.g. 9.99…95 → 10.0…0).
    x++;
    q /= 10n;
  }
  const digits = q.toString();
  const sign = neg ? '-' : '';
  if (x < -4 || x >= P) {
    let mant = digits[0]! + '.' + digits.slice(1);
    mant = mant.replace(/0+$/, '').replace(/\.$/, '');
    const ex = Math.abs(x);
    return `${sign}${mant}e${x < 0 ? '-' : '+'}${ex < 10 ? '0' : ''}${ex}`;
  }
  let s: string;
  if (x >= 0) s = digits.slice(0, x + 1) + '.' + digits.slice(x + 1);
  else s = '0.' + '0'.repeat(-x - 1) + digits;
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return sign + s;
}

const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

/**
 * C's `(long long)(v * 1000.0)` for a long double v on x86-64 (how Redis turns a timeout in
 * seconds into milliseconds): the product rounded to long double, then truncated toward zero;
 * infinities and products outside int64 give LLONG_MIN, the x87 "integer indefinite".
 */
export function longDoubleMillis(v: LongDouble): bigint {
  if (v.kind !== 'finite') return I64_MIN;
  if (v.m === 0n) return 0n;
  const num = v.m * 1000n;
  const p = v.e >= 0 ? roundRational(v.neg, num << BigInt(v.e), 1n) : roundRational(v.neg, num, 1n << BigInt(-v.e));
  if (p.kind !== 'finite') return I64_MIN;
  const mag = p.e >= 0 ? p.m << BigInt(p.e) : p.m >> BigInt(-p.e);
  const t = p.neg ? -mag : mag;
  return t > I64_MAX || t < I64_MIN ? I64_MIN : t;
}
