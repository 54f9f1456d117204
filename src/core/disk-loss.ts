// A node that lost data: its data directory was found empty (a new disk, or one wiped), or
// recovery cut records off its log that it may have acknowledged. It lost its votes and its
// acknowledged log, so it must not vote as if it still had them (docs/protocol.md, "A node that
// lost data"): until it is refilled it asks the other voters where they stand, votes only in
// epochs above every epoch they report and only for a log at least as up to date as every log
// they report, never stands, and serves no reads.
import { majorityOf } from './config.ts';
import type { RecoverStateMsg } from './messages.ts';
import type { Epoch, Lsn, NodeId } from './types.ts';

/** A log's end, compared as elections compare logs: last epoch, then last lsn. */
export interface LogEnd {
  readonly lastEpoch: Epoch;
  readonly lastLsn: Lsn;
}

export function logAtLeast(a: LogEnd, b: LogEnd): boolean {
  return a.lastEpoch > b.lastEpoch || (a.lastEpoch === b.lastEpoch && a.lastLsn >= b.lastLsn);
}

/**
 * How many of the other voters must answer: enough that every majority of the voting members not
 * counting this node meets them. A majority M holds each committed update; M without this node
 * has at least majority − 1 members among the n − 1 others, so any k others with
 * k + majority − 1 > n − 1 include one of them.
 */
export function answersNeeded(voters: number): number {
  return Math.min(voters - 1, voters - majorityOf(voters) + 1);
}

/** What the node learned from the others: an epoch it may have voted in, and a log holding all it acknowledged. */
export interface Floor extends LogEnd {
  readonly epoch: Epoch;
}

export class LostData {
  private readonly answers = new Map<NodeId, { readonly m: RecoverStateMsg; readonly witness: boolean }>();
  private learned: Floor | null;
  /** When the others were last asked (the node asks again until enough answer). */
  lastAskMs = -Infinity;

  constructor(private readonly needed: number) {
    // A lone voter has nobody to ask: whatever it lost is lost, and it can only go on.
    this.learned = needed === 0 ? { epoch: 0, lastEpoch: 0, lastLsn: 0 } : null;
  }

  get floor(): Floor | null {
    return this.learned;
  }

  /**
   * Records one answer; returns the floor when this answer completes it (once). A witness's
   * answer counts for the epoch but not for the log: it holds update headers, no data, so an
   * update that only a witness still holds besides this node is lost with this node's data
   * whatever happens, and a floor no data member can reach would block every election.
   */
  answer(from: NodeId, m: RecoverStateMsg, witness: boolean): Floor | null {
    if (this.learned) return null;
    this.answers.set(from, { m, witness });
    if (this.answers.size < this.needed) return null;
    let f: Floor = { epoch: 0, lastEpoch: 0, lastLsn: 0 };
    for (const { m: a, witness: w } of this.answers.values()) {
      const epoch = Math.max(f.epoch, a.epoch);
      f = !w && logAtLeast(a, f) ? { epoch, lastEpoch: a.lastEpoch, lastLsn: a.lastLsn } : { ...f, epoch };
    }
    this.learned = f;
    return f;
  }

  /** A vote may go only to a log holding everything this node may have acknowledged. */
  allowsVoteFor(candidate: LogEnd): boolean {
    return this.learned !== null && logAtLeast(candidate, this.learned);
  }

  /** Refilled: its own log reached the floor (and its storage area holds the regions, checked by the caller). */
  refilledBy(own: LogEnd): boolean {
    return this.learned !== null && logAtLeast(own, this.learned);
  }
}
