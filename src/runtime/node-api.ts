// What a running node offers to the servers on top of it (RESP, admin HTTP)
// and to programs embedding it. The servers never reach into core state
// except through this.
import type { FailoverSummary } from '../core/failover-sync.ts';
import type { Reply } from '../core/reply.ts';
import type { Epoch, Lsn, NodeId, Update } from '../core/types.ts';
import type { KeyspaceStats } from '../core/kv/keyspace-stats.ts';

export type Role = 'primary' | 'secondary' | 'candidate' | 'witness';

export interface MemberInfo {
  readonly id: NodeId;
  readonly kind: 'data' | 'witness';
  /** host:port where peers reach this member. */
  readonly peerAddr: string;
  /** host:port of its Redis-protocol server (data members only). */
  readonly redisAddr?: string;
  /** host:port of its admin HTTP server. */
  readonly adminAddr?: string;
}

/** Per-secondary replication state, as seen by the primary. */
export interface SecondaryStatus {
  readonly id: NodeId;
  readonly inDest: boolean;
  readonly connection: 'connected' | 'connecting' | 'down';
  readonly sentLsn: Lsn;
  readonly ackedLsn: Lsn;
  readonly lagUpdates: number;
  readonly lagMs: number;
  readonly resyncRegions: number;
  /** The incarnation its reports come from (0: none heard yet); it grows when the node loses data. */
  readonly incarnation: number;
}

/**
 * Set while this node lost data (an empty data directory its peers know, or a cut log tail) and is
 * not refilled yet: it serves no reads and votes only above what the other voters reported.
 */
export interface LostDataStatus {
  /** null while fewer of the other voters than needed have answered. */
  readonly floor: { readonly epoch: Epoch; readonly lastEpoch: Epoch; readonly lastLsn: Lsn } | null;
}

export interface InFlightStatus {
  readonly lsn: Lsn;
  readonly regions: readonly number[];
  /** Claims 7–9: per secondary, sent / received indicators. */
  readonly sent: readonly NodeId[];
  readonly received: readonly NodeId[];
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly epoch: Epoch;
  readonly primaryId: NodeId | null;
  readonly leaseValid: boolean;
  readonly log: {
    readonly start: Lsn;
    readonly nextToClear: Lsn;
    readonly appliedLsn: Lsn;
    readonly commitLsn: Lsn;
    readonly lastLsn: Lsn;
    readonly durableLsn: Lsn;
    readonly bytes: number;
    readonly segments: number;
  };
  readonly secondaries: readonly SecondaryStatus[];
  readonly inFlight: readonly InFlightStatus[];
  /** Claim 26: non-zero regional counters, region → outstanding acknowledgements. */
  readonly regionalCounters: Readonly<Record<number, number>>;
  readonly dirtyRegions: readonly number[];
  /** This node's incarnation (hard state). */
  readonly incarnation: number;
  readonly lostData: LostDataStatus | null;
  readonly keys: number;
  /** INFO keyspace's expires and avg_ttl (with StatusOptions.keyspace). */
  readonly keyspace?: KeyspaceStats;
  readonly digest?: string;
}

/**
 * One record per failover (also a library event and a log line): the new primary's
 * FailoverSummary with the wall-clock time it was made. The two computed fields are optional so
 * that reports kept by older versions still read.
 */
export interface FailoverReport
  extends Omit<FailoverSummary, 'epochStartLsn' | 'committedBefore' | 'acknowledgedWritesLost'>,
    Partial<Pick<FailoverSummary, 'committedBefore' | 'acknowledgedWritesLost'>> {
  readonly at: number; // wall ms
}

export interface NodeEvents {
  role: (role: Role, epoch: Epoch) => void;
  epoch: (epoch: Epoch) => void;
  failover: (report: FailoverReport) => void;
  /** A divergent tail was truncated from this node's log (the fork of hypercore's shape). */
  truncate: (afterLsn: Lsn, epoch: Epoch, removed: number) => void;
  /** This node lost data: it learned where the others stand ('floor'), or it is refilled. */
  lostData: (phase: 'floor' | 'refilled', floor: { epoch: Epoch; lastEpoch: Epoch; lastLsn: Lsn }, lastLsn: Lsn) => void;
  /** Primary: a secondary came back with a newer incarnation (it lost data); its progress was reset. */
  peerLostData: (node: NodeId, incarnation: number, previousIncarnation: number, ackedLsn: Lsn, inDest: boolean) => void;
  committed: (lsn: Lsn) => void;
  /**
   * A data update is in this node's storage area (on the primary once committed, on a secondary
   * once logged): its keys changed here. Keyspace notifications and client tracking follow it.
   */
  applied: (update: Update) => void;
  /** A region's content was replaced in the storage area (a region resync): any key may have changed. */
  replaced: () => void;
  /** A PUBLISH (shard: SPUBLISH) made at another node, for this node's subscribers (peer channel, at most once). */
  publish: (shard: boolean, channel: Buffer, message: Buffer) => void;
  /**
   * Primary: lists and sorted sets that got elements from updates just appended (not yet
   * committed), each key once, in the order written. Wakes clients blocked on those keys.
   */
  written: (keys: readonly Buffer[]) => void;
}

/** What status() computes beyond the cheap fields. */
export interface StatusOptions {
  /** Include the storage area's digest (reads every region whose cached digest is stale). */
  readonly digest?: boolean;
  /** Include keyspace (expires, avg_ttl: a bounded sample of key headers, src/core/kv/keyspace-stats.ts). */
  readonly keyspace?: boolean;
}

export interface NodeHandle {
  readonly id: NodeId;
  readonly members: readonly MemberInfo[];
  role(): Role;
  epoch(): Epoch;
  primaryId(): NodeId | null;
  /**
   * Runs data commands (GET, SET, INCR, …). `cmds` holds one command, or the queued commands
   * of a MULTI/EXEC, which become one atomic update. On the primary, writes answer once
   * committed on every secondary in dest and reads are linearizable; on a secondary, reads
   * come from the local storage area and writes get -READONLY.
   */
  execute(cmds: Buffer[][], cb: (replies: Reply[]) => void): void;
  /** WAIT: resolves with how many secondaries hold every update up to `lsn`, by timeoutMs. */
  waitReplicas(lsn: Lsn, numReplicas: number, timeoutMs: number, cb: (count: number) => void): void;
  /** The lsn of the last write this node accepted (for WAIT). */
  lastLsn(): Lsn;
  status(opts?: StatusOptions): NodeStatus;
  /**
   * Sends a PUBLISH made here to every other data node, whose 'publish' event delivers it there.
   * Not replicated: at most once, as Redis pub/sub is. Absent where there are no peers.
   */
  relayPublish?(shard: boolean, channel: Buffer, message: Buffer): void;
  switchover(to: NodeId | undefined, cb: (err: Error | null) => void): void;
  on<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void;
  off<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void;
  stop(cb: (err: Error | null) => void): void;
}
