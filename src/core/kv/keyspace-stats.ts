// INFO keyspace's expires and avg_ttl: how many keys have an expiry, and their mean remaining
// time to live. Redis keeps an exact count of keys with an expiry and estimates avg_ttl from
// the keys its expiry cycle samples; here both come from a sample of each region's first keys
// (regions are hash slots, so the sample is spread over the keyspace), exact while no region
// holds more than KEYSPACE_SAMPLE_PER_REGION keys and scaled up from the sample beyond that.
// It reads at most REGION_COUNT × KEYSPACE_SAMPLE_PER_REGION headers, whatever the keyspace size.
import { REGION_COUNT } from '../regions.ts';
import type { StateReader } from '../state-reader.ts';
import { isLive } from './view.ts';

/** Key headers read per region for INFO keyspace. */
export const KEYSPACE_SAMPLE_PER_REGION = 256;

export interface KeyspaceStats {
  /** Keys with an expiry (exact, or estimated from the sample when a region holds more). */
  readonly expires: number;
  /** Mean remaining time to live of the sampled keys with an expiry, ms (0 when none). */
  readonly avgTtlMs: number;
}

export function keyspaceStats(view: StateReader, nowMs: number): KeyspaceStats {
  let sampled = 0;
  let withTtl = 0;
  let ttlSum = 0;
  for (let r = 0; r < REGION_COUNT; r++) {
    for (const [, e] of view.regionEntries(r, undefined, KEYSPACE_SAMPLE_PER_REGION)) {
      sampled++;
      if (e.expireAtMs === 0 || !isLive(e, nowMs)) continue;
      withTtl++;
      ttlSum += e.expireAtMs - nowMs;
    }
  }
  const total = view.size();
  const expires = sampled >= total ? withTtl : Math.round((withTtl / Math.max(1, sampled)) * total);
  return { expires, avgTtlMs: withTtl === 0 ? 0 : Math.round(ttlSum / withTtl) };
}
