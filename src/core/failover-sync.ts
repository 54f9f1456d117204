// Claims 5–6: when the primary fails, the new primary compares the location of
// the next update in each secondary's log with its own; where two differ it
// identifies the set of updates one log holds and the other lacks, and applies
// exactly that set to the other copy. First it pulls from any secondary whose
// log extends its own (so the most advanced log wins), then it ships to each
// secondary what that secondary lacks. Nothing else is copied: no full resync
// while the logs suffice.
import { assert } from '../lib/assert.ts';
import { majorityOf } from './config.ts';
import type { Progress } from './progress.ts';
import type { PullDataMsg, PullRequestMsg, SyncStateMsg } from './messages.ts';
import { epochAtIn, matchPoint } from './log-view.ts';
import type { EpochStart, Epoch, Lsn, NodeId } from './types.ts';
import { drainQueued } from './requests.ts';
import { heardFrom } from './dest.ts';
import { startResync } from './region-resync.ts';
import type { Replica } from './replica.ts';

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

// ------------------------------------------------------------------ the round, run by a new primary

/** Claim 5: a new primary starts the round by collecting every log's position, its own first. */
export function startFailoverSync(node: Replica): SyncRound {
  const states = new Map<NodeId, LogPosition>();
  states.set(node.id, position(node));
  return {
    startedMs: node.now,
    states,
    phase: 'collect',
    pullFrom: null,
    pullDeadlineMs: 0,
    pulled: 0,
    epochStartLsn: 0,
    shippedTo: {},
    truncated: {},
    oldPrimary: node.lastKnownPrimary,
    oldEpoch: node.lastKnownPrimaryEpoch,
    detectionMs: Math.max(0, (node.firstCandidacyMs ?? node.now) - node.lastHeardFromPrimaryMs),
    electionMs: node.now - (node.firstCandidacyMs ?? node.now),
    committedBefore: node.commitLsn,
  };
}

/** A FailoverSync round in progress at a new primary. */
export interface SyncRound {
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

export function position(node: Replica): LogPosition {
  return { startLsn: node.log.start, lastLsn: node.log.last, history: node.log.history() };
}

export function onSyncRequest(node: Replica, from: NodeId, epoch: Epoch): void {
  node.followPrimary(from, epoch);
  node.send(from, node.syncState());
}

export function onSyncState(node: Replica, from: NodeId, m: SyncStateMsg): void {
  if (node.role !== 'primary') return;
  const pos: LogPosition = { startLsn: m.startLsn, lastLsn: m.lastLsn, history: m.history };
  const known = node.progress.get(from);
  if (known && !heardFrom(node, known, m.incarnation)) return;
  if (node.sync && node.syncing) {
    node.sync.states.set(from, pos);
    progressSync(node);
    return;
  }
  // After FailoverSync (or outside it): a secondary reports that its log does not match.
  const p = node.progress.get(from);
  // A report older than what it has since acknowledged (delayed or reordered) is stale.
  if (p && pos.lastLsn >= p.matchLsn) planSecondary(node, p, pos, null);
}

/** Advances FailoverSync: collect positions, pull from a log ahead of ours, then ship. */
export function progressSync(node: Replica): void {
  const s = node.sync;
  if (!s || s.phase === 'ship') return;
  if (s.phase === 'collect') {
    const reported = s.states.size;
    const all = reported === node.voters.length;
    const majority = reported >= majorityOf(node.voters.length);
    if (!majority || (!all && node.now - s.startedMs < node.cfg.timing.syncWaitMs)) return;
    const self = position(node);
    const ahead = chooseAheadSource(self, s.states, (id) => id !== node.id && node.kindOf(id) === 'data');
    if (ahead) {
      s.phase = 'pull';
      s.pullFrom = ahead.id;
      s.pullDeadlineMs = node.now + node.cfg.timing.syncWaitMs * 4;
      const req: PullRequestMsg = { t: 'pull-req', epoch: node.epoch, fromLsn: node.log.last + 1, toLsn: ahead.toLsn };
      node.send(ahead.id, req);
      return;
    }
    finishFailoverSync(node);
    return;
  }
  if (s.phase === 'pull' && node.now >= s.pullDeadlineMs) {
    // The source went quiet: what it had beyond us was never committed, so we may go on without it.
    finishFailoverSync(node);
  }
}

export function onPullRequest(node: Replica, from: NodeId, m: PullRequestMsg): void {
  if (m.epoch !== node.epoch || from !== node.primaryId) return;
  let l = m.fromLsn;
  do {
    const chunk = node.batchOf(l, m.toLsn);
    l += chunk.length;
    const done = chunk.length === 0 || l > m.toLsn;
    const msg: PullDataMsg = { t: 'pull-data', epoch: node.epoch, updates: chunk, done };
    node.send(from, msg);
    if (done) break;
  } while (l <= m.toLsn);
}

export function onPullData(node: Replica, from: NodeId, m: PullDataMsg): void {
  const s = node.sync;
  if (node.role !== 'primary' || !s || s.phase !== 'pull' || s.pullFrom !== from) return;
  for (const u of m.updates) {
    if (u.lsn !== node.log.last + 1) break;
    assert(u.epoch < node.epoch, 'pulled update from the current epoch');
    node.appendLocal(u, false);
    s.pulled++;
  }
  if (m.done) finishFailoverSync(node);
}

/** Claims 5–6: every secondary gets exactly the updates it lacks; then the new epoch starts. */
export function finishFailoverSync(node: Replica): void {
  const s = node.sync!;
  s.phase = 'ship';
  const dest: NodeId[] = [];
  for (const [id, pos] of s.states) {
    if (id === node.id) continue;
    const p = node.progress.get(id)!;
    planSecondary(node, p, pos, s);
    if (p.mode === 'replicate') dest.push(id);
  }
  // Dest + primary must be a majority of the voting members (they are: a majority reported,
  // and anyone needing a resync is left out only if a majority remains; otherwise it waits).
  node.dest = fitDest(node, dest);
  for (const id of node.dest) node.progress.get(id)!.inDest = true;
  const u = node.stamp('epoch-start', []);
  s.epochStartLsn = u.lsn;
  // Writes that queued during the election and FailoverSync can go now: they are ordered after
  // the epoch-start update, so they commit only once everything before it has.
  drainQueued(node);
}

export function fitDest(node: Replica, candidates: NodeId[]): NodeId[] {
  const need = majorityOf(node.voters.length) - 1;
  if (candidates.length >= need) return candidates;
  // Not enough converged secondaries yet: include secondaries still converging; writes will wait.
  const extra = [...node.progress.values()].filter((p) => !candidates.includes(p.id) && p.mode !== 'probe').map((p) => p.id);
  return [...candidates, ...extra];
}

/** Decide how to bring one secondary in line with our log, from its reported position. */
export function planSecondary(node: Replica, p: Progress, pos: LogPosition, s: SyncRound | null): void {
  const plan = planShip(position(node), pos);
  if (plan.needsResync) {
    startResync(node, p);
    return;
  }
  // During FailoverSync the position is fresh: stream at once. Outside it, a mismatch report may
  // be one of many caused by reordered appends; probing (one append in flight until it is
  // acknowledged, as Raft's probe state) keeps such reports from turning into a resend storm.
  p.mode = s ? 'replicate' : 'probe';
  p.nextLsn = plan.match + 1;
  p.matchLsn = Math.min(p.matchLsn, plan.match);
  p.truncateAfter = plan.truncate > 0 ? plan.match : -1;
  p.lastProgressMs = node.now;
  p.lastSendMs = -Infinity;
  // It lacks updates already cleared (a previous primary waived it): hold our log for it.
  if (plan.match < node.nextToClear - 1) p.catchingUpAfter = plan.match;
  if (s) {
    s.shippedTo[p.id] = plan.ship;
    s.truncated[p.id] = plan.truncate;
  }
}

export function completeFailoverSync(node: Replica): void {
  const s = node.sync!;
  node.sync = null;
  const regionsResynced: Record<NodeId, number> = {};
  for (const p of node.progress.values()) if (p.regionsResynced > 0) regionsResynced[p.id] = p.regionsResynced;
  const summary: FailoverSummary = {
    oldPrimary: s.oldPrimary,
    newPrimary: node.id,
    oldEpoch: s.oldEpoch,
    newEpoch: node.epoch,
    detectionMs: s.detectionMs,
    electionMs: s.electionMs,
    failoverSyncMs: node.now - s.startedMs,
    shippedTo: s.shippedTo,
    pulledFrom: s.pullFrom && s.pulled > 0 ? { [s.pullFrom]: s.pulled } : {},
    truncated: s.truncated,
    regionsResynced,
    epochStartLsn: s.epochStartLsn,
    committedBefore: s.committedBefore,
    // Everything up to committedBefore must be in our log (or cleared, which happens only once
    // every secondary holds it): count what is not.
    acknowledgedWritesLost: Math.max(0, s.committedBefore - node.log.last),
  };
  node.out.events.push({ t: 'failover', summary });
}
