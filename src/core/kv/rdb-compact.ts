// Redis's compact encodings as DUMP payloads carry them (listpack.c, ziplist.c, intset.c,
// zipmap.c): each parsed into its entries, integers given back in their decimal form (Redis's
// ll2string), every length checked against the blob, so a damaged blob is corrupt data, never a
// read past its end.

/** A payload Redis would refuse with "Bad data format" (or a stream, which is not stored here). */
export class RdbCorrupt extends Error {
  constructor(
    message: string,
    readonly unsupported?: 'stream',
  ) {
    super(message);
  }
}

const need = (cond: boolean, what: string): void => {
  if (!cond) throw new RdbCorrupt(what);
};

const decimal = (v: number | bigint): Buffer => Buffer.from(String(v));

/** Listpack: total bytes (u32 LE), entry count (u16 LE), entries (encoding, data, back length), 0xFF. */
export function listpackEntries(lp: Buffer): Buffer[] {
  need(lp.length >= 7 && lp.readUInt32LE(0) === lp.length && lp[lp.length - 1] === 0xff, 'listpack header');
  const count = lp.readUInt16LE(4);
  const out: Buffer[] = [];
  let p = 6;
  const end = lp.length - 1;
  while (p < end) {
    const b = lp[p]!;
    let headLen: number;
    let dataLen = 0;
    let value: Buffer;
    const avail = (n: number): void => need(p + n <= end, 'listpack entry');
    if ((b & 0x80) === 0) {
      headLen = 1;
      value = decimal(b & 0x7f);
    } else if ((b & 0xc0) === 0x80) {
      dataLen = b & 0x3f;
      headLen = 1;
      avail(headLen + dataLen);
      value = Buffer.from(lp.subarray(p + 1, p + 1 + dataLen));
    } else if ((b & 0xe0) === 0xc0) {
      avail(2);
      headLen = 2;
      const uv = ((b & 0x1f) << 8) | lp[p + 1]!;
      value = decimal(uv >= 1 << 12 ? uv - (1 << 13) : uv);
    } else if ((b & 0xf0) === 0xe0) {
      avail(2);
      headLen = 2;
      dataLen = ((b & 0x0f) << 8) | lp[p + 1]!;
      avail(headLen + dataLen);
      value = Buffer.from(lp.subarray(p + 2, p + 2 + dataLen));
    } else if (b === 0xf0) {
      avail(5);
      headLen = 5;
      dataLen = lp.readUInt32LE(p + 1);
      avail(headLen + dataLen);
      value = Buffer.from(lp.subarray(p + 5, p + 5 + dataLen));
    } else if (b === 0xf1) {
      avail(3);
      headLen = 3;
      value = decimal(lp.readInt16LE(p + 1));
    } else if (b === 0xf2) {
      avail(4);
      headLen = 4;
      value = decimal(lp.readIntLE(p + 1, 3));
    } else if (b === 0xf3) {
      avail(5);
      headLen = 5;
      value = decimal(lp.readInt32LE(p + 1));
    } else if (b === 0xf4) {
      avail(9);
      headLen = 9;
      value = decimal(lp.readBigInt64LE(p + 1));
    } else throw new RdbCorrupt('listpack encoding');
    const entryLen = headLen + dataLen;
    const backLen = entryLen <= 127 ? 1 : entryLen < 16383 ? 2 : entryLen < 2097151 ? 3 : entryLen < 268435455 ? 4 : 5;
    avail(entryLen + backLen);
    out.push(value);
    p += entryLen + backLen;
  }
  need(p === end, 'listpack end');
  // 65535 means "count not stored" (lpLength then walks the entries).
  need(count === 65535 || count === out.length, 'listpack count');
  return out;
}

/** Ziplist: bytes (u32 LE), tail offset (u32 LE), count (u16 LE), entries (prevlen, encoding, data), 0xFF. */
export function ziplistEntries(zl: Buffer): Buffer[] {
  need(zl.length >= 11 && zl.readUInt32LE(0) === zl.length && zl[zl.length - 1] === 0xff, 'ziplist header');
  const count = zl.readUInt16LE(8);
  const out: Buffer[] = [];
  let p = 10;
  const end = zl.length - 1;
  const avail = (n: number): void => need(p + n <= end, 'ziplist entry');
  while (p < end) {
    avail(1);
    const prevLenSize = zl[p] === 0xfe ? 5 : 1;
    p += prevLenSize;
    avail(1);
    const enc = zl[p]!;
    let value: Buffer;
    if ((enc & 0xc0) < 0xc0) {
      let lenSize: number;
      let len: number;
      if ((enc & 0xc0) === 0x00) {
        lenSize = 1;
        len = enc & 0x3f;
      } else if ((enc & 0xc0) === 0x40) {
        avail(2);
        lenSize = 2;
        len = ((enc & 0x3f) << 8) | zl[p + 1]!;
      } else {
        need(enc === 0x80, 'ziplist string encoding');
        avail(5);
        lenSize = 5;
        len = zl.readUInt32BE(p + 1);
      }
      avail(lenSize + len);
      value = Buffer.from(zl.subarray(p + lenSize, p + lenSize + len));
      p += lenSize + len;
    } else {
      p += 1;
      if (enc === 0xfe) {
        avail(1);
        value = decimal(zl.readInt8(p));
        p += 1;
      } else if (enc === 0xc0) {
        avail(2);
        value = decimal(zl.readInt16LE(p));
        p += 2;
      } else if (enc === 0xf0) {
        avail(3);
        value = decimal(zl.readIntLE(p, 3));
        p += 3;
      } else if (enc === 0xd0) {
        avail(4);
        value = decimal(zl.readInt32LE(p));
        p += 4;
      } else if (enc === 0xe0) {
        avail(8);
        value = decimal(zl.readBigInt64LE(p));
        p += 8;
      } else if (enc >= 0xf1 && enc <= 0xfd) value = decimal((enc & 0x0f) - 1);
      else throw new RdbCorrupt('ziplist integer encoding');
    }
    out.push(value);
  }
  // 65535 means "count not stored".
  need(count === 65535 || count === out.length, 'ziplist count');
  return out;
}

/** Intset: element width (u32 LE: 2, 4 or 8), count (u32 LE), the members ascending. */
export function intsetMembers(is: Buffer): Buffer[] {
  need(is.length >= 8, 'intset header');
  const width = is.readUInt32LE(0);
  const count = is.readUInt32LE(4);
  need((width === 2 || width === 4 || width === 8) && is.length === 8 + width * count, 'intset size');
  const out: Buffer[] = [];
  let prev: bigint | undefined;
  for (let i = 0; i < count; i++) {
    const at = 8 + i * width;
    const v = width === 2 ? BigInt(is.readInt16LE(at)) : width === 4 ? BigInt(is.readInt32LE(at)) : is.readBigInt64LE(at);
    need(prev === undefined || v > prev, 'intset order');
    prev = v;
    out.push(decimal(v));
  }
  return out;
}

/** Zipmap (hashes of RDB versions before 4): count byte, then length, field, length, free, value, padding; 0xFF. */
export function zipmapPairs(zm: Buffer): Array<[Buffer, Buffer]> {
  need(zm.length >= 2 && zm[zm.length - 1] === 0xff, 'zipmap header');
  const out: Array<[Buffer, Buffer]> = [];
  let p = 1;
  const end = zm.length - 1;
  const length = (): number => {
    need(p < end, 'zipmap length');
    if (zm[p]! < 254) return zm[p++]!;
    need(zm[p] === 254 && p + 5 <= end, 'zipmap length');
    const n = zm.readUInt32LE(p + 1);
    p += 5;
    return n;
  };
  while (p < end) {
    const flen = length();
    need(p + flen <= end, 'zipmap field');
    const field = Buffer.from(zm.subarray(p, p + flen));
    p += flen;
    const vlen = length();
    need(p < end, 'zipmap free');
    const free = zm[p++]!;
    need(p + vlen + free <= end, 'zipmap value');
    out.push([field, Buffer.from(zm.subarray(p, p + vlen))]);
    p += vlen + free;
  }
  return out;
}
