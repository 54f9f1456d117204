// Redis 7.0's HyperLogLog, byte for byte: the same hash (MurmurHash64A, seed 0xadc83b19), 16384
// registers of 6 bits, the same sparse and dense representations, the same promotion rule and
// the same estimator (Ertl's, as hllCount computes it), so that a HyperLogLog is the very string
// Redis would hold: GET here gives Redis's bytes, a value written by Redis is read here, and
// PFCOUNT gives Redis's estimate for the same inputs.
//
// Layout (16-byte header, then registers): "HYLL", encoding (0 dense, 1 sparse), 3 zero bytes,
// the cached cardinality as u64 little-endian whose top bit set means "stale".
// - dense: 12288 bytes, register i in bits i*6 .. i*6+5 counted from the low bit of byte 0;
// - sparse: opcodes ZERO 00xxxxxx (1..64 zero registers), XZERO 01xxxxxx yyyyyyyy (1..16384
//   zero registers), VAL 1vvvvvxx (1..4 registers of value 1..32).

export const HLL_P = 14;
export const HLL_REGISTERS = 1 << HLL_P;
const HLL_Q = 64 - HLL_P;
const HLL_BITS = 6;
const HLL_REGISTER_MAX = (1 << HLL_BITS) - 1;
export const HLL_HDR_SIZE = 16;
export const HLL_DENSE_SIZE = HLL_HDR_SIZE + Math.floor((HLL_REGISTERS * HLL_BITS + 7) / 8);
const HLL_DENSE = 0;
const HLL_SPARSE = 1;
const SPARSE_VAL_MAX_VALUE = 32;
const SPARSE_VAL_MAX_LEN = 4;
const SPARSE_ZERO_MAX_LEN = 64;
/** hll-sparse-max-bytes's default: a sparse HLL that would grow past this many bytes (header included) turns dense. */
export const HLL_SPARSE_MAX_BYTES = 3000;
/** 0.5 / ln 2 (Redis writes 0.721347520444481703680; this is the same double). */
const HLL_ALPHA_INF = 0.7213475204444817;
/** The byte of the header whose top bit marks the cached cardinality stale. */
const CARD_FLAG_BYTE = 15;
const MAGIC = Buffer.from('HYLL', 'latin1');

const M64 = (1n << 64n) - 1n;
const MURMUR_M = 0xc6a4a7935bd1e995n;
const MURMUR_SEED = 0xadc83b19n;

/** MurmurHash64A as Redis has it (endian-neutral: 8-byte blocks read little-endian). */
export function murmurHash64A(key: Buffer, seed: bigint = MURMUR_SEED): bigint {
  const len = key.length;
  let h = (seed ^ ((BigInt(len) * MURMUR_M) & M64)) & M64;
  const blocks = len - (len & 7);
  for (let i = 0; i < blocks; i += 8) {
    let k = key.readBigUInt64LE(i);
    k = (k * MURMUR_M) & M64;
    k ^= k >> 47n;
    k = (k * MURMUR_M) & M64;
    h ^= k;
    h = (h * MURMUR_M) & M64;
  }
  const rest = len & 7;
  if (rest > 0) {
    for (let i = rest - 1; i >= 0; i--) h ^= BigInt(key[blocks + i]!) << BigInt(8 * i);
    h = (h * MURMUR_M) & M64;
  }
  h ^= h >> 47n;
  h = (h * MURMUR_M) & M64;
  h ^= h >> 47n;
  return h;
}

/** hllPatLen: the register an element hashes to and the length of its "000…1" pattern (1..Q+1). */
export function patLen(ele: Buffer): { index: number; count: number } {
  const hash = murmurHash64A(ele);
  const index = Number(hash & BigInt(HLL_REGISTERS - 1));
  // The low 32 bits of the rest are enough nearly always; the top ones only when they are all zero.
  let rest = (hash >> BigInt(HLL_P)) | (1n << BigInt(HLL_Q));
  let count = 1;
  while ((rest & 1n) === 0n) {
    count++;
    rest >>= 1n;
  }
  return { index, count };
}

/** createHLLObject: an empty sparse HyperLogLog (one XZERO opcode), cache valid at 0. */
export function emptyHll(): Buffer {
  const b = Buffer.alloc(HLL_HDR_SIZE + 2);
  MAGIC.copy(b, 0);
  b[4] = HLL_SPARSE;
  setXzero(b, HLL_HDR_SIZE, HLL_REGISTERS);
  return b;
}

/** isHLLObjectOrReply's checks of a string value: magic, a known encoding, a dense one's exact size. */
export function isHll(v: Buffer): boolean {
  if (v.length < HLL_HDR_SIZE || !v.subarray(0, 4).equals(MAGIC)) return false;
  if (v[4]! > HLL_SPARSE) return false;
  return v[4] !== HLL_DENSE || v.length === HLL_DENSE_SIZE;
}

export function isDense(v: Buffer): boolean {
  return v[4] === HLL_DENSE;
}

export function cacheValid(v: Buffer): boolean {
  return (v[CARD_FLAG_BYTE]! & 0x80) === 0;
}

export function invalidateCache(v: Buffer): void {
  v[CARD_FLAG_BYTE] = v[CARD_FLAG_BYTE]! | 0x80;
}

export function cachedCard(v: Buffer): bigint {
  return v.readBigUInt64LE(8);
}

export function setCachedCard(v: Buffer, card: bigint): void {
  v.writeBigUInt64LE(card, 8);
}

function denseGet(v: Buffer, reg: number): number {
  const at = HLL_HDR_SIZE + ((reg * HLL_BITS) >> 3);
  const fb = (reg * HLL_BITS) & 7;
  const b1 = at + 1 < v.length ? v[at + 1]! : 0;
  return ((v[at]! >> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX;
}

function denseSetRegister(v: Buffer, reg: number, val: number): void {
  const at = HLL_HDR_SIZE + ((reg * HLL_BITS) >> 3);
  const fb = (reg * HLL_BITS) & 7;
  v[at] = (v[at]! & ~(HLL_REGISTER_MAX << fb)) | ((val << fb) & 0xff);
  // The last register ends inside its byte: there is no byte after it to touch.
  if (at + 1 < v.length) v[at + 1] = (v[at + 1]! & ~(HLL_REGISTER_MAX >> (8 - fb))) | (val >> (8 - fb));
}

/** hllDenseSet: raises register `reg` to `count`; true if it changed. */
function denseSet(v: Buffer, reg: number, count: number): boolean {
  if (count <= denseGet(v, reg)) return false;
  denseSetRegister(v, reg, count);
  return true;
}

const isZero = (op: number): boolean => (op & 0xc0) === 0;
const isXzero = (op: number): boolean => (op & 0xc0) === 0x40;
const isVal = (op: number): boolean => (op & 0x80) !== 0;
const zeroLen = (op: number): number => (op & 0x3f) + 1;
const xzeroLen = (v: Buffer, p: number): number => (((v[p]! & 0x3f) << 8) | v[p + 1]!) + 1;
const valValue = (op: number): number => ((op >> 2) & 0x1f) + 1;
const valLen = (op: number): number => (op & 0x3) + 1;
const valOp = (val: number, len: number): number => (((val - 1) << 2) | (len - 1)) | 0x80;

function setXzero(v: Buffer | number[], p: number, len: number): void {
  v[p] = ((len - 1) >> 8) | 0x40;
  v[p + 1] = (len - 1) & 0xff;
}

/**
 * Calls fn(first register, run length, value) for every opcode of a sparse HLL, in order;
 * returns the number of registers covered, -1 if a VAL run overflows the register count (corrupt).
 */
function forEachRun(v: Buffer, fn: (first: number, len: number, value: number) => void): number {
  let idx = 0;
  let p = HLL_HDR_SIZE;
  while (p < v.length) {
    const op = v[p]!;
    if (isZero(op)) {
      const n = zeroLen(op);
      fn(idx, n, 0);
      idx += n;
      p++;
    } else if (isXzero(op)) {
      const n = xzeroLen(v, p);
      fn(idx, n, 0);
      idx += n;
      p += 2;
    } else {
      const n = valLen(op);
      if (idx + n > HLL_REGISTERS) return -1;
      fn(idx, n, valValue(op));
      idx += n;
      p++;
    }
  }
  return idx;
}

/** hllSparseToDense: the dense form of a sparse HLL (header copied, cache included), or null if corrupt. */
export function sparseToDense(v: Buffer): Buffer | null {
  const d = Buffer.alloc(HLL_DENSE_SIZE);
  v.copy(d, 0, 0, HLL_HDR_SIZE);
  d[4] = HLL_DENSE;
  const covered = forEachRun(v, (first, len, value) => {
    if (value !== 0) for (let i = 0; i < len; i++) denseSetRegister(d, first + i, value);
  });
  return covered === HLL_REGISTERS ? d : null;
}

/** What a register update did: the value after it (maybe a new buffer), whether it changed, or corruption. */
type SetResult = { readonly v: Buffer; readonly changed: boolean } | null;

/**
 * hllSparseSet: raises register `index` to `count` in a sparse HLL, splitting the opcode that
 * covers it and merging equal neighbouring VAL opcodes as Redis does, or promoting the HLL to
 * dense when the value does not fit a VAL opcode or the result would pass HLL_SPARSE_MAX_BYTES.
 */
function sparseSet(v: Buffer, index: number, count: number, maxBytes: number): SetResult {
  if (count > SPARSE_VAL_MAX_VALUE) return promote(v, index, count);
  // Step 1: the opcode covering the register, and the one before it.
  let p = HLL_HDR_SIZE;
  let first = 0;
  let prev = -1;
  let span = 0;
  while (p < v.length) {
    const op = v[p]!;
    let oplen = 1;
    if (isZero(op)) span = zeroLen(op);
    else if (isVal(op)) span = valLen(op);
    else {
      span = xzeroLen(v, p);
      oplen = 2;
    }
    if (index <= first + span - 1) break;
    prev = p;
    p += oplen;
    first += span;
  }
  if (span === 0 || p >= v.length) return null;
  const op = v[p]!;
  const xzero = isXzero(op);
  const zero = isZero(op);
  const runlen = zero ? zeroLen(op) : xzero ? xzeroLen(v, p) : valLen(op);
  let out: Buffer;
  if (isVal(op) && valValue(op) >= count) return { v, changed: false };
  if ((isVal(op) || zero) && runlen === 1) {
    out = Buffer.from(v);
    out[p] = valOp(count, 1);
  } else {
    // Step 2: the replacement sequence (at most XZERO VAL XZERO, 5 bytes).
    const seq: number[] = [];
    const last = first + span - 1;
    const pushZeros = (len: number): void => {
      if (len > SPARSE_ZERO_MAX_LEN) setXzero(seq, seq.length, len);
      else seq.push(len - 1);
    };
    if (zero || xzero) {
      if (index !== first) pushZeros(index - first);
      seq.push(valOp(count, 1));
      if (index !== last) pushZeros(last - index);
    } else {
      const cur = valValue(op);
      if (index !== first) seq.push(valOp(cur, index - first));
      seq.push(valOp(count, 1));
      if (index !== last) seq.push(valOp(cur, last - index));
    }
    // Step 3: put it in place of the old opcode.
    const oldLen = xzero ? 2 : 1;
    const delta = seq.length - oldLen;
    if (delta > 0 && v.length + delta > maxBytes) return promote(v, index, count);
    out = Buffer.concat([v.subarray(0, p), Buffer.from(seq), v.subarray(p + oldLen)]);
  }
  // Step 4: merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from prev.
  let q = prev >= 0 ? prev : HLL_HDR_SIZE;
  let end = out.length;
  for (let scan = 5; q < end && scan > 0; scan--) {
    const o = out[q]!;
    if (isXzero(o)) {
      q += 2;
      continue;
    }
    if (isZero(o)) {
      q++;
      continue;
    }
    if (q + 1 < end && isVal(out[q + 1]!)) {
      const v1 = valValue(o);
      const n = valLen(o) + valLen(out[q + 1]!);
      if (v1 === valValue(out[q + 1]!) && n <= SPARSE_VAL_MAX_LEN) {
        out[q + 1] = valOp(v1, n);
        out.copyWithin(q, q + 1, end);
        end--;
        continue; // try the merged opcode with the one on its right
      }
    }
    q++;
  }
  if (end !== out.length) out = out.subarray(0, end);
  invalidateCache(out);
  return { v: out, changed: true };
}

function promote(v: Buffer, index: number, count: number): SetResult {
  const d = sparseToDense(v);
  if (d === null) return null;
  denseSet(d, index, count);
  return { v: d, changed: true };
}

/** hllAdd: adds one element; the value after (a copy when changed), or null if the HLL is corrupt. */
export function hllAdd(v: Buffer, ele: Buffer, maxBytes: number = HLL_SPARSE_MAX_BYTES): SetResult {
  const { index, count } = patLen(ele);
  return hllSet(v, index, count, maxBytes);
}

/** Raises one register of a valid HLL (dense in place on a copy, sparse by hllSparseSet). */
function hllSet(v: Buffer, index: number, count: number, maxBytes: number): SetResult {
  if (isDense(v)) {
    if (count <= denseGet(v, index)) return { v, changed: false };
    const out = Buffer.from(v);
    denseSetRegister(out, index, count);
    return { v: out, changed: true };
  }
  return sparseSet(v, index, count, maxBytes);
}

/** hllMerge: raises max[i] to each register of a valid HLL; false if a sparse one is corrupt. */
export function hllMergeInto(max: Uint8Array, v: Buffer): boolean {
  if (isDense(v)) {
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const r = denseGet(v, i);
      if (r > max[i]!) max[i] = r;
    }
    return true;
  }
  const covered = forEachRun(v, (first, len, value) => {
    if (value !== 0) for (let i = first; i < first + len; i++) if (value > max[i]!) max[i] = value;
  });
  return covered === HLL_REGISTERS;
}

/** Writes merged registers into a destination HLL as PFMERGE does (register by register, sparse stays sparse while it can). */
export function hllStore(dest: Buffer, max: Uint8Array, toDense: boolean, maxBytes: number = HLL_SPARSE_MAX_BYTES): Buffer | null {
  let v: Buffer | null = dest;
  if (toDense && !isDense(v)) {
    v = sparseToDense(v);
    if (v === null) return null;
  }
  if (isDense(v)) v = Buffer.from(v);
  for (let i = 0; i < HLL_REGISTERS; i++) {
    if (max[i] === 0) continue;
    if (isDense(v)) denseSet(v, i, max[i]!);
    else {
      // Redis ignores a failure here (its inputs were validated by the merge).
      const r = sparseSet(v, i, max[i]!, maxBytes);
      if (r !== null) v = r.v;
    }
  }
  if (v === dest) v = Buffer.from(v);
  invalidateCache(v);
  return v;
}

/** The register histogram (index = register value) of a valid HLL; null if a sparse one is corrupt. */
function histogram(v: Buffer): number[] | null {
  const h = new Array<number>(64).fill(0);
  if (isDense(v)) {
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const r = denseGet(v, i);
      h[r] = h[r]! + 1;
    }
    return h;
  }
  const covered = forEachRun(v, (_first, len, value) => {
    h[value] = h[value]! + len;
  });
  return covered === HLL_REGISTERS ? h : null;
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  let zPrime: number;
  do {
    x *= x;
    zPrime = z;
    z += x * y;
    y += y;
  } while (zPrime !== z);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let zPrime: number;
  do {
    x = Math.sqrt(x);
    zPrime = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
  } while (zPrime !== z);
  return z / 3;
}

/** hllCount's estimate from a register histogram (Ertl, arXiv:1702.01284), rounded as llroundl does. */
export function estimate(h: readonly number[]): bigint {
  const m = HLL_REGISTERS;
  let z = m * tau((m - h[HLL_Q + 1]!) / m);
  for (let j = HLL_Q; j >= 1; j--) {
    z += h[j]!;
    z *= 0.5;
  }
  z += m * sigma(h[0]! / m);
  return BigInt(Math.round((HLL_ALPHA_INF * m * m) / z));
}

/** The estimate of one valid HLL, or null if it is a corrupt sparse one. */
export function hllCount(v: Buffer): bigint | null {
  const h = histogram(v);
  return h === null ? null : estimate(h);
}

/** The estimate of merged registers (PFCOUNT of several keys). */
export function registersCount(max: Uint8Array): bigint {
  const h = new Array<number>(64).fill(0);
  for (let i = 0; i < HLL_REGISTERS; i++) h[max[i]!] = h[max[i]!]! + 1;
  return estimate(h);
}
