// Checkers for DESIGN.md's invariants, run against the live simulated nodes
// after every step (cheap ones) or every few hundred steps (scans). A
// violation throws with a message naming the invariant, so the failing seed
// replays it exactly.
import { majorityOf } from '../src/core/config.ts';
import type { FailoverSummary } from '../src/core/failover-sync.ts';
import type { Epoch, Lsn, NodeId } from '../src/core/types.ts';
import { encodeUpdate } from '../src/codec/update-codec.ts';
import { REGION_COUNT } from '../src/core/regions.ts';
import type { SimNode } from './sim-node.ts';

export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
  constructor(
    readonly invariant: string,
    message: string,
  ) {
    super(`invariant ${invariant}: ${message}`);
  }
}

export class Checkers {
  /** Invariant 3: the primary of each epoch. */
  private readonly primaries = new Map<Epoch, NodeId>();
  /** Invariant 1/5: every committed lsn and the epoch of the update committed there. */
  private readonly committed = new Map<Lsn, Epoch>();
  private highestCommitted: Lsn = 0;
  /** Invariant 4 (log matching): the bytes of the update at (lsn, epoch), whoever holds it. */
  private readonly registry = new Map<string, string>();
  readonly failovers: FailoverSummary[] = [];
  /** Secondaries some primary waived (region resync) and that have not caught up since. */
  private readonly waivedSince = new Set<NodeId>();
  checks = 0;

  constructor(private readonly nodes: readonly SimNode[]) {}

  private get voters(): number {
    return this.nodes.length;
  }

  /**
   * The node lost its disk: what it held is gone, so it counts as a secondary marked for a
   * resync (the clearing check below) until it holds what is cleared again.
   */
  onDiskLost(node: SimNode): void {
    this.waivedSince.add(node.id);
  }

  /** Invariant 3: at most one primary per epoch. */
  onRole(node: SimNode, role: string, epoch: Epoch): void {
    if (role !== 'primary') return;
    const had = this.primaries.get(epoch);
    if (had !== undefined && had !== node.id) throw new InvariantViolation('3', `two primaries in epoch ${epoch}: ${had} and ${node.id}`);
    this.primaries.set(epoch, node.id);
  }

  /** Invariants 1 and 5: a committed update is durable on a majority (dest + primary) when committed. */
  onCommitted(node: SimNode, lsn: Lsn): void {
    const r = node.driver!.replica;
    for (let l = this.highestCommitted + 1; l <= lsn; l++) {
      const e = r.log.epochAt(l);
      if (e === undefined) continue; // cleared at the primary already: checked when it was committed
      const prev = this.committed.get(l);
      if (prev !== undefined && prev !== e) throw new InvariantViolation('1', `lsn ${l} committed in epoch ${prev}, now ${node.id} commits epoch ${e} there`);
      this.committed.set(l, e);
    }
    if (lsn > this.highestCommitted) this.highestCommitted = lsn;
    const holders = this.holdersOf(lsn, r.log.epochAt(lsn));
    if (holders < majorityOf(this.voters)) {
      throw new InvariantViolation('5', `lsn ${lsn} committed by ${node.id} but durable on only ${holders} live nodes of ${this.voters}`);
    }
  }

  /**
   * How many nodes hold the update at (lsn, epoch) durably, or cleared it (their storage area
   * holds it), not counting `except`. A crashed node's disk keeps what its last incarnation had
   * made durable; a node that lost its disk holds nothing of its old log.
   */
  holdersOf(lsn: Lsn, epoch: Epoch | undefined, except?: SimNode): number {
    let holders = 0;
    for (const n of this.nodes) {
      const rr = n.driver?.replica ?? n.lastReplica;
      if (!rr || n === except) continue;
      if ((rr.durable >= lsn && rr.log.epochAt(lsn) === epoch) || rr.log.start > lsn) holders++;
    }
    return holders;
  }

  /** The highest lsn some primary committed (in the epoch recorded for it). */
  get highestCommittedLsn(): Lsn {
    return this.highestCommitted;
  }

  onFailover(s: FailoverSummary): void {
    this.failovers.push(s);
    if (s.acknowledgedWritesLost !== 0) throw new InvariantViolation('1', `failover to ${s.newPrimary} lost ${s.acknowledgedWritesLost} acknowledged writes (committed up to ${s.committedBefore})`);
  }

  /** Periodic scans: log matching, committed updates held by the primary, clearing rule. */
  scan(): void {
    this.checks++;
    for (const n of this.nodes) {
      const r = n.driver?.replica;
      if (!r) continue;
      // Invariant 4: gap-free is asserted by the log view itself; here, log matching.
      for (let l = r.log.start; l <= r.log.last; l++) {
        const u = r.log.get(l)!;
        const key = `${u.lsn}/${u.epoch}`;
        const bytes = encodeUpdate(u).toString('base64');
        const had = this.registry.get(key);
        if (had === undefined) {
          if (n.kind === 'data') this.registry.set(key, bytes);
        } else if (n.kind === 'data' && had !== bytes) {
          throw new InvariantViolation('4', `${n.id} holds a different update at lsn ${l} epoch ${u.epoch}`);
        }
      }
      if (r.currentRole === 'primary') this.scanPrimary(n);
    }
  }

  private scanPrimary(p: SimNode): void {
    const r = p.driver!.replica;
    // Invariant 1: every committed update is in the primary's log (or cleared from it).
    const from = Math.max(r.log.start, 1);
    for (let l = from; l <= Math.min(this.highestCommitted, r.log.last); l++) {
      const e = this.committed.get(l);
      if (e !== undefined && r.log.epochAt(l) !== e) {
        throw new InvariantViolation('1', `committed lsn ${l} (epoch ${e}) is missing from primary ${p.id}'s log (has epoch ${r.log.epochAt(l)})`);
      }
    }
    if (r.log.last < this.highestCommitted && r.currentRole === 'primary' && r.commit >= r.log.last) {
      throw new InvariantViolation('1', `primary ${p.id} ends at ${r.log.last} below committed ${this.highestCommitted}`);
    }
    // Invariant 5: what a secondary acknowledged to this primary stays in its log (durable acks
    // are what commits rest on): the primary's view of its position is never ahead of its log.
    for (const prog of r.progressOf()) {
      const rr = this.nodes.find((n) => n.id === prog.id)?.driver?.replica;
      const m = prog.matchLsn;
      // Acknowledgements of an earlier incarnation (before it lost data) are the primary's to void.
      if (!rr || m <= 0 || rr.currentEpoch !== r.currentEpoch || prog.incarnation !== rr.currentIncarnation || rr.log.start > m || r.log.start > m) continue;
      if (rr.log.epochAt(m) !== r.log.epochAt(m)) {
        throw new InvariantViolation('5', `${prog.id} acknowledged lsn ${m} to primary ${p.id} but its log no longer holds it (its log ${rr.log.start}..${rr.log.last}, epoch there ${rr.log.epochAt(m)}, the primary's ${r.log.epochAt(m)})`);
      }
    }
    // Invariant 5: nothing is cleared before every configured secondary holds it (or is marked for resync).
    const cleared = r.clearPointer - 1;
    if (cleared <= 0) return;
    const waived = new Set(r.progressOf().filter((x) => x.waived).map((x) => x.id));
    for (const id of waived) this.waivedSince.add(id);
    for (const n of this.nodes) {
      const rr = n.driver?.replica;
      if (rr && rr.durable >= cleared && !waived.has(n.id)) this.waivedSince.delete(n.id);
      if (this.waivedSince.has(n.id)) waived.add(n.id);
    }
    for (const n of this.nodes) {
      if (n === p || waived.has(n.id)) continue;
      const rr = n.driver?.replica;
      if (!rr) continue;
      // It holds the update, or cleared it itself, or the primary still holds (physically)
      // everything after what it has, so nothing it lacks is gone.
      const holds =
        (rr.durable >= cleared && rr.log.epochAt(cleared) === r.log.epochAt(cleared)) || rr.log.start > cleared || r.log.start <= rr.durable + 1;
      if (!holds) {
        const prog = r.progressOf().find((x) => x.id === n.id);
        if (prog && prog.matchLsn >= cleared) continue; // it acknowledged, then crashed and lost nothing durable
        throw new InvariantViolation(
          '5',
          `primary ${p.id} cleared up to ${cleared} but ${n.id} holds only up to ${rr.durable} (its log ${rr.log.start}..${rr.log.last}, primary's view ${JSON.stringify(prog)})`,
        );
      }
    }
  }

  /** Invariant 6: after quiescence every live data node has the same content. */
  converged(): { ok: boolean; detail: string } {
    const live = this.nodes.filter((n) => n.kind === 'data' && n.up && n.storage);
    const digests = live.map((n) => `${n.id}: applied=${n.driver!.replica.applied} last=${n.driver!.replica.log.last} ${n.storage!.digest().slice(0, 16)}`);
    const set = new Set(live.map((n) => n.storage!.digest()));
    if (set.size <= 1) return { ok: true, detail: digests.join(', ') };
    // Name the first region and key that differ, to start the search from.
    const [a, ...rest] = live;
    let where = '';
    for (let r = 0; r < REGION_COUNT && !where; r++) {
      const b = rest.find((n) => n.storage!.regionDigest(r) !== a!.storage!.regionDigest(r));
      if (!b) continue;
      const ea = new Map(a!.storage!.regionEntries(r, undefined, 1e9).map(([k, e]) => [k.toString('latin1'), e.value.toString('latin1')]));
      const eb = new Map(b.storage!.regionEntries(r, undefined, 1e9).map(([k, e]) => [k.toString('latin1'), e.value.toString('latin1')]));
      const keys = [...new Set([...ea.keys(), ...eb.keys()])].filter((k) => ea.get(k) !== eb.get(k));
      where = `; region ${r}: ${keys.slice(0, 3).map((k) => `${k} = ${a!.id}:${ea.get(k)} ${b.id}:${eb.get(k)}`).join(', ')}`;
    }
    return { ok: false, detail: digests.join(', ') + where };
  }

  get committedCount(): number {
    return this.committed.size;
  }
}
