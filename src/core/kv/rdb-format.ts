// The value serialization of Redis 7.0's RDB (version 10), as DUMP writes it and RESTORE reads
// it (rdb.c rdbSaveObject / rdbLoadObject, cluster.c createDumpPayload / verifyDumpPayload):
// a type byte, the value, the RDB version (2 bytes little-endian) and a CRC-64 of all that
// (8 bytes little-endian). Reading accepts every form Redis 7.0 reads for the types stored here:
// plain strings, integer-encoded and LZF-compressed strings, the plain list/set/hash/zset
// forms, and the compact ones (listpack, ziplist, intset, zipmap, quicklists of ziplists or
// listpacks). Writing uses the plain forms, which every Redis since RDB 8 reads, and Redis's
// integer encoding of strings.
import { crc64 } from '../../lib/crc64.ts';
import { intsetMembers, listpackEntries, RdbCorrupt, ziplistEntries, zipmapPairs } from './rdb-compact.ts';

export { RdbCorrupt };
import { lzfDecompress } from './lzf.ts';

export const RDB_VERSION = 10;

/** Object types of the RDB format (rdb.h RDB_TYPE_*). */
export const RDB_TYPE = {
  STRING: 0,
  LIST: 1,
  SET: 2,
  ZSET: 3,
  HASH: 4,
  ZSET_2: 5,
  MODULE: 6,
  MODULE_2: 7,
  HASH_ZIPMAP: 9,
  LIST_ZIPLIST: 10,
  SET_INTSET: 11,
  ZSET_ZIPLIST: 12,
  HASH_ZIPLIST: 13,
  LIST_QUICKLIST: 14,
  STREAM_LISTPACKS: 15,
  HASH_LISTPACK: 16,
  ZSET_LISTPACK: 17,
  LIST_QUICKLIST_2: 18,
  STREAM_LISTPACKS_2: 19,
} as const;

/** A value as a payload carries it, in the order the payload lists its elements. */
export type RdbValue =
  | { readonly type: 'string'; readonly value: Buffer }
  | { readonly type: 'list'; readonly items: readonly Buffer[] }
  | { readonly type: 'set'; readonly members: readonly Buffer[] }
  | { readonly type: 'hash'; readonly pairs: ReadonlyArray<readonly [Buffer, Buffer]> }
  | { readonly type: 'zset'; readonly entries: ReadonlyArray<readonly [Buffer, number]> };

const RDB_ENC_INT8 = 0;
const RDB_ENC_INT16 = 1;
const RDB_ENC_INT32 = 2;
const RDB_ENC_LZF = 3;
const QUICKLIST_NODE_CONTAINER_PLAIN = 1;
const QUICKLIST_NODE_CONTAINER_PACKED = 2;
const FOOTER_BYTES = 10;

/** A cursor over a payload; every read past its end is corrupt data. */
class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) throw new RdbCorrupt('truncated payload');
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** rdbLoadLenByRef: a length, or (encoded) the number of a special string encoding. */
  len(): { n: number; encoded: boolean } {
    const b = this.byte();
    const type = b >> 6;
    if (type === 3) return { n: b & 0x3f, encoded: true };
    if (type === 0) return { n: b & 0x3f, encoded: false };
    if (type === 1) return { n: ((b & 0x3f) << 8) | this.byte(), encoded: false };
    if (b === 0x80) return { n: this.bytes(4).readUInt32BE(0), encoded: false };
    if (b === 0x81) {
      const v = this.bytes(8).readBigUInt64BE(0);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RdbCorrupt('length out of range');
      return { n: Number(v), encoded: false };
    }
    throw new RdbCorrupt('unknown length encoding');
  }

  plainLen(): number {
    const l = this.len();
    if (l.encoded) throw new RdbCorrupt('encoded value where a length belongs');
    return l.n;
  }

  /** rdbGenericLoadStringObject: raw, integer-encoded or LZF-compressed. */
  string(): Buffer {
    const l = this.len();
    if (!l.encoded) return Buffer.from(this.bytes(l.n));
    switch (l.n) {
      case RDB_ENC_INT8:
        return Buffer.from(String(this.bytes(1).readInt8(0)));
      case RDB_ENC_INT16:
        return Buffer.from(String(this.bytes(2).readInt16LE(0)));
      case RDB_ENC_INT32:
        return Buffer.from(String(this.bytes(4).readInt32LE(0)));
      case RDB_ENC_LZF: {
        const clen = this.plainLen();
        const ulen = this.plainLen();
        const out = lzfDecompress(this.bytes(clen), ulen);
        if (out === null) throw new RdbCorrupt('invalid LZF compressed string');
        return out;
      }
      default:
        throw new RdbCorrupt('unknown string encoding');
    }
  }

  /** rdbLoadBinaryDoubleValue. */
  binaryDouble(): number {
    return this.bytes(8).readDoubleLE(0);
  }

  /** rdbLoadDoubleValue: the text form of RDB_TYPE_ZSET (253 NaN, 254 +inf, 255 -inf). */
  textDouble(): number {
    const n = this.byte();
    if (n === 255) return -Infinity;
    if (n === 254) return Infinity;
    if (n === 253) return NaN;
    return parseScoreText(this.bytes(n));
  }
}

/** A score written as text in a ziplist, listpack or old zset (strtod); corrupt if it is no number. */
export function parseScoreText(b: Buffer): number {
  const s = b.toString('latin1').trim();
  const lower = s.toLowerCase();
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) throw new RdbCorrupt('score is not a number');
  return v;
}

/** Takes pairs from a flat list of entries (listpack and ziplist hashes and zsets). */
function pairsOf(entries: readonly Buffer[]): Array<[Buffer, Buffer]> {
  if (entries.length % 2 !== 0) throw new RdbCorrupt('odd number of entries in a pairs encoding');
  const out: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i < entries.length; i += 2) out.push([entries[i]!, entries[i + 1]!]);
  return out;
}

function noDuplicates(names: Iterable<Buffer>, what: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    const id = n.toString('latin1');
    if (seen.has(id)) throw new RdbCorrupt(`duplicate ${what}`);
    seen.add(id);
  }
}

function nonEmpty<T>(items: readonly T[]): readonly T[] {
  // Redis refuses an empty collection (RDB_LOAD_ERR_EMPTY_KEY).
  if (items.length === 0) throw new RdbCorrupt('empty collection');
  return items;
}

function zsetOf(entries: Array<readonly [Buffer, number]>): RdbValue {
  for (const [, s] of entries) if (Number.isNaN(s)) throw new RdbCorrupt('zset with NaN score');
  noDuplicates(
    entries.map(([m]) => m),
    'zset member',
  );
  return { type: 'zset', entries: nonEmpty(entries) as Array<readonly [Buffer, number]> };
}

/** rdbLoadObject for the types stored here. */
function readObject(type: number, r: Reader): RdbValue {
  switch (type) {
    case RDB_TYPE.STRING:
      return { type: 'string', value: r.string() };
    case RDB_TYPE.LIST: {
      const n = r.plainLen();
      const items: Buffer[] = [];
      for (let i = 0; i < n; i++) items.push(r.string());
      return { type: 'list', items: nonEmpty(items) as Buffer[] };
    }
    case RDB_TYPE.SET: {
      const n = r.plainLen();
      const members: Buffer[] = [];
      for (let i = 0; i < n; i++) members.push(r.string());
      noDuplicates(members, 'set member');
      return { type: 'set', members: nonEmpty(members) as Buffer[] };
    }
    case RDB_TYPE.ZSET:
    case RDB_TYPE.ZSET_2: {
      const n = r.plainLen();
      const entries: Array<readonly [Buffer, number]> = [];
      for (let i = 0; i < n; i++) {
        const m = r.string();
        entries.push([m, type === RDB_TYPE.ZSET_2 ? r.binaryDouble() : r.textDouble()]);
      }
      return zsetOf(entries);
    }
    case RDB_TYPE.HASH: {
      const n = r.plainLen();
      const pairs: Array<[Buffer, Buffer]> = [];
      for (let i = 0; i < n; i++) pairs.push([r.string(), r.string()]);
      noDuplicates(
        pairs.map(([f]) => f),
        'hash field',
      );
      return { type: 'hash', pairs: nonEmpty(pairs) as Array<[Buffer, Buffer]> };
    }
    case RDB_TYPE.LIST_QUICKLIST:
    case RDB_TYPE.LIST_QUICKLIST_2: {
      const nodes = r.plainLen();
      const items: Buffer[] = [];
      for (let i = 0; i < nodes; i++) {
        const container = type === RDB_TYPE.LIST_QUICKLIST_2 ? r.plainLen() : QUICKLIST_NODE_CONTAINER_PACKED;
        if (container !== QUICKLIST_NODE_CONTAINER_PACKED && container !== QUICKLIST_NODE_CONTAINER_PLAIN) throw new RdbCorrupt('quicklist container');
        const data = r.string();
        if (data.length === 0) throw new RdbCorrupt('empty quicklist node');
        if (container === QUICKLIST_NODE_CONTAINER_PLAIN) items.push(data);
        else for (const e of type === RDB_TYPE.LIST_QUICKLIST_2 ? listpackEntries(data) : ziplistEntries(data)) items.push(e);
      }
      return { type: 'list', items: nonEmpty(items) as Buffer[] };
    }
    case RDB_TYPE.LIST_ZIPLIST:
      return { type: 'list', items: nonEmpty(ziplistEntries(r.string())) as Buffer[] };
    case RDB_TYPE.SET_INTSET: {
      const members = intsetMembers(r.string());
      noDuplicates(members, 'set member');
      return { type: 'set', members: nonEmpty(members) as Buffer[] };
    }
    case RDB_TYPE.HASH_ZIPMAP:
    case RDB_TYPE.HASH_ZIPLIST:
    case RDB_TYPE.HASH_LISTPACK: {
      const blob = r.string();
      const pairs = type === RDB_TYPE.HASH_ZIPMAP ? zipmapPairs(blob) : pairsOf(type === RDB_TYPE.HASH_ZIPLIST ? ziplistEntries(blob) : listpackEntries(blob));
      noDuplicates(
        pairs.map(([f]) => f),
        'hash field',
      );
      return { type: 'hash', pairs: nonEmpty(pairs) as Array<[Buffer, Buffer]> };
    }
    case RDB_TYPE.ZSET_ZIPLIST:
    case RDB_TYPE.ZSET_LISTPACK: {
      const blob = r.string();
      const pairs = pairsOf(type === RDB_TYPE.ZSET_ZIPLIST ? ziplistEntries(blob) : listpackEntries(blob));
      return zsetOf(pairs.map(([m, s]) => [m, parseScoreText(s)] as const));
    }
    case RDB_TYPE.STREAM_LISTPACKS:
    case RDB_TYPE.STREAM_LISTPACKS_2:
      throw new RdbCorrupt('stream', 'stream');
    default:
      // Module values (6, 7) need their module; anything else is no object type.
      throw new RdbCorrupt(`object type ${type}`);
  }
}

/** verifyDumpPayload: at least a footer, a version Redis 7.0 reads, and a matching CRC-64. */
export function verifyDumpPayload(p: Buffer): boolean {
  if (p.length < FOOTER_BYTES) return false;
  const footer = p.length - FOOTER_BYTES;
  const version = p[footer]! | (p[footer + 1]! << 8);
  if (version > RDB_VERSION) return false;
  return crc64(p, 0, p.length - 8).equals(p.subarray(p.length - 8));
}

/** The value of a verified payload; RdbCorrupt where Redis answers "Bad data format". */
export function readDumpPayload(p: Buffer): RdbValue {
  const r = new Reader(p.subarray(0, p.length - FOOTER_BYTES));
  return readObject(r.byte(), r);
}

// ---- writing -------------------------------------------------------------------------------

/** Grows as a DUMP payload is written (rdbSaveLen, rdbSaveRawString, …). */
class Writer {
  private readonly parts: Buffer[] = [];

  raw(b: Buffer): void {
    this.parts.push(b);
  }

  byte(n: number): void {
    this.parts.push(Buffer.from([n]));
  }

  len(n: number): void {
    if (n < 1 << 6) this.byte(n);
    else if (n < 1 << 14) this.raw(Buffer.from([((n >> 8) & 0x3f) | 0x40, n & 0xff]));
    else if (n <= 0xffffffff) {
      const b = Buffer.alloc(5);
      b[0] = 0x80;
      b.writeUInt32BE(n, 1);
      this.raw(b);
    } else {
      const b = Buffer.alloc(9);
      b[0] = 0x81;
      b.writeBigUInt64BE(BigInt(n), 1);
      this.raw(b);
    }
  }

  /** rdbSaveRawString without compression: an integer of up to 32 bits in its encoded form, else length and bytes. */
  string(s: Buffer): void {
    if (s.length <= 11) {
      const v = canonicalInt(s);
      if (v !== null && v >= -(2 ** 31) && v <= 2 ** 31 - 1) {
        if (v >= -128 && v <= 127) this.raw(Buffer.from([0xc0 | RDB_ENC_INT8, v & 0xff]));
        else if (v >= -32768 && v <= 32767) {
          const b = Buffer.alloc(3);
          b[0] = 0xc0 | RDB_ENC_INT16;
          b.writeInt16LE(v, 1);
          this.raw(b);
        } else {
          const b = Buffer.alloc(5);
          b[0] = 0xc0 | RDB_ENC_INT32;
          b.writeInt32LE(v, 1);
          this.raw(b);
        }
        return;
      }
    }
    this.len(s.length);
    if (s.length > 0) this.raw(s);
  }

  binaryDouble(d: number): void {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(d, 0);
    this.raw(b);
  }

  /** The payload with its footer: RDB version and CRC-64. */
  finish(): Buffer {
    this.raw(Buffer.from([RDB_VERSION & 0xff, (RDB_VERSION >> 8) & 0xff]));
    const body = Buffer.concat(this.parts);
    return Buffer.concat([body, crc64(body)]);
  }
}

/** Redis's string2ll for strings of up to 11 bytes: the number if `s` is its canonical decimal form. */
function canonicalInt(s: Buffer): number | null {
  if (s.length === 0) return null;
  let i = 0;
  if (s[0] === 0x2d) i = 1;
  if (i === s.length) return null;
  if (s[i] === 0x30 && s.length > i + 1) return null; // leading zero
  if (s[i] === 0x30 && i === 1) return null; // "-0"
  let v = 0;
  for (; i < s.length; i++) {
    const d = s[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  return s[0] === 0x2d ? -v : v;
}

/**
 * DUMP's payload of `value`: strings as Redis writes them (uncompressed), lists as
 * RDB_TYPE_LIST, sets as RDB_TYPE_SET, hashes as RDB_TYPE_HASH and sorted sets as
 * RDB_TYPE_ZSET_2 (binary scores, highest first, as Redis writes a skiplist), which Redis loads
 * into its compact encodings where they fit.
 */
export function writeDumpPayload(value: RdbValue): Buffer {
  const w = new Writer();
  switch (value.type) {
    case 'string':
      w.byte(RDB_TYPE.STRING);
      w.string(value.value);
      break;
    case 'list':
      w.byte(RDB_TYPE.LIST);
      w.len(value.items.length);
      for (const it of value.items) w.string(it);
      break;
    case 'set':
      w.byte(RDB_TYPE.SET);
      w.len(value.members.length);
      for (const m of value.members) w.string(m);
      break;
    case 'hash':
      w.byte(RDB_TYPE.HASH);
      w.len(value.pairs.length);
      for (const [f, v] of value.pairs) {
        w.string(f);
        w.string(v);
      }
      break;
    case 'zset':
      w.byte(RDB_TYPE.ZSET_2);
      w.len(value.entries.length);
      for (const [m, s] of value.entries) {
        w.string(m);
        w.binaryDouble(s);
      }
      break;
  }
  return w.finish();
}
