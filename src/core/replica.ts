// THE PROTOCOL: one node of understudy as a deterministic state machine.
//
// Inputs (step): ticks, peer messages, client commands, and completions of the
// host's I/O (log appends made durable, storage made durable). Outputs (ready):
// hard state to persist, log appends/truncation, storage operations, pointer
// clears, messages and client replies — see ready.ts for the order the host
// must follow. No I/O, timers, clock or randomness of its own: the same code
// runs in production and in the simulator, and one seed replays a run.
//
// The claims of US 7,617,369, as they appear below:
//   claim 1   identifySecondaries / stampUpdate (dest), sendUpdates, onAppend (insert in the
//             log, then copy to the storage area on persisted), sendAck, onAck (determine that
//             all acknowledged), sendClearNotice / onClearNotice
//   claim 3–4 clearLog: start-of-log pointer and next-to-clear pointer
//   claim 5–6 FailoverSync: startFailoverSync, onSyncState, finishFailoverSync
//   claim 7–9 Indicators (sent / received), clearableUpTo
//   claim 26  RegionalCounter increment on stamping, decrement per ack
import { assert } from '../lib/assert.ts';
import { Prng } from '../lib/prng.ts';
import { type CoreConfig, majorityOf, validateCoreConfig } from './config.ts';
import { chooseAheadSource, type FailoverSummary, type LogPosition, planShip } from './failover-sync.ts';
import { Indicators } from './indicators.ts';
import { answersNeeded, type Floor, logAtLeast, LostData } from './disk-loss.ts';
import { incarnationVerdict, newProgress, type Progress, resetAfterLostData } from './progress.ts';
import { isWriteCommand } from './kv/command-table.ts';
import { executeBatch, type ExecOptions } from './kv/executor.ts';
import { expiredEvents } from './kv/key-events.ts';
import type { ScriptEngine } from './kv/scripting.ts';
import { LogView, opsBytes } from './log-view.ts';
import type {
  AckMsg,
  AppendMsg,
  CatchUpMsg,
  Message,
  PullDataMsg,
  PullRequestMsg,
  RegionDataMsg,
  RecoverStateMsg,
  RegionRequestMsg,
  ResyncStartMsg,
  SyncStateMsg,
  TimeoutNowMsg,
  VoteMsg,
  VoteRequestMsg,
} from './messages.ts';
import { PendingState } from './pending-state.ts';
import { emptyReady, type Ready, type StorageOp } from './ready.ts';
import { ALL_REGIONS, regionOfKey, regionsOfOps } from './regions.ts';
import { cursorAfter, readRegionChunk, type RegionCursor } from './region-content.ts';
import { RegionalCounter } from './regional-counter.ts';
import { err, type Reply } from './reply.ts';
import type { Epoch, KeyEvent, Lsn, NodeId, Op, Update } from './types.ts';
import type { StateReader } from './state-reader.ts';
import { Overlay } from './kv/overlay.ts';

export type Role = 'primary' | 'secondary' | 'candidate' | 'witness';

export type Input =
  /** Time passes; wallMs is the wall clock, used only to expire keys. */
  | { readonly t: 'tick'; readonly wallMs: number }
  | { readonly t: 'message'; readonly from: NodeId; readonly msg: Message }
  | { readonly t: 'client'; readonly id: number; readonly cmds: readonly Buffer[][]; readonly wallMs: number }
  /** The log holds every update up to lsn durably (lsn's epoch given so a stale completion after a truncation is ignored). */
  | { readonly t: 'persisted'; readonly lsn: Lsn; readonly epoch: Epoch }
  /** The storage area is durable up to lsn. */
  | { readonly t: 'storage-durable'; readonly lsn: Lsn }
  | { readonly t: 'switchover'; readonly id: number; readonly to: NodeId | undefined };

/** What the host recovered from disk when the node starts. */
export interface Recovered {
  readonly epoch: Epoch;
  readonly votedFor: NodeId | null;
  readonly logStart: Lsn;
  /** The log's persisted next-to-clear pointer (claim 4); ≥ logStart. */
  readonly nextToClear: Lsn;
  /** Epoch of the cleared update just before logStart (0 if none). */
  readonly boundaryEpoch: Epoch;
  readonly updates: readonly Update[];
  /** null for a witness (no storage area). */
  readonly storage: StateReader | null;
  readonly storageAppliedLsn: Lsn;
  readonly storageDurableLsn: Lsn;
  readonly dirtyRegions: readonly number[];
  /** This node's incarnation (hard state); its acks and position reports carry it. Default 0. */
  readonly incarnation?: number;
  /** It lost data and has not been refilled (hard state; see disk-loss.ts). Default false. */
  readonly lostData?: boolean;
  /** Recovery cut records up to here that had been cleared (their content is in the storage area); 0 if none. */
  readonly clearedCutTo?: Lsn;
}

interface Waiting {
  readonly id: number;
  readonly replies: readonly Reply[];
  /** The reply leaves once commitLsn ≥ waitLsn. */
  readonly waitLsn: Lsn;
  /** The update this request created (0 if none). */
  readonly lsn: Lsn;
  /** Pure reads additionally need a valid lease at release. */
  readonly needsLease: boolean;
  readonly deadlineMs: number;
}

interface Queued {
  readonly id: number;
  readonly cmds: readonly Buffer[][];
  readonly wallMs: number;
  readonly deadlineMs: number;
}

interface SyncRound {
  readonly startedMs: number;
  readonly states: Map<NodeId, LogPosition>;
  phase: 'collect' | 'pull' | 'ship';
  pullFrom: NodeId | null;
  pullDeadlineMs: number;
  pulled: number;
  epochStartLsn: Lsn;
  readonly shippedTo: Record<NodeId, number>;
  readonly truncated: Record<NodeId, number>;
  readonly oldPrimary: NodeId | null;
  readonly oldEpoch: Epoch;
  readonly detectionMs: number;
  readonly electionMs: number;
  readonly committedBefore: Lsn;
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

const WRITE_ERR_READONLY = "READONLY You can't write against a read only replica.";

/** Mixed into the seed for the generator of command randomness (SPOP…), apart from election jitter. */
const COMMAND_PRNG_SALT = 0x5bd1e995;

export class Replica {
  readonly id: NodeId;
  private readonly cfg: CoreConfig;
  private readonly prng: Prng;
  /** What client commands execute with: SPOP, SRANDMEMBER… draw from the primary's seeded generator. */
  private readonly execOptions: ExecOptions;
  /** A secondary's: scripts may read, their writes get READONLY. */
  private readonly replicaExecOptions: ExecOptions;
  private readonly voters: readonly NodeId[];
  private readonly isWitness: boolean;
  private readonly secondariesAll: readonly NodeId[];

  // --- persistent state (through Ready.hardState and the log) ---
  private epoch: Epoch;
  private votedFor: NodeId | null;
  readonly log: LogView;
  private readonly incarnation: number;
  /** Set while this node lost data and is not refilled yet (disk-loss.ts). */
  private lostData: LostData | null;

  // --- volatile state ---
  private role: Role;
  private primaryId: NodeId | null = null;
  private now = 0;
  /** Log durable up to here (host reported). */
  private durableLsn: Lsn;
  /** Highest lsn known to match the current primary's log (secondary) — applied only up to it. */
  private matchLsn: Lsn = 0;
  private commitLsn: Lsn = 0;
  /** The last clear notice received or computed. */
  private nextToClear: Lsn;
  private storage: StateReader | null;
  /** Highest lsn emitted to the storage area (the host applies before the next step). */
  private storageApplied: Lsn;
  private storageDurable: Lsn;
  private readonly dirty = new Set<number>();
  /** Dirty regions requested from the primary and not yet fully received. */
  private regionRequestSentMs = -Infinity;
  /** Current region transfer: chunks must carry this seq and follow on from the last key installed. */
  private regionSeq = 0;
  private readonly regionCursor = new Map<number, RegionCursor>();
  /** Chunks of the current transfer that arrived before the chunk they continue, by where they start. */
  private readonly regionAhead = new Map<string, RegionDataMsg>();

  // timers
  private lastHeardFromPrimaryMs = 0;
  private electionDeadlineMs = 0;
  private lastRoundMs = -Infinity;
  private votes = new Set<NodeId>();
  private preVotes = new Set<NodeId>();
  /** The epoch a pre-vote round asks about (0: none running). */
  private preVoteEpoch: Epoch = 0;
  /** When this node first stood (pre-vote included) since it last followed a primary. */
  private firstCandidacyMs: number | null = null;
  /** The last primary this node followed, and its epoch (for the failover report). */
  private lastKnownPrimary: NodeId | null = null;
  private lastKnownPrimaryEpoch: Epoch = 0;
  /** The election deadline is set on the first input, when the node first learns the time. */
  private started = false;

  // primary state
  private progress = new Map<NodeId, Progress>();
  private indicators: Indicators;
  private regional = new RegionalCounter();
  private pending: PendingState | null = null;
  /**
   * Client writes executed since the last ready(), gathered into one update that is stamped when
   * the input burst ends (in ready()) or before anything else is stamped. Its lsn is reserved
   * (the log's next), so replies and reads can wait for it; it is atomic like any update.
   */
  private gathered: { readonly lsn: Lsn; readonly ops: Op[]; readonly keyEvents: KeyEvent[]; bytes: number } | null = null;
  private readonly fullyAcked: Lsn[] = [];
  private readonly waiting: Waiting[] = [];
  private readonly queued: Queued[] = [];
  private round = 0;
  private readonly roundSentMs = new Map<number, number>();
  private leaseUntilMs = -Infinity;
  private sync: SyncRound | null = null;
  private switchoverReq: { id: number; to: NodeId; deadlineMs: number; sentTimeoutNow: boolean } | null = null;
  private dest: NodeId[] = [];

  private out: Ready = emptyReady();

  constructor(cfg: CoreConfig, rec: Recovered, env: { readonly scripting?: ScriptEngine } = {}) {
    validateCoreConfig(cfg);
    this.cfg = cfg;
    this.id = cfg.self;
    this.prng = new Prng(cfg.seed);
    // Its own stream, so that commands drawing random numbers leave election jitter unchanged.
    const commandPrng = new Prng(cfg.seed ^ COMMAND_PRNG_SALT);
    this.execOptions = { maxValueBytes: cfg.limits.maxValueBytes, maxWriteBytes: cfg.limits.maxWriteBytes, random: () => commandPrng.float(), scripting: env.scripting };
    this.replicaExecOptions = { ...this.execOptions, replica: true };
    const self = cfg.members.find((m) => m.id === cfg.self)!;
    this.isWitness = self.kind === 'witness';
    this.voters = cfg.members.map((m) => m.id);
    this.secondariesAll = cfg.members.filter((m) => m.id !== cfg.self).map((m) => m.id);
    this.epoch = rec.epoch;
    this.votedFor = rec.votedFor;
    this.log = new LogView(rec.logStart, rec.boundaryEpoch, rec.updates);
    this.durableLsn = this.log.last;
    this.nextToClear = Math.max(rec.nextToClear, rec.logStart);
    this.storage = rec.storage;
    this.storageApplied = rec.storageAppliedLsn;
    this.storageDurable = rec.storageDurableLsn;
    for (const r of rec.dirtyRegions) this.dirty.add(r);
    this.incarnation = rec.incarnation ?? 0;
    this.lostData = rec.lostData ? new LostData(answersNeeded(cfg.members.length)) : null;
    if (this.storage && this.storageApplied > Math.max(this.log.last, rec.clearedCutTo ?? 0)) {
      // Recovery cut records the storage area had applied and that were not known committed (a
      // damaged tail): the regions they changed are unknown, so every region is fetched again.
      // (Records that were cleared are committed: replaying them over the storage area is a no-op.)
      for (const r of ALL_REGIONS) this.dirty.add(r);
      this.out.storage.push({ k: 'dirty', regions: [...ALL_REGIONS] });
      this.out.storage.push({ k: 'set-applied', lsn: this.log.last });
      this.storageApplied = this.log.last;
      this.storageDurable = Math.min(this.storageDurable, this.log.last);
    }
    if (this.storage && this.storageApplied < this.log.start - 1 && this.dirty.size === 0) {
      // The storage area misses updates the log no longer holds (a crash between a log restart
      // and the storage area recording which regions it must fetch): fetch them all.
      for (const r of ALL_REGIONS) this.dirty.add(r);
      this.out.storage.push({ k: 'dirty', regions: [...ALL_REGIONS] });
    }
    assert(this.isWitness || this.storage !== null, 'a data node needs a storage area');
    this.role = this.isWitness ? 'witness' : 'secondary';
    this.indicators = new Indicators(this.secondariesAll);
    this.resetElectionDeadline();
  }

  // ------------------------------------------------------------------ public

  /** Feed one input at monotonic time nowMs. */
  step(nowMs: number, input: Input): void {
    if (nowMs > this.now) this.now = nowMs;
    if (!this.started) {
      // A node (re)starting must wait a full election timeout from now, not from time 0, so
      // that it hears from a live primary before it thinks of standing.
      this.started = true;
      this.lastHeardFromPrimaryMs = this.now;
      this.resetElectionDeadline();
    }
    switch (input.t) {
      case 'tick':
        this.onTick(input.wallMs);
        break;
      case 'message':
        this.onMessage(input.from, input.msg);
        break;
      case 'client':
        this.onClient(input.id, input.cmds, input.wallMs);
        break;
      case 'persisted':
        this.onPersisted(input.lsn, input.epoch);
        break;
      case 'storage-durable':
        if (input.lsn > this.storageDurable) this.storageDurable = input.lsn;
        this.maybeClearOwnLog();
        break;
      case 'switchover':
        // The writes gathered so far go into the log before the hand-over is planned around it.
        this.sealGathered();
        this.onSwitchover(input.id, input.to);
        break;
    }
    this.afterStep();
  }

  /** Take the outputs accumulated since the last call. The host must carry out `storage` before the next step. */
  ready(): Ready {
    this.sealGathered();
    if (this.role === 'primary') this.sendUpdates();
    const r = this.out;
    this.out = emptyReady();
    if (this.pending) this.pending.appliedUpTo(this.storageApplied);
    return r;
  }

  // Observability (read-only; used by status pages and tests).
  get currentRole(): Role {
    return this.role;
  }
  get currentEpoch(): Epoch {
    return this.epoch;
  }
  get currentPrimary(): NodeId | null {
    return this.primaryId;
  }
  get commit(): Lsn {
    return this.commitLsn;
  }
  get durable(): Lsn {
    return this.durableLsn;
  }
  get applied(): Lsn {
    return this.storageApplied;
  }
  get clearPointer(): Lsn {
    return this.nextToClear;
  }
  get destination(): readonly NodeId[] {
    return this.dest;
  }
  get dirtyRegions(): readonly number[] {
    return [...this.dirty].sort((a, b) => a - b);
  }
  leaseValid(): boolean {
    return this.role === 'primary' && this.now < this.leaseUntilMs;
  }
  inFlight(max: number): ReturnType<Indicators['snapshot']> {
    return this.role === 'primary' ? this.indicators.snapshot(max) : [];
  }
  regionalCounters(): Record<number, number> {
    return this.regional.nonZero();
  }
  progressOf(): Array<{ id: NodeId; inDest: boolean; nextLsn: Lsn; matchLsn: Lsn; lastProgressMs: number; resyncRegions: number; waived: boolean; mode: string; incarnation: number }> {
    return [...this.progress.values()].map((p) => ({
      id: p.id,
      inDest: p.inDest,
      nextLsn: p.nextLsn,
      matchLsn: p.matchLsn,
      lastProgressMs: p.lastProgressMs,
      resyncRegions: p.resyncRegions?.size ?? 0,
      waived: p.resyncRegions !== null || p.mode === 'resync' || p.catchingUpAfter !== null,
      mode: p.mode,
      incarnation: Math.max(0, p.incarnation), // NONE_HEARD shows as 0, as the status has always said
    }));
  }
  get nowMs(): number {
    return this.now;
  }
  /** This node's incarnation (hard state). */
  get currentIncarnation(): number {
    return this.incarnation;
  }
  /** Set while this node lost data and is not refilled: what it learned from the others (null floor: still asking). */
  get lostDataState(): { floor: Floor | null } | null {
    return this.lostData ? { floor: this.lostData.floor } : null;
  }

  // ------------------------------------------------------------------ ticks and timers

  private onTick(wallMs: number): void {
    const t = this.cfg.timing;
    if (this.role === 'primary') {
      if (this.now - this.lastExpiryMs >= EXPIRY_INTERVAL_MS) {
        this.lastExpiryMs = this.now;
        this.expireKeys(wallMs);
      }
      if (this.now - this.lastRoundMs >= t.heartbeatIntervalMs) {
        this.startRound();
        // FailoverSync's position requests may be lost: ask again whoever has not answered.
        const s = this.sync;
        if (s && s.phase === 'collect') for (const id of this.secondariesAll) if (!s.states.has(id)) this.send(id, { t: 'sync-req', epoch: this.epoch });
      }
      // Check quorum: a primary that has heard from no majority for a whole election timeout
      // steps down (by receipt time, so that a burst that delays acks does not depose a healthy
      // primary; the read lease, which safety rests on, counts confirmed rounds instead).
      let heard = 1;
      for (const p of this.progress.values()) if (this.now - p.lastAckMs <= t.electionTimeoutMs) heard++;
      if (heard < majorityOf(this.voters.length) && this.now - this.becamePrimaryMs > t.electionTimeoutMs) {
        this.stepDown(null);
        return;
      }
      this.checkAckTimeouts();
      this.progressSync();
      this.progressSwitchover();
      this.expireRequests();
      this.releaseWaiting();
      return;
    }
    this.expireRequests();
    this.askWhereOthersStand();
    if (!this.isWitness && this.now >= this.electionDeadlineMs && this.eligibleToStand()) {
      this.startPreVote();
    } else if (this.now >= this.electionDeadlineMs) {
      this.resetElectionDeadline();
    }
    // A secondary with dirty regions keeps asking for them until they arrive.
    if (this.dirty.size > 0 && this.primaryId && this.now - this.regionRequestSentMs > this.cfg.timing.electionTimeoutMs) {
      this.requestDirtyRegions();
    }
  }

  /**
   * Active expiry: the primary alone decides that a key has expired and replicates a delete, so
   * replicas never diverge on time. A few entries are examined per tick, walking the regions
   * round-robin; reads already treat expired keys as absent everywhere.
   */
  private expireKeys(wallMs: number): void {
    if (!this.pending || (this.sync && this.sync.phase !== 'ship') || this.switchoverReq) return;
    const c = this.expiryCursor;
    const expired: Buffer[] = [];
    // Up to EXPIRY_SCAN_PER_RUN entries, across as many regions as that takes (a small store is
    // walked whole in one run), visiting each region at most once per run.
    let budget = EXPIRY_SCAN_PER_RUN;
    for (let visited = 0; budget > 0 && visited < ALL_REGIONS.length; visited++) {
      const entries = this.pending.regionEntries(c.region, c.afterKey, budget);
      budget -= entries.length;
      for (const [k, e] of entries) if (e.expireAtMs !== 0 && e.expireAtMs <= wallMs) expired.push(k);
      if (budget > 0) {
        c.region = (c.region + 1) % ALL_REGIONS.length;
        c.afterKey = undefined;
      } else c.afterKey = entries[entries.length - 1]![0];
    }
    if (expired.length === 0) return;
    const dels = expired.map((key) => ({ k: 'del' as const, key }));
    const u = this.stamp('data', dels, expiredEvents(dels));
    this.pending.record(u.lsn, u.ops);
  }

  private lastExpiryMs = -Infinity;
  private readonly expiryCursor: { region: number; afterKey: Buffer | undefined } = { region: 0, afterKey: undefined };

  private resetElectionDeadline(): void {
    const t = this.cfg.timing;
    this.electionDeadlineMs = this.now + t.electionTimeoutMs + this.prng.int(0, t.electionJitterMs);
  }

  private eligibleToStand(): boolean {
    // A node whose storage area is being repaired, or that lost data and is not refilled, must
    // not become primary; a lone data member with no other voter elects itself at once.
    return !this.isWitness && this.dirty.size === 0 && this.lostData === null;
  }

  // ------------------------------------------------------------------ a node that lost data (disk-loss.ts)

  /** Until enough of the other voters answered, ask them where they stand (every resend interval). */
  private askWhereOthersStand(): void {
    const l = this.lostData;
    if (!l || l.floor || this.now - l.lastAskMs < this.cfg.timing.resendAfterMs) return;
    l.lastAskMs = this.now;
    for (const v of this.voters) if (v !== this.id) this.send(v, { t: 'recover-req', epoch: this.epoch });
  }

  private onRecoverState(from: NodeId, m: RecoverStateMsg): void {
    const floor = this.lostData?.answer(from, m, this.kindOf(from) === 'witness');
    if (floor) this.learnedFloor(floor);
  }

  /**
   * The others told us an epoch we may have voted in before the loss: never vote in it or below
   * (as if we had voted for ourselves there). A primary of an older epoch is fenced by this, and
   * the cluster elects in a newer one; that costs an election only when some node knows an epoch
   * above the primary's.
   */
  private learnedFloor(f: Floor): void {
    this.out.events.push({ t: 'lost-data', phase: 'floor', floorEpoch: f.epoch, floorLastEpoch: f.lastEpoch, floorLastLsn: f.lastLsn, lastLsn: this.log.last });
    if (f.epoch > this.epoch) {
      const wasPrimaryKnown = this.primaryId !== null;
      this.epoch = f.epoch;
      this.votedFor = this.id;
      this.lastAckRound = 0;
      this.persistHardState();
      if (wasPrimaryKnown) {
        this.primaryId = null;
        this.matchLsn = 0;
        this.emitRole();
      }
    }
    this.maybeRefilled();
  }

  /** Refilled: the log holds what the others reported and the storage area every region. */
  private maybeRefilled(): void {
    const l = this.lostData;
    if (!l || this.dirty.size > 0 || !l.refilledBy({ lastEpoch: this.log.lastEpoch, lastLsn: this.log.last }) || this.durableLsn < this.log.last) return;
    this.lostData = null;
    this.persistHardState();
    this.out.events.push({ t: 'lost-data', phase: 'refilled', floorEpoch: l.floor!.epoch, floorLastEpoch: l.floor!.lastEpoch, floorLastLsn: l.floor!.lastLsn, lastLsn: this.log.last });
  }

  // ------------------------------------------------------------------ election

  /**
   * Pre-vote first (Raft §9.6): ask whether a majority would vote for us in epoch + 1, changing
   * nothing anywhere. Only if it would does the real election raise the epoch. A node cut off
   * from the majority keeps failing pre-votes, so it never raises its epoch and cannot depose a
   * healthy primary when it comes back. A planned switchover skips it.
   */
  private startPreVote(): void {
    if (this.firstCandidacyMs === null) this.firstCandidacyMs = this.now;
    this.preVotes = new Set([this.id]);
    this.preVoteEpoch = this.epoch + 1;
    this.resetElectionDeadline();
    const req: VoteRequestMsg = { t: 'vote-req', epoch: this.epoch + 1, lastLsn: this.log.last, lastEpoch: this.log.lastEpoch, transfer: false, pre: true };
    for (const v of this.voters) if (v !== this.id) this.send(v, req);
    if (this.preVotes.size >= majorityOf(this.voters.length)) this.startElection(false);
  }

  private startElection(transfer: boolean): void {
    if (this.firstCandidacyMs === null) this.firstCandidacyMs = this.now;
    this.preVoteEpoch = 0;
    this.becomeFollowerState();
    this.role = 'candidate';
    this.epoch += 1;
    this.votedFor = this.id;
    this.primaryId = null;
    this.votes = new Set([this.id]);
    this.persistHardState();
    this.emitRole();
    this.resetElectionDeadline();
    const req: VoteRequestMsg = { t: 'vote-req', epoch: this.epoch, lastLsn: this.log.last, lastEpoch: this.log.lastEpoch, transfer, pre: false };
    for (const v of this.voters) if (v !== this.id) this.send(v, req);
    this.maybeWinElection();
  }

  /** Would a vote go to a candidate with this log? (at least as up to date as ours, and, after a loss of data, as the floor) */
  private logUpToDate(lastEpoch: Epoch, lastLsn: Lsn): boolean {
    if (this.lostData && !this.lostData.allowsVoteFor({ lastEpoch, lastLsn })) return false;
    return logAtLeast({ lastEpoch, lastLsn }, { lastEpoch: this.log.lastEpoch, lastLsn: this.log.last });
  }

  private onVoteRequest(from: NodeId, m: VoteRequestMsg): void {
    // Stickiness: while this node hears from a live primary (or is one, with its lease) it
    // refuses candidates, without adopting their epoch. This is what makes the primary's read
    // lease safe, and keeps a returning node from disrupting a healthy cluster.
    const heardRecently = this.primaryId !== null && this.primaryId !== this.id && this.now - this.lastHeardFromPrimaryMs < this.cfg.timing.electionTimeoutMs;
    const selfLeased = this.role === 'primary' && this.leaseValid();
    const sticky = !m.transfer && (heardRecently || selfLeased);
    if (!sticky && !this.logUpToDate(m.lastEpoch, m.lastLsn)) this.offerCatchUp(from, m);
    if (m.pre) {
      const granted = !sticky && m.epoch > this.epoch && this.logUpToDate(m.lastEpoch, m.lastLsn);
      // A refusal carries our own epoch (Raft's pre-vote rule): a candidate behind it adopts it.
      // Nothing else tells it, and when its log is the only one the others would vote for (one
      // of them lost data, the other's log is behind) it would ask in our epoch forever.
      this.send(from, { t: 'vote', epoch: granted ? m.epoch : this.epoch, granted, pre: true });
      return;
    }
    if (m.epoch < this.epoch) {
      this.send(from, { t: 'vote', epoch: this.epoch, granted: false, pre: false });
      return;
    }
    if (sticky && m.epoch > this.epoch) return;
    if (m.epoch > this.epoch) this.adoptEpoch(m.epoch, null);
    const granted = this.logUpToDate(m.lastEpoch, m.lastLsn) && (this.votedFor === null || this.votedFor === from);
    if (granted && this.votedFor !== from) {
      this.votedFor = from;
      this.persistHardState();
    }
    if (granted) this.resetElectionDeadline();
    this.send(from, { t: 'vote', epoch: this.epoch, granted, pre: false });
  }

  /**
   * A candidate whose log is behind ours cannot win our vote; if we cannot stand either (our
   * storage area awaits a region resync, and a resync needs a primary), nobody might ever be
   * elected. Send it what it lacks after its last update, when that update is in our log, so
   * that its next request carries our position (see CatchUpMsg for why this is safe).
   */
  private offerCatchUp(to: NodeId, m: VoteRequestMsg): void {
    if (this.isWitness || this.eligibleToStand() || m.lastLsn >= this.log.last) return;
    if (m.lastLsn < this.log.start - 1 || this.log.epochAt(m.lastLsn) !== m.lastEpoch) return;
    const updates = this.batchOf(m.lastLsn + 1, this.log.last);
    if (updates.length === 0) return;
    this.send(to, { t: 'catch-up', epoch: this.epoch, prevLsn: m.lastLsn, prevEpoch: m.lastEpoch, updates });
  }

  /** Extends our log with updates offered by a voter (CatchUpMsg), when no primary leads us. */
  private onCatchUp(m: CatchUpMsg): void {
    if (this.role === 'primary' || this.isWitness) return;
    if (this.primaryId !== null && this.now - this.lastHeardFromPrimaryMs < this.cfg.timing.electionTimeoutMs) return;
    if (m.prevLsn !== this.log.last || this.log.lastEpoch !== m.prevEpoch) return;
    for (const u of m.updates) {
      if (u.lsn !== this.log.last + 1 || u.epoch < this.log.lastEpoch) break;
      this.log.append(u);
      this.out.appends.push(u);
    }
  }

  private onVote(from: NodeId, m: VoteMsg): void {
    if (m.pre) {
      if (!m.granted || m.epoch !== this.preVoteEpoch || this.role === 'primary' || this.epoch + 1 !== m.epoch) return;
      this.preVotes.add(from);
      if (this.preVotes.size >= majorityOf(this.voters.length)) this.startElection(false);
      return;
    }
    if (this.role !== 'candidate' || m.epoch !== this.epoch || !m.granted) return;
    this.votes.add(from);
    this.maybeWinElection();
  }

  private maybeWinElection(): void {
    if (this.role !== 'candidate' || this.votes.size < majorityOf(this.voters.length)) return;
    this.becomePrimary();
  }

  // ------------------------------------------------------------------ becoming primary: FailoverSync (claims 5–6)

  private becamePrimaryMs = 0;

  private becomePrimary(): void {
    this.role = 'primary';
    this.preVoteEpoch = 0;
    this.primaryId = this.id;
    this.becamePrimaryMs = this.now;
    this.leaseUntilMs = -Infinity;
    this.roundSentMs.clear();
    this.round = 0;
    this.lastRoundMs = -Infinity;
    this.regional.reset();
    this.fullyAcked.length = 0;
    this.indicators = new Indicators(this.secondariesAll);
    // Track from the last clear notice on: updates after it may still be missing somewhere
    // (a secondary that did not report), so they may be cleared only once every secondary acks.
    for (let l = Math.max(this.log.start, this.nextToClear); l <= this.log.last; l++) this.indicators.add(l, this.log.get(l)!.regions);
    this.pending = this.storage ? new PendingState(this.storage) : null;
    // Everything in our log becomes part of the new history; apply it so the pending view starts
    // from the storage area. (Updates are idempotent final values.)
    this.applyUpTo(this.durableLsn);
    this.progress.clear();
    for (const m of this.cfg.members) {
      if (m.id === this.id) continue;
      this.progress.set(m.id, newProgress(m.id, m.kind, this.log.last + 1, this.now));
    }
    this.dest = [];
    const states = new Map<NodeId, LogPosition>();
    states.set(this.id, this.position());
    this.sync = {
      startedMs: this.now,
      states,
      phase: 'collect',
      pullFrom: null,
      pullDeadlineMs: 0,
      pulled: 0,
      epochStartLsn: 0,
      shippedTo: {},
      truncated: {},
      oldPrimary: this.lastKnownPrimary,
      oldEpoch: this.lastKnownPrimaryEpoch,
      detectionMs: Math.max(0, (this.firstCandidacyMs ?? this.now) - this.lastHeardFromPrimaryMs),
      electionMs: this.now - (this.firstCandidacyMs ?? this.now),
      committedBefore: this.commitLsn,
    };
    this.emitRole();
    for (const s of this.secondariesAll) this.send(s, { t: 'sync-req', epoch: this.epoch });
    this.startRound();
    this.progressSync();
  }

  private position(): LogPosition {
    return { startLsn: this.log.start, lastLsn: this.log.last, history: this.log.history() };
  }

  private onSyncRequest(from: NodeId, epoch: Epoch): void {
    this.followPrimary(from, epoch);
    this.send(from, this.syncState());
  }

  private onSyncState(from: NodeId, m: SyncStateMsg): void {
    if (this.role !== 'primary') return;
    const pos: LogPosition = { startLsn: m.startLsn, lastLsn: m.lastLsn, history: m.history };
    const known = this.progress.get(from);
    if (known && !this.heardFrom(known, m.incarnation)) return;
    if (this.sync && this.sync.phase !== 'ship') {
      this.sync.states.set(from, pos);
      this.progressSync();
      return;
    }
    // After FailoverSync (or outside it): a secondary reports that its log does not match.
    const p = this.progress.get(from);
    // A report older than what it has since acknowledged (delayed or reordered) is stale.
    if (p && pos.lastLsn >= p.matchLsn) this.planSecondary(p, pos, null);
  }

  /** Advances FailoverSync: collect positions, pull from a log ahead of ours, then ship. */
  private progressSync(): void {
    const s = this.sync;
    if (!s || s.phase === 'ship') return;
    if (s.phase === 'collect') {
      const reported = s.states.size;
      const all = reported === this.voters.length;
      const majority = reported >= majorityOf(this.voters.length);
      if (!majority || (!all && this.now - s.startedMs < this.cfg.timing.syncWaitMs)) return;
      const self = this.position();
      const ahead = chooseAheadSource(self, s.states, (id) => id !== this.id && this.kindOf(id) === 'data');
      if (ahead) {
        s.phase = 'pull';
        s.pullFrom = ahead.id;
        s.pullDeadlineMs = this.now + this.cfg.timing.syncWaitMs * 4;
        const req: PullRequestMsg = { t: 'pull-req', epoch: this.epoch, fromLsn: this.log.last + 1, toLsn: ahead.toLsn };
        this.send(ahead.id, req);
        return;
      }
      this.finishFailoverSync();
      return;
    }
    if (s.phase === 'pull' && this.now >= s.pullDeadlineMs) {
      // The source went quiet: what it had beyond us was never committed, so we may go on without it.
      this.finishFailoverSync();
    }
  }

  private onPullRequest(from: NodeId, m: PullRequestMsg): void {
    if (m.epoch !== this.epoch || from !== this.primaryId) return;
    let l = m.fromLsn;
    do {
      const chunk = this.batchOf(l, m.toLsn);
      l += chunk.length;
      const done = chunk.length === 0 || l > m.toLsn;
      const msg: PullDataMsg = { t: 'pull-data', epoch: this.epoch, updates: chunk, done };
      this.send(from, msg);
      if (done) break;
    } while (l <= m.toLsn);
  }

  private onPullData(from: NodeId, m: PullDataMsg): void {
    const s = this.sync;
    if (this.role !== 'primary' || !s || s.phase !== 'pull' || s.pullFrom !== from) return;
    for (const u of m.updates) {
      if (u.lsn !== this.log.last + 1) break;
      assert(u.epoch < this.epoch, 'pulled update from the current epoch');
      this.appendLocal(u, false);
      s.pulled++;
    }
    if (m.done) this.finishFailoverSync();
  }

  /** Claims 5–6: every secondary gets exactly the updates it lacks; then the new epoch starts. */
  private finishFailoverSync(): void {
    const s = this.sync!;
    s.phase = 'ship';
    const dest: NodeId[] = [];
    for (const [id, pos] of s.states) {
      if (id === this.id) continue;
      const p = this.progress.get(id)!;
      this.planSecondary(p, pos, s);
      if (p.mode === 'replicate') dest.push(id);
    }
    // Dest + primary must be a majority of the voting members (they are: a majority reported,
    // and anyone needing a resync is left out only if a majority remains; otherwise it waits).
    this.dest = this.fitDest(dest);
    for (const id of this.dest) this.progress.get(id)!.inDest = true;
    const u = this.stamp('epoch-start', []);
    s.epochStartLsn = u.lsn;
    // Writes that queued during the election and FailoverSync can go now: they are ordered after
    // the epoch-start update, so they commit only once everything before it has.
    this.drainQueued();
  }

  private fitDest(candidates: NodeId[]): NodeId[] {
    const need = majorityOf(this.voters.length) - 1;
    if (candidates.length >= need) return candidates;
    // Not enough converged secondaries yet: include secondaries still converging; writes will wait.
    const extra = [...this.progress.values()].filter((p) => !candidates.includes(p.id) && p.mode !== 'probe').map((p) => p.id);
    return [...candidates, ...extra];
  }

  /** Decide how to bring one secondary in line with our log, from its reported position. */
  private planSecondary(p: Progress, pos: LogPosition, s: SyncRound | null): void {
    const plan = planShip(this.position(), pos);
    if (plan.needsResync) {
      this.startResync(p);
      return;
    }
    // During FailoverSync the position is fresh: stream at once. Outside it, a mismatch report may
    // be one of many caused by reordered appends; probing (one append in flight until it is
    // acknowledged, as Raft's probe state) keeps such reports from turning into a resend storm.
    p.mode = s ? 'replicate' : 'probe';
    p.nextLsn = plan.match + 1;
    p.matchLsn = Math.min(p.matchLsn, plan.match);
    p.truncateAfter = plan.truncate > 0 ? plan.match : -1;
    p.lastProgressMs = this.now;
    p.lastSendMs = -Infinity;
    // It lacks updates already cleared (a previous primary waived it): hold our log for it.
    if (plan.match < this.nextToClear - 1) p.catchingUpAfter = plan.match;
    if (s) {
      s.shippedTo[p.id] = plan.ship;
      s.truncated[p.id] = plan.truncate;
    }
  }

  // ------------------------------------------------------------------ client commands

  private onClient(id: number, cmds: readonly Buffer[][], wallMs: number): void {
    const names = cmds.map((c) => (c[0] ? c[0].toString('latin1').toLowerCase() : ''));
    const writes = names.some((n) => isWriteCommand(n));
    if (this.role !== 'primary') {
      if (writes || this.isWitness) {
        const msg = this.isWitness ? 'ERR this node is a witness and holds no data' : WRITE_ERR_READONLY;
        this.reply(id, cmds.map(() => err(msg)), 0);
        return;
      }
      // A node that lost data answers nothing from its (partial) storage area until refilled.
      if (this.lostData) {
        this.reply(id, cmds.map(() => err('LOADING this node lost its data and is being refilled from the primary, try another replica or the primary')), 0);
        return;
      }
      // A secondary's reads show a prefix of its own log (possibly not yet committed).
      const blocked = this.keysInDirtyRegions(cmds);
      if (blocked) {
        this.reply(id, cmds.map(() => err('LOADING region resync in progress, try another replica or the primary')), 0);
        return;
      }
      const res = executeBatch(cmds, this.storage!, wallMs, this.replicaExecOptions);
      this.reply(id, res.replies, 0);
      return;
    }
    if (this.sync && this.sync.phase !== 'ship') {
      this.enqueue(id, cmds, wallMs);
      return;
    }
    if (this.switchoverReq || this.queued.length > 0) {
      this.enqueue(id, cmds, wallMs);
      return;
    }
    this.execute(id, cmds, wallMs, writes);
  }

  private enqueue(id: number, cmds: readonly Buffer[][], wallMs: number): void {
    if (this.queued.length >= this.cfg.limits.maxQueuedRequests) {
      this.reply(id, cmds.map(() => err('TRYAGAIN too many requests waiting for failover to finish (limits.maxQueuedRequests)')), 0);
      return;
    }
    this.queued.push({ id, cmds, wallMs, deadlineMs: this.now + this.cfg.timing.requestTimeoutMs });
  }

  private drainQueued(): void {
    while (this.queued.length > 0 && this.role === 'primary' && !this.switchoverReq && !(this.sync && this.sync.phase !== 'ship')) {
      const q = this.queued.shift()!;
      const writes = q.cmds.some((c) => isWriteCommand(c[0] ? c[0].toString('latin1').toLowerCase() : ''));
      this.execute(q.id, q.cmds, q.wallMs, writes);
    }
  }

  /** Execute against the latest state (committed + pending); the reply waits for the commit. */
  private execute(id: number, cmds: readonly Buffer[][], wallMs: number, writes: boolean): void {
    const res = executeBatch(cmds, this.pending!, wallMs, this.execOptions);
    let lsn = 0;
    if (res.ops.length > 0) {
      const bytes = opsBytes(res.ops);
      // A write that would take the gathered update past its size limit starts the next one.
      if (this.gathered && this.gathered.bytes + bytes > this.cfg.limits.maxUpdateBytes) this.sealGathered();
      this.gathered ??= { lsn: this.log.last + 1, ops: [], keyEvents: [], bytes: 0 };
      const g = this.gathered;
      for (const e of res.keyEvents) g.keyEvents.push({ event: e.event, op: g.ops.length + e.op });
      for (const op of res.ops) g.ops.push(op);
      g.bytes += bytes;
      this.pending!.record(g.lsn, res.ops);
      lsn = g.lsn;
      // A full update goes into the log now (with maxUpdateBytes = 1, every write is its own).
      if (g.bytes >= this.cfg.limits.maxUpdateBytes) this.sealGathered();
    }
    this.waiting.push({
      id,
      replies: res.replies,
      // What it read or wrote includes every write gathered so far: it waits for their update too.
      waitLsn: lsn !== 0 ? lsn : this.gathered ? this.gathered.lsn : this.log.last,
      lsn,
      needsLease: !writes || lsn === 0,
      deadlineMs: this.now + this.cfg.timing.requestTimeoutMs,
    });
  }

  private keysInDirtyRegions(cmds: readonly Buffer[][]): boolean {
    if (this.dirty.size === 0) return false;
    for (const c of cmds) for (const a of c.slice(1)) if (this.dirty.has(regionOfKey(a))) return true;
    return false;
  }

  private reply(id: number, replies: readonly Reply[], lsn: Lsn): void {
    this.out.replies.push({ id, replies, lsn });
  }

  private releaseWaiting(): void {
    if (this.role !== 'primary') return;
    const lease = this.leaseValid();
    let n = 0;
    for (const w of this.waiting) {
      if (w.waitLsn > this.commitLsn) break;
      if (w.needsLease && !lease) break;
      this.reply(w.id, w.replies, w.lsn);
      n++;
    }
    if (n > 0) this.waiting.splice(0, n);
  }

  private expireRequests(): void {
    const fail = (id: number, n: number): void =>
      this.reply(id, Array.from({ length: n }, () => err('TIMEOUT the write was not confirmed in time; its outcome is unknown (timing.requestTimeoutMs)')), 0);
    while (this.queued.length > 0 && this.queued[0]!.deadlineMs <= this.now) {
      const q = this.queued.shift()!;
      fail(q.id, q.cmds.length);
    }
    while (this.waiting.length > 0 && this.waiting[0]!.deadlineMs <= this.now) {
      const w = this.waiting.shift()!;
      fail(w.id, w.replies.length);
    }
  }

  // ------------------------------------------------------------------ primary: stamping and sending (claim 1)

  /** Claim 1: identify the secondaries (dest) and stamp the update with lsn and epoch. */
  private stamp(kind: Update['kind'], ops: Update['ops'], keyEvents: readonly KeyEvent[] = []): Update {
    // The gathered client writes were executed first: they take the lsn reserved for them.
    this.sealGathered();
    const regions = kind === 'data' ? regionsOfOps(ops) : [];
    const u: Update = { lsn: this.log.last + 1, epoch: this.epoch, dest: [...this.dest], kind, ops, regions, ...(keyEvents.length > 0 ? { keyEvents } : {}) };
    this.appendLocal(u, true);
    return u;
  }

  /** Stamps the gathered client writes as one update (claim 1), at the lsn they were promised. */
  private sealGathered(): void {
    const g = this.gathered;
    if (!g) return;
    this.gathered = null;
    const u = this.stamp('data', g.ops, g.keyEvents);
    assert(u.lsn === g.lsn, () => `gathered writes promised lsn ${g.lsn}, stamped at ${u.lsn}`);
  }

  /** Insert into our own log and start tracking acknowledgements (claims 7 and 26). */
  private appendLocal(u: Update, track: boolean): void {
    this.log.append(u);
    this.out.appends.push(u);
    this.indicators.add(u.lsn, u.regions);
    if (track) {
      // Claim 26: increment the regional counters by the number of secondaries it is sent to.
      if (this.regional.increment(u.lsn, u.regions, u.dest)) this.fullyAcked.push(u.lsn);
    }
  }

  /** Claim 1: send the updates to the secondaries (one batched append per secondary). */
  private sendUpdates(): void {
    const lim = this.cfg.limits;
    const t = this.cfg.timing;
    for (const p of this.progress.values()) {
      if (p.regionQueue.length > 0) this.sendRegionChunks(p);
      if (p.mode === 'resync') continue;
      const heartbeatDue = p.highestRoundSent < this.round;
      if (p.mode === 'probe') {
        // One append in flight: a batch from where we believe it stands (empty if it has all).
        if (heartbeatDue || this.now - p.lastSendMs >= t.resendAfterMs) {
          const from = Math.min(p.nextLsn, this.log.last + 1);
          if (this.sendAppend(p, from, Math.min(this.log.last, from + lim.maxUpdatesPerAppend - 1))) p.nextLsn = from;
        }
        continue;
      }
      // replicate: stream what the window allows (in updates, and in append messages, so that a
      // secondary catching up with small batches is not flooded beyond what it can reorder)
      const window = Math.min(lim.maxInFlightPerSecondary, lim.maxUpdatesPerAppend * MAX_APPENDS_IN_FLIGHT);
      let sent = false;
      while (p.nextLsn <= this.log.last && p.nextLsn - p.matchLsn - 1 < window) {
        const to = Math.min(this.log.last, p.nextLsn + lim.maxUpdatesPerAppend - 1, p.matchLsn + window);
        const before = p.nextLsn;
        if (!this.sendAppend(p, p.nextLsn, to)) break;
        sent = true;
        assert(p.nextLsn > before, () => `replicating to ${p.id}: no progress at lsn ${before} (log ${this.log.start}..${this.log.last})`);
      }
      if (!sent && heartbeatDue) this.sendAppend(p, p.nextLsn, p.nextLsn - 1);
    }
  }

  /**
   * The updates from `from` on (up to `to`) that one message carries: at most maxUpdatesPerAppend,
   * and within maxAppendBytes so the frame fits (at least one update, whatever its size).
   */
  private batchOf(from: Lsn, to: Lsn): Update[] {
    return this.log.range(from, to, this.cfg.limits.maxUpdatesPerAppend, this.cfg.limits.maxAppendBytes);
  }

  /** Sends updates [from, to] (empty when to < from: a heartbeat/probe). Returns false if resync is needed. */
  private sendAppend(p: Progress, from: Lsn, to: Lsn): boolean {
    const prevLsn = from - 1;
    const prevEpoch = this.log.epochAt(prevLsn);
    if (prevEpoch === undefined) {
      // We no longer hold what it would need next. Do not guess: probe at our end and let its
      // reported position (sync-state) decide between shipping and a region resync.
      p.mode = 'probe';
      p.nextLsn = this.log.last + 1;
      return false;
    }
    let updates = this.batchOf(from, to);
    if (p.kind === 'witness') updates = updates.map(stripForWitness);
    const msg: AppendMsg = {
      t: 'append',
      epoch: this.epoch,
      prevLsn,
      prevEpoch,
      updates,
      commitLsn: this.commitLsn,
      clear: { clearLsn: this.nextToClear - 1 },
      truncateAfter: p.truncateAfter,
      round: this.round,
    };
    this.send(p.id, msg);
    p.truncateAfter = -1;
    p.lastSendMs = this.now;
    p.highestRoundSent = this.round;
    if (updates.length > 0) {
      // Claim 7: the sent indicator of each update for this secondary.
      this.indicators.setSent(p.id, from, from + updates.length - 1);
      p.nextLsn = from + updates.length;
    }
    return true;
  }

  private startRound(): void {
    this.round++;
    this.roundSentMs.set(this.round, this.now);
    this.lastRoundMs = this.now;
    // Keep only rounds that can still matter for the lease.
    for (const r of this.roundSentMs.keys()) {
      if (r < this.round - 64) this.roundSentMs.delete(r);
      else break;
    }
    // A lone voter is its own majority: the round is confirmed as it starts. (Otherwise the lease
    // is renewed by acknowledgements, and with nobody to acknowledge every read timed out.)
    if (this.voters.length === 1) this.updateLease();
  }

  /** The send time of the newest round a majority (counting us) has confirmed. */
  private latestConfirmedRoundMs(): number {
    const rounds = [this.round, ...[...this.progress.values()].map((p) => p.highestRound)].sort((a, b) => b - a);
    const r = rounds[majorityOf(this.voters.length) - 1] ?? 0;
    return this.roundSentMs.get(r) ?? -Infinity;
  }

  private updateLease(): void {
    const t = this.cfg.timing;
    const confirmed = this.latestConfirmedRoundMs();
    this.leaseUntilMs = confirmed + t.electionTimeoutMs - t.leaseMarginMs;
  }

  // ------------------------------------------------------------------ primary: acknowledgements (claims 1, 8, 26)

  private onAck(from: NodeId, m: AckMsg): void {
    if (this.role !== 'primary' || m.epoch !== this.epoch) return;
    const p = this.progress.get(from);
    if (!p || !this.heardFrom(p, m.incarnation)) return;
    p.lastAckMs = this.now;
    if (m.round > p.highestRound && m.round <= this.round) {
      p.highestRound = m.round;
      this.updateLease();
    }
    p.storageDurableLsn = Math.max(p.storageDurableLsn, m.storageDurableLsn);
    if (!m.ok) {
      // It could not take our append (gap): resend from what it has.
      if (p.mode === 'replicate') {
        p.nextLsn = Math.min(p.nextLsn, m.lastLsn + 1, this.log.last + 1);
        p.nextLsn = Math.max(p.nextLsn, p.matchLsn + 1);
      }
      return;
    }
    // Leave probing only on an acknowledgement that covers the probe's starting point: an older
    // ack still in flight says nothing about where the secondary stands now.
    if (p.mode === 'probe' && m.ackLsn >= p.nextLsn - 1) {
      p.mode = 'replicate';
      p.nextLsn = Math.max(p.nextLsn, m.ackLsn + 1);
    }
    if (m.ackLsn > p.matchLsn) {
      const from_ = p.matchLsn + 1;
      const to = Math.min(m.ackLsn, this.log.last);
      // Claim 8: received indicators; claim 26: decrement the regional counters.
      this.indicators.setReceived(from, from_, to);
      for (let l = from_; l <= to; l++) if (this.regional.decrement(l, from)) this.fullyAcked.push(l);
      p.matchLsn = to;
      p.lastProgressMs = this.now;
      if (p.catchingUpAfter !== null && p.matchLsn >= this.nextToClear - 1) p.catchingUpAfter = null;
      if (p.nextLsn <= p.matchLsn) p.nextLsn = p.matchLsn + 1;
      this.advanceCommit();
      this.maybeRejoinDest(p);
    } else if (p.matchLsn >= this.log.last) {
      p.lastProgressMs = this.now;
    }
    this.computeClear();
  }

  /** Claim 1: determine that all secondaries in dest acknowledged; commit, apply, reply. */
  private advanceCommit(): void {
    if (this.fullyAcked.length === 0) return;
    let best = this.commitLsn;
    for (const l of this.fullyAcked) {
      if (l <= best || l > this.durableLsn) continue;
      // Only an update of our own epoch commits by acknowledgement; older ones commit through it.
      if (this.log.epochAt(l) !== this.epoch) continue;
      best = l;
    }
    if (best === this.commitLsn) return;
    let keep = 0;
    for (const l of this.fullyAcked) if (l > best) this.fullyAcked[keep++] = l;
    this.fullyAcked.length = keep;
    this.commitLsn = best;
    this.applyUpTo(best);
    this.out.events.push({ t: 'committed', lsn: best });
    if (this.sync && this.sync.phase === 'ship' && best >= this.sync.epochStartLsn) this.completeFailoverSync();
    this.releaseWaiting();
  }

  private completeFailoverSync(): void {
    const s = this.sync!;
    this.sync = null;
    const regionsResynced: Record<NodeId, number> = {};
    for (const p of this.progress.values()) if (p.regionsResynced > 0) regionsResynced[p.id] = p.regionsResynced;
    const summary: FailoverSummary = {
      oldPrimary: s.oldPrimary,
      newPrimary: this.id,
      oldEpoch: s.oldEpoch,
      newEpoch: this.epoch,
      detectionMs: s.detectionMs,
      electionMs: s.electionMs,
      failoverSyncMs: this.now - s.startedMs,
      shippedTo: s.shippedTo,
      pulledFrom: s.pullFrom && s.pulled > 0 ? { [s.pullFrom]: s.pulled } : {},
      truncated: s.truncated,
      regionsResynced,
      epochStartLsn: s.epochStartLsn,
      committedBefore: s.committedBefore,
      // Everything up to committedBefore must be in our log (or cleared, which happens only once
      // every secondary holds it): count what is not.
      acknowledgedWritesLost: Math.max(0, s.committedBefore - this.log.last),
    };
    this.out.events.push({ t: 'failover', summary });
  }

  /** Emit storage applies up to lsn (only what is durable in our log). */
  private applyUpTo(lsn: Lsn): void {
    if (!this.storage) {
      this.storageApplied = Math.max(this.storageApplied, Math.min(lsn, this.durableLsn));
      return;
    }
    if (this.dirty.size > 0) return; // paused while a region resync is in progress
    const to = Math.min(lsn, this.durableLsn, this.log.last);
    for (let l = Math.max(this.storageApplied + 1, this.log.start); l <= to; l++) {
      const u = this.log.get(l)!;
      this.out.storage.push({ k: 'apply', update: u });
      this.storageApplied = l;
    }
  }

  /** A secondary in dest that stops acknowledging is left out — only while a majority remains. */
  private checkAckTimeouts(): void {
    if (this.sync && this.sync.phase !== 'ship') return;
    const t = this.cfg.timing;
    for (const p of this.progress.values()) {
      if (!p.inDest) continue;
      const behind = p.matchLsn < this.log.last;
      if (!behind || this.now - p.lastProgressMs < t.ackTimeoutMs) continue;
      if (!this.leaveDest(p)) continue; // would lose the majority: writes wait instead
      p.mode = 'probe';
      p.nextLsn = this.log.last + 1;
    }
  }

  /**
   * Leaves p out of later updates' dest — only if dest without it plus the primary is still a
   * majority of the voting members (else returns false and writes wait for it). Its
   * acknowledgements of updates already sent are waived: a configuration update in the log
   * records the new dest, and committing it commits everything before it.
   */
  private leaveDest(p: Progress): boolean {
    if (!p.inDest) return true;
    if (this.dest.length - 1 < majorityOf(this.voters.length) - 1) return false;
    p.inDest = false;
    this.dest = this.dest.filter((d) => d !== p.id);
    for (let l = Math.max(this.commitLsn + 1, p.matchLsn + 1); l <= this.log.last; l++) {
      if (this.regional.decrement(l, p.id)) this.fullyAcked.push(l);
    }
    this.stamp('config', []);
    return true;
  }

  /**
   * Judges a report by the incarnation it came from (progress.ts): false drops it as stale. A
   * newer incarnation means the secondary lost records it may have acknowledged: what we counted
   * for it is void. Its acknowledgements of updates not yet committed are wanted again, and it
   * leaves dest by the ordinary rule (a majority must remain; otherwise writes wait for it to be
   * refilled); its next position report decides between shipping and a region resync.
   */
  private heardFrom(p: Progress, incarnation: number): boolean {
    const v = incarnationVerdict(p, incarnation);
    if (v === 'stale') return false;
    if (v === 'first') p.incarnation = incarnation;
    if (v !== 'lost-data') return true;
    const before = p.incarnation;
    const restored = new Set<Lsn>();
    for (let l = this.commitLsn + 1; l <= Math.min(p.matchLsn, this.log.last); l++) {
      const u = this.log.get(l);
      if (!u || !u.dest.includes(p.id)) continue;
      this.regional.restore(l, u.regions, p.id);
      restored.add(l);
    }
    if (restored.size > 0) {
      let keep = 0;
      for (const l of this.fullyAcked) if (!restored.has(l)) this.fullyAcked[keep++] = l;
      this.fullyAcked.length = keep;
    }
    const wasMatch = p.matchLsn;
    resetAfterLostData(p, incarnation, this.log.last, this.now);
    this.leaveDest(p);
    this.out.events.push({ t: 'peer-lost-data', node: p.id, incarnation, previousIncarnation: before, ackedLsn: wasMatch, inDest: p.inDest });
    return true;
  }

  /** A secondary out of dest that has caught up rejoins dest through a configuration update. */
  private maybeRejoinDest(p: Progress): void {
    if (p.inDest || p.mode !== 'replicate' || this.dirtyFor(p)) return;
    if (this.sync && this.sync.phase !== 'ship') return;
    if (p.matchLsn < this.log.last) return;
    p.inDest = true;
    this.dest = [...this.dest, p.id].sort();
    this.stamp('config', []);
  }

  private dirtyFor(p: Progress): boolean {
    return p.regionQueue.length > 0;
  }

  // ------------------------------------------------------------------ clearing (claims 1, 3, 4, 9)

  /** Claim 9: clear up to where every configured secondary has sent and received indicators set. */
  private computeClear(): void {
    if (this.role !== 'primary') return;
    const waived = new Set<NodeId>();
    for (const p of this.progress.values()) if (p.resyncRegions) waived.add(p.id);
    let upTo = this.indicators.clearableUpTo(waived, this.commitLsn);
    // The retention limit: a secondary holding the logs back too long is marked for a region resync.
    const lim = this.cfg.limits;
    const heldFrom = Math.max(upTo, this.log.start - 1);
    let target = -1;
    if (this.log.last - heldFrom > lim.maxRetainedUpdates) target = this.log.last - lim.maxRetainedUpdates;
    if (this.log.bytesAfter(heldFrom) > lim.maxRetainedBytes) target = Math.max(target, this.log.lowestKeeping(lim.maxRetainedBytes));
    if (target >= 0) {
      for (const p of this.progress.values()) {
        if (p.resyncRegions || p.matchLsn >= target) continue;
        // From now on we remember the regions of what we clear past it. If it already lacks
        // updates cleared before (by an earlier primary), we cannot know their regions: all.
        p.resyncRegions = p.matchLsn + 1 < this.nextToClear ? new Set(ALL_REGIONS) : new Set();
        waived.add(p.id);
      }
      upTo = this.indicators.clearableUpTo(waived, this.commitLsn);
    }
    if (upTo + 1 > this.nextToClear) {
      // Regions changed by what we clear past a waived secondary's match must be resynced there.
      for (const p of this.progress.values()) {
        if (!p.resyncRegions) continue;
        // Update.regions already names every region for a flush.
        for (let l = Math.max(p.matchLsn + 1, this.nextToClear); l <= upTo; l++) for (const r of this.log.get(l)?.regions ?? []) p.resyncRegions.add(r);
      }
      this.nextToClear = upTo + 1;
      this.maybeClearOwnLog();
    }
  }

  /** A log is never cleared beyond what this node's storage area has made durable. */
  private maybeClearOwnLog(): void {
    let limit = this.isWitness ? this.durableLsn : Math.min(this.storageDurable, this.durableLsn);
    if (this.role === 'primary') {
      // A secondary restarted after a region resync catches up from our log: keep what it lacks
      // (it was waived while it was away, so clearing went past it logically) until it holds
      // everything cleared; the retention limit waives it again if that takes too long.
      for (const p of this.progress.values()) if (p.catchingUpAfter !== null) limit = Math.min(limit, p.catchingUpAfter, p.matchLsn);
    }
    const newStart = Math.min(this.nextToClear, limit + 1);
    if (newStart > this.log.start) {
      this.log.clearTo(newStart - 1);
      if (this.role === 'primary') this.indicators.dropUpTo(newStart - 1);
      this.out.clear = { start: newStart, nextToClear: this.nextToClear };
    } else if (this.out.clear === null && this.nextToClear > this.log.start) {
      this.out.clear = { start: this.log.start, nextToClear: this.nextToClear };
    }
  }

  // ------------------------------------------------------------------ secondary: receiving updates (claim 1)

  /** Adopt `from` as primary of `epoch` (a valid message from the current primary). */
  private followPrimary(from: NodeId, epoch: Epoch): void {
    if (epoch > this.epoch) this.adoptEpoch(epoch, from);
    assert(!(this.role === 'primary' && epoch === this.epoch), () => `two primaries in epoch ${epoch}: ${this.id} and ${from}`);
    if (this.role === 'candidate') this.stepDown(from);
    if (this.primaryId !== from) {
      this.primaryId = from;
      this.matchLsn = 0;
      // Rounds are numbered per primary: never echo an older primary's rounds to this one.
      this.lastAckRound = 0;
      this.emitRole();
    }
    this.lastKnownPrimary = from;
    this.lastKnownPrimaryEpoch = this.epoch;
    this.firstCandidacyMs = null;
    this.preVoteEpoch = 0;
    this.lastHeardFromPrimaryMs = this.now;
    this.resetElectionDeadline();
  }

  private onAppend(from: NodeId, m: AppendMsg): void {
    if (m.epoch < this.epoch) {
      this.sendAck(from, false, m.round);
      return;
    }
    this.followPrimary(from, m.epoch);
    // A divergent tail is cut only while the log holds no update of this primary's epoch. Once
    // it does, what precedes them matched this primary's log (an append is accepted only on a
    // match), so a truncation that arrives then is a delayed or repeated one, already carried out:
    // carrying it out again would drop updates of this epoch this node may have acknowledged.
    // (Epochs never decrease along a log, so it holds updates of this epoch exactly when its last is one.)
    if (m.truncateAfter >= 0 && m.truncateAfter < this.log.last && this.log.lastEpoch !== m.epoch) {
      this.truncateTail(m.truncateAfter);
    }
    // Consistency check at prevLsn.
    const have = this.log.epochAt(m.prevLsn);
    if (m.prevLsn > this.log.last) {
      // Ahead of us: an earlier append is late (reordered) or lost. Hold a few to apply when
      // the gap fills, and report our position at most once per resend interval.
      if (this.ahead.size < MAX_AHEAD_APPENDS) this.ahead.set(m.prevLsn, m);
      if (this.now - this.lastSyncStateMs >= this.cfg.timing.resendAfterMs / 2) this.sendSyncState(from);
      this.sendAck(from, true, m.round);
      return;
    }
    if ((have !== undefined && have !== m.prevEpoch) || (have === undefined && m.prevLsn >= this.log.start)) {
      this.sendSyncState(from);
      return;
    }
    let last = m.prevLsn;
    for (const u of m.updates) {
      if (u.lsn < this.log.start) {
        last = u.lsn;
        continue;
      }
      const e = this.log.epochAt(u.lsn);
      if (e === u.epoch) {
        last = u.lsn;
        continue; // duplicate
      }
      if (e !== undefined) this.truncateTail(u.lsn - 1); // conflict: the primary's history wins
      if (u.lsn !== this.log.last + 1) break;
      // Claim 1: insert the update in this secondary's log.
      this.log.append(this.isWitness ? stripForWitness(u) : u);
      this.out.appends.push(this.isWitness ? stripForWitness(u) : u);
      last = u.lsn;
    }
    if (last > this.matchLsn) this.matchLsn = last;
    if (m.commitLsn > this.commitLsn) this.commitLsn = Math.min(m.commitLsn, this.matchLsn);
    // Claim 1: the notification to clear (claims 3–4: advance the pointers).
    this.onClearNotice(m.clear.clearLsn);
    // Claim 1: copy from the log to the storage area, only what is durable and matches.
    this.applyUpTo(this.matchLsn);
    const next = this.ahead.get(this.log.last);
    if (next && next.epoch === this.epoch) {
      this.ahead.delete(this.log.last);
      this.onAppend(from, next);
      return;
    }
    if (this.ahead.size > 0) for (const k of [...this.ahead.keys()]) if (k < this.log.last || this.ahead.get(k)!.epoch !== this.epoch) this.ahead.delete(k);
    this.sendAck(from, true, m.round);
  }

  private onClearNotice(clearLsn: Lsn): void {
    const upTo = Math.min(clearLsn, this.matchLsn);
    if (upTo + 1 > this.nextToClear) {
      this.nextToClear = upTo + 1;
      this.maybeClearOwnLog();
    }
  }

  private sendSyncState(to: NodeId): void {
    this.lastSyncStateMs = this.now;
    this.send(to, this.syncState());
  }

  /** Claim 5's "location of the next update" in our log, with our incarnation. */
  private syncState(): SyncStateMsg {
    return { t: 'sync-state', epoch: this.epoch, startLsn: this.log.start, lastLsn: this.log.last, history: this.log.history(), incarnation: this.incarnation };
  }

  private lastAckRound = 0;
  private lastSyncStateMs = -Infinity;
  /** Appends that arrived ahead of a gap (reordered), keyed by their prevLsn. */
  private readonly ahead = new Map<Lsn, AppendMsg>();

  /** Claim 1: the acknowledgement — cumulative, only for what is durable and matches the primary. */
  private sendAck(to: NodeId, ok: boolean, round: number): void {
    if (round > this.lastAckRound) this.lastAckRound = round;
    const msg: AckMsg = {
      t: 'ack',
      epoch: this.epoch,
      ok,
      ackLsn: Math.min(this.durableLsn, this.matchLsn),
      lastLsn: this.log.last,
      lastEpoch: this.log.lastEpoch,
      storageDurableLsn: this.isWitness ? this.durableLsn : this.storageDurable,
      round: this.lastAckRound,
      incarnation: this.incarnation,
    };
    this.send(to, msg);
  }

  private onPersisted(lsn: Lsn, epoch: Epoch): void {
    if (this.log.epochAt(lsn) !== epoch || lsn <= this.durableLsn) return;
    this.durableLsn = Math.min(lsn, this.log.last);
    if (this.role === 'primary') {
      this.advanceCommit();
      return;
    }
    this.applyUpTo(this.matchLsn);
    if (this.primaryId) this.sendAck(this.primaryId, true, this.lastAckRound);
    this.maybeClearOwnLog();
  }

  /** Divergent tail: drop updates after lsn; regions they changed in the storage area get resynced. */
  private truncateTail(lsn: Lsn): void {
    if (lsn >= this.log.last) return;
    const removed = this.log.truncateAfter(lsn);
    this.out.truncateAfter = this.out.truncateAfter < 0 ? lsn : Math.min(this.out.truncateAfter, lsn);
    // Appends of this Ready that the truncation removed must not be written.
    this.out.appends = this.out.appends.filter((u) => u.lsn <= lsn);
    if (this.durableLsn > lsn) this.durableLsn = lsn;
    if (this.matchLsn > lsn) this.matchLsn = lsn;
    if (this.storage && this.storageApplied > lsn) {
      const regions = new Set<number>();
      for (const u of removed) if (u.lsn <= this.storageApplied) for (const r of u.regions) regions.add(r);
      this.setStorageApplied(lsn);
      if (regions.size > 0) {
        const list = [...regions].sort((a, b) => a - b);
        for (const r of list) this.dirty.add(r);
        this.out.storage.push({ k: 'dirty', regions: list });
        this.requestDirtyRegions();
      }
    }
    this.out.events.push({ t: 'truncate', afterLsn: lsn, removed: removed.length, epoch: this.epoch });
  }

  // ------------------------------------------------------------------ region resync

  private requestDirtyRegions(): void {
    if (!this.primaryId || this.primaryId === this.id || this.dirty.size === 0) return;
    this.regionRequestSentMs = this.now;
    this.regionSeq++;
    this.regionCursor.clear();
    this.regionAhead.clear();
    const msg: RegionRequestMsg = {
      t: 'region-req',
      epoch: this.epoch,
      regions: [...this.dirty].sort((a, b) => a - b),
      atLsn: this.storageApplied,
      seq: this.regionSeq,
    };
    this.send(this.primaryId, msg);
  }

  /** Primary: a secondary asks for regions (after truncating a divergent tail). */
  private onRegionRequest(from: NodeId, m: RegionRequestMsg): void {
    if (this.role !== 'primary' || m.epoch !== this.epoch) return;
    const p = this.progress.get(from);
    if (!p || p.kind !== 'data') return;
    // A new request supersedes any transfer in progress (its chunks may have been lost).
    p.regionQueue = m.regions.map((r) => ({ region: r, after: undefined, atLsn: m.atLsn, first: true, seq: m.seq }));
    this.sendRegionChunks(p);
  }

  /** Primary: a secondary lacks updates we cleared — restart its log after our start and resync regions. */
  private startResync(p: Progress): void {
    if (p.kind === 'witness') {
      // A witness holds no data: it only needs its log restarted.
      const after = this.log.start - 1;
      const msg: ResyncStartMsg = { t: 'resync-start', epoch: this.epoch, regions: [], afterLsn: after, afterEpoch: this.log.epochAt(after) ?? 0 };
      this.send(p.id, msg);
      p.mode = 'replicate';
      p.nextLsn = after + 1;
      p.resyncRegions = null;
      p.catchingUpAfter = after;
      return;
    }
    if (p.mode === 'resync' && p.regionQueue.length > 0) return;
    const regions = p.resyncRegions ? [...p.resyncRegions].sort((a, b) => a - b) : [...ALL_REGIONS];
    const after = this.log.start - 1;
    const msg: ResyncStartMsg = { t: 'resync-start', epoch: this.epoch, regions, afterLsn: after, afterEpoch: this.log.epochAt(after) ?? 0 };
    this.send(p.id, msg);
    // Out of dest by the ordinary rule: if a majority needs it, writes wait for its resync.
    this.leaveDest(p);
    p.mode = 'resync';
    p.regionQueue = regions.map((r) => ({ region: r, after: undefined, atLsn: after, first: true, seq: 0 }));
    p.resyncRegions = null;
    p.catchingUpAfter = after;
    p.nextLsn = after + 1;
    p.matchLsn = Math.min(p.matchLsn, after);
  }

  /** Ship region chunks as of our applied lsn, once it is at least what the secondary stands at. */
  /**
   * The storage area as of storageApplied, for region chunks: the applies this step emitted are
   * carried out by the host only after the step, so the storage area alone may lack them — a
   * chunk read from it would be older than the asOfLsn it is sent with, and the secondary, which
   * replays its log only after that lsn, would keep the older value (the simulator found it).
   */
  private chunkSource(): StateReader {
    const pending = this.out.storage.filter((op): op is Extract<StorageOp, { k: 'apply' }> => op.k === 'apply');
    if (pending.length === 0) return this.storage!;
    const o = new Overlay(this.storage!);
    for (const op of pending) o.applyOps(op.update.ops);
    return o;
  }

  private sendRegionChunks(p: Progress): void {
    if (!this.storage) return;
    let budget = 4; // chunks per step: region transfer must not starve the write path
    // At most one chunk of a region per step, so that a region's chunks leave a step apart and
    // arrive in order even where delivery reorders what leaves together (the secondary drops a
    // chunk that does not continue the last one and re-requests the region).
    for (let i = 0; i < p.regionQueue.length && budget-- > 0; ) {
      const q = p.regionQueue[i]!;
      if (this.storageApplied < q.atLsn) return; // wait until our storage area has caught up
      // Items, not keys, are counted: a huge collection goes over many chunks. Within the append
      // byte budget too, so that a chunk of large values still fits one frame (a larger one would
      // be dropped by the transport, and the region never resynced).
      const chunk = readRegionChunk(this.chunkSource(), q.region, q.after, this.cfg.limits.regionChunkEntries, this.cfg.limits.maxAppendBytes);
      const last = chunk.next === null;
      const msg: RegionDataMsg = {
        t: 'region-data',
        epoch: this.epoch,
        region: q.region,
        asOfLsn: this.storageApplied,
        seq: q.seq,
        afterKey: q.after?.key ?? null,
        afterElem: q.after?.elem ?? null,
        first: q.first,
        last,
        items: chunk.items,
      };
      this.send(p.id, msg);
      q.first = false;
      q.after = chunk.next ?? q.after;
      if (last) {
        p.regionQueue.splice(i, 1);
        p.regionsResynced++;
      } else i++;
    }
    if (p.mode === 'resync' && p.regionQueue.length === 0) {
      p.mode = 'replicate';
      p.lastSendMs = -Infinity;
    }
  }

  /** Secondary: restart the log after afterLsn and expect the listed regions. */
  private onResyncStart(from: NodeId, m: ResyncStartMsg): void {
    if (m.epoch < this.epoch) return;
    this.followPrimary(from, m.epoch);
    if (m.afterLsn <= this.log.last && this.log.epochAt(m.afterLsn) === m.afterEpoch) {
      // We already hold the update it would restart us after (the primary planned from a stale
      // report): nothing is missing, so keep our log and tell it where we really stand.
      this.sendSyncState(from);
      return;
    }
    // Updates in our log that our storage area has not applied yet (it may have lost them in a
    // crash) go with the log: their regions must come with the resync too.
    const extra = new Set<number>();
    if (this.storage) {
      for (let l = Math.max(this.storageApplied + 1, this.log.start); l <= this.log.last; l++) for (const r of this.log.get(l)!.regions) extra.add(r);
    }
    this.log.resetAfter(m.afterLsn, m.afterEpoch);
    this.out.truncateAfter = -1;
    this.out.appends = [];
    this.out.clear = null;
    // The host restarts the durable log empty after afterLsn.
    this.out.restartLog = { afterLsn: m.afterLsn, afterEpoch: m.afterEpoch };
    this.nextToClear = m.afterLsn + 1;
    this.durableLsn = m.afterLsn;
    this.matchLsn = m.afterLsn;
    this.regionSeq = 0;
    this.regionCursor.clear();
    this.regionAhead.clear();
    this.regionRequestSentMs = this.now;
    const regions = [...new Set([...m.regions, ...extra])].sort((a, b) => a - b);
    if (this.storage && regions.length > 0) {
      for (const r of regions) this.dirty.add(r);
      this.out.storage.push({ k: 'dirty', regions });
    }
    if (this.storage) this.setStorageApplied(Math.min(this.storageApplied, m.afterLsn));
    // Regions the primary does not know we need: ask for every dirty region (a new request
    // supersedes the transfer the primary started).
    if (extra.size > 0 && [...extra].some((r) => !m.regions.includes(r))) this.requestDirtyRegions();
  }

  /** Moves the storage area's applied lsn (back, after a truncation or a resync). */
  private setStorageApplied(lsn: Lsn): void {
    this.out.storage.push({ k: 'set-applied', lsn });
    this.storageApplied = lsn;
    // What is durable there cannot be beyond what it holds now.
    if (this.storageDurable > lsn) this.storageDurable = lsn;
  }

  /** Secondary: install a chunk of a region's content. */
  private onRegionData(from: NodeId, m: RegionDataMsg): void {
    if (m.epoch !== this.epoch || from !== this.primaryId || !this.storage || !this.dirty.has(m.region)) return;
    if (m.seq !== this.regionSeq) return; // a chunk of a superseded transfer
    const cursor = this.regionCursor.get(m.region);
    const contiguous = m.first
      ? m.afterKey === null && cursor === undefined
      : cursor !== undefined && m.afterKey !== null && cursor.key.equals(m.afterKey) && sameElem(cursor.elem, m.afterElem);
    if (!contiguous) {
      // Reordered: a later chunk overtook the one it continues. Keep it until that one is
      // installed. Dropping it made a transfer whose chunks are always reordered the same way (a
      // large first chunk, small ones after it) start over at every re-request and never finish.
      // A lost chunk is still recovered by the re-request after a timeout.
      if (!m.first && m.afterKey !== null && this.regionAhead.size < REGION_CHUNKS_AHEAD) this.regionAhead.set(chunkAheadKey(m.region, m.afterKey, m.afterElem), m);
      return;
    }
    this.installRegionChunk(m);
  }

  private installRegionChunk(m: RegionDataMsg): void {
    const lastItem = m.items[m.items.length - 1];
    const end: RegionCursor | undefined =
      lastItem !== undefined
        ? cursorAfter(lastItem)
        : m.afterKey !== null
          ? { key: m.afterKey, elem: m.afterElem }
          : undefined;
    // An empty first chunk (an empty region) is always its last: no cursor is needed after it.
    if (end !== undefined) this.regionCursor.set(m.region, end);
    const ops: StorageOp[] = [{ k: 'install', region: m.region, items: m.items, first: m.first }];
    this.out.storage.push(...ops);
    if (m.last) {
      this.dirty.delete(m.region);
      this.out.storage.push({ k: 'clean', region: m.region });
      if (this.dirty.size === 0) {
        // Every region installed as of an lsn ≥ where we stand: replaying our log from here converges.
        this.out.storage.push({ k: 'set-applied', lsn: Math.max(this.storageApplied, this.log.start - 1) });
        this.storageApplied = Math.max(this.storageApplied, this.log.start - 1);
        this.applyUpTo(this.matchLsn);
      }
      for (const [k, a] of this.regionAhead) if (a.region === m.region) this.regionAhead.delete(k);
      return;
    }
    // The chunk that continues this one may have arrived first.
    const next = end !== undefined ? this.regionAhead.get(chunkAheadKey(m.region, end.key, end.elem)) : undefined;
    if (next) {
      this.regionAhead.delete(chunkAheadKey(m.region, end!.key, end!.elem));
      this.installRegionChunk(next);
    }
  }

  // ------------------------------------------------------------------ planned switchover


  private onSwitchover(id: number, to: NodeId | undefined): void {
    if (this.role !== 'primary') {
      this.out.events.push({ t: 'switchover', id, error: `this node is not the primary (the primary is ${this.primaryId ?? 'unknown'})` });
      return;
    }
    const target =
      to ??
      [...this.progress.values()].filter((p) => p.kind === 'data' && p.inDest).sort((a, b) => b.matchLsn - a.matchLsn)[0]?.id;
    const p = target ? this.progress.get(target) : undefined;
    if (!target || !p || p.kind !== 'data') {
      this.out.events.push({ t: 'switchover', id, error: `no data secondary named ${to ?? '(any)'} to hand over to` });
      return;
    }
    if (this.switchoverReq) {
      this.out.events.push({ t: 'switchover', id, error: 'a switchover is already in progress' });
      return;
    }
    // Drain: new writes queue from now on; once the target holds everything, it stands at once.
    this.switchoverReq = { id, to: target, deadlineMs: this.now + this.cfg.timing.electionTimeoutMs * 4, sentTimeoutNow: false };
    this.progressSwitchover();
  }

  private progressSwitchover(): void {
    const s = this.switchoverReq;
    if (!s || this.role !== 'primary') return;
    if (this.now > s.deadlineMs) {
      this.switchoverReq = null;
      this.out.events.push({ t: 'switchover', id: s.id, error: `${s.to} did not take over in time; this node stays primary` });
      this.drainQueued();
      return;
    }
    const p = this.progress.get(s.to)!;
    if (!s.sentTimeoutNow && p.matchLsn >= this.log.last && this.commitLsn >= this.log.last) {
      s.sentTimeoutNow = true;
      const msg: TimeoutNowMsg = { t: 'timeout-now', epoch: this.epoch };
      this.send(s.to, msg);
    }
  }

  private onTimeoutNow(from: NodeId, m: TimeoutNowMsg): void {
    if (m.epoch !== this.epoch || from !== this.primaryId || this.isWitness || !this.eligibleToStand()) return;
    this.startElection(true);
  }

  // ------------------------------------------------------------------ epochs and roles

  private onMessage(from: NodeId, msg: Message): void {
    if (!this.voters.includes(from) || from === this.id) return;
    // Safe whatever its epoch (it rests on the updates' own epochs), and it changes no epoch.
    if (msg.t === 'catch-up') return this.onCatchUp(msg);
    // A node that lost data asks whatever its epoch (it may have forgotten it), and the answer
    // is taken whatever ours: neither changes an epoch by itself (disk-loss.ts).
    if (msg.t === 'recover-req') return this.send(from, { t: 'recover-state', epoch: this.epoch, lastLsn: this.log.last, lastEpoch: this.log.lastEpoch });
    if (msg.t === 'recover-state') return this.onRecoverState(from, msg);
    // Fencing: anything from an older epoch changes nothing (an append gets a refusal so its
    // sender learns it is stale; a vote request gets a refusal).
    if (msg.epoch < this.epoch) {
      if (msg.t === 'append') this.sendAck(from, false, msg.round);
      else if (msg.t === 'vote-req' && !msg.pre) this.send(from, { t: 'vote', epoch: this.epoch, granted: false, pre: false });
      return;
    }
    switch (msg.t) {
      case 'vote-req':
        this.onVoteRequest(from, msg);
        return;
      case 'vote':
        // A granted pre-vote names the epoch asked about, which nobody is in yet.
        if (msg.epoch > this.epoch && !(msg.pre && msg.granted)) this.adoptEpoch(msg.epoch, null);
        else this.onVote(from, msg);
        return;
      case 'append':
        this.onAppend(from, msg);
        return;
      case 'sync-req':
        this.onSyncRequest(from, msg.epoch);
        return;
      case 'resync-start':
        this.onResyncStart(from, msg);
        return;
      case 'region-data':
        this.onRegionData(from, msg);
        return;
      case 'pull-req':
        this.onPullRequest(from, msg);
        return;
      case 'timeout-now':
        this.onTimeoutNow(from, msg);
        return;
      default:
        break;
    }
    // Primary-bound messages: from a newer epoch they mean we are stale.
    if (msg.epoch > this.epoch) {
      this.adoptEpoch(msg.epoch, null);
      return;
    }
    switch (msg.t) {
      case 'ack':
        this.onAck(from, msg);
        return;
      case 'sync-state':
        this.onSyncState(from, msg);
        return;
      case 'pull-data':
        this.onPullData(from, msg);
        return;
      case 'region-req':
        this.onRegionRequest(from, msg);
        return;
    }
  }

  /** A newer epoch exists: adopt it (persisted) and stop being primary or candidate. */
  private adoptEpoch(epoch: Epoch, primary: NodeId | null): void {
    assert(epoch > this.epoch, 'adoptEpoch must move forward');
    const wasPrimary = this.role === 'primary';
    this.epoch = epoch;
    this.votedFor = null;
    this.lastAckRound = 0;
    this.preVoteEpoch = 0;
    this.persistHardState();
    if (wasPrimary || this.role === 'candidate') this.stepDown(primary);
    else if (this.primaryId !== primary) {
      this.primaryId = primary;
      this.matchLsn = 0;
      this.emitRole();
    }
  }

  /** Leave primary or candidate state and follow `primary` (null: unknown yet). */
  private stepDown(primary: NodeId | null): void {
    this.becomeFollowerState();
    this.role = this.isWitness ? 'witness' : 'secondary';
    this.primaryId = primary;
    this.matchLsn = 0;
    this.lastHeardFromPrimaryMs = primary ? this.now : this.lastHeardFromPrimaryMs;
    this.resetElectionDeadline();
    this.emitRole();
  }

  /** Leaves primary/candidate state: requests in flight get an error (their outcome is unknown). */
  private becomeFollowerState(): void {
    if (this.role === 'primary') {
      const msg = 'READONLY this node is no longer the primary; the outcome of this write is unknown';
      for (const w of this.waiting) this.reply(w.id, w.replies.map(() => err(msg)), 0);
      for (const q of this.queued) this.reply(q.id, q.cmds.map(() => err(WRITE_ERR_READONLY)), 0);
      this.waiting.length = 0;
      this.queued.length = 0;
      if (this.switchoverReq) {
        // A switchover ends with us stepping down: that is its success.
        this.out.events.push({ t: 'switchover', id: this.switchoverReq.id, error: null });
        this.switchoverReq = null;
      }
      this.sync = null;
      this.regional.reset();
      this.fullyAcked.length = 0;
      this.progress.clear();
      this.pending = null;
      // Its writes were never logged; their clients were just told the outcome is unknown.
      this.gathered = null;
      this.leaseUntilMs = -Infinity;
      this.dest = [];
    }
  }

  private emitRole(): void {
    this.out.events.push({ t: 'role', role: this.role, epoch: this.epoch, primaryId: this.primaryId });
  }

  private persistHardState(): void {
    this.out.hardState = { epoch: this.epoch, votedFor: this.votedFor, incarnation: this.incarnation, lostData: this.lostData !== null };
  }

  private afterStep(): void {
    if (this.lostData) this.maybeRefilled();
    if (this.role === 'primary') {
      this.advanceCommit();
      this.releaseWaiting();
      if (this.queued.length > 0) this.drainQueued();
    }
  }

  private send(to: NodeId, msg: Message): void {
    this.out.messages.push({ from: this.id, to, msg });
  }

  private kindOf(id: NodeId): 'data' | 'witness' {
    return this.cfg.members.find((m) => m.id === id)?.kind ?? 'data';
  }
}


/** A witness logs update headers only: it votes on log positions and holds no data. */
function stripForWitness(u: Update): Update {
  if (u.ops.length === 0) return u;
  const { keyEvents: _events, ...header } = u;
  return { ...header, ops: [] };
}

/** Two optional element cursors name the same place. */
/**
 * Region chunks a secondary keeps while the chunk they continue is still on its way (each at most
 * limits.maxAppendBytes). Beyond, a chunk is dropped and the re-request after a timeout resends it.
 */
const REGION_CHUNKS_AHEAD = 64;

/** Where a region chunk starts, as the key of the chunks kept ahead. */
function chunkAheadKey(region: number, afterKey: Buffer, afterElem: Buffer | null): string {
  return `${region}:${afterKey.toString('hex')}:${afterElem === null ? '' : afterElem.toString('hex')}`;
}

function sameElem(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}
