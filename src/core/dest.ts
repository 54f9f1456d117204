// Claim 1's "identifies at least one secondary to which it will be sent": which secondaries are
// in dest. One that stops acknowledging is left out (its acks for updates already sent waived by
// a configuration update), only while dest plus the primary remain a majority of the voting
// members; one that caught up rejoins through a configuration update.
import { majorityOf } from './config.ts';
import { incarnationVerdict, type Progress, resetAfterLostData } from './progress.ts';
import type { Lsn } from './types.ts';
import type { Replica } from './replica.ts';

/** A secondary in dest that stops acknowledging is left out — only while a majority remains. */
export function checkAckTimeouts(node: Replica): void {
  if (node.syncing) return;
  const t = node.cfg.timing;
  for (const p of node.progress.values()) {
    if (!p.inDest) continue;
    const behind = p.matchLsn < node.log.last;
    if (!behind || node.now - p.lastProgressMs < t.ackTimeoutMs) continue;
    if (!leaveDest(node, p)) continue; // would lose the majority: writes wait instead
    p.mode = 'probe';
    p.nextLsn = node.log.last + 1;
  }
}

/**
 * Leaves p out of later updates' dest — only if dest without it plus the primary is still a
 * majority of the voting members (else returns false and writes wait for it). Its
 * acknowledgements of updates already sent are waived: a configuration update in the log
 * records the new dest, and committing it commits everything before it.
 */
export function leaveDest(node: Replica, p: Progress): boolean {
  if (!p.inDest) return true;
  if (node.dest.length - 1 < majorityOf(node.voters.length) - 1) return false;
  p.inDest = false;
  node.dest = node.dest.filter((d) => d !== p.id);
  for (let l = Math.max(node.commitLsn + 1, p.matchLsn + 1); l <= node.log.last; l++) {
    if (node.regional.decrement(l, p.id)) node.fullyAcked.push(l);
  }
  node.stamp('config', []);
  return true;
}

/**
 * Judges a report by the incarnation it came from (progress.ts): false drops it as stale. A
 * newer incarnation means the secondary lost records it may have acknowledged: what we counted
 * for it is void. Its acknowledgements of updates not yet committed are wanted again, and it
 * leaves dest by the ordinary rule (a majority must remain; otherwise writes wait for it to be
 * refilled); its next position report decides between shipping and a region resync.
 */
export function heardFrom(node: Replica, p: Progress, incarnation: number): boolean {
  const v = incarnationVerdict(p, incarnation);
  if (v === 'stale') return false;
  if (v === 'first') p.incarnation = incarnation;
  if (v !== 'lost-data') return true;
  const before = p.incarnation;
  const restored = new Set<Lsn>();
  for (let l = node.commitLsn + 1; l <= Math.min(p.matchLsn, node.log.last); l++) {
    const u = node.log.get(l);
    if (!u || !u.dest.includes(p.id)) continue;
    node.regional.restore(l, u.regions, p.id);
    restored.add(l);
  }
  if (restored.size > 0) {
    let keep = 0;
    for (const l of node.fullyAcked) if (!restored.has(l)) node.fullyAcked[keep++] = l;
    node.fullyAcked.length = keep;
  }
  const wasMatch = p.matchLsn;
  resetAfterLostData(p, incarnation, node.log.last, node.now);
  leaveDest(node, p);
  node.out.events.push({ t: 'peer-lost-data', node: p.id, incarnation, previousIncarnation: before, ackedLsn: wasMatch, inDest: p.inDest });
  return true;
}

/** A secondary out of dest that has caught up rejoins dest through a configuration update. */
export function maybeRejoinDest(node: Replica, p: Progress): void {
  if (p.inDest || p.mode !== 'replicate' || dirtyFor(node, p)) return;
  if (node.syncing) return;
  if (p.matchLsn < node.log.last) return;
  p.inDest = true;
  node.dest = [...node.dest, p.id].sort();
  node.stamp('config', []);
}

export function dirtyFor(node: Replica, p: Progress): boolean {
  return p.regionQueue.length > 0;
}
