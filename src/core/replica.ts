// THE PROTOCOL: one node of understudy as a deterministic state machine.
//
// Inputs (step): ticks, peer messages, client commands, and completions of the
// host's I/O (log appends made durable, storage made durable). Outputs (ready):
// hard state to persist, log appends/truncation, storage operations, pointer
// clears, messages and client replies — see ready.ts for the order the host
// must follow. No I/O, timers, clock or randomness of its own: the same code
// runs in production and in the simulator, and one seed replays a run.
//
// This file is claim 1 of US 7,617,369 read top to bottom, and the role changes
// (candidate, primary, secondary). The other seams live beside it:
//   claim 1   stamp (dest, lsn, epoch), sendUpdates, onAppend (insert in the log, then copy to
//             the storage area once durable), sendAck, onAck, advanceCommit (all acknowledged),
//             the clear notice on every append (onClearNotice)
//   dest.ts            which secondaries are in dest (ack timeouts, rejoining, lost incarnations)
//   clearing.ts        claims 3–4, 9: start-of-log and next-to-clear pointers
//   failover-sync.ts   claims 5–6: startFailoverSync, onSyncState, finishFailoverSync
//   indicators.ts      claims 7–9: sent / received indicators, clearableUpTo
//   regional-counter.ts claims 26–28: incremented on stamping, decremented per ack
//   progress.ts        the primary's per-secondary state
//   election.ts, lease.ts, requests.ts, region-resync.ts, switchover.ts, expiry.ts, refill.ts
import { assert } from '../lib/assert.ts';
import { Prng } from '../lib/prng.ts';
import { type CoreConfig, EXPIRY_INTERVAL_MS, majorityOf, MAX_AHEAD_APPENDS, MAX_APPENDS_IN_FLIGHT, validateCoreConfig } from './config.ts';
import { answersNeeded, type Floor, LostData } from './disk-loss.ts';
import { checkAckTimeouts, heardFrom, maybeRejoinDest } from './dest.ts';
import { eligibleToStand, maybeWinElection, onCatchUp, onVote, onVoteRequest, startPreVote } from './election.ts';
import { expireKeys } from './expiry.ts';
import { computeClear, maybeClearOwnLog } from './clearing.ts';
import {
  completeFailoverSync,
  onPullData,
  onPullRequest,
  onSyncRequest,
  onSyncState,
  progressSync,
  startFailoverSync,
  type SyncRound,
} from './failover-sync.ts';
import { Indicators } from './indicators.ts';
import type { ExecOptions } from './kv/executor.ts';
import type { ScriptEngine } from './kv/scripting.ts';
import { resetLease, startRound, updateLease } from './lease.ts';
import { LogView } from './log-view.ts';
import type { AckMsg, AppendMsg, Message, RegionDataMsg, SyncStateMsg, VoteRequestMsg } from './messages.ts';
import { PendingState } from './pending-state.ts';
import { newProgress, type Progress } from './progress.ts';
import { emptyReady, type Ready } from './ready.ts';
import { askWhereOthersStand, maybeRefilled, onRecoverState } from './refill.ts';
import { onRegionData, onRegionRequest, onResyncStart, requestDirtyRegions, sendRegionChunks, truncateTail } from './region-resync.ts';
import type { RegionCursor } from './region-content.ts';
import { ALL_REGIONS, regionsOfOps } from './regions.ts';
import { RegionalCounter } from './regional-counter.ts';
import type { Reply } from './reply.ts';
import { drainQueued, expireRequests, failRequestsOnStepDown, onClient, type Queued, type Waiting } from './requests.ts';
import type { StateReader } from './state-reader.ts';
import { onSwitchover, onTimeoutNow, progressSwitchover } from './switchover.ts';
import type { Epoch, KeyEvent, Lsn, NodeId, Op, Update } from './types.ts';

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

/** Mixed into the seed for the generator of command randomness (SPOP…), apart from election jitter. */
const COMMAND_PRNG_SALT = 0x5bd1e995;

export class Replica {
  readonly id: NodeId;
  readonly cfg: CoreConfig;
  readonly prng: Prng;
  /** What client commands execute with: SPOP, SRANDMEMBER… draw from the primary's seeded generator. */
  readonly execOptions: ExecOptions;
  /** A secondary's: scripts may read, their writes get READONLY. */
  readonly replicaExecOptions: ExecOptions;
  readonly voters: readonly NodeId[];
  readonly isWitness: boolean;
  readonly secondariesAll: readonly NodeId[];

  // --- persistent state (through Ready.hardState and the log) ---
  epoch: Epoch;
  votedFor: NodeId | null;
  readonly log: LogView;
  readonly incarnation: number;
  /** Set while this node lost data and is not refilled yet (disk-loss.ts). */
  lostData: LostData | null;

  // --- volatile state ---
  role: Role;
  primaryId: NodeId | null = null;
  now = 0;
  /** Log durable up to here (host reported). */
  durableLsn: Lsn;
  /** Highest lsn known to match the current primary's log (secondary) — applied only up to it. */
  matchLsn: Lsn = 0;
  commitLsn: Lsn = 0;
  /** The last clear notice received or computed. */
  nextToClear: Lsn;
  storage: StateReader | null;
  /** Highest lsn emitted to the storage area (the host applies before the next step). */
  storageApplied: Lsn;
  storageDurable: Lsn;
  readonly dirty = new Set<number>();
  /** Dirty regions requested from the primary and not yet fully received. */
  regionRequestSentMs = -Infinity;
  /** Current region transfer: chunks must carry this seq and follow on from the last key installed. */
  regionSeq = 0;
  readonly regionCursor = new Map<number, RegionCursor>();
  /** Chunks of the current transfer that arrived before the chunk they continue, by where they start. */
  readonly regionAhead = new Map<string, RegionDataMsg>();

  // timers
  lastHeardFromPrimaryMs = 0;
  electionDeadlineMs = 0;
  lastRoundMs = -Infinity;
  votes = new Set<NodeId>();
  preVotes = new Set<NodeId>();
  /** The epoch a pre-vote round asks about (0: none running). */
  preVoteEpoch: Epoch = 0;
  /** When this node first stood (pre-vote included) since it last followed a primary. */
  firstCandidacyMs: number | null = null;
  /** The last primary this node followed, and its epoch (for the failover report). */
  lastKnownPrimary: NodeId | null = null;
  lastKnownPrimaryEpoch: Epoch = 0;
  /** The election deadline is set on the first input, when the node first learns the time. */
  started = false;

  // primary state
  progress = new Map<NodeId, Progress>();
  indicators: Indicators;
  regional = new RegionalCounter();
  pending: PendingState | null = null;
  /**
   * Client writes executed since the last ready(), gathered into one update that is stamped when
   * the input burst ends (in ready()) or before anything else is stamped. Its lsn is reserved
   * (the log's next), so replies and reads can wait for it; it is atomic like any update.
   */
  gathered: { readonly lsn: Lsn; readonly ops: Op[]; readonly keyEvents: KeyEvent[]; bytes: number } | null = null;
  readonly fullyAcked: Lsn[] = [];
  readonly waiting: Waiting[] = [];
  readonly queued: Queued[] = [];
  round = 0;
  readonly roundSentMs = new Map<number, number>();
  leaseUntilMs = -Infinity;
  sync: SyncRound | null = null;
  switchoverReq: { id: number; to: NodeId; deadlineMs: number; sentTimeoutNow: boolean } | null = null;
  dest: NodeId[] = [];

  out: Ready = emptyReady();

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
        onClient(this, input.id, input.cmds, input.wallMs);
        break;
      case 'persisted':
        this.onPersisted(input.lsn, input.epoch);
        break;
      case 'storage-durable':
        if (input.lsn > this.storageDurable) this.storageDurable = input.lsn;
        maybeClearOwnLog(this);
        break;
      case 'switchover':
        // The writes gathered so far go into the log before the hand-over is planned around it.
        this.sealGathered();
        onSwitchover(this, input.id, input.to);
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
  /** FailoverSync is collecting positions or pulling: writes queue, dest is not yet chosen. */
  get syncing(): boolean {
    return this.sync !== null && this.sync.phase !== 'ship';
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

  onTick(wallMs: number): void {
    const t = this.cfg.timing;
    if (this.role === 'primary') {
      if (this.now - this.lastExpiryMs >= EXPIRY_INTERVAL_MS) {
        this.lastExpiryMs = this.now;
        expireKeys(this, wallMs);
      }
      if (this.now - this.lastRoundMs >= t.heartbeatIntervalMs) {
        startRound(this);
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
      checkAckTimeouts(this);
      progressSync(this);
      progressSwitchover(this);
      expireRequests(this);
      this.releaseWaiting();
      return;
    }
    expireRequests(this);
    askWhereOthersStand(this);
    if (!this.isWitness && this.now >= this.electionDeadlineMs && eligibleToStand(this)) {
      startPreVote(this);
    } else if (this.now >= this.electionDeadlineMs) {
      this.resetElectionDeadline();
    }
    // A secondary with dirty regions keeps asking for them until they arrive.
    if (this.dirty.size > 0 && this.primaryId && this.now - this.regionRequestSentMs > this.cfg.timing.electionTimeoutMs) {
      requestDirtyRegions(this);
    }
  }

  lastExpiryMs = -Infinity;
  readonly expiryCursor: { region: number; afterKey: Buffer | undefined } = { region: 0, afterKey: undefined };

  resetElectionDeadline(): void {
    const t = this.cfg.timing;
    this.electionDeadlineMs = this.now + t.electionTimeoutMs + this.prng.int(0, t.electionJitterMs);
  }

  // ------------------------------------------------------------------ a node that lost data (disk-loss.ts)

  // ------------------------------------------------------------------ election

  startElection(transfer: boolean): void {
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
    maybeWinElection(this);
  }

  // ------------------------------------------------------------------ becoming primary: FailoverSync (claims 5–6)

  becamePrimaryMs = 0;

  becomePrimary(): void {
    this.role = 'primary';
    this.preVoteEpoch = 0;
    this.primaryId = this.id;
    this.becamePrimaryMs = this.now;
    resetLease(this);
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
    this.sync = startFailoverSync(this);
    this.emitRole();
    // Claims 5–6: ask every secondary where its log stands; writes queue until the round ends.
    for (const s of this.secondariesAll) this.send(s, { t: 'sync-req', epoch: this.epoch });
    startRound(this);
    progressSync(this);
  }

  // ------------------------------------------------------------------ client commands

  reply(id: number, replies: readonly Reply[], lsn: Lsn): void {
    this.out.replies.push({ id, replies, lsn });
  }

  // ------------------------------------------------------------------ primary: stamping and sending (claim 1)

  /** Claim 1: identify the secondaries (dest) and stamp the update with lsn and epoch. */
  stamp(kind: Update['kind'], ops: Update['ops'], keyEvents: readonly KeyEvent[] = []): Update {
    // The gathered client writes were executed first: they take the lsn reserved for them.
    this.sealGathered();
    const regions = kind === 'data' ? regionsOfOps(ops) : [];
    const u: Update = { lsn: this.log.last + 1, epoch: this.epoch, dest: [...this.dest], kind, ops, regions, ...(keyEvents.length > 0 ? { keyEvents } : {}) };
    this.appendLocal(u, true);
    return u;
  }

  /** Stamps the gathered client writes as one update (claim 1), at the lsn they were promised. */
  sealGathered(): void {
    const g = this.gathered;
    if (!g) return;
    this.gathered = null;
    const u = this.stamp('data', g.ops, g.keyEvents);
    assert(u.lsn === g.lsn, () => `gathered writes promised lsn ${g.lsn}, stamped at ${u.lsn}`);
  }

  /** Insert into our own log and start tracking acknowledgements (claims 7 and 26). */
  appendLocal(u: Update, track: boolean): void {
    this.log.append(u);
    this.out.appends.push(u);
    this.indicators.add(u.lsn, u.regions);
    if (track) {
      // Claim 26: increment the regional counters by the number of secondaries it is sent to.
      if (this.regional.increment(u.lsn, u.regions, u.dest)) this.fullyAcked.push(u.lsn);
    }
  }

  /** Claim 1: send the updates to the secondaries (one batched append per secondary). */
  sendUpdates(): void {
    const lim = this.cfg.limits;
    const t = this.cfg.timing;
    for (const p of this.progress.values()) {
      if (p.regionQueue.length > 0) sendRegionChunks(this, p);
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
  batchOf(from: Lsn, to: Lsn): Update[] {
    return this.log.range(from, to, this.cfg.limits.maxUpdatesPerAppend, this.cfg.limits.maxAppendBytes);
  }

  /** Sends updates [from, to] (empty when to < from: a heartbeat/probe). Returns false if resync is needed. */
  sendAppend(p: Progress, from: Lsn, to: Lsn): boolean {
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

  // ------------------------------------------------------------------ primary: acknowledgements (claims 1, 8, 26)

  onAck(from: NodeId, m: AckMsg): void {
    if (this.role !== 'primary' || m.epoch !== this.epoch) return;
    const p = this.progress.get(from);
    if (!p || !heardFrom(this, p, m.incarnation)) return;
    p.lastAckMs = this.now;
    if (m.round > p.highestRound && m.round <= this.round) {
      p.highestRound = m.round;
      updateLease(this);
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
      maybeRejoinDest(this, p);
    } else if (p.matchLsn >= this.log.last) {
      p.lastProgressMs = this.now;
    }
    computeClear(this);
  }

  /** Claim 1: determine that all secondaries in dest acknowledged; commit, apply, reply. */
  advanceCommit(): void {
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
    if (this.sync && !this.syncing && best >= this.sync.epochStartLsn) completeFailoverSync(this);
    this.releaseWaiting();
  }

  /** Claim 1's reply: each held reply leaves once its update is committed (a pure read also needs the lease). */
  releaseWaiting(): void {
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

  /** Emit storage applies up to lsn (only what is durable in our log). */
  applyUpTo(lsn: Lsn): void {
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

  // ------------------------------------------------------------------ clearing (claims 1, 3, 4, 9)

  // ------------------------------------------------------------------ secondary: receiving updates (claim 1)

  /** Adopt `from` as primary of `epoch` (a valid message from the current primary). */
  followPrimary(from: NodeId, epoch: Epoch): void {
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

  onAppend(from: NodeId, m: AppendMsg): void {
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
      truncateTail(this, m.truncateAfter);
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
      if (e !== undefined) truncateTail(this, u.lsn - 1); // conflict: the primary's history wins
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
    // One acknowledgement per durable batch: while updates inserted in this step are on their way
    // to disk, an ack now could not cover them (it says only what is durable), so it would carry
    // nothing new. The ack onPersisted sends once they are durable echoes this round instead.
    if (this.out.appends.length > 0 && this.durableLsn < Math.min(this.matchLsn, this.log.last)) {
      if (m.round > this.lastAckRound) this.lastAckRound = m.round;
      return;
    }
    this.sendAck(from, true, m.round);
  }

  onClearNotice(clearLsn: Lsn): void {
    const upTo = Math.min(clearLsn, this.matchLsn);
    if (upTo + 1 > this.nextToClear) {
      this.nextToClear = upTo + 1;
      maybeClearOwnLog(this);
    }
  }

  sendSyncState(to: NodeId): void {
    this.lastSyncStateMs = this.now;
    this.send(to, this.syncState());
  }

  /** Claim 5's "location of the next update" in our log, with our incarnation. */
  syncState(): SyncStateMsg {
    return { t: 'sync-state', epoch: this.epoch, startLsn: this.log.start, lastLsn: this.log.last, history: this.log.history(), incarnation: this.incarnation };
  }

  lastAckRound = 0;
  lastSyncStateMs = -Infinity;
  /** Appends that arrived ahead of a gap (reordered), keyed by their prevLsn. */
  readonly ahead = new Map<Lsn, AppendMsg>();

  /** Claim 1: the acknowledgement — cumulative, only for what is durable and matches the primary. */
  sendAck(to: NodeId, ok: boolean, round: number): void {
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

  onPersisted(lsn: Lsn, epoch: Epoch): void {
    if (this.log.epochAt(lsn) !== epoch || lsn <= this.durableLsn) return;
    this.durableLsn = Math.min(lsn, this.log.last);
    if (this.role === 'primary') {
      this.advanceCommit();
      return;
    }
    this.applyUpTo(this.matchLsn);
    if (this.primaryId) this.sendAck(this.primaryId, true, this.lastAckRound);
    maybeClearOwnLog(this);
  }

  // ------------------------------------------------------------------ region resync

  // ------------------------------------------------------------------ planned switchover

  // ------------------------------------------------------------------ epochs and roles

  onMessage(from: NodeId, msg: Message): void {
    if (!this.voters.includes(from) || from === this.id) return;
    // Safe whatever its epoch (it rests on the updates' own epochs), and it changes no epoch.
    if (msg.t === 'catch-up') return onCatchUp(this, msg);
    // A node that lost data asks whatever its epoch (it may have forgotten it), and the answer
    // is taken whatever ours: neither changes an epoch by itself (disk-loss.ts).
    if (msg.t === 'recover-req') return this.send(from, { t: 'recover-state', epoch: this.epoch, lastLsn: this.log.last, lastEpoch: this.log.lastEpoch });
    if (msg.t === 'recover-state') return onRecoverState(this, from, msg);
    // Fencing: anything from an older epoch changes nothing (an append gets a refusal so its
    // sender learns it is stale; a vote request gets a refusal).
    if (msg.epoch < this.epoch) {
      if (msg.t === 'append') this.sendAck(from, false, msg.round);
      else if (msg.t === 'vote-req' && !msg.pre) this.send(from, { t: 'vote', epoch: this.epoch, granted: false, pre: false });
      return;
    }
    switch (msg.t) {
      case 'vote-req':
        onVoteRequest(this, from, msg);
        return;
      case 'vote':
        // A granted pre-vote names the epoch asked about, which nobody is in yet.
        if (msg.epoch > this.epoch && !(msg.pre && msg.granted)) this.adoptEpoch(msg.epoch, null);
        else onVote(this, from, msg);
        return;
      case 'append':
        this.onAppend(from, msg);
        return;
      case 'sync-req':
        onSyncRequest(this, from, msg.epoch);
        return;
      case 'resync-start':
        onResyncStart(this, from, msg);
        return;
      case 'region-data':
        onRegionData(this, from, msg);
        return;
      case 'pull-req':
        onPullRequest(this, from, msg);
        return;
      case 'timeout-now':
        onTimeoutNow(this, from, msg);
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
        onSyncState(this, from, msg);
        return;
      case 'pull-data':
        onPullData(this, from, msg);
        return;
      case 'region-req':
        onRegionRequest(this, from, msg);
        return;
    }
  }

  /** A newer epoch exists: adopt it (persisted) and stop being primary or candidate. */
  adoptEpoch(epoch: Epoch, primary: NodeId | null): void {
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
  stepDown(primary: NodeId | null): void {
    this.becomeFollowerState();
    this.role = this.isWitness ? 'witness' : 'secondary';
    this.primaryId = primary;
    this.matchLsn = 0;
    this.lastHeardFromPrimaryMs = primary ? this.now : this.lastHeardFromPrimaryMs;
    this.resetElectionDeadline();
    this.emitRole();
  }

  /** Leaves primary/candidate state: requests in flight get an error (their outcome is unknown). */
  becomeFollowerState(): void {
    if (this.role === 'primary') {
      failRequestsOnStepDown(this);
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
      resetLease(this);
      this.dest = [];
    }
  }

  emitRole(): void {
    this.out.events.push({ t: 'role', role: this.role, epoch: this.epoch, primaryId: this.primaryId });
  }

  persistHardState(): void {
    this.out.hardState = { epoch: this.epoch, votedFor: this.votedFor, incarnation: this.incarnation, lostData: this.lostData !== null };
  }

  afterStep(): void {
    if (this.lostData) maybeRefilled(this);
    if (this.role === 'primary') {
      this.advanceCommit();
      this.releaseWaiting();
      if (this.queued.length > 0) drainQueued(this);
    }
  }

  send(to: NodeId, msg: Message): void {
    this.out.messages.push({ from: this.id, to, msg });
  }

  kindOf(id: NodeId): 'data' | 'witness' {
    return this.cfg.members.find((m) => m.id === id)?.kind ?? 'data';
  }
}

/** A witness logs update headers only: it votes on log positions and holds no data. */
export function stripForWitness(u: Update): Update {
  if (u.ops.length === 0) return u;
  const { keyEvents: _events, ...header } = u;
  return { ...header, ops: [] };
}
