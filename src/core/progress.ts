// The primary's view of one secondary (Raft's progress): where its log stands, whether it is in
// dest, and the incarnation its reports came from. Kept apart from the replica so that the one
// rule that moves a secondary's position backwards (it lost data) lives in one place.
import type { RegionCursor } from './region-content.ts';
import type { Lsn, NodeId } from './types.ts';

export interface Progress {
  readonly id: NodeId;
  readonly kind: 'data' | 'witness';
  /** Next lsn to send. */
  nextLsn: Lsn;
  /** Highest lsn acknowledged (durable and matching) by this secondary. */
  matchLsn: Lsn;
  mode: 'probe' | 'replicate' | 'resync';
  inDest: boolean;
  lastProgressMs: number;
  lastSendMs: number;
  /** When the last acknowledgement of this epoch arrived from it (check quorum). */
  lastAckMs: number;
  /** Sent with the next append: FailoverSync's divergent-tail cut (-1 none). */
  truncateAfter: Lsn;
  highestRound: number;
  /** Heartbeat round last sent to it (one append per round at least). */
  highestRoundSent: number;
  storageDurableLsn: Lsn;
  /** Beyond the retention limit: regions changed by updates cleared past its match (region resync). */
  resyncRegions: Set<number> | null;
  /** After a resync-start: the lsn its log restarted after, until it holds everything cleared. */
  catchingUpAfter: Lsn | null;
  /** Pending region transfer to this secondary. */
  regionQueue: Array<{ region: number; after: RegionCursor | undefined; atLsn: Lsn; first: boolean; seq: number }>;
  /** Regions it has resynced (for the failover report). */
  regionsResynced: number;
  /** The incarnation its acknowledgements and reports came from (NONE_HEARD: none yet). */
  incarnation: number;
}

/**
 * No report heard yet in this epoch. Not 0: 0 is a real incarnation (a member initialised for a
 * new cluster, or a hard state of format 1), and a node that later lost data reports 1 or more,
 * which must read as lost data, never as a first report that keeps what was counted for it.
 */
export const NONE_HEARD = -1;

/** A secondary the primary has heard nothing from yet in its epoch: probe from the end of its log. */
export function newProgress(id: NodeId, kind: 'data' | 'witness', nextLsn: Lsn, nowMs: number): Progress {
  return {
    id,
    kind,
    nextLsn,
    matchLsn: 0,
    mode: 'probe',
    inDest: false,
    lastProgressMs: nowMs,
    lastSendMs: -Infinity,
    lastAckMs: -Infinity,
    truncateAfter: -1,
    highestRound: 0,
    highestRoundSent: 0,
    storageDurableLsn: 0,
    resyncRegions: null,
    catchingUpAfter: null,
    regionQueue: [],
    regionsResynced: 0,
    incarnation: NONE_HEARD,
  };
}

/**
 * How a report from `incarnation` relates to what the primary knows of the secondary:
 *  - 'same': judge it as usual;
 *  - 'first': the first report heard in this epoch (nothing to reset: the progress is fresh);
 *  - 'lost-data': a newer incarnation — the secondary lost records it may have acknowledged, so
 *    everything the primary counted for it is void (resetAfterLostData);
 *  - 'stale': sent by an older incarnation (delayed or reordered) — it says nothing true now.
 * Incarnations only grow on a node (docs/protocol.md, "A node that lost data").
 */
export function incarnationVerdict(p: Progress, incarnation: number): 'same' | 'first' | 'lost-data' | 'stale' {
  if (incarnation === p.incarnation) return 'same';
  if (p.incarnation === NONE_HEARD) return 'first';
  return incarnation > p.incarnation ? 'lost-data' : 'stale';
}

/**
 * The secondary lost data: forget where it stood. It is probed from the primary's log end, its
 * next position report decides between shipping and a region resync, and nothing pending for it
 * (a region transfer, a catch-up hold) survives. Dest and the regional counters are the
 * replica's part (Replica.onLostData).
 */
export function resetAfterLostData(p: Progress, incarnation: number, logLast: Lsn, nowMs: number): void {
  p.incarnation = incarnation;
  p.matchLsn = 0;
  p.nextLsn = logLast + 1;
  p.mode = 'probe';
  p.truncateAfter = -1;
  p.storageDurableLsn = 0;
  p.resyncRegions = null;
  p.catchingUpAfter = null;
  p.regionQueue = [];
  p.lastProgressMs = nowMs;
  p.lastSendMs = -Infinity;
}
