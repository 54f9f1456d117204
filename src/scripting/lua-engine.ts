// The Lua engine behind EVAL and SCRIPT: one Lua state per node (as Redis has one), on fengari,
// a Lua 5.3 VM in plain JavaScript. Why fengari and not a WASM build: it runs synchronously
// inside the executor with no asynchronous start, its strings are byte arrays (Redis values are
// binary; a C VM behind a JS string boundary loses bytes), and it is faster on redis.call-heavy
// scripts (docs/commands.md, "Scripts", has the comparison and the differences from Lua 5.1).
//
// The environment is Redis 7.0's: the base, table, string, math and coroutine libraries, the
// redis table, cjson and bit; globals are read-only and reading an unknown one is an error;
// errors become Redis's "<msg> script: <sha>, on @user_script:<line>." replies through the same
// error handler Redis installs (eval.c's __redis__err__handler).
import fengari from 'fengari';
import lobject from 'fengari/src/lobject.js';
import lstring from 'fengari/src/lstring.js';
import { sha1Hex } from '../lib/sha1.ts';
import { formatDouble } from '../core/kv/float-format.ts';
import { err, int } from '../core/reply.ts';
import type { Reply } from '../core/reply.ts';
import type { ScriptEngine, ScriptRun } from '../core/kv/scripting.ts';
import { formatCallNumber, formatLua51Number, pushLuaNumber } from './number-format.ts';
import { CJSON_NULL_NAME, decodeJson, encodeJson } from './lua-cjson.ts';
import { packArgs, unpackAll } from './lua-cmsgpack.ts';

const { lua, lauxlib, lualib, to_luastring } = fengari;
type L = unknown;

/** Redis's lua-time-limit default: past it a script that has not written is stopped. */
export const DEFAULT_LUA_TIME_LIMIT_MS = 5000;
/** VM instructions between two looks at the clock (the count hook). */
const HOOK_INSTRUCTIONS = 100_000;
/** Deepest Lua table a reply or cjson.encode follows (Redis's LUA_CMD_OBJCACHE-free recursion guard). */
const MAX_REPLY_DEPTH = 1000;

export interface LuaEngineOptions {
  /** How long a script may run before it is stopped if it has not written, ms (lua-time-limit). */
  readonly timeLimitMs?: number;
  /** A monotonic clock in ms (the time limit's). */
  readonly clock?: () => number;
  /** Where redis.log writes: level 0 debug, 1 verbose, 2 notice, 3 warning. */
  readonly log?: (level: number, message: string) => void;
}

// Two patches of the VM, once for the process (fengari calls both through its module object):
// - Lua 5.1 writes numbers with "%.14g": the number-to-string of concatenation and coercion;
// - every number is a double in Lua 5.1, but fengari's integers are 32-bit and wrap on overflow
//   (2000000000 + 2000000000 would be negative). Numerals — in the source, from tonumber and
//   from string coercion — are read as floats, so arithmetic is 5.1's double arithmetic; what
//   the engine pushes (replies, cjson, cmsgpack) is a float too beyond 32 bits.
let patched = false;
function patchNumberFormat(): void {
  if (patched) return;
  patched = true;
  const str2num = lobject.luaO_str2num;
  lobject.luaO_str2num = (s: Uint8Array, o: { ttisinteger(): boolean; setfltvalue(v: number): void }) => {
    const n = str2num(s, o);
    if (n !== 0 && o.ttisinteger()) o.setfltvalue(integerNumeral(s));
    return n;
  };
  const original = lobject.luaO_tostring;
  lobject.luaO_tostring = (Ls: unknown, obj: { ttisinteger(): boolean; value: number; setsvalue(v: unknown): void }) => {
    if (obj.ttisinteger()) return original(Ls, obj);
    obj.setsvalue(lstring.luaS_bless(Ls, to_luastring(formatLua51Number(obj.value))));
  };
}

/** The value of a numeral fengari read as an integer (decimal or hex, with sign and spaces), as a double. */
function integerNumeral(s: Uint8Array): number {
  const text = Buffer.from(s).toString('latin1').replace(/\0.*$/s, '').trim();
  const neg = text.startsWith('-');
  const body = text.replace(/^[-+]/, '');
  const v = /^0[xX]/.test(body) ? Number.parseInt(body.slice(2), 16) : Number(body);
  return neg ? -v : v;
}

function luaString(s: string): Uint8Array {
  return to_luastring(s);
}

/** Lua code run once per state, after the JS functions are in place. */
const PRELUDE = `
local dbg = debug
local getinfo = dbg.getinfo
-- eval.c: every error becomes a table {err=, source=, line=} naming the user's line.
__redis__err__handler = function(err)
  local i = getinfo(2, 'nSl')
  if i and i.what ~= 'Lua' and i.what ~= 'main' then i = getinfo(3, 'nSl') end
  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end
-- Redis 7's pcall hands a script the text of an error table ({err = ...}), not the table.
do
  local pcall0, pack, unpk = pcall, table.pack, table.unpack
  pcall = function(...)
    local r = pack(pcall0(...))
    if not r[1] and type(r[2]) == 'table' and r[2].err ~= nil then r[2] = r[2].err end
    return unpk(r, 1, r.n)
  end
end
-- Lua 5.1 names scripts written for Redis still use.
unpack = table.unpack
loadstring = load
table.getn = function(t) return #t end
table.maxn = function(t) local n = 0 for k in pairs(t) do if type(k) == 'number' and k > n then n = k end end return n end
math.pow = function(a, b) return a ^ b end
math.mod = math.fmod
math.ldexp = function(m, e) return m * 2.0 ^ e end
math.frexp = function(x)
  if x == 0 then return 0.0, 0 end
  local e = math.floor(math.log(math.abs(x), 2)) + 1
  local m = x / 2.0 ^ e
  if math.abs(m) >= 1 then m = m / 2; e = e + 1 end
  return m, e
end
string.gfind = string.gmatch
-- string.format as Lua 5.1's: %s of a float writes it as 5.1 does ("3", not "3.0"), and %d
-- takes any number (truncated), not only those the VM's 32-bit integers hold.
do
  local format, mtype, tostr, unpk, floor, ceil = string.format, math.type, tostring, table.unpack, math.floor, math.ceil
  string.format = function(f, ...)
    local args, n, i = {...}, select('#', ...), 0
    local g = tostr(f):gsub('%%([-+ #0]*%d*%.?%d*)(.)', function(flags, spec)
      if spec == '%' then return nil end
      i = i + 1
      local v = args[i]
      if spec == 's' and mtype(v) == 'float' then args[i] = tostr(v)
      elseif (spec == 'd' or spec == 'i') and type(v) == 'number' and (v >= 2147483648 or v < -2147483648) then
        args[i] = v >= 0 and floor(v) or ceil(v)
        return '%' .. flags:gsub('%.%d*', '') .. '.0f'
      end
      return nil
    end)
    return format(g, unpk(args, 1, n))
  end
end
gcinfo = function() return math.floor(collectgarbage('count')) end
debug = nil
print = nil
dofile = nil
loadfile = nil
require = nil
package = nil
utf8 = nil
-- Globals are read-only; reading one that does not exist is an error (Redis 7). The
-- metamethods are JS functions, so the error handler names the user's line, not these.
setmetatable(_G, { __index = __redis__global_index, __newindex = __redis__global_newindex, __metatable = false })
__redis__global_index = nil
__redis__global_newindex = nil
`;

/** A script stopped by the time limit (the count hook raises it). */
const KILLED = 'ERR Script killed: it ran past lua-time-limit without writing, and a running script blocks the whole node; raise lua-time-limit or make it faster';

export class LuaEngine implements ScriptEngine {
  private readonly L: L;
  /** Compiled scripts: sha → registry reference of the function. */
  private readonly compiled = new Map<string, number>();
  private current: ScriptRun | null = null;
  private readonly timeLimitMs: number;
  private readonly clock: () => number;
  private readonly log: (level: number, message: string) => void;
  private startedMs = 0;
  private killed = false;

  constructor(options: LuaEngineOptions = {}) {
    patchNumberFormat();
    this.timeLimitMs = options.timeLimitMs ?? DEFAULT_LUA_TIME_LIMIT_MS;
    this.clock = options.clock ?? (() => performance.now());
    this.log = options.log ?? (() => undefined);
    const L: L = lauxlib.luaL_newstate();
    this.L = L;
    for (const [name, open] of [
      ['_G', lualib.luaopen_base],
      ['table', lualib.luaopen_table],
      ['string', lualib.luaopen_string],
      ['math', lualib.luaopen_math],
      ['coroutine', lualib.luaopen_coroutine],
      ['debug', lualib.luaopen_debug],
    ] as const) {
      lauxlib.luaL_requiref(L, luaString(name), open, 1);
      lua.lua_pop(L, 1);
    }
    this.installRedisTable();
    this.installCjson();
    this.installCmsgpack();
    this.installBit();
    this.installBaseOverrides();
    this.installGlobalGuards();
    if (lauxlib.luaL_loadbuffer(L, luaString(PRELUDE), null, luaString('=prelude')) !== lua.LUA_OK || lua.lua_pcall(L, 0, 0, 0) !== lua.LUA_OK) {
      throw new Error(`the Lua prelude failed: ${this.popString()}`);
    }
    lua.lua_sethook(L, (Lh: L) => this.onHook(Lh), lua.LUA_MASKCOUNT, HOOK_INSTRUCTIONS);
  }

  compile(sha: string, body: Buffer): string | null {
    if (this.compiled.has(sha)) return null;
    const L = this.L;
    const status = lauxlib.luaL_loadbuffer(L, copyBytes(body), body.length, luaString('@user_script'));
    // Lua 5.1 quotes every token of a syntax error, <eof> included.
    if (status !== lua.LUA_OK) return `ERR Error compiling script (new function): ${this.popString().replace(/ near <eof>$/, " near '<eof>'")}`;
    this.compiled.set(sha, lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX));
    return null;
  }

  run(r: ScriptRun): Reply {
    const compileError = this.compile(r.sha, r.body);
    if (compileError !== null) return err(compileError);
    const L = this.L;
    const top = lua.lua_gettop(L);
    this.setGlobalArray('KEYS', r.keys);
    this.setGlobalArray('ARGV', r.args);
    lua.lua_getglobal(L, luaString('__redis__err__handler'));
    const handler = lua.lua_gettop(L);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.compiled.get(r.sha)!);
    this.current = r;
    this.startedMs = this.clock();
    this.killed = false;
    let reply: Reply;
    try {
      const status = lua.lua_pcall(L, 0, 1, handler);
      reply = status === lua.LUA_OK ? this.toReply(-1, 0) : this.errorReply(r.sha);
    } finally {
      this.current = null;
      lua.lua_settop(L, top);
      if (this.killed) lua.lua_sethook(L, (Lh: L) => this.onHook(Lh), lua.LUA_MASKCOUNT, HOOK_INSTRUCTIONS);
    }
    return reply;
  }

  // ---- conversion -------------------------------------------------------------------------

  /** A RESP reply as the Lua value Redis gives a script (RESP2 rules). */
  private pushReply(r: Reply): void {
    const L = this.L;
    switch (r.t) {
      case 'simple':
        this.pushStatusTable('ok', r.s);
        return;
      case 'error':
        this.pushStatusTable('err', r.msg);
        return;
      case 'int':
        pushLuaNumber(lua, L, Number(r.n));
        return;
      case 'bulk':
        if (r.b === null) lua.lua_pushboolean(L, false);
        else this.pushBytes(r.b);
        return;
      case 'array':
        if (r.items === null) lua.lua_pushboolean(L, false);
        else this.pushList(r.items);
        return;
      case 'set':
        this.pushList(r.items);
        return;
      case 'map':
      case 'pairs': {
        const flat: Reply[] = [];
        for (const [k, v] of r.t === 'map' ? r.entries : r.items) flat.push(k, v);
        this.pushList(flat);
        return;
      }
      case 'double':
        this.pushBytes(Buffer.from(formatDouble(r.d)));
        return;
      case 'null':
        lua.lua_pushboolean(L, false);
        return;
      case 'verbatim':
        this.pushBytes(Buffer.from(r.s));
        return;
    }
  }

  private pushList(items: readonly Reply[]): void {
    const L = this.L;
    lua.lua_createtable(L, items.length, 0);
    for (let i = 0; i < items.length; i++) {
      this.pushReply(items[i]!);
      lua.lua_rawseti(L, -2, i + 1);
    }
  }

  private pushStatusTable(field: 'ok' | 'err', text: string): void {
    const L = this.L;
    lua.lua_createtable(L, 0, 1);
    lua.lua_pushstring(L, luaString(field));
    lua.lua_pushstring(L, luaString(text));
    lua.lua_rawset(L, -3);
  }

  private pushBytes(b: Uint8Array): void {
    lua.lua_pushlstring(this.L, copyBytes(b), b.length);
  }

  /** The Lua value at `idx` as Redis replies it (luaReplyToRedisReply). */
  private toReply(idx: number, depth: number): Reply {
    const L = this.L;
    const i = lua.lua_absindex(L, idx);
    switch (lua.lua_type(L, i)) {
      case lua.LUA_TSTRING:
        return { t: 'bulk', b: Buffer.from(lua.lua_tolstring(L, i) as Uint8Array) };
      case lua.LUA_TBOOLEAN:
        return lua.lua_toboolean(L, i) ? int(1) : { t: 'bulk', b: null };
      case lua.LUA_TNUMBER:
        return int(luaIntegerOf(lua.lua_isinteger(L, i) ? lua.lua_tointeger(L, i) : lua.lua_tonumber(L, i)));
      case lua.LUA_TTABLE: {
        if (depth > MAX_REPLY_DEPTH) return err('ERR reached lua stack limit');
        const e = this.stringField(i, 'err');
        if (e !== undefined) return err(e);
        const ok = this.stringField(i, 'ok');
        if (ok !== undefined) return { t: 'simple', s: ok };
        lua.lua_pushstring(L, luaString('double'));
        if (lua.lua_rawget(L, i) === lua.LUA_TNUMBER) {
          const d = lua.lua_tonumber(L, -1);
          lua.lua_pop(L, 1);
          return { t: 'double', d };
        }
        lua.lua_pop(L, 1);
        const items: Reply[] = [];
        for (let j = 1; ; j++) {
          if (lua.lua_rawgeti(L, i, j) === lua.LUA_TNIL) {
            lua.lua_pop(L, 1);
            break;
          }
          items.push(this.toReply(-1, depth + 1));
          lua.lua_pop(L, 1);
        }
        return { t: 'array', items };
      }
      default:
        return { t: 'bulk', b: null };
    }
  }

  /** A string field of the table at absolute index `i`, read raw (no metamethods). */
  private stringField(i: number, name: string): string | undefined {
    const L = this.L;
    lua.lua_pushstring(L, luaString(name));
    const t = lua.lua_rawget(L, i);
    const s = t === lua.LUA_TSTRING ? Buffer.from(lua.lua_tolstring(L, -1) as Uint8Array).toString('utf8') : undefined;
    lua.lua_pop(L, 1);
    return s;
  }

  /** The error left by a failed pcall (the handler's table) as Redis's reply. */
  private errorReply(sha: string): Reply {
    const L = this.L;
    if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) return err(`ERR Error running script (call to f_${sha}): ${this.popString()}`);
    const i = lua.lua_absindex(L, -1);
    const msg = (this.stringField(i, 'err') ?? 'ERR unknown error').replace(/[\r\n]+/g, ' ');
    const source = this.stringField(i, 'source');
    lua.lua_pushstring(L, luaString('line'));
    lua.lua_rawget(L, i);
    const line = lua.lua_isnumber(L, -1) ? String(lua.lua_tointeger(L, -1)) : undefined;
    lua.lua_pop(L, 1);
    if (source === undefined || line === undefined) return err(`${msg} script: ${sha}`);
    return err(`${msg} script: ${sha}, on ${source}:${line}.`);
  }

  private setGlobalArray(name: string, items: readonly Buffer[]): void {
    const L = this.L;
    lua.lua_pushglobaltable(L);
    lua.lua_pushstring(L, luaString(name));
    lua.lua_createtable(L, items.length, 0);
    for (let j = 0; j < items.length; j++) {
      this.pushBytes(items[j]!);
      lua.lua_rawseti(L, -2, j + 1);
    }
    lua.lua_rawset(L, -3);
    lua.lua_pop(L, 1);
  }

  private popString(): string {
    const L = this.L;
    const s = lua.lua_tolstring(L, -1) as Uint8Array | null;
    lua.lua_pop(L, 1);
    return s === null ? '(error object is not a string)' : Buffer.from(s).toString('utf8');
  }

  /** Raises a Lua error carrying a string message (luaL_error adds the position). */
  private raise(Lr: L, message: string): never {
    lauxlib.luaL_error(Lr, luaString(message));
    throw new Error('unreachable: luaL_error returned');
  }

  /** Raises Redis's {err = msg} table (what redis.call raises on an error reply). */
  private raiseTable(Lr: L, message: string): never {
    this.pushStatusTable('err', message);
    lua.lua_error(Lr);
    throw new Error('unreachable: lua_error returned');
  }

  // ---- the redis table ----------------------------------------------------------------------

  private installRedisTable(): void {
    const L = this.L;
    lua.lua_createtable(L, 0, 16);
    const fn = (name: string, f: (Lf: L) => number): void => {
      lua.lua_pushstring(L, luaString(name));
      lua.lua_pushjsfunction(L, f);
      lua.lua_rawset(L, -3);
    };
    const num = (name: string, v: number): void => {
      lua.lua_pushstring(L, luaString(name));
      lua.lua_pushinteger(L, v);
      lua.lua_rawset(L, -3);
    };
    fn('call', (Lf) => this.redisCall(Lf, true));
    fn('pcall', (Lf) => this.redisCall(Lf, false));
    const statusReply = (field: 'ok' | 'err') => (Lf: L): number => {
      // Returned, not raised, as Redis does: the script's reply is then this error.
      if (lua.lua_gettop(Lf) !== 1 || lua.lua_type(Lf, 1) !== lua.LUA_TSTRING) {
        this.pushStatusTable('err', 'ERR wrong number or type of arguments');
        return 1;
      }
      lua.lua_createtable(Lf, 0, 1);
      lua.lua_pushstring(Lf, luaString(field));
      lua.lua_pushvalue(Lf, 1);
      lua.lua_rawset(Lf, -3);
      return 1;
    };
    fn('error_reply', statusReply('err'));
    fn('status_reply', statusReply('ok'));
    fn('sha1hex', (Lf) => {
      if (lua.lua_gettop(Lf) !== 1) return this.raise(Lf, 'wrong number of arguments');
      const s = lua.lua_tolstring(Lf, 1) as Uint8Array | null;
      lua.lua_pushstring(Lf, luaString(sha1Hex(s ?? new Uint8Array(0))));
      return 1;
    });
    fn('log', (Lf) => {
      const argc = lua.lua_gettop(Lf);
      if (argc < 2) return this.raise(Lf, 'redis.log() requires two arguments or more.');
      if (!lua.lua_isnumber(Lf, 1)) return this.raise(Lf, 'First argument must be a number (log level).');
      const level = lua.lua_tointeger(Lf, 1);
      if (level < 0 || level > 3) return this.raise(Lf, 'Invalid debug level.');
      const parts: string[] = [];
      for (let j = 2; j <= argc; j++) {
        const s = lua.lua_tolstring(Lf, j) as Uint8Array | null;
        if (s !== null) parts.push(Buffer.from(s).toString('utf8'));
      }
      this.log(level, parts.join(' '));
      return 0;
    });
    fn('setresp', (Lf) => {
      if (lua.lua_gettop(Lf) !== 1) return this.raise(Lf, 'redis.setresp() requires one argument.');
      const v = lua.lua_tointeger(Lf, 1);
      if (v !== 2 && v !== 3) return this.raise(Lf, 'RESP version must be 2 or 3.');
      // Replies reach scripts in RESP2 form only (docs/commands.md, "Scripts").
      if (v === 3) return this.raise(Lf, 'RESP3 replies inside scripts are not supported here (redis.setresp(3)); use RESP2 conversions');
      return 0;
    });
    // Effects are always what is replicated (Redis 7's only mode): these change nothing.
    fn('set_repl', () => 0);
    fn('replicate_commands', (Lf) => {
      lua.lua_pushboolean(Lf, true);
      return 1;
    });
    fn('breakpoint', (Lf) => {
      lua.lua_pushboolean(Lf, false);
      return 1;
    });
    fn('debug', () => 0);
    num('LOG_DEBUG', 0);
    num('LOG_VERBOSE', 1);
    num('LOG_NOTICE', 2);
    num('LOG_WARNING', 3);
    num('REPL_NONE', 0);
    num('REPL_AOF', 1);
    num('REPL_SLAVE', 2);
    num('REPL_REPLICA', 2);
    num('REPL_ALL', 3);
    lua.lua_pushstring(L, luaString('REDIS_VERSION'));
    lua.lua_pushstring(L, luaString('7.0.15'));
    lua.lua_rawset(L, -3);
    num('REDIS_VERSION_NUM', 0x07000f);
    lua.lua_setglobal(L, luaString('redis'));
  }

  /** redis.call (raise = true) and redis.pcall. */
  private redisCall(Lf: L, raise: boolean): number {
    const r = this.current;
    const fail = (msg: string): number => {
      if (raise) return this.raiseTable(Lf, msg);
      this.pushStatusTable('err', msg);
      return 1;
    };
    if (r === null) return fail('ERR redis.call is only available while a script runs');
    const argc = lua.lua_gettop(Lf);
    if (argc === 0) return fail('ERR Please specify at least one argument for this redis lib call');
    const argv: Buffer[] = [];
    for (let j = 1; j <= argc; j++) {
      const t = lua.lua_type(Lf, j);
      if (t === lua.LUA_TSTRING) argv.push(Buffer.from(lua.lua_tolstring(Lf, j) as Uint8Array));
      else if (t === lua.LUA_TNUMBER) {
        argv.push(Buffer.from(lua.lua_isinteger(Lf, j) ? String(lua.lua_tointeger(Lf, j)) : formatCallNumber(lua.lua_tonumber(Lf, j))));
      } else return fail('ERR Lua redis lib command arguments must be strings or integers');
    }
    const reply = r.call(argv);
    if (reply.t === 'error' && raise) return this.raiseTable(Lf, reply.msg);
    this.pushReply(reply);
    return 1;
  }

  // ---- cjson, tostring ----------------------------------------------------------------------

  private installCjson(): void {
    const L = this.L;
    lua.lua_createtable(L, 0, 4);
    lua.lua_pushstring(L, luaString('encode'));
    lua.lua_pushjsfunction(L, (Lf: L) => {
      if (lua.lua_gettop(Lf) !== 1) return this.raise(Lf, 'bad argument #1 to \'encode\' (expected 1 argument)');
      const out = encodeJson(Lf, 1, (msg) => this.raise(Lf, msg));
      lua.lua_pushlstring(Lf, out, out.length);
      return 1;
    });
    lua.lua_rawset(L, -3);
    lua.lua_pushstring(L, luaString('decode'));
    lua.lua_pushjsfunction(L, (Lf: L) => {
      if (lua.lua_gettop(Lf) !== 1 || lua.lua_type(Lf, 1) !== lua.LUA_TSTRING) return this.raise(Lf, "bad argument #1 to 'decode' (string expected)");
      decodeJson(Lf, lua.lua_tolstring(Lf, 1) as Uint8Array, (msg) => this.raise(Lf, msg));
      return 1;
    });
    lua.lua_rawset(L, -3);
    lua.lua_pushstring(L, luaString(CJSON_NULL_NAME));
    lua.lua_pushlightuserdata(L, null);
    lua.lua_rawset(L, -3);
    lua.lua_setglobal(L, luaString('cjson'));
  }

  /** LuaBitOp (Redis's bit library): 32-bit signed results, arguments reduced modulo 2^32. */
  private installBit(): void {
    const L = this.L;
    const arg = (Lb: L, i: number): number => {
      const n = lauxlib.luaL_checknumber(Lb, i) as number;
      return Number.isFinite(n) ? Number(BigInt.asIntN(32, BigInt(Math.trunc(n)))) : 0;
    };
    const out = (Lb: L, v: number): number => {
      lua.lua_pushnumber(Lb, v | 0);
      return 1;
    };
    const fold = (op: (a: number, b: number) => number) => (Lb: L): number => {
      let r = arg(Lb, 1);
      for (let i = 2; i <= lua.lua_gettop(Lb); i++) r = op(r, arg(Lb, i));
      return out(Lb, r);
    };
    const fns: Array<[string, (Lb: L) => number]> = [
      ['tobit', (Lb) => out(Lb, arg(Lb, 1))],
      ['bnot', (Lb) => out(Lb, ~arg(Lb, 1))],
      ['band', fold((a, b) => a & b)],
      ['bor', fold((a, b) => a | b)],
      ['bxor', fold((a, b) => a ^ b)],
      ['lshift', (Lb) => out(Lb, arg(Lb, 1) << (arg(Lb, 2) & 31))],
      ['rshift', (Lb) => out(Lb, arg(Lb, 1) >>> (arg(Lb, 2) & 31))],
      ['arshift', (Lb) => out(Lb, arg(Lb, 1) >> (arg(Lb, 2) & 31))],
      ['rol', (Lb) => { const x = arg(Lb, 1); const n = arg(Lb, 2) & 31; return out(Lb, (x << n) | (x >>> (32 - n))); }],
      ['ror', (Lb) => { const x = arg(Lb, 1); const n = arg(Lb, 2) & 31; return out(Lb, (x >>> n) | (x << (32 - n))); }],
      ['bswap', (Lb) => { const x = arg(Lb, 1); return out(Lb, ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)); }],
      ['tohex', (Lb) => {
        let n = lua.lua_gettop(Lb) >= 2 ? arg(Lb, 2) : 8;
        const upper = n < 0;
        if (upper) n = -n;
        if (n > 8) n = 8;
        let h = (arg(Lb, 1) >>> 0).toString(16).padStart(8, '0').slice(8 - n);
        if (upper) h = h.toUpperCase();
        lua.lua_pushstring(Lb, luaString(h));
        return 1;
      }],
    ];
    lua.lua_createtable(L, 0, fns.length);
    for (const [name, f] of fns) {
      lua.lua_pushstring(L, luaString(name));
      lua.lua_pushjsfunction(L, f);
      lua.lua_rawset(L, -3);
    }
    lua.lua_setglobal(L, luaString('bit'));
  }

  private installCmsgpack(): void {
    const L = this.L;
    lua.lua_createtable(L, 0, 2);
    lua.lua_pushstring(L, luaString('pack'));
    lua.lua_pushjsfunction(L, (Lf: L) => {
      const out = packArgs(Lf, (msg) => this.raise(Lf, msg));
      lua.lua_pushlstring(Lf, out, out.length);
      return 1;
    });
    lua.lua_rawset(L, -3);
    lua.lua_pushstring(L, luaString('unpack'));
    lua.lua_pushjsfunction(L, (Lf: L) => {
      const s = lua.lua_tolstring(Lf, 1) as Uint8Array | null;
      if (s === null) return this.raise(Lf, "bad argument #1 to 'unpack' (string expected)");
      lua.lua_settop(Lf, 1);
      return unpackAll(Lf, s, (msg) => this.raise(Lf, msg));
    });
    lua.lua_rawset(L, -3);
    lua.lua_setglobal(L, luaString('cmsgpack'));
  }

  /** tostring with Lua 5.1's number text ("3", not "3.0"). */
  private installBaseOverrides(): void {
    const L = this.L;
    lua.lua_getglobal(L, luaString('tostring'));
    const original = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_pushjsfunction(L, (Lf: L) => {
      lauxlib.luaL_checkany(Lf, 1);
      if (lua.lua_type(Lf, 1) === lua.LUA_TNUMBER && !lua.lua_isinteger(Lf, 1)) {
        lua.lua_pushstring(Lf, luaString(formatLua51Number(lua.lua_tonumber(Lf, 1))));
        return 1;
      }
      lua.lua_rawgeti(Lf, lua.LUA_REGISTRYINDEX, original);
      lua.lua_pushvalue(Lf, 1);
      lua.lua_call(Lf, 1, 1);
      return 1;
    });
    lua.lua_setglobal(L, luaString('tostring'));
    // math.random from the primary's generator (deterministic in the simulator).
    lua.lua_getglobal(L, luaString('math'));
    lua.lua_pushstring(L, luaString('random'));
    lua.lua_pushjsfunction(L, (Lf: L) => {
      const x = this.current ? this.current.random() : 0;
      const argc = lua.lua_gettop(Lf);
      if (argc === 0) {
        lua.lua_pushnumber(Lf, x);
        return 1;
      }
      const lo = argc >= 2 ? lauxlib.luaL_checkinteger(Lf, 1) : 1;
      const hi = lauxlib.luaL_checkinteger(Lf, argc >= 2 ? 2 : 1);
      if (lo > hi) return this.raise(Lf, "bad argument #1 to 'random' (interval is empty)");
      lua.lua_pushinteger(Lf, lo + Math.floor(x * (hi - lo + 1)));
      return 1;
    });
    lua.lua_rawset(L, -3);
    lua.lua_pushstring(L, luaString('randomseed'));
    lua.lua_pushjsfunction(L, () => 0);
    lua.lua_rawset(L, -3);
    lua.lua_pop(L, 1);
  }

  /** The read-only globals' metamethods (set on _G by the prelude). */
  private installGlobalGuards(): void {
    const L = this.L;
    const raiseAt = (Lg: L, msg: string): never => {
      lauxlib.luaL_where(Lg, 1);
      lua.lua_pushstring(Lg, luaString(msg));
      lua.lua_concat(Lg, 2);
      lua.lua_error(Lg);
      throw new Error('unreachable: lua_error returned');
    };
    lua.lua_pushjsfunction(L, (Lg: L) => {
      const name = lua.lua_tolstring(Lg, 2) as Uint8Array | null;
      return raiseAt(Lg, `Script attempted to access nonexistent global variable '${name === null ? '?' : Buffer.from(name).toString('utf8')}'`);
    });
    lua.lua_setglobal(L, luaString('__redis__global_index'));
    lua.lua_pushjsfunction(L, (Lg: L) => raiseAt(Lg, 'Attempt to modify a readonly table'));
    lua.lua_setglobal(L, luaString('__redis__global_newindex'));
  }

  // ---- the time limit -----------------------------------------------------------------------

  private onHook(Lh: L): void {
    const r = this.current;
    if (r === null) return;
    if (this.killed) {
      // Raised again at every hook, so a pcall in the script cannot swallow it for long.
      this.raiseTable(Lh, KILLED);
    }
    if (this.clock() - this.startedMs < this.timeLimitMs || r.wrote()) return;
    this.killed = true;
    lua.lua_sethook(Lh, (Lk: L) => this.onHook(Lk), lua.LUA_MASKCOUNT, 1);
    this.raiseTable(Lh, KILLED);
  }
}

/** A Lua number as a 64-bit integer reply: floats are truncated toward zero, as C's cast does. */
function luaIntegerOf(n: number): number {
  if (!Number.isFinite(n)) return 0;
  return Math.trunc(n);
}

/** A private copy: Lua keeps the bytes it is given, and a caller's Buffer may be reused. */
function copyBytes(b: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(b);
}
