// Regions (claim 26): a region is a contiguous range of Redis Cluster hash
// slots. Counters, digests and resyncs work per region, so that their cost
// follows what changed, not the size of the data.
import { HASH_SLOTS, keySlot } from '../lib/crc16.ts';
import type { Op } from './types.ts';

/** Number of regions the 16384 hash slots are grouped into. Must divide HASH_SLOTS. */
export const REGION_COUNT = 64;
export const SLOTS_PER_REGION = HASH_SLOTS / REGION_COUNT;

export function regionOfKey(key: Uint8Array): number {
  return Math.floor(keySlot(key) / SLOTS_PER_REGION);
}

export const ALL_REGIONS: readonly number[] = Array.from({ length: REGION_COUNT }, (_, i) => i);

/** Sorted unique regions touched by a list of ops (a flush touches all). */
export function regionsOfOps(ops: readonly Op[]): number[] {
  const set = new Set<number>();
  for (const op of ops) {
    if (op.k === 'flush') return [...ALL_REGIONS];
    set.add(regionOfKey(op.key));
  }
  return [...set].sort((a, b) => a - b);
}
