// cjson.encode / cjson.decode for scripts, following lua-cjson 2.1 as Redis bundles it: numbers
// as "%.14g", "/" escaped, an empty table as {}, arrays when every key is a positive integer
// (holes filled with null up to its sparseness rule), cjson.null for JSON null. Works on bytes:
// strings pass through unchanged, \u escapes become UTF-8.
import fengari from 'fengari';
import { formatLua51Number, pushLuaNumber } from './number-format.ts';

const { lua, to_luastring } = fengari;
type L = unknown;

/** The field of the cjson table holding JSON null (a light userdata, as in lua-cjson). */
export const CJSON_NULL_NAME = 'null';
/** lua-cjson's default nesting limit for both directions. */
const MAX_DEPTH = 1000;
/** lua-cjson's encode_sparse_array defaults: ratio 2, safe 10. */
const SPARSE_RATIO = 2;
const SPARSE_SAFE = 10;

const ESCAPES: Record<number, string> = { 0x22: '\\"', 0x5c: '\\\\', 0x2f: '\\/', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };

function encodeString(out: number[], s: Uint8Array): void {
  out.push(0x22);
  for (const c of s) {
    const e = ESCAPES[c];
    if (e !== undefined) for (let i = 0; i < e.length; i++) out.push(e.charCodeAt(i));
    else if (c < 0x20 || c === 0x7f) for (const ch of `\\u${c.toString(16).padStart(4, '0')}`) out.push(ch.charCodeAt(0));
    else out.push(c);
  }
  out.push(0x22);
}

function pushAscii(out: number[], s: string): void {
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

/** JSON text of the Lua value at `idx` (absolute); `fail` raises a Lua error. */
export function encodeJson(Ls: L, idx: number, fail: (msg: string) => never): Uint8Array {
  const out: number[] = [];
  const encode = (i: number, depth: number): void => {
    switch (lua.lua_type(Ls, i)) {
      case lua.LUA_TNIL:
        pushAscii(out, 'null');
        return;
      case lua.LUA_TBOOLEAN:
        pushAscii(out, lua.lua_toboolean(Ls, i) ? 'true' : 'false');
        return;
      case lua.LUA_TNUMBER: {
        const n = lua.lua_tonumber(Ls, i);
        if (!Number.isFinite(n)) fail('Cannot serialise number: must not be NaN or Inf');
        pushAscii(out, formatLua51Number(n));
        return;
      }
      case lua.LUA_TSTRING:
        encodeString(out, lua.lua_tolstring(Ls, i) as Uint8Array);
        return;
      case lua.LUA_TLIGHTUSERDATA:
        if (lua.lua_touserdata(Ls, i) === null) {
          pushAscii(out, 'null');
          return;
        }
        break;
      case lua.LUA_TTABLE: {
        if (depth >= MAX_DEPTH) fail(`Cannot serialise, excessive nesting (${depth + 1})`);
        const arrayLength = arrayLengthOf(Ls, i, fail);
        if (arrayLength > 0) {
          out.push(0x5b);
          for (let j = 1; j <= arrayLength; j++) {
            if (j > 1) out.push(0x2c);
            lua.lua_rawgeti(Ls, i, j);
            encode(lua.lua_gettop(Ls), depth + 1);
            lua.lua_pop(Ls, 1);
          }
          out.push(0x5d);
          return;
        }
        out.push(0x7b);
        let first = true;
        lua.lua_pushnil(Ls);
        while (lua.lua_next(Ls, i) !== 0) {
          if (!first) out.push(0x2c);
          first = false;
          const kt = lua.lua_type(Ls, -2);
          if (kt === lua.LUA_TSTRING) encodeString(out, lua.lua_tolstring(Ls, -2) as Uint8Array);
          else if (kt === lua.LUA_TNUMBER) encodeString(out, to_luastring(formatLua51Number(lua.lua_tonumber(Ls, -2))));
          else fail('Cannot serialise table: table key must be a number or string');
          out.push(0x3a);
          encode(lua.lua_gettop(Ls), depth + 1);
          lua.lua_pop(Ls, 1);
        }
        out.push(0x7d);
        return;
      }
    }
    fail(`Cannot serialise ${String(lua.lua_typename(Ls, lua.lua_type(Ls, i)) ? Buffer.from(lua.lua_typename(Ls, lua.lua_type(Ls, i)) as Uint8Array).toString() : 'value')}: type not supported`);
  };
  encode(idx, 0);
  return Uint8Array.from(out);
}

/** lua-cjson's lua_array_length: the array's length, 0 if it is an object (or empty), or an error if too sparse. */
function arrayLengthOf(Ls: L, i: number, fail: (msg: string) => never): number {
  let max = 0;
  let items = 0;
  lua.lua_pushnil(Ls);
  while (lua.lua_next(Ls, i) !== 0) {
    if (lua.lua_type(Ls, -2) === lua.LUA_TNUMBER) {
      const k = lua.lua_tonumber(Ls, -2);
      if (Number.isInteger(k) && k >= 1) {
        if (k > max) max = k;
        items++;
        lua.lua_pop(Ls, 1);
        continue;
      }
    }
    lua.lua_pop(Ls, 2);
    return 0;
  }
  if (max > items * SPARSE_RATIO && max > SPARSE_SAFE) fail('Cannot serialise table: excessively sparse array');
  return max;
}

/** Parses JSON bytes and pushes the Lua value; `fail` raises a Lua error. */
export function decodeJson(Ls: L, s: Uint8Array, fail: (msg: string) => never): void {
  let p = 0;
  const ws = (): void => {
    while (p < s.length && (s[p] === 0x20 || s[p] === 0x09 || s[p] === 0x0a || s[p] === 0x0d)) p++;
  };
  const bad = (what: string): never => fail(`Expected ${what} but found ${p >= s.length ? 'T_END' : 'invalid token'} at character ${p + 1}`);
  const literal = (word: string): boolean => {
    for (let i = 0; i < word.length; i++) if (s[p + i] !== word.charCodeAt(i)) return false;
    p += word.length;
    return true;
  };
  const str = (): Uint8Array => {
    p++; // opening quote
    const out: number[] = [];
    for (;;) {
      if (p >= s.length) bad('value');
      const c = s[p++]!;
      if (c === 0x22) return Uint8Array.from(out);
      if (c !== 0x5c) {
        out.push(c);
        continue;
      }
      const e = s[p++];
      const simple: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9 };
      if (e !== undefined && simple[e] !== undefined) out.push(simple[e]);
      else if (e === 0x75) {
        const hex = (): number => {
          const h = Buffer.from(s.subarray(p, p + 4)).toString('latin1');
          if (!/^[0-9a-fA-F]{4}$/.test(h)) bad('value');
          p += 4;
          return parseInt(h, 16);
        };
        let cp = hex();
        if (cp >= 0xd800 && cp < 0xdc00 && s[p] === 0x5c && s[p + 1] === 0x75) {
          p += 2;
          const lo = hex();
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out.push(b);
      } else bad('value');
    }
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) fail(`Found too many nested data structures (${depth}) at character ${p + 1}`);
    ws();
    const c = s[p];
    if (c === 0x7b) {
      p++;
      lua.lua_newtable(Ls);
      ws();
      if (s[p] === 0x7d) {
        p++;
        return;
      }
      for (;;) {
        ws();
        if (s[p] !== 0x22) bad('object key string');
        const k = str();
        ws();
        if (s[p++] !== 0x3a) bad('colon');
        lua.lua_pushlstring(Ls, k, k.length);
        value(depth + 1);
        lua.lua_rawset(Ls, -3);
        ws();
        if (s[p] === 0x2c) {
          p++;
          continue;
        }
        if (s[p] === 0x7d) {
          p++;
          return;
        }
        bad('comma or object end');
      }
    }
    if (c === 0x5b) {
      p++;
      lua.lua_newtable(Ls);
      ws();
      if (s[p] === 0x5d) {
        p++;
        return;
      }
      for (let j = 1; ; j++) {
        value(depth + 1);
        lua.lua_rawseti(Ls, -2, j);
        ws();
        if (s[p] === 0x2c) {
          p++;
          continue;
        }
        if (s[p] === 0x5d) {
          p++;
          return;
        }
        bad('comma or array end');
      }
    }
    if (c === 0x22) {
      const v = str();
      lua.lua_pushlstring(Ls, v, v.length);
      return;
    }
    if (literal('true')) return lua.lua_pushboolean(Ls, true);
    if (literal('false')) return lua.lua_pushboolean(Ls, false);
    if (literal('null')) return lua.lua_pushlightuserdata(Ls, null);
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(Buffer.from(s.subarray(p, p + 400)).toString('latin1'));
    if (m === null || m[0].length === 0) bad('value');
    p += m![0].length;
    const n = Number(m![0]);
    if (Number.isSafeInteger(n) && m![2] === undefined && m![3] === undefined) pushLuaNumber(lua, Ls, n);
    else lua.lua_pushnumber(Ls, n);
  };
  value(1);
  ws();
  if (p !== s.length) bad('the end');
}
