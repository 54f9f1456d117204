// What the core asks its host to do after a step (the shape of etcd's Ready).
// The host carries these out in this order:
//   1. hardState: persist {epoch, votedFor, incarnation, lostData}; no message of this Ready leaves before it is durable;
//   2. truncateAfter, then appends: the UpdateLog (group commit); completion is reported back
//      with a `persisted` input — the core emits acknowledgements only after that, so an ack
//      can never leave before the update it covers is durable;
//   3. storage: applied to the StorageArea synchronously and in order, before the next step;
//   4. clear: advance the log's start / nextToClear pointers;
//   5. messages, then replies.
import type { Envelope } from './messages.ts';
import type { Reply } from './reply.ts';
import type { RegionItem, Epoch, Lsn, NodeId, Update } from './types.ts';
import type { FailoverSummary } from './failover-sync.ts';

export type StorageOp =
  | { readonly k: 'apply'; readonly update: Update }
  | { readonly k: 'install'; readonly region: number; readonly items: readonly RegionItem[]; readonly first: boolean }
  | { readonly k: 'dirty'; readonly regions: readonly number[] }
  | { readonly k: 'clean'; readonly region: number }
  | { readonly k: 'set-applied'; readonly lsn: Lsn };

export interface ClientReply {
  readonly id: number;
  readonly replies: readonly Reply[];
  /** The lsn of the update this request created, if any (for WAIT). */
  readonly lsn: Lsn;
}

export type CoreEvent =
  | { readonly t: 'role'; readonly role: 'primary' | 'secondary' | 'candidate' | 'witness'; readonly epoch: Epoch; readonly primaryId: NodeId | null }
  | { readonly t: 'failover'; readonly summary: FailoverSummary }
  | { readonly t: 'truncate'; readonly afterLsn: Lsn; readonly removed: number; readonly epoch: Epoch }
  | { readonly t: 'committed'; readonly lsn: Lsn }
  | { readonly t: 'switchover'; readonly id: number; readonly error: string | null }
  /** This node lost data (disk-loss.ts): it learned the floor from the others, or it is refilled. */
  | {
      readonly t: 'lost-data';
      readonly phase: 'floor' | 'refilled';
      readonly floorEpoch: Epoch;
      readonly floorLastEpoch: Epoch;
      readonly floorLastLsn: Lsn;
      readonly lastLsn: Lsn;
    }
  /** Primary: a secondary reported a newer incarnation — it lost data; its progress was reset. */
  | { readonly t: 'peer-lost-data'; readonly node: NodeId; readonly incarnation: number; readonly previousIncarnation: number; readonly ackedLsn: Lsn; readonly inDest: boolean };

export interface Ready {
  hardState: { epoch: Epoch; votedFor: NodeId | null; incarnation: number; lostData: boolean } | null;
  truncateAfter: Lsn;
  /** Region resync beyond retention: empty the log and continue after this lsn (before appends). */
  restartLog: { afterLsn: Lsn; afterEpoch: Epoch } | null;
  appends: Update[];
  storage: StorageOp[];
  /** New start-of-log (claim 3) and next-to-clear (claim 4) pointers, or null. */
  clear: { start: Lsn; nextToClear: Lsn } | null;
  messages: Envelope[];
  replies: ClientReply[];
  events: CoreEvent[];
}

export function emptyReady(): Ready {
  return { hardState: null, truncateAfter: -1, restartLog: null, appends: [], storage: [], clear: null, messages: [], replies: [], events: [] };
}

export function readyIsEmpty(r: Ready): boolean {
  return (
    r.hardState === null &&
    r.truncateAfter < 0 &&
    r.restartLog === null &&
    r.appends.length === 0 &&
    r.storage.length === 0 &&
    r.clear === null &&
    r.messages.length === 0 &&
    r.replies.length === 0 &&
    r.events.length === 0
  );
}
