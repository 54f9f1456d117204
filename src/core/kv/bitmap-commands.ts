// Bitmap commands (Redis 7.0's bitops.c): SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
// BITFIELD_RO on string values. Bit 0 is the most significant bit of byte 0, as in Redis. A
// write changes only the bytes it touches, and is replicated as those bytes (writeBytes in
// string-writes.ts), so a SETBIT on a huge bitmap ships one byte.
import { arr, err, int, NIL } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Entry } from '../types.ts';
import { del, E_NOT_INT, E_SYNTAX, is, put, typed, WRONG, WRONGTYPE } from './context.ts';
import type { Ctx, Handler } from './context.ts';
import { parseI64 } from './numbers.ts';
import { writeBytes, writeChanged } from './string-writes.ts';

const E_BIT_OFFSET = 'ERR bit offset is not an integer or out of range';
const E_BIT_VALUE = 'ERR bit is not an integer or out of range';
const E_BITPOS_BIT = 'ERR The bit argument must be 1 or 0.';
const E_BITFIELD_TYPE = 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.';
const EMPTY = Buffer.alloc(0);

/** Set bits of every byte value (popcount by table: a byte at a time over any length). */
const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

/** The live string at key (undefined if none, WRONG if another type). */
function strOf(c: Ctx, key: Buffer): Entry | undefined | typeof WRONG {
  return typed(c, key, 'string');
}

/**
 * getBitOffsetFromArgument: a bit offset, with BITFIELD's "#n" form (n times the field width)
 * when `bits` > 0. Refused when negative or beyond the largest string (proto-max-bulk-len).
 */
function bitOffset(c: Ctx, b: Buffer, bits: number): bigint | null {
  const hash = bits > 0 && b.length > 0 && b[0] === 0x23;
  const v = parseI64(hash ? b.subarray(1) : b);
  if (v === null) return null;
  // Redis multiplies in 64 bits: a huge #n wraps negative and is refused below.
  const off = hash ? BigInt.asIntN(64, v * BigInt(bits)) : v;
  if (off < 0n || off >> 3n >= BigInt(c.maxValueBytes)) return null;
  return off;
}

const setbit: Handler = (c, a) => {
  const key = a[1]!;
  const off = bitOffset(c, a[2]!, 0);
  if (off === null) return err(E_BIT_OFFSET);
  const on = parseI64(a[3]!);
  if (on === null || (on !== 0n && on !== 1n)) return err(E_BIT_VALUE);
  const old = strOf(c, key);
  if (old === WRONG) return WRONGTYPE;
  const byte = Number(off >> 3n);
  const mask = 1 << (7 - Number(off & 7n));
  const cur = old !== undefined && byte < old.value.length ? old.value[byte]! : 0;
  const was = (cur & mask) !== 0;
  const grows = old === undefined || byte >= old.value.length;
  if (grows || was !== (on === 1n)) {
    writeBytes(c, key, old, byte, Buffer.from([on === 1n ? cur | mask : cur & ~mask]));
  }
  return int(was ? 1 : 0);
};

const getbit: Handler = (c, a) => {
  const off = bitOffset(c, a[2]!, 0);
  if (off === null) return err(E_BIT_OFFSET);
  const e = strOf(c, a[1]!);
  if (e === WRONG) return WRONGTYPE;
  if (e === undefined) return int(0);
  const byte = Number(off >> 3n);
  if (byte >= e.value.length) return int(0);
  return int((e.value[byte]! >> (7 - Number(off & 7n))) & 1);
};

function popcount(p: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i <= end; i++) n += POPCOUNT[p[i]!]!;
  return n;
}

/** BIT or BYTE (the unit of BITCOUNT's and BITPOS's range): true for BIT, null for neither. */
function unitIsBit(b: Buffer): boolean | null {
  if (is(b, 'bit')) return true;
  if (is(b, 'byte')) return false;
  return null;
}

/** A 64-bit index brought within ±2^53: string lengths in bits are far smaller, so clamping keeps every comparison's outcome. */
function clamp(v: bigint): number {
  return v > 9007199254740991n ? 9007199254740991 : v < -9007199254740991n ? -9007199254740991 : Number(v);
}

const bitcount: Handler = (c, a) => {
  const e = strOf(c, a[1]!);
  if (e === WRONG) return WRONGTYPE;
  if (e === undefined) return int(0);
  const p = e.value;
  if (a.length === 2) return int(popcount(p, 0, p.length - 1));
  if (a.length !== 4 && a.length !== 5) return err(E_SYNTAX);
  const s = parseI64(a[2]!);
  if (s === null) return err(E_NOT_INT);
  const en = parseI64(a[3]!);
  if (en === null) return err(E_NOT_INT);
  if (s < 0n && en < 0n && s > en) return int(0);
  let isBit = false;
  if (a.length === 5) {
    const u = unitIsBit(a[4]!);
    if (u === null) return err(E_SYNTAX);
    isBit = u;
  }
  const total = isBit ? p.length * 8 : p.length;
  let start = clamp(s);
  let end = clamp(en);
  if (start < 0) start += total;
  if (end < 0) end += total;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= total) end = total - 1;
  if (start > end) return int(0);
  if (!isBit) return int(popcount(p, start, end));
  // Whole bytes between, then the bits of the two edge bytes inside the range.
  const first = start >> 3;
  const last = end >> 3;
  const firstMask = 0xff >> (start & 7);
  const lastMask = (0xff << (7 - (end & 7))) & 0xff;
  if (first === last) return int(POPCOUNT[p[first]! & firstMask & lastMask]!);
  return int(POPCOUNT[p[first]! & firstMask]! + popcount(p, first + 1, last - 1) + POPCOUNT[p[last]! & lastMask]!);
};

/** Position of the first bit equal to `bit` in p[start..end] bytes, or -1 (clear bits: the position just past the end). */
function firstBit(p: Buffer, start: number, end: number, bit: number): number {
  const skip = bit === 1 ? 0 : 0xff;
  for (let i = start; i <= end; i++) {
    const v = p[i]!;
    if (v === skip) continue;
    for (let j = 0; j < 8; j++) if (((v >> (7 - j)) & 1) === bit) return (i - start) * 8 + j;
  }
  return bit === 1 ? -1 : (end - start + 1) * 8;
}

/** Position of the first bit equal to `bit` among bits start..end of p, or -1. */
function firstBitInBits(p: Buffer, start: number, end: number, bit: number): number {
  let i = start;
  // Bit by bit up to a byte boundary, then whole bytes, then the last byte's bits.
  for (; i <= end && (i & 7) !== 0; i++) if (((p[i >> 3]! >> (7 - (i & 7))) & 1) === bit) return i;
  const wholeEnd = ((end + 1) >> 3) - 1; // last byte lying wholly in the range
  if (i >> 3 <= wholeEnd) {
    const pos = firstBit(p, i >> 3, wholeEnd, bit);
    if (pos >= 0 && pos < (wholeEnd - (i >> 3) + 1) * 8) return i + pos;
    i = (wholeEnd + 1) * 8;
  }
  for (; i <= end; i++) if (((p[i >> 3]! >> (7 - (i & 7))) & 1) === bit) return i;
  return -1;
}

const bitpos: Handler = (c, a) => {
  const bit = parseI64(a[2]!);
  if (bit === null) return err(E_NOT_INT);
  if (bit !== 0n && bit !== 1n) return err(E_BITPOS_BIT);
  const want = Number(bit);
  const e = strOf(c, a[1]!);
  if (e === undefined) return int(want === 1 ? -1 : 0);
  if (e === WRONG) return WRONGTYPE;
  const p = e.value;
  if (a.length === 3) {
    if (p.length === 0) return int(-1);
    return int(firstBit(p, 0, p.length - 1, want));
  }
  if (a.length > 6) return err(E_SYNTAX);
  const s = parseI64(a[3]!);
  if (s === null) return err(E_NOT_INT);
  let isBit = false;
  if (a.length === 6) {
    const u = unitIsBit(a[5]!);
    if (u === null) return err(E_SYNTAX);
    isBit = u;
  }
  let total = p.length;
  let end: number;
  const endGiven = a.length >= 5;
  if (endGiven) {
    const en = parseI64(a[4]!);
    if (en === null) return err(E_NOT_INT);
    end = clamp(en);
  } else end = isBit ? total * 8 + 7 : total - 1;
  if (isBit) total *= 8;
  let start = clamp(s);
  if (start < 0) start += total;
  if (end < 0) end += total;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= total) end = total - 1;
  if (start > end) return int(-1);
  if (!isBit) {
    const pos = firstBit(p, start, end, want);
    // With an explicit end, the bits past it are not zero padding: no clear bit in range.
    if (endGiven && want === 0 && pos === (end - start + 1) * 8) return int(-1);
    return int(pos === -1 ? -1 : pos + start * 8);
  }
  const found = firstBitInBits(p, start, end, want);
  if (found >= 0) return int(found);
  // Nothing in the bit range: a clear bit is looked for past it only when no end was given.
  if (want === 0 && !endGiven) return int(end + 1);
  return int(-1);
};

const bitop: Handler = (c, a) => {
  const name = a[1]!;
  const op = is(name, 'and') ? 'and' : is(name, 'or') ? 'or' : is(name, 'xor') ? 'xor' : is(name, 'not') ? 'not' : null;
  if (op === null) return err(E_SYNTAX);
  if (op === 'not' && a.length !== 4) return err('ERR BITOP NOT must be called with a single source key.');
  const srcs: Buffer[] = [];
  let maxLen = 0;
  for (let i = 3; i < a.length; i++) {
    const e = strOf(c, a[i]!);
    if (e === WRONG) return WRONGTYPE;
    const v = e?.value ?? EMPTY;
    srcs.push(v);
    if (v.length > maxLen) maxLen = v.length;
  }
  const dest = a[2]!;
  if (maxLen === 0) {
    if (c.view.get(dest) !== undefined) del(c, dest);
    return int(0);
  }
  const out = Buffer.alloc(maxLen);
  const first = srcs[0]!;
  first.copy(out, 0);
  if (op === 'not') for (let j = 0; j < maxLen; j++) out[j] = ~out[j]! & 0xff;
  for (let i = 1; i < srcs.length; i++) {
    const s = srcs[i]!;
    for (let j = 0; j < maxLen; j++) {
      const b = j < s.length ? s[j]! : 0;
      if (op === 'and') out[j] = out[j]! & b;
      else if (op === 'or') out[j] = out[j]! | b;
      else out[j] = out[j]! ^ b;
    }
  }
  put(c, dest, out, 0);
  return int(maxLen);
};

// ---- BITFIELD -------------------------------------------------------------------------------

type Overflow = 'wrap' | 'sat' | 'fail';

interface FieldOp {
  readonly op: 'get' | 'set' | 'incrby';
  readonly offset: number;
  readonly bits: number;
  readonly signed: boolean;
  readonly value: bigint;
  readonly overflow: Overflow;
}

/** getBitfieldTypeFromArgument: i1..i64 or u1..u63. */
function fieldType(b: Buffer): { signed: boolean; bits: number } | null {
  if (b.length === 0 || (b[0] !== 0x69 && b[0] !== 0x75)) return null;
  const signed = b[0] === 0x69;
  // Redis parses up to the first NUL (strlen): the rest of the argument is ignored.
  const nul = b.indexOf(0, 1);
  const n = parseI64(b.subarray(1, nul < 0 ? b.length : nul));
  if (n === null || n < 1n || n > (signed ? 64n : 63n)) return null;
  return { signed, bits: Number(n) };
}

/** The unsigned value of `bits` bits at bit `offset` of p (bits past p's end read as 0). */
function readField(p: Buffer, offset: number, bits: number): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i++) {
    const o = offset + i;
    const byte = o >> 3;
    const b = byte < p.length ? (p[byte]! >> (7 - (o & 7))) & 1 : 0;
    v = (v << 1n) | BigInt(b);
  }
  return v;
}

function writeField(p: Buffer, offset: number, bits: number, v: bigint): void {
  for (let i = 0; i < bits; i++) {
    const o = offset + bits - 1 - i;
    const byte = o >> 3;
    const mask = 1 << (7 - (o & 7));
    if ((v >> BigInt(i)) & 1n) p[byte] = p[byte]! | mask;
    else p[byte] = p[byte]! & ~mask;
  }
}

/**
 * checkUnsignedBitfieldOverflow / checkSignedBitfieldOverflow: the stored value of `value +
 * incr` under the overflow policy, or null when FAIL refuses it. Exact integers here, so
 * wrapping is a modulo and saturating a clamp.
 */
function fieldResult(value: bigint, incr: bigint, bits: number, signed: boolean, overflow: Overflow): { v: bigint; over: boolean } | null {
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const sum = value + incr;
  if (sum >= min && sum <= max) return { v: sum, over: false };
  if (overflow === 'fail') return null;
  if (overflow === 'sat') return { v: sum > max ? max : min, over: true };
  return { v: signed ? BigInt.asIntN(bits, sum) : BigInt.asUintN(bits, sum), over: true };
}

function bitfieldGeneric(c: Ctx, a: readonly Buffer[], readOnly: boolean): Reply {
  const ops: FieldOp[] = [];
  let overflow: Overflow = 'wrap';
  let writes = false;
  let highest = -1;
  for (let j = 2; j < a.length; j++) {
    const rem = a.length - j - 1;
    const sub = a[j]!;
    let op: FieldOp['op'];
    if (is(sub, 'get') && rem >= 2) op = 'get';
    else if (is(sub, 'set') && rem >= 3) op = 'set';
    else if (is(sub, 'incrby') && rem >= 3) op = 'incrby';
    else if (is(sub, 'overflow') && rem >= 1) {
      const t = a[++j]!;
      if (is(t, 'wrap')) overflow = 'wrap';
      else if (is(t, 'sat')) overflow = 'sat';
      else if (is(t, 'fail')) overflow = 'fail';
      else return err('ERR Invalid OVERFLOW type specified');
      continue;
    } else return err(E_SYNTAX);
    const type = fieldType(a[j + 1]!);
    if (type === null) return err(E_BITFIELD_TYPE);
    const off = bitOffset(c, a[j + 2]!, type.bits);
    if (off === null) return err(E_BIT_OFFSET);
    let value = 0n;
    if (op !== 'get') {
      writes = true;
      highest = Math.max(highest, Number(off) + type.bits - 1);
      const v = parseI64(a[j + 3]!);
      if (v === null) return err(E_NOT_INT);
      value = v;
    }
    ops.push({ op, offset: Number(off), bits: type.bits, signed: type.signed, value, overflow });
    j += op === 'get' ? 2 : 3;
  }
  if (writes && readOnly) return err('ERR BITFIELD_RO only supports the GET subcommand');
  const key = a[1]!;
  const old = strOf(c, key);
  if (old === WRONG) return WRONGTYPE;
  if (!writes) {
    const p = old?.value ?? EMPTY;
    return arr(ops.map((o) => int(fieldInt(readField(p, o.offset, o.bits), o.bits, o.signed))));
  }
  // Redis grows the string to the highest bit a write subcommand names, even when FAIL refuses
  // it. Writes work on a copy of the bytes from the first to the last one any subcommand reaches
  // (and the grown part).
  const oldLen = old?.value.length ?? 0;
  const needLen = (highest >> 3) + 1;
  const grows = old === undefined || needLen > oldLen;
  let firstByte = Math.min(...ops.map((o) => o.offset >> 3));
  if (grows) firstByte = Math.min(firstByte, oldLen);
  const lastByte = Math.max(needLen - 1, ...ops.map((o) => (o.offset + o.bits - 1) >> 3));
  const win = Buffer.alloc(lastByte - firstByte + 1);
  if (old !== undefined && firstByte < oldLen) old.value.copy(win, 0, firstByte, Math.min(oldLen, lastByte + 1));
  const base = firstByte * 8;
  const replies: Reply[] = [];
  for (const o of ops) {
    const raw = readField(win, o.offset - base, o.bits);
    const cur = fieldInt(raw, o.bits, o.signed);
    if (o.op === 'get') {
      replies.push(int(cur));
      continue;
    }
    // SET stores the value as if added to 0 under the policy; INCRBY adds to the current value.
    // (An unsigned field's SET value is the int64 argument read as uint64, as Redis's C types do.)
    const r = o.op === 'set' ? fieldResult(0n, o.signed ? o.value : BigInt.asUintN(64, o.value), o.bits, o.signed, o.overflow) : fieldResult(cur, o.value, o.bits, o.signed, o.overflow);
    if (r === null) {
      replies.push(NIL);
      continue;
    }
    const next = BigInt.asUintN(o.bits, r.v);
    if (next !== raw) writeField(win, o.offset - base, o.bits, next);
    replies.push(int(toReply(o.op === 'set' ? cur : r.v)));
  }
  // Only the bytes that changed, and the grown part, are written (a GET past the end grows nothing).
  writeChanged(c, key, old, firstByte, win.subarray(0, Math.max(oldLen, needLen) - firstByte));
  return arr(replies);
}

/** A field's raw bits as the integer its type reads. */
function fieldInt(raw: bigint, bits: number, signed: boolean): bigint {
  return signed ? BigInt.asIntN(bits, raw) : raw;
}

function toReply(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

const bitfield: Handler = (c, a) => bitfieldGeneric(c, a, false);
const bitfieldRo: Handler = (c, a) => bitfieldGeneric(c, a, true);

export const BITMAP_HANDLERS: ReadonlyArray<readonly [string, Handler]> = [
  ['setbit', setbit],
  ['getbit', getbit],
  ['bitcount', bitcount],
  ['bitpos', bitpos],
  ['bitop', bitop],
  ['bitfield', bitfield],
  ['bitfield_ro', bitfieldRo],
];
