// Clearing (claims 1, 3, 4, 9): the primary computes how far every configured secondary holds the
// log (sent and received indicators), bounded by the retention limit, and announces it as the
// notification to clear; every node advances its start-of-log and next-to-clear pointers, never
// beyond what its own storage area has made durable.
import { ALL_REGIONS } from './regions.ts';
import type { NodeId } from './types.ts';
import type { Replica } from './replica.ts';

/** Claim 9: clear up to where every configured secondary has sent and received indicators set. */
export function computeClear(node: Replica): void {
  if (node.role !== 'primary') return;
  const waived = new Set<NodeId>();
  for (const p of node.progress.values()) if (p.resyncRegions) waived.add(p.id);
  let upTo = node.indicators.clearableUpTo(waived, node.commitLsn);
  // The retention limit: a secondary holding the logs back too long is marked for a region resync.
  const lim = node.cfg.limits;
  const heldFrom = Math.max(upTo, node.log.start - 1);
  let target = -1;
  if (node.log.last - heldFrom > lim.maxRetainedUpdates) target = node.log.last - lim.maxRetainedUpdates;
  if (node.log.bytesAfter(heldFrom) > lim.maxRetainedBytes) target = Math.max(target, node.log.lowestKeeping(lim.maxRetainedBytes));
  if (target >= 0) {
    for (const p of node.progress.values()) {
      if (p.resyncRegions || p.matchLsn >= target) continue;
      // From now on we remember the regions of what we clear past it. If it already lacks
      // updates cleared before (by an earlier primary), we cannot know their regions: all.
      p.resyncRegions = p.matchLsn + 1 < node.nextToClear ? new Set(ALL_REGIONS) : new Set();
      waived.add(p.id);
    }
    upTo = node.indicators.clearableUpTo(waived, node.commitLsn);
  }
  if (upTo + 1 > node.nextToClear) {
    // Regions changed by what we clear past a waived secondary's match must be resynced there.
    for (const p of node.progress.values()) {
      if (!p.resyncRegions) continue;
      // Update.regions already names every region for a flush.
      for (let l = Math.max(p.matchLsn + 1, node.nextToClear); l <= upTo; l++) for (const r of node.log.get(l)?.regions ?? []) p.resyncRegions.add(r);
    }
    node.nextToClear = upTo + 1;
    maybeClearOwnLog(node);
  }
}

/** A log is never cleared beyond what this node's storage area has made durable. */
export function maybeClearOwnLog(node: Replica): void {
  let limit = node.isWitness ? node.durableLsn : Math.min(node.storageDurable, node.durableLsn);
  if (node.role === 'primary') {
    // A secondary restarted after a region resync catches up from our log: keep what it lacks
    // (it was waived while it was away, so clearing went past it logically) until it holds
    // everything cleared; the retention limit waives it again if that takes too long.
    for (const p of node.progress.values()) if (p.catchingUpAfter !== null) limit = Math.min(limit, p.catchingUpAfter, p.matchLsn);
  }
  const newStart = Math.min(node.nextToClear, limit + 1);
  if (newStart > node.log.start) {
    node.log.clearTo(newStart - 1);
    if (node.role === 'primary') node.indicators.dropUpTo(newStart - 1);
    node.out.clear = { start: newStart, nextToClear: node.nextToClear };
  } else if (node.out.clear === null && node.nextToClear > node.log.start) {
    node.out.clear = { start: node.log.start, nextToClear: node.nextToClear };
  }
}
