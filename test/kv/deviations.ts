// The replies where understudy differs from redis-server on purpose, recognised from the command
// itself so that randomised differential tests can tell a deliberate deviation from a bug:
// - an expiry time past MAX_EXPIRE_AT_MS (2^53 - 1 ms; Redis allows up to 2^63 - 1) gets Redis's
//   "invalid expire time" error;
// - a write of a key longer than MAX_KEY_BYTES (the storage engine's limit) gets "key too long";
// - COPY to database 1..15 gets "DB index is out of range" (one keyspace, where Redis has 16).
// Anything else must match byte for byte.
import { MAX_EXPIRE_AT_MS, MAX_KEY_BYTES } from '../../src/core/kv/arguments.ts';

const LLONG_MAX = (1n << 63n) - 1n;
const INT_RE = /^(?:0|-?[1-9][0-9]*)$/;

function int(s: string | undefined): bigint | null {
  return s !== undefined && INT_RE.test(s) && s.length < 21 ? BigInt(s) : null;
}

/** Absolute expiry times (ms) the command asks for, from its arguments: [value, seconds, relative]. */
function expiryArgs(args: readonly string[]): Array<[string | undefined, boolean, boolean]> {
  const name = args[0]!.toLowerCase();
  switch (name) {
    case 'expire':
      return [[args[2], true, true]];
    case 'pexpire':
      return [[args[2], false, true]];
    case 'expireat':
      return [[args[2], true, false]];
    case 'pexpireat':
      return [[args[2], false, false]];
    case 'setex':
      return [[args[2], true, true]];
    case 'psetex':
      return [[args[2], false, true]];
    case 'set':
    case 'getex': {
      const out: Array<[string | undefined, boolean, boolean]> = [];
      for (let i = name === 'set' ? 3 : 2; i < args.length; i++) {
        const o = args[i]!.toLowerCase();
        if (o === 'ex') out.push([args[i + 1], true, true]);
        else if (o === 'px') out.push([args[i + 1], false, true]);
        else if (o === 'exat') out.push([args[i + 1], true, false]);
        else if (o === 'pxat') out.push([args[i + 1], false, false]);
      }
      return out;
    }
    default:
      return [];
  }
}

/** True when some expiry time of the command lies past MAX_EXPIRE_AT_MS but within Redis's range. */
export function expiryPastOurLimit(args: readonly string[], nowMs: number): boolean {
  for (const [text, seconds, relative] of expiryArgs(args)) {
    const v = int(text);
    if (v === null) continue;
    if (seconds && (v > LLONG_MAX / 1000n || v < -LLONG_MAX / 1000n)) continue;
    const ms = (seconds ? v * 1000n : v) + (relative ? BigInt(nowMs) : 0n);
    if (ms > BigInt(MAX_EXPIRE_AT_MS) && ms <= LLONG_MAX) return true;
  }
  return false;
}

/**
 * Whether `ours` differs from `theirs` (raw RESP replies) only by a deliberate deviation for
 * `args` run at about `nowMs`.
 */
export function isDeliberateDeviation(args: readonly string[], ours: string, theirs: string, nowMs: number): boolean {
  if (theirs.startsWith('-')) return false;
  const cmd = args[0]!.toLowerCase();
  if (ours === `-ERR invalid expire time in '${cmd}' command\r\n`) return expiryPastOurLimit(args, nowMs);
  if (ours.startsWith('-ERR key too long: ')) return args.slice(1).some((a) => Buffer.byteLength(a, 'latin1') > MAX_KEY_BYTES);
  // One keyspace (database 0), where Redis has 16: COPY … DB 1..15 is refused.
  if (ours === '-ERR DB index is out of range\r\n' && cmd === 'copy') {
    const at = args.findIndex((a, i) => i >= 3 && a.toLowerCase() === 'db');
    const db = int(args[at + 1]);
    return at > 0 && db !== null && db >= 1n && db <= 15n;
  }
  return false;
}
