// Every message between nodes. Each carries the sender's epoch: a receiver
// rejects anything from an older epoch (fencing) and steps down on a newer one.
import type { RegionItem, EpochStart, Epoch, Lsn, NodeId, Update } from './types.ts';

/**
 * Claim 1's "notification to clear": updates up to clearLsn are held by every configured
 * secondary (or waived for a region resync), so every log may advance its start-of-log
 * pointer (claim 3) and next-to-clear pointer (claim 4) up to it. Piggybacked on appends
 * and heartbeats.
 */
export interface ClearNotice {
  readonly clearLsn: Lsn;
}

/** Primary → secondary: updates to insert (claim 1), or an empty heartbeat. */
export interface AppendMsg {
  readonly t: 'append';
  readonly epoch: Epoch;
  /** The lsn/epoch just before updates[0]: the receiver accepts only if its log matches there. */
  readonly prevLsn: Lsn;
  readonly prevEpoch: Epoch;
  readonly updates: readonly Update[];
  /** Highest lsn committed (acknowledged by all of its dest). */
  readonly commitLsn: Lsn;
  readonly clear: ClearNotice;
  /**
   * FailoverSync / divergent tail: everything after this lsn in the receiver's log is not in
   * the current history and must be truncated before appending. -1 when not set.
   */
  readonly truncateAfter: Lsn;
  /** Heartbeat round, echoed in the ack; the primary's read lease counts confirmed rounds. */
  readonly round: number;
}

/** Secondary → primary: cumulative acknowledgement (claim 1's "acknowledgement"). */
export interface AckMsg {
  readonly t: 'ack';
  readonly epoch: Epoch;
  /** True when the append matched the log; false asks the primary to resend from lastLsn. */
  readonly ok: boolean;
  /** Every update up to here is durable in the sender's log and matches the primary's. */
  readonly ackLsn: Lsn;
  /** The sender's last lsn and its epoch (for the primary to find where logs part). */
  readonly lastLsn: Lsn;
  readonly lastEpoch: Epoch;
  /** The sender's storage area is durable up to here (logs never clear beyond it). */
  readonly storageDurableLsn: Lsn;
  readonly round: number;
  /** The sender's incarnation: a higher one than the primary knew means it lost data (docs/protocol.md). */
  readonly incarnation: number;
}

/**
 * Candidate → voters. A pre-vote (`pre`) asks "would you vote for me in `epoch`?" without
 * anyone changing state: a node cut off from the cluster keeps failing pre-votes, so it never
 * raises its epoch and cannot depose a healthy primary when it returns.
 */
export interface VoteRequestMsg {
  readonly t: 'vote-req';
  readonly epoch: Epoch;
  readonly lastLsn: Lsn;
  readonly lastEpoch: Epoch;
  /** Set by a planned switchover: voters skip the "recently heard from a primary" check. */
  readonly transfer: boolean;
  readonly pre: boolean;
}

export interface VoteMsg {
  readonly t: 'vote';
  readonly epoch: Epoch;
  readonly granted: boolean;
  /** Answer to a pre-vote; `epoch` is then the epoch asked about if granted, the voter's own if refused. */
  readonly pre: boolean;
}

/** New primary → every node (claims 5–6): report where your log stands. */
export interface SyncRequestMsg {
  readonly t: 'sync-req';
  readonly epoch: Epoch;
}

/** The location of the next update in the sender's log, and its epoch history. */
export interface SyncStateMsg {
  readonly t: 'sync-state';
  readonly epoch: Epoch;
  readonly startLsn: Lsn;
  readonly lastLsn: Lsn;
  readonly history: readonly EpochStart[];
  /** The sender's incarnation (as in AckMsg). */
  readonly incarnation: number;
}

/**
 * A node that lost data (docs/protocol.md, "A node that lost data") → every other voter: where
 * do you stand? Answered whatever the epochs; changes nothing at the receiver.
 */
export interface RecoverRequestMsg {
  readonly t: 'recover-req';
  readonly epoch: Epoch;
}

/**
 * The answer: the receiver's epoch and the end of its log. From enough of the other voters, the
 * node that lost data learns an epoch it may have voted in and a log holding every update it may
 * have acknowledged.
 */
export interface RecoverStateMsg {
  readonly t: 'recover-state';
  readonly epoch: Epoch;
  readonly lastLsn: Lsn;
  readonly lastEpoch: Epoch;
}

/** New primary → a secondary ahead of it: send me your updates in [fromLsn, toLsn]. */
export interface PullRequestMsg {
  readonly t: 'pull-req';
  readonly epoch: Epoch;
  readonly fromLsn: Lsn;
  readonly toLsn: Lsn;
}

export interface PullDataMsg {
  readonly t: 'pull-data';
  readonly epoch: Epoch;
  readonly updates: readonly Update[];
  /** True when this message ends the reply to the pull request. */
  readonly done: boolean;
}

/**
 * Secondary → primary: send me the content of these regions (region resync), as of an lsn at
 * least `atLsn` (the point the sender's storage area stands at, so that replaying its log
 * after the install converges).
 */
export interface RegionRequestMsg {
  readonly t: 'region-req';
  readonly epoch: Epoch;
  readonly regions: readonly number[];
  readonly atLsn: Lsn;
  /** Numbers the requests of one secondary; region data echoes it so stale chunks are ignored. */
  readonly seq: number;
}

/**
 * Primary → a secondary whose log lacks updates the primary has already cleared (it was down
 * beyond the retention limit): restart your log empty after `afterLsn` (of `afterEpoch`) and
 * expect these regions' content; keep your storage area's other regions.
 */
export interface ResyncStartMsg {
  readonly t: 'resync-start';
  readonly epoch: Epoch;
  readonly regions: readonly number[];
  readonly afterLsn: Lsn;
  readonly afterEpoch: Epoch;
}

/**
 * One chunk of a region's content, as of the primary's applied lsn `asOfLsn`. Chunks of one
 * transfer are contiguous: each starts right after `afterKey` (null for the first), so a lost,
 * duplicated or reordered chunk is detected and the region asked for again.
 */
export interface RegionDataMsg {
  readonly t: 'region-data';
  readonly epoch: Epoch;
  readonly region: number;
  readonly asOfLsn: Lsn;
  /** The region request this answers (0 for a transfer the primary started with resync-start). */
  readonly seq: number;
  /** Where the previous chunk ended: after the header of afterKey, or after its element afterElem. */
  readonly afterKey: Buffer | null;
  readonly afterElem: Buffer | null;
  readonly first: boolean;
  readonly last: boolean;
  /** The region's item stream from there (src/core/region-content.ts). */
  readonly items: readonly RegionItem[];
}

/** Planned switchover: the primary, drained, tells the chosen secondary to stand now. */
export interface TimeoutNowMsg {
  readonly t: 'timeout-now';
  readonly epoch: Epoch;
}

/**
 * Between data members while no primary is known: a voter that refused a candidate because the
 * candidate's log is behind, and that cannot stand itself (its storage area awaits a region
 * resync), sends the updates the candidate lacks after its last one. The candidate appends them
 * only if its log ends exactly at prevLsn/prevEpoch: two logs with the same epoch at the same lsn
 * hold the same history up to it, so this extends the candidate's log with updates that already
 * exist, made by the primary of their epoch; it changes no epoch and commits nothing.
 */
export interface CatchUpMsg {
  readonly t: 'catch-up';
  readonly epoch: Epoch;
  readonly prevLsn: Lsn;
  readonly prevEpoch: Epoch;
  readonly updates: readonly Update[];
}

/**
 * Any data node → every other data node: a PUBLISH (SPUBLISH when `shard`) made by one of its
 * clients, for the receivers' subscribers. Pub/sub is not replicated state: the host/runtime
 * layer carries and delivers it (the Replica never sees it), at most once, as Redis does; the
 * epoch is the sender's and fences nothing.
 */
export interface PublishMsg {
  readonly t: 'publish';
  readonly epoch: Epoch;
  readonly shard: boolean;
  readonly channel: Buffer;
  readonly message: Buffer;
}

export type Message =
  | AppendMsg
  | AckMsg
  | VoteRequestMsg
  | VoteMsg
  | SyncRequestMsg
  | SyncStateMsg
  | PullRequestMsg
  | PullDataMsg
  | RegionRequestMsg
  | ResyncStartMsg
  | RegionDataMsg
  | TimeoutNowMsg
  | CatchUpMsg
  | RecoverRequestMsg
  | RecoverStateMsg
  | PublishMsg;

export type MessageType = Message['t'];

/** A message with its addressing. */
export interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly msg: Message;
}
