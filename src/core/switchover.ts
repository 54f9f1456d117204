// Planned switchover: the primary drains (new requests queue), waits until the target holds every
// update and all are committed, then tells it to stand at once (timeout-now, no pre-vote).
import type { TimeoutNowMsg } from './messages.ts';
import type { NodeId } from './types.ts';
import { eligibleToStand } from './election.ts';
import { drainQueued } from './requests.ts';
import type { Replica } from './replica.ts';

export function onSwitchover(node: Replica, id: number, to: NodeId | undefined): void {
  if (node.role !== 'primary') {
    node.out.events.push({ t: 'switchover', id, error: `this node is not the primary (the primary is ${node.primaryId ?? 'unknown'})` });
    return;
  }
  const target =
    to ??
    [...node.progress.values()].filter((p) => p.kind === 'data' && p.inDest).sort((a, b) => b.matchLsn - a.matchLsn)[0]?.id;
  const p = target ? node.progress.get(target) : undefined;
  if (!target || !p || p.kind !== 'data') {
    node.out.events.push({ t: 'switchover', id, error: `no data secondary named ${to ?? '(any)'} to hand over to` });
    return;
  }
  if (node.switchoverReq) {
    node.out.events.push({ t: 'switchover', id, error: 'a switchover is already in progress' });
    return;
  }
  // Drain: new writes queue from now on; once the target holds everything, it stands at once.
  node.switchoverReq = { id, to: target, deadlineMs: node.now + node.cfg.timing.electionTimeoutMs * 4, sentTimeoutNow: false };
  progressSwitchover(node);
}

export function progressSwitchover(node: Replica): void {
  const s = node.switchoverReq;
  if (!s || node.role !== 'primary') return;
  if (node.now > s.deadlineMs) {
    node.switchoverReq = null;
    node.out.events.push({ t: 'switchover', id: s.id, error: `${s.to} did not take over in time; this node stays primary` });
    drainQueued(node);
    return;
  }
  const p = node.progress.get(s.to)!;
  if (!s.sentTimeoutNow && p.matchLsn >= node.log.last && node.commitLsn >= node.log.last) {
    s.sentTimeoutNow = true;
    const msg: TimeoutNowMsg = { t: 'timeout-now', epoch: node.epoch };
    node.send(s.to, msg);
  }
}

export function onTimeoutNow(node: Replica, from: NodeId, m: TimeoutNowMsg): void {
  if (m.epoch !== node.epoch || from !== node.primaryId || node.isWitness || !eligibleToStand(node)) return;
  node.startElection(true);
}
