// Active expiry at the primary: it alone decides that a key has expired and replicates a delete,
// so replicas never diverge on time.
import { expiredEvents } from './kv/key-events.ts';
import { ALL_REGIONS } from './regions.ts';
import { EXPIRY_SCAN_PER_RUN } from './config.ts';
import type { Replica } from './replica.ts';

/**
 * Active expiry: the primary alone decides that a key has expired and replicates a delete, so
 * replicas never diverge on time. A few entries are examined per tick, walking the regions
 * round-robin; reads already treat expired keys as absent everywhere.
 */
export function expireKeys(node: Replica, wallMs: number): void {
  if (!node.pending || node.syncing || node.switchoverReq) return;
  const c = node.expiryCursor;
  const expired: Buffer[] = [];
  // Up to EXPIRY_SCAN_PER_RUN entries, across as many regions as that takes (a small store is
  // walked whole in one run), visiting each region at most once per run.
  let budget = EXPIRY_SCAN_PER_RUN;
  for (let visited = 0; budget > 0 && visited < ALL_REGIONS.length; visited++) {
    const entries = node.pending.regionEntries(c.region, c.afterKey, budget);
    budget -= entries.length;
    for (const [k, e] of entries) if (e.expireAtMs !== 0 && e.expireAtMs <= wallMs) expired.push(k);
    if (budget > 0) {
      c.region = (c.region + 1) % ALL_REGIONS.length;
      c.afterKey = undefined;
    } else c.afterKey = entries[entries.length - 1]![0];
  }
  if (expired.length === 0) return;
  const dels = expired.map((key) => ({ k: 'del' as const, key }));
  const u = node.stamp('data', dels, expiredEvents(dels));
  node.pending.record(u.lsn, u.ops);
}
