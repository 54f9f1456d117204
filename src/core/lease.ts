// The primary's read lease: heartbeat rounds numbered per primary, each confirmed by the
// acknowledgements that echo it; the lease runs electionTimeoutMs - leaseMarginMs from the send
// time of the newest round a majority confirmed. Voters refuse candidates while they hear from a
// live primary, so no other primary can commit or answer a read before it ends.
import { majorityOf } from './config.ts';
import type { Replica } from './replica.ts';

export function startRound(node: Replica): void {
  node.round++;
  node.roundSentMs.set(node.round, node.now);
  node.lastRoundMs = node.now;
  // Keep only rounds that can still matter for the lease.
  for (const r of node.roundSentMs.keys()) {
    if (r < node.round - 64) node.roundSentMs.delete(r);
    else break;
  }
  // A lone voter is its own majority: the round is confirmed as it starts. (Otherwise the lease
  // is renewed by acknowledgements, and with nobody to acknowledge every read timed out.)
  if (node.voters.length === 1) updateLease(node);
}

/** The send time of the newest round a majority (counting us) has confirmed. */
export function latestConfirmedRoundMs(node: Replica): number {
  const rounds = [node.round, ...[...node.progress.values()].map((p) => p.highestRound)].sort((a, b) => b - a);
  const r = rounds[majorityOf(node.voters.length) - 1] ?? 0;
  return node.roundSentMs.get(r) ?? -Infinity;
}

export function updateLease(node: Replica): void {
  const t = node.cfg.timing;
  const confirmed = latestConfirmedRoundMs(node);
  node.leaseUntilMs = confirmed + t.electionTimeoutMs - t.leaseMarginMs;
}

/** A new primary (or one stepping down) holds no lease and has confirmed no round. */
export function resetLease(node: Replica): void {
  node.leaseUntilMs = -Infinity;
  node.roundSentMs.clear();
  node.round = 0;
  node.lastRoundMs = -Infinity;
}
