// The vocabulary of the claims (US 7,617,369) as data types. Nothing here does
// I/O; every node, the simulator and the codecs share these shapes.

/** A node's stable identity within the cluster, e.g. "n1". */
export type NodeId = string;
/** Log sequence number: gap-free, starts at 1; 0 means "nothing". */
export type Lsn = number;
/** Monotonically increasing election term; every message carries one (fencing). */
export type Epoch = number;

/** A stored value with its absolute expiry (unix ms, 0 = never). */
export interface Entry {
  readonly value: Buffer;
  readonly expireAtMs: number;
}

/**
 * A deterministic write. The primary executes client logic (INCR, APPEND, SET NX…)
 * and replicates only final values, so replicas never re-execute logic.
 */
export type Op =
  | { readonly k: 'put'; readonly key: Buffer; readonly value: Buffer; readonly expireAtMs: number }
  | { readonly k: 'del'; readonly key: Buffer }
  | { readonly k: 'flush' };

/**
 * Why an update exists:
 * - `data`: client writes;
 * - `config`: changes `dest` (waives the acks of a secondary left out, or lets one rejoin);
 * - `epoch-start`: the first update of a new primary's epoch; committing it commits every
 *   older-epoch update before it (the Figure 8 rule of Raft).
 */
export type UpdateKind = 'data' | 'config' | 'epoch-start';

/** One replicated unit (claim 1's "update"). */
export interface Update {
  readonly lsn: Lsn;
  readonly epoch: Epoch;
  /** Claim 1: "the update identifies at least one secondary node … to which it will be sent". */
  readonly dest: readonly NodeId[];
  readonly kind: UpdateKind;
  readonly ops: readonly Op[];
  /** Sorted, unique region ids the ops touch (claim 26's regions). */
  readonly regions: readonly number[];
}

/** The first lsn of each epoch present in a log: lets two nodes find where their logs part. */
export interface EpochStart {
  readonly epoch: Epoch;
  readonly startLsn: Lsn;
}
