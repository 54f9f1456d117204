// The script part of the simulator's workload. Two uses:
// - scriptIncr: the history's INCR, now and then through a script (EVAL, or EVALSHA of the
//   script SCRIPT LOAD cached, which a NOSCRIPT refuses before anything is logged), so the
//   linearizability check covers redis.call on the pending state and the reply of a script;
// - scriptCommand: multi-key scripts outside the history (a transfer between two counters, a
//   capped list push, a rate-limiter step, a SCRIPT FLUSH now and then), whose effects — one
//   update each — the identical-replicas invariant compares on every replica, the script cache
//   included (a region digest covers it).
import type { Prng } from '../src/lib/prng.ts';
import { sha1Hex } from '../src/lib/sha1.ts';

const INCR = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
const TRANSFER = "local n = tonumber(ARGV[1]) redis.call('DECRBY', KEYS[1], n) return redis.call('INCRBY', KEYS[2], n)";
const CAPPED_PUSH = "redis.call('RPUSH', KEYS[1], ARGV[1]) redis.call('LTRIM', KEYS[1], -3, -1) return redis.call('LLEN', KEYS[1])";
const LIMITER = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";
const BODIES = [INCR, TRANSFER, CAPPED_PUSH, LIMITER];
const SHAS = BODIES.map((b) => sha1Hex(Buffer.from(b)));

/** Share of the history's INCRs sent as a script. */
export const SCRIPT_INCR_SHARE = 0.3;
/** Share of the commands outside the history that are scripts. */
export const SCRIPT_SHARE = 0.15;

/** INCRBY key 1 as a script: by EVAL, or by EVALSHA (NOSCRIPT if the cache was flushed). */
export function scriptIncr(p: Prng, key: string): string[] {
  return p.chance(0.5) ? ['EVAL', INCR, '1', key, '1'] : ['EVALSHA', SHAS[0]!, '1', key, '1'];
}

/** One script command on the keys of window `w`; `tag` makes pushed values unique. */
export function scriptCommand(p: Prng, w: number, tag: string): string[] {
  const roll = p.float();
  const counter = (): string => `x${w}:${p.int(0, 1)}`;
  const run = (i: number, keys: string[], args: string[]): string[] =>
    p.chance(0.5) ? ['EVAL', BODIES[i]!, String(keys.length), ...keys, ...args] : ['EVALSHA', SHAS[i]!, String(keys.length), ...keys, ...args];
  if (roll < 0.35) return run(1, [counter(), counter()], [String(p.int(1, 5))]);
  if (roll < 0.6) return run(2, [`q${w}`], [tag]);
  if (roll < 0.8) return run(3, [`r${w}`], [String(p.int(50, 400))]);
  if (roll < 0.95) return ['SCRIPT', 'LOAD', p.pick(BODIES)];
  return ['SCRIPT', 'FLUSH'];
}
