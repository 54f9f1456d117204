// A node that lost data (disk-loss.ts): until refilled it asks the other voters where they stand,
// learns the floor below which it must never vote, and reports when its log and storage area hold
// what they reported.
import type { Floor } from './disk-loss.ts';
import type { RecoverStateMsg } from './messages.ts';
import type { NodeId } from './types.ts';
import type { Replica } from './replica.ts';

/** Until enough of the other voters answered, ask them where they stand (every resend interval). */
export function askWhereOthersStand(node: Replica): void {
  const l = node.lostData;
  if (!l || l.floor || node.now - l.lastAskMs < node.cfg.timing.resendAfterMs) return;
  l.lastAskMs = node.now;
  for (const v of node.voters) if (v !== node.id) node.send(v, { t: 'recover-req', epoch: node.epoch });
}

export function onRecoverState(node: Replica, from: NodeId, m: RecoverStateMsg): void {
  const floor = node.lostData?.answer(from, m, node.kindOf(from) === 'witness');
  if (floor) learnedFloor(node, floor);
}

/**
 * The others told us an epoch we may have voted in before the loss: never vote in it or below
 * (as if we had voted for ourselves there). A primary of an older epoch is fenced by this, and
 * the cluster elects in a newer one; that costs an election only when some node knows an epoch
 * above the primary's.
 */
export function learnedFloor(node: Replica, f: Floor): void {
  node.out.events.push({ t: 'lost-data', phase: 'floor', floorEpoch: f.epoch, floorLastEpoch: f.lastEpoch, floorLastLsn: f.lastLsn, lastLsn: node.log.last });
  if (f.epoch > node.epoch) {
    const wasPrimaryKnown = node.primaryId !== null;
    node.epoch = f.epoch;
    node.votedFor = node.id;
    node.lastAckRound = 0;
    node.persistHardState();
    if (wasPrimaryKnown) {
      node.primaryId = null;
      node.matchLsn = 0;
      node.emitRole();
    }
  }
  maybeRefilled(node);
}

/** Refilled: the log holds what the others reported and the storage area every region. */
export function maybeRefilled(node: Replica): void {
  const l = node.lostData;
  if (!l || node.dirty.size > 0 || !l.refilledBy({ lastEpoch: node.log.lastEpoch, lastLsn: node.log.last }) || node.durableLsn < node.log.last) return;
  node.lostData = null;
  node.persistHardState();
  node.out.events.push({ t: 'lost-data', phase: 'refilled', floorEpoch: l.floor!.epoch, floorLastEpoch: l.floor!.lastEpoch, floorLastLsn: l.floor!.lastLsn, lastLsn: node.log.last });
}
