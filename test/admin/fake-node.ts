// A NodeHandle built from plain data, for the admin tests.
//
// IT EXERCISES THE HTTP LAYER ONLY: there is no replication behind it. Status
// objects are plain data the test changes between calls, and events come from
// an EventEmitter the test fires. The browser test against a real 3-node
// cluster replaces it once the replication runtime exists.
import { EventEmitter } from 'node:events';
import type { Epoch, NodeId } from '../../src/core/types.ts';
import type { FailoverReport, MemberInfo, NodeEvents, NodeHandle, NodeStatus, Role } from '../../src/runtime/node-api.ts';

export interface FakeNode extends NodeHandle {
  /** The status the next status() call returns; tests replace it freely. */
  current: NodeStatus;
  readonly emitter: EventEmitter;
  /** What switchover() was called with, in order. */
  readonly switchovers: Array<NodeId | undefined>;
  /** The error the next switchover() reports (null: success). */
  switchoverError: Error | null;
  emitFailover(report: FailoverReport): void;
  listenerCount(event: keyof NodeEvents): number;
}

export function makeStatus(id: NodeId, over: Partial<NodeStatus> = {}): NodeStatus {
  return {
    id,
    role: 'secondary',
    epoch: 1,
    primaryId: 'n1',
    leaseValid: false,
    log: { start: 1, nextToClear: 1, appliedLsn: 0, commitLsn: 0, lastLsn: 0, durableLsn: 0, bytes: 0, segments: 1 },
    secondaries: [],
    inFlight: [],
    regionalCounters: {},
    dirtyRegions: [],
    incarnation: 1,
    lostData: null,
    keys: 0,
    ...over,
  };
}

export function primaryStatus(id: NodeId, secondaries: readonly NodeId[], lsn: number, over: Partial<NodeStatus> = {}): NodeStatus {
  return makeStatus(id, {
    role: 'primary',
    primaryId: id,
    leaseValid: true,
    // Whole segments below nextToClear are deleted, so start trails it in steps.
    log: { start: Math.max(1, Math.floor((lsn - 300) / 100) * 100 + 1), nextToClear: Math.max(1, lsn - 40), appliedLsn: lsn - 3, commitLsn: lsn - 3, lastLsn: lsn, durableLsn: lsn, bytes: lsn * 120, segments: 1 + Math.floor(lsn / 5000) },
    secondaries: secondaries.map((s, i) => ({
      id: s,
      inDest: true,
      connection: 'connected' as const,
      sentLsn: lsn,
      ackedLsn: lsn - 3 + i,
      lagUpdates: 3 - i,
      lagMs: 2 + i,
      resyncRegions: 0,
      incarnation: 1,
    })),
    inFlight: [
      { lsn: lsn - 2, regions: [3, 17], sent: [...secondaries], received: secondaries.slice(0, 1) },
      { lsn: lsn - 1, regions: [17], sent: [...secondaries], received: [] },
      { lsn, regions: [40], sent: secondaries.slice(0, 1), received: [] },
    ],
    regionalCounters: { 3: 1, 17: 3, 40: 1 },
    keys: 1234,
    ...over,
  });
}

export function members(ids: readonly NodeId[]): MemberInfo[] {
  return ids.map((id, i) => ({ id, kind: 'data', peerAddr: `127.0.0.1:${7000 + i}`, redisAddr: `127.0.0.1:${6380 + i}` }));
}

export function makeFakeNode(id: NodeId, status: NodeStatus, memberList: MemberInfo[]): FakeNode {
  const emitter = new EventEmitter();
  const node: FakeNode = {
    id,
    members: memberList,
    current: status,
    emitter,
    switchovers: [],
    switchoverError: null,
    role: (): Role => node.current.role,
    epoch: (): Epoch => node.current.epoch,
    primaryId: () => node.current.primaryId,
    execute: () => {
      throw new Error('the HTTP-layer harness executes no commands');
    },
    waitReplicas: (_lsn, _n, _t, cb) => cb(0),
    lastLsn: () => node.current.log.lastLsn,
    status: () => node.current,
    switchover: (to, cb) => {
      node.switchovers.push(to);
      const err = node.switchoverError;
      setImmediate(() => cb(err));
    },
    on: (event, listener) => {
      emitter.on(event, listener);
    },
    off: (event, listener) => {
      emitter.off(event, listener);
    },
    stop: (cb) => cb(null),
    emitFailover: (report) => {
      emitter.emit('failover', report);
    },
    listenerCount: (event) => emitter.listenerCount(event),
  };
  return node;
}

export function report(over: Partial<FailoverReport> = {}): FailoverReport {
  return {
    at: Date.now(),
    oldPrimary: 'n1',
    newPrimary: 'n2',
    oldEpoch: 1,
    newEpoch: 2,
    detectionMs: 212,
    electionMs: 31,
    failoverSyncMs: 9,
    shippedTo: { n3: 4 },
    pulledFrom: {},
    truncated: { n1: 2 },
    regionsResynced: {},
    ...over,
  };
}
