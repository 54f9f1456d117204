// How Lua 5.1 (Redis's Lua) writes a number as a string: C's "%.14g" (LUA_NUMBER_FMT). The VM
// here is Lua 5.3, which writes floats with integral values as "3.0" and formats differently
// beyond 1e14; scripts written for Redis concatenate and tostring() numbers expecting "3".

/**
 * Pushes a number from outside the VM (a reply's integer, a decoded JSON or MessagePack number)
 * as a float: every number is a double in Redis's Lua 5.1, and fengari's integers are 32-bit and
 * wrap on overflow, so integer arithmetic on it could go wrong where 5.1's is exact up to 2^53.
 */
export function pushLuaNumber(lua: { lua_pushnumber(L: unknown, n: number): void }, L: unknown, n: number): void {
  lua.lua_pushnumber(L, n);
}

/** Drops trailing zeros of a fraction (and a bare point), as %g does. */
function trimFraction(s: string): string {
  if (!s.includes('.')) return s;
  return s.replace(/0+$/, '').replace(/\.$/, '');
}

/** C's printf("%.14g", n). */
export function formatLua51Number(n: number): string {
  if (Number.isNaN(n)) return n.toString() === 'NaN' ? 'nan' : 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const exp = n.toExponential(13); // d.ddddddddddddde±x: 14 significant digits, rounded
  const e = Number(exp.slice(exp.indexOf('e') + 1));
  if (e < -4 || e >= 14) {
    const [mant, ex] = exp.split('e') as [string, string];
    const sign = ex.startsWith('-') ? '-' : '+';
    const digits = ex.replace(/^[-+]/, '');
    return `${trimFraction(mant)}e${sign}${digits.padStart(2, '0')}`;
  }
  return trimFraction(n.toFixed(13 - e));
}

/**
 * A number given to redis.call as an argument: Redis 7 writes it with fpconv_dtoa, the shortest
 * text that reads back as the same double ("1.5", "3", "1e+21"), which is what JavaScript's
 * Number#toString gives too.
 */
export function formatCallNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  return String(n);
}
