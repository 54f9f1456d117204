// Claims 5–6: when the primary fails, the new primary compares the location of
// the next update in each secondary's log with its own; where two differ it
// identifies the set of updates one log holds and the other lacks, and applies
// exactly that set to the other copy. First it pulls from any secondary whose
// log extends its own (so the most advanced log wins), then it ships to each
// secondary what that secondary lacks. Nothing else is copied: no full resync
// while the logs suffice.
import { epochAtIn, matchPoint } from './log-view.ts';
import type { EpochStart, Epoch, Lsn, NodeId } from './types.ts';

/** A log's position as reported in a sync-state message (claim 5's "location of a next update"). */
export interface LogPosition {
  readonly startLsn: Lsn;
  readonly lastLsn: Lsn;
  readonly history: readonly EpochStart[];
}

export interface ShipPlan {
  /** Last lsn where the secondary's log agrees with the new primary's. */
  readonly match: Lsn;
  /** Claim 5: the updates in the primary's log that are not in the secondary's: (match, primary.last]. */
  readonly ship: number;
  /** Updates of the secondary's log beyond match: a divergent tail it must truncate. */
  readonly truncate: number;
  /** The primary no longer holds what this secondary lacks: region resync instead. */
  readonly needsResync: boolean;
}

/**
 * Among the reported logs, the one that extends `self` the furthest (agrees with it at
 * self.lastLsn and goes beyond). Only such a log can be pulled from safely: its extra
 * updates were created by the legitimate primaries of their epochs after everything self has.
 */
export function chooseAheadSource(
  self: LogPosition,
  states: ReadonlyMap<NodeId, LogPosition>,
  eligible: (id: NodeId) => boolean,
): { id: NodeId; toLsn: Lsn } | null {
  const selfLastEpoch: Epoch | undefined = epochAtIn(self.history, self.lastLsn, self.lastLsn);
  let best: { id: NodeId; toLsn: Lsn } | null = null;
  for (const [id, s] of states) {
    if (!eligible(id) || s.lastLsn <= self.lastLsn) continue;
    if (epochAtIn(s.history, s.lastLsn, self.lastLsn) !== selfLastEpoch) continue;
    if (!best || s.lastLsn > best.toLsn) best = { id, toLsn: s.lastLsn };
  }
  return best;
}

/** Claims 5–6: what the new primary must send to (and truncate at) one secondary. */
export function planShip(primary: LogPosition, secondary: LogPosition): ShipPlan {
  const m = matchPoint(primary.history, primary.lastLsn, secondary.history, secondary.lastLsn);
  if (m < 0 || m < primary.startLsn - 1) {
    return { match: -1, ship: 0, truncate: 0, needsResync: true };
  }
  return { match: m, ship: primary.lastLsn - m, truncate: secondary.lastLsn - m, needsResync: false };
}

/** What a failover did, measured by the new primary (the runtime turns it into a FailoverReport). */
export interface FailoverSummary {
  readonly oldPrimary: NodeId | null;
  readonly newPrimary: NodeId;
  readonly oldEpoch: Epoch;
  readonly newEpoch: Epoch;
  /** Last contact with the old primary → this node stood for election. */
  readonly detectionMs: number;
  /** Stood for election → won. */
  readonly electionMs: number;
  /** Won → the first update of the new epoch committed (every secondary in dest converged). */
  readonly failoverSyncMs: number;
  readonly shippedTo: Readonly<Record<NodeId, number>>;
  readonly pulledFrom: Readonly<Record<NodeId, number>>;
  readonly truncated: Readonly<Record<NodeId, number>>;
  readonly regionsResynced: Readonly<Record<NodeId, number>>;
  /** The commit lsn of the new epoch's first update. */
  readonly epochStartLsn: Lsn;
  /** The highest lsn the old primary had announced as committed to this node before it failed. */
  readonly committedBefore: Lsn;
  /**
   * Acknowledged writes the new history lacks, computed from what this node holds: updates up to
   * committedBefore that are not in its log. The protocol says 0; this checks it on every failover.
   */
  readonly acknowledgedWritesLost: number;
}
