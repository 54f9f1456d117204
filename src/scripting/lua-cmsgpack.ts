// cmsgpack.pack / cmsgpack.unpack for scripts, following lua-cmsgpack 0.4 as Redis bundles it
// (job queues such as BullMQ keep job options in MessagePack and read them in their scripts):
// integral numbers as the smallest integer format, other numbers as float32 when exact, else
// float64; strings as str; a table whose keys are exactly 1..n as an array, any other as a map;
// nesting past 16 levels packs nil. unpack returns every object of the string.
import fengari from 'fengari';
import { pushLuaNumber } from './number-format.ts';

const { lua } = fengari;
type L = unknown;

/** lua-cmsgpack's LUACMSGPACK_MAX_NESTING. */
const MAX_NESTING = 16;

class Out {
  private buf = Buffer.alloc(256);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v, this.len);
    this.len += 4;
  }
  big(v: bigint, signed: boolean): void {
    this.room(8);
    if (signed) this.buf.writeBigInt64BE(v, this.len);
    else this.buf.writeBigUInt64BE(v, this.len);
    this.len += 8;
  }
  f32(v: number): void {
    this.room(4);
    this.buf.writeFloatBE(v, this.len);
    this.len += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleBE(v, this.len);
    this.len += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  done(): Uint8Array {
    return Uint8Array.prototype.slice.call(this.buf, 0, this.len);
  }
}

function packInteger(o: Out, n: number): void {
  if (n >= 0) {
    if (n < 128) o.u8(n);
    else if (n < 0x100) { o.u8(0xcc); o.u8(n); }
    else if (n < 0x10000) { o.u8(0xcd); o.u16(n); }
    else if (n < 0x1_0000_0000) { o.u8(0xce); o.u32(n); }
    else { o.u8(0xcf); o.big(BigInt(n), false); }
  } else if (n >= -32) o.u8(n & 0xff);
  else if (n >= -128) { o.u8(0xd0); o.u8(n & 0xff); }
  else if (n >= -32768) { o.u8(0xd1); o.u16(n & 0xffff); }
  else if (n >= -2147483648) { o.u8(0xd2); o.u32(n >>> 0); }
  else { o.u8(0xd3); o.big(BigInt(n), true); }
}

/** Length of the table at `i` if its keys are exactly 1..n (lua-cmsgpack's table_is_an_array), else -1. */
function arrayLength(Ls: L, i: number): number {
  let count = 0;
  let max = 0;
  lua.lua_pushnil(Ls);
  while (lua.lua_next(Ls, i) !== 0) {
    lua.lua_pop(Ls, 1);
    if (lua.lua_type(Ls, -1) !== lua.LUA_TNUMBER) {
      lua.lua_pop(Ls, 1);
      return -1;
    }
    const k = lua.lua_tonumber(Ls, -1);
    if (!Number.isInteger(k) || k < 1) {
      lua.lua_pop(Ls, 1);
      return -1;
    }
    count++;
    if (k > max) max = k;
  }
  return max === count ? count : -1;
}

function packValue(Ls: L, o: Out, i: number, level: number): void {
  switch (lua.lua_type(Ls, i)) {
    case lua.LUA_TBOOLEAN:
      o.u8(lua.lua_toboolean(Ls, i) ? 0xc3 : 0xc2);
      return;
    case lua.LUA_TNUMBER: {
      const n = lua.lua_tonumber(Ls, i);
      if (Number.isInteger(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER) packInteger(o, n);
      else if (Math.fround(n) === n || Number.isNaN(n)) { o.u8(0xca); o.f32(n); }
      else { o.u8(0xcb); o.f64(n); }
      return;
    }
    case lua.LUA_TSTRING: {
      const s = lua.lua_tolstring(Ls, i) as Uint8Array;
      const n = s.length;
      if (n < 32) o.u8(0xa0 | n);
      else if (n < 0x100) { o.u8(0xd9); o.u8(n); }
      else if (n < 0x10000) { o.u8(0xda); o.u16(n); }
      else { o.u8(0xdb); o.u32(n); }
      o.bytes(s);
      return;
    }
    case lua.LUA_TTABLE: {
      if (level >= MAX_NESTING) {
        o.u8(0xc0);
        return;
      }
      const n = arrayLength(Ls, i);
      if (n >= 0) {
        if (n < 16) o.u8(0x90 | n);
        else if (n < 0x10000) { o.u8(0xdc); o.u16(n); }
        else { o.u8(0xdd); o.u32(n); }
        for (let j = 1; j <= n; j++) {
          lua.lua_rawgeti(Ls, i, j);
          packValue(Ls, o, lua.lua_gettop(Ls), level + 1);
          lua.lua_pop(Ls, 1);
        }
        return;
      }
      let pairs = 0;
      lua.lua_pushnil(Ls);
      while (lua.lua_next(Ls, i) !== 0) {
        pairs++;
        lua.lua_pop(Ls, 1);
      }
      if (pairs < 16) o.u8(0x80 | pairs);
      else if (pairs < 0x10000) { o.u8(0xde); o.u16(pairs); }
      else { o.u8(0xdf); o.u32(pairs); }
      lua.lua_pushnil(Ls);
      while (lua.lua_next(Ls, i) !== 0) {
        const top = lua.lua_gettop(Ls);
        packValue(Ls, o, top - 1, level + 1);
        packValue(Ls, o, top, level + 1);
        lua.lua_pop(Ls, 1);
      }
      return;
    }
    default:
      o.u8(0xc0); // nil, and what MessagePack cannot hold (functions, userdata)
  }
}

/** cmsgpack.pack(...): every argument, one after the other. */
export function packArgs(Ls: L, fail: (msg: string) => never): Uint8Array {
  const argc = lua.lua_gettop(Ls);
  if (argc === 0) fail('MessagePack pack needs input.');
  const o = new Out();
  for (let i = 1; i <= argc; i++) packValue(Ls, o, i, 0);
  return o.done();
}

/** cmsgpack.unpack(s): pushes every object of `s`; returns how many. */
export function unpackAll(Ls: L, s: Uint8Array, fail: (msg: string) => never): number {
  const b = Buffer.from(s.buffer, s.byteOffset, s.length);
  let p = 0;
  const need = (n: number): void => {
    if (p + n > b.length) fail('Missing bytes in input.');
  };
  const str = (n: number): void => {
    need(n);
    const v = Uint8Array.prototype.slice.call(b, p, p + n);
    lua.lua_pushlstring(Ls, v, n);
    p += n;
  };
  const array = (n: number): void => {
    lua.lua_createtable(Ls, n, 0);
    for (let j = 1; j <= n; j++) {
      one();
      lua.lua_rawseti(Ls, -2, j);
    }
  };
  const map = (n: number): void => {
    lua.lua_createtable(Ls, 0, n);
    for (let j = 0; j < n; j++) {
      one();
      one();
      if (lua.lua_type(Ls, -2) === lua.LUA_TNIL) lua.lua_pop(Ls, 2);
      else lua.lua_rawset(Ls, -3);
    }
  };
  const int = (v: number | bigint): void => {
    if (typeof v === 'bigint') {
      pushLuaNumber(lua, Ls, Number(v));
    } else pushLuaNumber(lua, Ls, v);
  };
  const one = (): void => {
    need(1);
    const c = b[p++]!;
    if (c < 0x80) return int(c);
    if (c >= 0xe0) return int(c - 0x100);
    if ((c & 0xf0) === 0x80) return map(c & 0x0f);
    if ((c & 0xf0) === 0x90) return array(c & 0x0f);
    if ((c & 0xe0) === 0xa0) return str(c & 0x1f);
    const read = (n: number, f: () => number | bigint): number | bigint => {
      need(n);
      const v = f();
      p += n;
      return v;
    };
    switch (c) {
      case 0xc0:
        return lua.lua_pushnil(Ls);
      case 0xc2:
        return lua.lua_pushboolean(Ls, false);
      case 0xc3:
        return lua.lua_pushboolean(Ls, true);
      case 0xc4:
      case 0xd9:
        return str(Number(read(1, () => b.readUInt8(p))));
      case 0xc5:
      case 0xda:
        return str(Number(read(2, () => b.readUInt16BE(p))));
      case 0xc6:
      case 0xdb:
        return str(Number(read(4, () => b.readUInt32BE(p))));
      case 0xca:
        return lua.lua_pushnumber(Ls, Number(read(4, () => b.readFloatBE(p))));
      case 0xcb:
        return lua.lua_pushnumber(Ls, Number(read(8, () => b.readDoubleBE(p))));
      case 0xcc:
        return int(read(1, () => b.readUInt8(p)));
      case 0xcd:
        return int(read(2, () => b.readUInt16BE(p)));
      case 0xce:
        return int(read(4, () => b.readUInt32BE(p)));
      case 0xcf:
        return int(read(8, () => b.readBigUInt64BE(p)));
      case 0xd0:
        return int(read(1, () => b.readInt8(p)));
      case 0xd1:
        return int(read(2, () => b.readInt16BE(p)));
      case 0xd2:
        return int(read(4, () => b.readInt32BE(p)));
      case 0xd3:
        return int(read(8, () => b.readBigInt64BE(p)));
      case 0xdc:
        return array(Number(read(2, () => b.readUInt16BE(p))));
      case 0xdd:
        return array(Number(read(4, () => b.readUInt32BE(p))));
      case 0xde:
        return map(Number(read(2, () => b.readUInt16BE(p))));
      case 0xdf:
        return map(Number(read(4, () => b.readUInt32BE(p))));
      default:
        fail('Bad data format in input.');
    }
  };
  let count = 0;
  while (p < b.length) {
    lauxCheckStack(Ls);
    one();
    count++;
  }
  return count;
}

function lauxCheckStack(Ls: L): void {
  if (!lua.lua_checkstack(Ls, 2)) throw new Error('Lua stack exhausted while unpacking');
}
