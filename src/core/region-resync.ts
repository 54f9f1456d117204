// Region resync: a secondary whose storage area lacks regions (a truncated divergent tail, a log
// restart because the primary no longer holds what it lacks) marks them dirty and receives their
// content in chunks as of the primary's applied lsn, then replays its log over them.
import { Overlay } from './kv/overlay.ts';
import type { Progress } from './progress.ts';
import type { StateReader } from './state-reader.ts';
import type { RegionDataMsg, RegionRequestMsg, ResyncStartMsg } from './messages.ts';
import type { StorageOp } from './ready.ts';
import { ALL_REGIONS } from './regions.ts';
import { cursorAfter, readRegionChunk, type RegionCursor } from './region-content.ts';
import type { Lsn, NodeId } from './types.ts';
import { leaveDest } from './dest.ts';
import type { Replica } from './replica.ts';

/** Divergent tail: drop updates after lsn; regions they changed in the storage area get resynced. */
export function truncateTail(node: Replica, lsn: Lsn): void {
  if (lsn >= node.log.last) return;
  const removed = node.log.truncateAfter(lsn);
  node.out.truncateAfter = node.out.truncateAfter < 0 ? lsn : Math.min(node.out.truncateAfter, lsn);
  // Appends of this Ready that the truncation removed must not be written.
  node.out.appends = node.out.appends.filter((u) => u.lsn <= lsn);
  if (node.durableLsn > lsn) node.durableLsn = lsn;
  if (node.matchLsn > lsn) node.matchLsn = lsn;
  if (node.storage && node.storageApplied > lsn) {
    const regions = new Set<number>();
    for (const u of removed) if (u.lsn <= node.storageApplied) for (const r of u.regions) regions.add(r);
    setStorageApplied(node, lsn);
    if (regions.size > 0) {
      const list = [...regions].sort((a, b) => a - b);
      for (const r of list) node.dirty.add(r);
      node.out.storage.push({ k: 'dirty', regions: list });
      requestDirtyRegions(node);
    }
  }
  node.out.events.push({ t: 'truncate', afterLsn: lsn, removed: removed.length, epoch: node.epoch });
}

export function requestDirtyRegions(node: Replica): void {
  if (!node.primaryId || node.primaryId === node.id || node.dirty.size === 0) return;
  node.regionRequestSentMs = node.now;
  node.regionSeq++;
  node.regionCursor.clear();
  node.regionAhead.clear();
  const msg: RegionRequestMsg = {
    t: 'region-req',
    epoch: node.epoch,
    regions: [...node.dirty].sort((a, b) => a - b),
    atLsn: node.storageApplied,
    seq: node.regionSeq,
  };
  node.send(node.primaryId, msg);
}

/** Primary: a secondary asks for regions (after truncating a divergent tail). */
export function onRegionRequest(node: Replica, from: NodeId, m: RegionRequestMsg): void {
  if (node.role !== 'primary' || m.epoch !== node.epoch) return;
  const p = node.progress.get(from);
  if (!p || p.kind !== 'data') return;
  // A new request supersedes any transfer in progress (its chunks may have been lost).
  p.regionQueue = m.regions.map((r) => ({ region: r, after: undefined, atLsn: m.atLsn, first: true, seq: m.seq }));
  sendRegionChunks(node, p);
}

/** Primary: a secondary lacks updates we cleared — restart its log after our start and resync regions. */
export function startResync(node: Replica, p: Progress): void {
  if (p.kind === 'witness') {
    // A witness holds no data: it only needs its log restarted.
    const after = node.log.start - 1;
    const msg: ResyncStartMsg = { t: 'resync-start', epoch: node.epoch, regions: [], afterLsn: after, afterEpoch: node.log.epochAt(after) ?? 0 };
    node.send(p.id, msg);
    p.mode = 'replicate';
    p.nextLsn = after + 1;
    p.resyncRegions = null;
    p.catchingUpAfter = after;
    return;
  }
  if (p.mode === 'resync' && p.regionQueue.length > 0) return;
  const regions = p.resyncRegions ? [...p.resyncRegions].sort((a, b) => a - b) : [...ALL_REGIONS];
  const after = node.log.start - 1;
  const msg: ResyncStartMsg = { t: 'resync-start', epoch: node.epoch, regions, afterLsn: after, afterEpoch: node.log.epochAt(after) ?? 0 };
  node.send(p.id, msg);
  // Out of dest by the ordinary rule: if a majority needs it, writes wait for its resync.
  leaveDest(node, p);
  p.mode = 'resync';
  p.regionQueue = regions.map((r) => ({ region: r, after: undefined, atLsn: after, first: true, seq: 0 }));
  p.resyncRegions = null;
  p.catchingUpAfter = after;
  p.nextLsn = after + 1;
  p.matchLsn = Math.min(p.matchLsn, after);
}

/**
 * The storage area as of storageApplied, for region chunks: the applies this step emitted are
 * carried out by the host only after the step, so the storage area alone may lack them — a
 * chunk read from it would be older than the asOfLsn it is sent with, and the secondary, which
 * replays its log only after that lsn, would keep the older value (the simulator found it).
 */
function chunkSource(node: Replica): StateReader {
  const pending = node.out.storage.filter((op): op is Extract<StorageOp, { k: 'apply' }> => op.k === 'apply');
  if (pending.length === 0) return node.storage!;
  const o = new Overlay(node.storage!);
  for (const op of pending) o.applyOps(op.update.ops);
  return o;
}

/** Ship region chunks as of our applied lsn, once it is at least what the secondary stands at. */
export function sendRegionChunks(node: Replica, p: Progress): void {
  if (!node.storage) return;
  let budget = 4; // chunks per step: region transfer must not starve the write path
  // At most one chunk of a region per step, so that a region's chunks leave a step apart and
  // arrive in order even where delivery reorders what leaves together (the secondary drops a
  // chunk that does not continue the last one and re-requests the region).
  for (let i = 0; i < p.regionQueue.length && budget-- > 0; ) {
    const q = p.regionQueue[i]!;
    if (node.storageApplied < q.atLsn) return; // wait until our storage area has caught up
    // Items, not keys, are counted: a huge collection goes over many chunks. Within the append
    // byte budget too, so that a chunk of large values still fits one frame (a larger one would
    // be dropped by the transport, and the region never resynced).
    const chunk = readRegionChunk(chunkSource(node), q.region, q.after, node.cfg.limits.regionChunkEntries, node.cfg.limits.maxAppendBytes);
    const last = chunk.next === null;
    const msg: RegionDataMsg = {
      t: 'region-data',
      epoch: node.epoch,
      region: q.region,
      asOfLsn: node.storageApplied,
      seq: q.seq,
      afterKey: q.after?.key ?? null,
      afterElem: q.after?.elem ?? null,
      first: q.first,
      last,
      items: chunk.items,
    };
    node.send(p.id, msg);
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
export function onResyncStart(node: Replica, from: NodeId, m: ResyncStartMsg): void {
  if (m.epoch < node.epoch) return;
  node.followPrimary(from, m.epoch);
  if (m.afterLsn <= node.log.last && node.log.epochAt(m.afterLsn) === m.afterEpoch) {
    // We already hold the update it would restart us after (the primary planned from a stale
    // report): nothing is missing, so keep our log and tell it where we really stand.
    node.sendSyncState(from);
    return;
  }
  // Updates in our log that our storage area has not applied yet (it may have lost them in a
  // crash) go with the log: their regions must come with the resync too.
  const extra = new Set<number>();
  if (node.storage) {
    for (let l = Math.max(node.storageApplied + 1, node.log.start); l <= node.log.last; l++) for (const r of node.log.get(l)!.regions) extra.add(r);
  }
  node.log.resetAfter(m.afterLsn, m.afterEpoch);
  node.out.truncateAfter = -1;
  node.out.appends = [];
  node.out.clear = null;
  // The host restarts the durable log empty after afterLsn.
  node.out.restartLog = { afterLsn: m.afterLsn, afterEpoch: m.afterEpoch };
  node.nextToClear = m.afterLsn + 1;
  node.durableLsn = m.afterLsn;
  node.matchLsn = m.afterLsn;
  node.regionSeq = 0;
  node.regionCursor.clear();
  node.regionAhead.clear();
  node.regionRequestSentMs = node.now;
  const regions = [...new Set([...m.regions, ...extra])].sort((a, b) => a - b);
  if (node.storage && regions.length > 0) {
    for (const r of regions) node.dirty.add(r);
    node.out.storage.push({ k: 'dirty', regions });
  }
  if (node.storage) setStorageApplied(node, Math.min(node.storageApplied, m.afterLsn));
  // Regions the primary does not know we need: ask for every dirty region (a new request
  // supersedes the transfer the primary started).
  if (extra.size > 0 && [...extra].some((r) => !m.regions.includes(r))) requestDirtyRegions(node);
}

/** Moves the storage area's applied lsn (back, after a truncation or a resync). */
export function setStorageApplied(node: Replica, lsn: Lsn): void {
  node.out.storage.push({ k: 'set-applied', lsn });
  node.storageApplied = lsn;
  // What is durable there cannot be beyond what it holds now.
  if (node.storageDurable > lsn) node.storageDurable = lsn;
}

/** Secondary: install a chunk of a region's content (or keep it, when the chunk it continues is still on its way). */
export function onRegionData(node: Replica, from: NodeId, m: RegionDataMsg): void {
  if (m.epoch !== node.epoch || from !== node.primaryId || !node.storage || !node.dirty.has(m.region)) return;
  if (m.seq !== node.regionSeq) return; // a chunk of a superseded transfer
  const cursor = node.regionCursor.get(m.region);
  const contiguous = m.first
    ? m.afterKey === null && cursor === undefined
    : cursor !== undefined && m.afterKey !== null && cursor.key.equals(m.afterKey) && sameElem(cursor.elem, m.afterElem);
  if (!contiguous) {
    // Reordered: a later chunk overtook the one it continues. Keep it until that one is
    // installed. Dropping it made a transfer whose chunks are always reordered the same way (a
    // large first chunk, small ones after it) start over at every re-request and never finish.
    // A lost chunk is still recovered by the re-request after a timeout.
    if (!m.first && m.afterKey !== null && node.regionAhead.size < REGION_CHUNKS_AHEAD) node.regionAhead.set(chunkAheadKey(m.region, m.afterKey, m.afterElem), m);
    return;
  }
  installRegionChunk(node, m);
}
function installRegionChunk(node: Replica, m: RegionDataMsg): void {
  const lastItem = m.items[m.items.length - 1];
  const end: RegionCursor | undefined =
    lastItem !== undefined
      ? cursorAfter(lastItem)
      : m.afterKey !== null
        ? { key: m.afterKey, elem: m.afterElem }
        : undefined;
  // An empty first chunk (an empty region) is always its last: no cursor is needed after it.
  if (end !== undefined) node.regionCursor.set(m.region, end);
  const ops: StorageOp[] = [{ k: 'install', region: m.region, items: m.items, first: m.first }];
  node.out.storage.push(...ops);
  if (m.last) {
    node.dirty.delete(m.region);
    node.out.storage.push({ k: 'clean', region: m.region });
    if (node.dirty.size === 0) {
      // Every region installed as of an lsn ≥ where we stand: replaying our log from here converges.
      node.out.storage.push({ k: 'set-applied', lsn: Math.max(node.storageApplied, node.log.start - 1) });
      node.storageApplied = Math.max(node.storageApplied, node.log.start - 1);
      node.applyUpTo(node.matchLsn);
    }
    for (const [k, a] of node.regionAhead) if (a.region === m.region) node.regionAhead.delete(k);
    return;
  }
  // The chunk that continues this one may have arrived first.
  const next = end !== undefined ? node.regionAhead.get(chunkAheadKey(m.region, end.key, end.elem)) : undefined;
  if (next) {
    node.regionAhead.delete(chunkAheadKey(m.region, end!.key, end!.elem));
    installRegionChunk(node, next);
  }
}
/** Two optional element cursors name the same place. */
function sameElem(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

/**
 * Region chunks a secondary keeps while the chunk they continue is still on its way (each at most
 * limits.maxAppendBytes). Beyond, a chunk is dropped and the re-request after a timeout resends it.
 */
const REGION_CHUNKS_AHEAD = 64;

/** Where a region chunk starts, as the key of the chunks kept ahead. */
function chunkAheadKey(region: number, afterKey: Buffer, afterElem: Buffer | null): string {
  return `${region}:${afterKey.toString('hex')}:${afterElem === null ? '' : afterElem.toString('hex')}`;
}
