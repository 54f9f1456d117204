// The list part of the simulator's workload: commands on a few list keys (pushes and pops at
// both ends, LINSERT that uses up gaps and renumbers, LREM, LTRIM, LSET, LMOVE between lists).
// Their replies are not checked against a model; what they add is coverage of list element ops
// under faults, which the identical-replica invariant compares on every replica.
import type { Prng } from '../src/lib/prng.ts';

/** List keys per key window (they rotate with the other keys, so each list stays small). */
export const LISTS_PER_WINDOW = 2;

/** One list command on the lists of key window `w`; `tag` makes the pushed values unique. */
export function listCommand(p: Prng, w: number, tag: string): string[] {
  const key = `l${w}:${p.int(0, LISTS_PER_WINDOW - 1)}`;
  const other = `l${w}:${p.int(0, LISTS_PER_WINDOW - 1)}`;
  const roll = p.float();
  const end = (): string => (p.chance(0.5) ? 'LEFT' : 'RIGHT');
  if (roll < 0.3) return [p.chance(0.5) ? 'LPUSH' : 'RPUSH', key, tag, `${tag}b`];
  if (roll < 0.45) return [p.chance(0.5) ? 'LPOP' : 'RPOP', key, ...(p.chance(0.5) ? [String(p.int(0, 3))] : [])];
  // Inserting next to the pushed values of one client, again and again, exhausts the gaps there.
  if (roll < 0.65) return ['LINSERT', key, p.chance(0.5) ? 'BEFORE' : 'AFTER', 'pivot', tag];
  if (roll < 0.7) return ['RPUSH', key, 'pivot'];
  if (roll < 0.77) return ['LREM', key, String(p.int(-2, 2)), 'pivot'];
  if (roll < 0.82) return ['LTRIM', key, String(p.int(-20, 5)), String(p.int(-5, 40))];
  if (roll < 0.88) return ['LSET', key, String(p.int(-5, 5)), tag];
  if (roll < 0.95) return ['LMOVE', key, other, end(), end()];
  return ['LRANGE', key, '0', '-1'];
}
