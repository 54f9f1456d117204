// Client requests at a node: a secondary answers reads from its storage area (a prefix of its
// log); the primary executes against its latest state (committed + pending), gathers the writes
// into the next update, and holds each reply until that update is committed (claim 1) and, for a
// pure read, until its lease is valid (linearizable reads). Requests arriving during FailoverSync
// or a switchover queue.
import { replyText } from '../errors.ts';
import { isWriteCommand } from './kv/command-table.ts';
import { executeBatch } from './kv/executor.ts';
import { opsBytes } from './log-view.ts';
import { regionOfKey } from './regions.ts';
import { err, type Reply } from './reply.ts';
import type { Lsn } from './types.ts';
import type { Replica } from './replica.ts';

/** A request executed at the primary, its replies held until its update commits. */
export interface Waiting {
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

/** A request held while FailoverSync or a switchover runs. */
export interface Queued {
  readonly id: number;
  readonly cmds: readonly Buffer[][];
  readonly wallMs: number;
  readonly deadlineMs: number;
}

const WRITE_ERR_READONLY = replyText('READONLY');

export function onClient(node: Replica, id: number, cmds: readonly Buffer[][], wallMs: number): void {
  const names = cmds.map((c) => (c[0] ? c[0].toString('latin1').toLowerCase() : ''));
  const writes = names.some((n) => isWriteCommand(n));
  if (node.role !== 'primary') {
    if (writes || node.isWitness) {
      const msg = node.isWitness ? replyText('WITNESS_NO_DATA') : WRITE_ERR_READONLY;
      node.reply(id, cmds.map(() => err(msg)), 0);
      return;
    }
    // A node that lost data answers nothing from its (partial) storage area until refilled.
    if (node.lostData) {
      node.reply(id, cmds.map(() => err(replyText('DATA_LOST'))), 0);
      return;
    }
    // A secondary's reads show a prefix of its own log (possibly not yet committed).
    const blocked = keysInDirtyRegions(node, cmds);
    if (blocked) {
      node.reply(id, cmds.map(() => err(replyText('REGION_RESYNC'))), 0);
      return;
    }
    const res = executeBatch(cmds, node.storage!, wallMs, node.replicaExecOptions);
    node.reply(id, res.replies, 0);
    return;
  }
  if (node.syncing) {
    enqueue(node, id, cmds, wallMs);
    return;
  }
  if (node.switchoverReq || node.queued.length > 0) {
    enqueue(node, id, cmds, wallMs);
    return;
  }
  execute(node, id, cmds, wallMs, writes);
}

export function enqueue(node: Replica, id: number, cmds: readonly Buffer[][], wallMs: number): void {
  if (node.queued.length >= node.cfg.limits.maxQueuedRequests) {
    node.reply(id, cmds.map(() => err(replyText('FAILOVER_IN_PROGRESS'))), 0);
    return;
  }
  node.queued.push({ id, cmds, wallMs, deadlineMs: node.now + node.cfg.timing.requestTimeoutMs });
}

export function drainQueued(node: Replica): void {
  while (node.queued.length > 0 && node.role === 'primary' && !node.switchoverReq && !node.syncing) {
    const q = node.queued.shift()!;
    const writes = q.cmds.some((c) => isWriteCommand(c[0] ? c[0].toString('latin1').toLowerCase() : ''));
    execute(node, q.id, q.cmds, q.wallMs, writes);
  }
}

/** Execute against the latest state (committed + pending); the reply waits for the commit. */
export function execute(node: Replica, id: number, cmds: readonly Buffer[][], wallMs: number, writes: boolean): void {
  const res = executeBatch(cmds, node.pending!, wallMs, node.execOptions);
  let lsn = 0;
  if (res.ops.length > 0) {
    const bytes = opsBytes(res.ops);
    // A write that would take the gathered update past its size limit starts the next one.
    if (node.gathered && node.gathered.bytes + bytes > node.cfg.limits.maxUpdateBytes) node.sealGathered();
    node.gathered ??= { lsn: node.log.last + 1, ops: [], keyEvents: [], bytes: 0 };
    const g = node.gathered;
    for (const e of res.keyEvents) g.keyEvents.push({ event: e.event, op: g.ops.length + e.op });
    for (const op of res.ops) g.ops.push(op);
    g.bytes += bytes;
    node.pending!.record(g.lsn, res.ops);
    lsn = g.lsn;
    // A full update goes into the log now (with maxUpdateBytes = 1, every write is its own).
    if (g.bytes >= node.cfg.limits.maxUpdateBytes) node.sealGathered();
  }
  node.waiting.push({
    id,
    replies: res.replies,
    // What it read or wrote includes every write gathered so far: it waits for their update too.
    waitLsn: lsn !== 0 ? lsn : node.gathered ? node.gathered.lsn : node.log.last,
    lsn,
    needsLease: !writes || lsn === 0,
    deadlineMs: node.now + node.cfg.timing.requestTimeoutMs,
  });
}

export function keysInDirtyRegions(node: Replica, cmds: readonly Buffer[][]): boolean {
  if (node.dirty.size === 0) return false;
  for (const c of cmds) for (const a of c.slice(1)) if (node.dirty.has(regionOfKey(a))) return true;
  return false;
}

export function expireRequests(node: Replica): void {
  const fail = (id: number, n: number): void =>
    node.reply(id, Array.from({ length: n }, () => err(replyText('WRITE_TIMEOUT'))), 0);
  while (node.queued.length > 0 && node.queued[0]!.deadlineMs <= node.now) {
    const q = node.queued.shift()!;
    fail(q.id, q.cmds.length);
  }
  while (node.waiting.length > 0 && node.waiting[0]!.deadlineMs <= node.now) {
    const w = node.waiting.shift()!;
    fail(w.id, w.replies.length);
  }
}

/** The primary steps down: every request in flight gets an error (a write's outcome is unknown). */
export function failRequestsOnStepDown(node: Replica): void {
  const msg = replyText('NOT_PRIMARY');
  for (const w of node.waiting) node.reply(w.id, w.replies.map(() => err(msg)), 0);
  for (const q of node.queued) node.reply(q.id, q.cmds.map(() => err(WRITE_ERR_READONLY)), 0);
  node.waiting.length = 0;
  node.queued.length = 0;
}
