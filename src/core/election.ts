// Election (pre-vote, then vote by majority; claim 1's primary is whoever a majority of the voting
// members elected in an epoch). A vote goes only to a log at least as up to date as the voter's,
// which is what lets the winner's FailoverSync find every committed update. The role changes
// themselves (candidate, primary) are Replica's.
import { majorityOf } from './config.ts';
import { logAtLeast } from './disk-loss.ts';
import type { CatchUpMsg, VoteMsg, VoteRequestMsg } from './messages.ts';
import type { Epoch, Lsn, NodeId } from './types.ts';
import type { Replica } from './replica.ts';

export function eligibleToStand(node: Replica): boolean {
  // A node whose storage area is being repaired, or that lost data and is not refilled, must
  // not become primary; a lone data member with no other voter elects itself at once.
  return !node.isWitness && node.dirty.size === 0 && node.lostData === null;
}

/**
 * Pre-vote first (Raft §9.6): ask whether a majority would vote for us in epoch + 1, changing
 * nothing anywhere. Only if it would does the real election raise the epoch. A node cut off
 * from the majority keeps failing pre-votes, so it never raises its epoch and cannot depose a
 * healthy primary when it comes back. A planned switchover skips it.
 */
export function startPreVote(node: Replica): void {
  if (node.firstCandidacyMs === null) node.firstCandidacyMs = node.now;
  node.preVotes = new Set([node.id]);
  node.preVoteEpoch = node.epoch + 1;
  node.resetElectionDeadline();
  const req: VoteRequestMsg = { t: 'vote-req', epoch: node.epoch + 1, lastLsn: node.log.last, lastEpoch: node.log.lastEpoch, transfer: false, pre: true };
  for (const v of node.voters) if (v !== node.id) node.send(v, req);
  if (node.preVotes.size >= majorityOf(node.voters.length)) node.startElection(false);
}

/** Would a vote go to a candidate with this log? (at least as up to date as ours, and, after a loss of data, as the floor) */
export function logUpToDate(node: Replica, lastEpoch: Epoch, lastLsn: Lsn): boolean {
  if (node.lostData && !node.lostData.allowsVoteFor({ lastEpoch, lastLsn })) return false;
  return logAtLeast({ lastEpoch, lastLsn }, { lastEpoch: node.log.lastEpoch, lastLsn: node.log.last });
}

export function onVoteRequest(node: Replica, from: NodeId, m: VoteRequestMsg): void {
  // Stickiness: while this node hears from a live primary (or is one, with its lease) it
  // refuses candidates, without adopting their epoch. This is what makes the primary's read
  // lease safe, and keeps a returning node from disrupting a healthy cluster.
  const heardRecently = node.primaryId !== null && node.primaryId !== node.id && node.now - node.lastHeardFromPrimaryMs < node.cfg.timing.electionTimeoutMs;
  const selfLeased = node.role === 'primary' && node.leaseValid();
  const sticky = !m.transfer && (heardRecently || selfLeased);
  if (!sticky && !logUpToDate(node, m.lastEpoch, m.lastLsn)) offerCatchUp(node, from, m);
  if (m.pre) {
    const granted = !sticky && m.epoch > node.epoch && logUpToDate(node, m.lastEpoch, m.lastLsn);
    // A refusal carries our own epoch (Raft's pre-vote rule): a candidate behind it adopts it.
    // Nothing else tells it, and when its log is the only one the others would vote for (one
    // of them lost data, the other's log is behind) it would ask in our epoch forever.
    node.send(from, { t: 'vote', epoch: granted ? m.epoch : node.epoch, granted, pre: true });
    return;
  }
  if (m.epoch < node.epoch) {
    node.send(from, { t: 'vote', epoch: node.epoch, granted: false, pre: false });
    return;
  }
  if (sticky && m.epoch > node.epoch) return;
  if (m.epoch > node.epoch) node.adoptEpoch(m.epoch, null);
  const granted = logUpToDate(node, m.lastEpoch, m.lastLsn) && (node.votedFor === null || node.votedFor === from);
  if (granted && node.votedFor !== from) {
    node.votedFor = from;
    node.persistHardState();
  }
  if (granted) node.resetElectionDeadline();
  node.send(from, { t: 'vote', epoch: node.epoch, granted, pre: false });
}

/**
 * A candidate whose log is behind ours cannot win our vote; if we cannot stand either (our
 * storage area awaits a region resync, and a resync needs a primary), nobody might ever be
 * elected. Send it what it lacks after its last update, when that update is in our log, so
 * that its next request carries our position (see CatchUpMsg for why this is safe).
 */
export function offerCatchUp(node: Replica, to: NodeId, m: VoteRequestMsg): void {
  if (node.isWitness || eligibleToStand(node) || m.lastLsn >= node.log.last) return;
  if (m.lastLsn < node.log.start - 1 || node.log.epochAt(m.lastLsn) !== m.lastEpoch) return;
  const updates = node.batchOf(m.lastLsn + 1, node.log.last);
  if (updates.length === 0) return;
  node.send(to, { t: 'catch-up', epoch: node.epoch, prevLsn: m.lastLsn, prevEpoch: m.lastEpoch, updates });
}

/** Extends our log with updates offered by a voter (CatchUpMsg), when no primary leads us. */
export function onCatchUp(node: Replica, m: CatchUpMsg): void {
  if (node.role === 'primary' || node.isWitness) return;
  if (node.primaryId !== null && node.now - node.lastHeardFromPrimaryMs < node.cfg.timing.electionTimeoutMs) return;
  if (m.prevLsn !== node.log.last || node.log.lastEpoch !== m.prevEpoch) return;
  for (const u of m.updates) {
    if (u.lsn !== node.log.last + 1 || u.epoch < node.log.lastEpoch) break;
    node.log.append(u);
    node.out.appends.push(u);
  }
}

export function onVote(node: Replica, from: NodeId, m: VoteMsg): void {
  if (m.pre) {
    if (!m.granted || m.epoch !== node.preVoteEpoch || node.role === 'primary' || node.epoch + 1 !== m.epoch) return;
    node.preVotes.add(from);
    if (node.preVotes.size >= majorityOf(node.voters.length)) node.startElection(false);
    return;
  }
  if (node.role !== 'candidate' || m.epoch !== node.epoch || !m.granted) return;
  node.votes.add(from);
  maybeWinElection(node);
}

export function maybeWinElection(node: Replica): void {
  if (node.role !== 'candidate' || node.votes.size < majorityOf(node.voters.length)) return;
  node.becomePrimary();
}
