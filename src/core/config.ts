// Named limits and timings of the protocol, with their asserted relationships.
// Units last in names (TigerBeetle style). Every default is documented in
// docs/protocol.md and overridable through the node's configuration.
import { assert } from '../lib/assert.ts';
import type { NodeId } from './types.ts';

export interface MemberSpec {
  readonly id: NodeId;
  /** A witness votes and logs update headers but holds no data and never becomes primary. */
  readonly kind: 'data' | 'witness';
}

export interface Timing {
  /** How often the primary sends an append (empty = heartbeat) to every secondary. */
  readonly heartbeatIntervalMs: number;
  /** A secondary that has heard nothing from a primary for this long (plus jitter) stands for election. */
  readonly electionTimeoutMs: number;
  /** Extra random delay in [0, electionJitterMs] per round, so that candidates rarely split votes. */
  readonly electionJitterMs: number;
  /** The read lease is electionTimeoutMs - leaseMarginMs from a majority-confirmed round (clock drift margin). */
  readonly leaseMarginMs: number;
  /** A secondary in dest that acknowledges nothing for this long is left out of dest (if a majority remains). */
  readonly ackTimeoutMs: number;
  /** How long a new primary waits for every member's log position before FailoverSync proceeds with a majority. */
  readonly syncWaitMs: number;
  /** With no progress on a secondary for this long, the primary resends from its last acknowledged lsn. */
  readonly resendAfterMs: number;
  /** A client request not answered within this time fails with a TIMEOUT error (its outcome is unknown). */
  readonly requestTimeoutMs: number;
}

export interface Limits {
  /** Updates sent but not yet acknowledged by a secondary (pipelining window per secondary). */
  readonly maxInFlightPerSecondary: number;
  /** Updates packed into one append message. */
  readonly maxUpdatesPerAppend: number;
  /** Updates retained in the log for a secondary that is behind; beyond, it is marked for region resync. */
  readonly maxRetainedUpdates: number;
  /** The same limit in bytes of updates (as opsBytes counts them). */
  readonly maxRetainedBytes: number;
  /** Client requests waiting at the primary (not yet in an update) before new ones are refused. */
  readonly maxQueuedRequests: number;
  /** Entries per region-resync chunk. */
  readonly regionChunkEntries: number;
  /**
   * Client writes arriving together are gathered into one update up to this many bytes of keys
   * and values (one log record, one storage commit, one acknowledgement for all of them); a
   * single larger write is an update of its own. 1 gives every write its own update.
   */
  readonly maxUpdateBytes: number;
  /**
   * Bytes of updates (as opsBytes counts them) packed into one append message, so that a batch
   * of large updates stays within a peer frame; an append always carries at least one update.
   */
  readonly maxAppendBytes: number;
  /** Largest string a command may build (APPEND, SETRANGE…): Redis's proto-max-bulk-len, limits.maxValueBytes. */
  readonly maxValueBytes: number;
  /**
   * Largest single write (one command, or one EXEC) in opsBytes: what one update, its log record
   * and its peer frame hold. A bigger write is refused with an error before anything is logged.
   */
  readonly maxWriteBytes: number;
}

export const DEFAULT_TIMING: Timing = {
  heartbeatIntervalMs: 50,
  electionTimeoutMs: 300,
  electionJitterMs: 150,
  leaseMarginMs: 60,
  ackTimeoutMs: 600,
  syncWaitMs: 50,
  resendAfterMs: 150,
  requestTimeoutMs: 5000,
};

export const DEFAULT_LIMITS: Limits = {
  maxInFlightPerSecondary: 8192,
  maxUpdatesPerAppend: 1024,
  maxRetainedUpdates: 1_000_000,
  maxRetainedBytes: 1024 * 1024 * 1024,
  maxQueuedRequests: 100_000,
  regionChunkEntries: 1024,
  maxUpdateBytes: 1024 * 1024,
  maxAppendBytes: 4 * 1024 * 1024,
  maxValueBytes: 8 * 1024 * 1024,
  // The log's record limit (16 MiB, MAX_RECORD_BYTES) less 64 KiB for the update's header.
  maxWriteBytes: 16 * 1024 * 1024 - 64 * 1024,
};

export interface CoreConfig {
  readonly self: NodeId;
  readonly members: readonly MemberSpec[];
  readonly timing: Timing;
  readonly limits: Limits;
  /** Seeds the election jitter: deterministic in the simulator, random per process in production. */
  readonly seed: number;
}

/** The relationships that make the protocol safe; checked when a node starts. */
export function validateCoreConfig(c: CoreConfig): void {
  const t = c.timing;
  assert(c.members.some((m) => m.id === c.self), `self ${c.self} is not a member`);
  assert(new Set(c.members.map((m) => m.id)).size === c.members.length, 'member ids must be unique');
  assert(c.members.filter((m) => m.kind === 'data').length >= 1, 'at least one data member');
  assert(t.heartbeatIntervalMs > 0, 'heartbeatIntervalMs > 0');
  assert(t.heartbeatIntervalMs * 2 <= t.electionTimeoutMs, 'electionTimeoutMs must be at least 2 heartbeats');
  assert(t.leaseMarginMs > 0 && t.leaseMarginMs < t.electionTimeoutMs, 'leaseMs = electionTimeoutMs - leaseMarginMs must be > 0');
  assert(t.ackTimeoutMs > t.heartbeatIntervalMs, 'ackTimeoutMs must exceed heartbeatIntervalMs');
  assert(c.limits.maxUpdateBytes >= 1 && c.limits.maxAppendBytes >= c.limits.maxUpdateBytes, 'append bytes ≥ update bytes ≥ 1');
  assert(c.limits.maxValueBytes >= 1 && c.limits.maxWriteBytes >= c.limits.maxValueBytes, 'write bytes ≥ value bytes ≥ 1');
  assert(c.limits.maxUpdatesPerAppend >= 1 && c.limits.maxInFlightPerSecondary >= c.limits.maxUpdatesPerAppend, 'window ≥ batch ≥ 1');
}

/** Append messages in flight to one secondary (beyond its acknowledged point). */
export const MAX_APPENDS_IN_FLIGHT = 32;
/** Appends a secondary holds while an earlier one is late (network reordering); ≥ the above. */
export const MAX_AHEAD_APPENDS = 2 * MAX_APPENDS_IN_FLIGHT;

/**
 * Active expiry runs this often at the primary (Redis's default hz is 10 too): reads already hide
 * expired keys, so this only reclaims space, and running it on every tick cost a few percent of
 * the primary's CPU under load.
 */
export const EXPIRY_INTERVAL_MS = 100;
/** Entries examined per expiry run, across regions (a full pass over N keys takes about N / this runs). */
export const EXPIRY_SCAN_PER_RUN = 1024;

export function majorityOf(n: number): number {
  return Math.floor(n / 2) + 1;
}
