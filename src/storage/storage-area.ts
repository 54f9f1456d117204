// The storage area of claim 1: a node's copy of the data. Updates are copied
// here from the UpdateLog. Applying an update and recording its lsn are one
// atomic step, so after a crash the node knows exactly which log records to
// replay (the log is the durability; the storage area may lag behind it).
import type { Lsn, RegionItem, Update } from '../core/types.ts';

export type { StateReader } from '../core/state-reader.ts';
import type { StateReader } from '../core/state-reader.ts';

export interface StorageArea extends StateReader {
  getScript(sha: Buffer): Buffer | undefined;
  regionScripts(region: number, afterSha: Buffer | undefined, limit: number): Array<[Buffer, Buffer]>;
  /** Highest lsn applied (visible to reads); may not be durable yet. */
  readonly appliedLsn: Lsn;
  /** Highest lsn whose application survived a crash (the log may be cleared up to here). */
  readonly durableLsn: Lsn;

  /**
   * Applies every op of `update` and sets appliedLsn = update.lsn, atomically.
   * Requires update.lsn > appliedLsn (gaps are allowed: a node may skip updates it
   * learned through a region resync, and config/epoch-start updates carry no ops).
   */
  apply(update: Update): void;

  /** Makes everything applied so far durable; calls back with the new durableLsn. */
  sync(cb: (err: Error | null, durableLsn: Lsn) => void): void;

  /**
   * Replaces the whole content of `region` with `items` (region resync), the region's item
   * stream of src/core/region-content.ts: a key's header, then a collection's elements. Used
   * when a node's divergent tail touched the region, or it fell beyond the log's retention
   * limit. The stream comes in several calls: the first with `first = true` clears the region;
   * a collection's elements may continue in later calls. A header installs the collection
   * empty (its count follows the elements installed) with the primary's encoding flag.
   */
  installRegion(region: number, items: readonly RegionItem[], first: boolean): void;

  /**
   * Sets appliedLsn explicitly (after truncation of a divergent tail, the storage area's
   * content is repaired by region resync and its lsn moves back with the log).
   */
  setAppliedLsn(lsn: Lsn): void;

  /** Regions whose content is known to be wrong until a resync completes (persisted). */
  dirtyRegions(): number[];
  markDirty(regions: readonly number[]): void;
  markClean(region: number): void;

  /** Digest of one region's content (every header and element), equal on equal content. Hex string. */
  regionDigest(region: number): string;
  /** Digest of the whole store: combines every region's digest. Hex string. */
  digest(): string;

  close(cb: (err: Error | null) => void): void;
}
