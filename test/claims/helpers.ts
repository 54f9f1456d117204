// Shared pieces of the claim scenarios: a cluster started and led, a ledger of
// the writes clients were told "OK" about (read back at the end of every
// scenario: the no-loss invariant), convergence of the live storage areas, and
// a recorder of every message the simulated network delivers.
import assert from 'node:assert/strict';
import { SimCluster, type SimClusterOptions, show } from '../../sim/sim-cluster.ts';
import type { SimNode } from '../../sim/sim-node.ts';
import type { Message } from '../../src/core/messages.ts';
import type { CoreEvent } from '../../src/core/ready.ts';
import type { Replica } from '../../src/core/replica.ts';
import type { Reply } from '../../src/core/reply.ts';
import type { Lsn, NodeId } from '../../src/core/types.ts';
import type { UpdateLog } from '../../src/log/update-log.ts';

/**
 * A cluster with every member started and a primary elected. The claim scenarios follow one
 * write as one update, stamped as the primary executes it, so unless a scenario says otherwise
 * writes are not gathered (limits.maxUpdateBytes = 1); test/claims/gathered-writes.test.ts
 * covers gathering.
 */
export function startCluster(o: SimClusterOptions): { c: SimCluster; primary: SimNode } {
  const c = new SimCluster({ ...o, limits: { maxUpdateBytes: 1, ...o.limits } });
  c.startAll();
  const primary = c.awaitPrimary();
  return { c, primary };
}

/** The protocol state machine of a live node. */
export function replicaOf(c: SimCluster, id: NodeId): Replica {
  const d = c.node(id).driver;
  assert.ok(d, `${id} is not running`);
  return d.replica;
}

/** The durable UpdateLog of a live node. */
export function updateLogOf(c: SimCluster, id: NodeId): UpdateLog {
  const d = c.node(id).driver;
  assert.ok(d, `${id} is not running`);
  return d.updateLog;
}

/** Ids of every other member, in configuration order. */
export function othersThan(c: SimCluster, id: NodeId): NodeId[] {
  return c.nodes.filter((n) => n.id !== id).map((n) => n.id);
}

export function liveDataNodes(c: SimCluster): SimNode[] {
  return c.nodes.filter((n) => n.kind === 'data' && n.up && n.storage !== null);
}

/** The value a node's storage area holds for key (undefined if none). */
export function storedValue(n: SimNode, key: string): string | undefined {
  assert.ok(n.storage, `${n.id} has no storage area`);
  return n.storage.get(Buffer.from(key))?.value.toString();
}

/** Every message the network delivers, in delivery order. */
export interface Delivered {
  readonly at: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly msg: Message;
}

/** Records deliveries; an optional observer sees each one before the receiver handles it. */
export function recordDeliveries(c: SimCluster, observe?: (d: Delivered) => void): Delivered[] {
  const out: Delivered[] = [];
  c.net.onDeliver = (from, to, msg) => {
    const d = { at: c.q.now, from, to, msg };
    observe?.(d);
    out.push(d);
  };
  return out;
}

/** Core events of one kind, with the node that emitted them. */
export function eventsOf<T extends CoreEvent['t']>(c: SimCluster, t: T): Array<{ at: number; node: string; e: Extract<CoreEvent, { t: T }> }> {
  return c.events.filter((x): x is { at: number; node: string; e: Extract<CoreEvent, { t: T }> } => x.e.t === t);
}

export interface Submission {
  readonly value: string;
  status: 'pending' | 'ok' | 'error';
  reply: string;
  lsn: Lsn;
}

/** A client's box for one request. */
export interface Pending {
  readonly key: string;
  readonly value: string;
  readonly node: NodeId;
  readonly s: Submission;
  readonly done: () => boolean;
  readonly ok: () => boolean;
}

/**
 * The writes clients sent, in order per key. A write answered "OK" is acknowledged and must
 * never be lost; a write answered with an error (or not at all) has an unknown outcome.
 */
export class Ledger {
  private readonly keys = new Map<string, Submission[]>();

  /** SET key value at node, without waiting (pipelined). */
  submit(c: SimCluster, node: NodeId, key: string, value: string, onReply?: (s: Submission) => void): Pending {
    const s: Submission = { value, status: 'pending', reply: '', lsn: 0 };
    const list = this.keys.get(key) ?? [];
    list.push(s);
    this.keys.set(key, list);
    const d = c.node(node).driver;
    assert.ok(d, `${node} is not running`);
    d.submit([[Buffer.from('SET'), Buffer.from(key), Buffer.from(value)]], (replies: readonly Reply[], lsn: Lsn) => {
      const r = replies[0]!;
      s.reply = show(r);
      s.lsn = lsn;
      s.status = r.t === 'simple' && r.s === 'OK' ? 'ok' : 'error';
      onReply?.(s);
    });
    return { key, value, node, s, done: () => s.status !== 'pending', ok: () => s.status === 'ok' };
  }

  /** SET and run until the reply arrives; asserts it is OK. Returns the update's lsn. */
  set(c: SimCluster, node: NodeId, key: string, value: string, maxMs = 5000): Lsn {
    const p = this.submit(c, node, key, value);
    assert.ok(c.runUntil(p.done, maxMs), `no reply to SET ${key} from ${node} within ${maxMs} ms`);
    assert.equal(p.s.reply, 'OK', `SET ${key} at ${node}`);
    return p.s.lsn;
  }

  /** Keys with at least one acknowledged write. */
  ackedKeys(): string[] {
    return [...this.keys].filter(([, l]) => l.some((s) => s.status === 'ok')).map(([k]) => k);
  }

  get ackedCount(): number {
    let n = 0;
    for (const l of this.keys.values()) n += l.filter((s) => s.status === 'ok').length;
    return n;
  }

  /**
   * Values the key may hold now: the last acknowledged value, or the value of a later write
   * whose outcome is unknown. Undefined when nothing was acknowledged for the key.
   */
  allowed(key: string): Set<string> | undefined {
    const l = this.keys.get(key) ?? [];
    let last = -1;
    l.forEach((s, i) => {
      if (s.status === 'ok') last = i;
    });
    if (last < 0) return undefined;
    return new Set(l.slice(last).filter((s, i) => i === 0 || s.status !== 'ok').map((s) => s.value));
  }

  /**
   * The no-loss invariant: every acknowledged write is read back, through the primary's client
   * path (GET) and in the storage area of every live data node.
   */
  verify(c: SimCluster): void {
    const keys = this.ackedKeys();
    assert.ok(keys.length > 0, 'the scenario acknowledged no write at all');
    const p = c.primary();
    assert.ok(p, 'no primary to read back from');
    for (const key of keys) {
      const allowed = this.allowed(key)!;
      const got = show(c.call(p.id, 'GET', key));
      assert.ok(allowed.has(got), `GET ${key} at primary ${p.id} = ${got}; acknowledged: ${[...allowed].join(' | ')}`);
      for (const n of liveDataNodes(c)) {
        const v = storedValue(n, key);
        assert.ok(v !== undefined && allowed.has(v), `${n.id}'s storage area holds ${key} = ${v}; acknowledged: ${[...allowed].join(' | ')}`);
      }
    }
  }
}

/** Live data nodes' storage digests (with positions, for messages). */
export function digests(c: SimCluster): Array<{ id: NodeId; digest: string; applied: Lsn; last: Lsn }> {
  return liveDataNodes(c).map((n) => ({ id: n.id, digest: n.storage!.digest(), applied: n.driver!.replica.applied, last: n.driver!.replica.log.last }));
}

/**
 * Runs until quiescence: a primary whose whole log is committed, every live node holding
 * and applying all of it; then asserts every live data node's storage area is identical.
 */
export function assertConverged(c: SimCluster, maxMs = 5000): void {
  const quiet = (): boolean => {
    const p = c.primary();
    if (!p) return false;
    const r = p.driver!.replica;
    if (r.commit < r.log.last || !r.leaseValid()) return false;
    for (const n of c.nodes) {
      if (!n.up) continue;
      const x = n.driver!.replica;
      if (x.log.last !== r.log.last || x.durable < r.log.last) return false;
      // The storage area itself (the host applies the core's storage outputs when it flushes them).
      if (n.kind === 'data' && (x.applied < r.log.last || n.storage!.appliedLsn < r.log.last || x.dirtyRegions.length > 0)) return false;
    }
    return true;
  };
  const ok = c.runUntil(quiet, maxMs);
  const d = digests(c);
  assert.ok(ok, `no quiescence within ${maxMs} ms: ${JSON.stringify(d)}`);
  assert.ok(d.length > 0, 'no live data node');
  assert.equal(new Set(d.map((x) => x.digest)).size, 1, `storage areas differ: ${JSON.stringify(d)}`);
}

/** Runs until the node is up (restarted), returns its replica. */
export function restart(c: SimCluster, id: NodeId, maxMs = 1000): Replica {
  c.start(id);
  assert.ok(c.runUntil(() => c.node(id).up, maxMs), `${id} did not restart within ${maxMs} ms`);
  return c.node(id).driver!.replica;
}

/** Runs until some live node other than `not` is a primary with a valid lease and a committed epoch start. */
export function awaitNewPrimary(c: SimCluster, not: NodeId | null, maxMs = 5000): SimNode {
  const ok = c.runUntil(() => {
    const p = c.primary();
    if (!p || p.id === not) return false;
    const r = p.driver!.replica;
    return r.leaseValid() && eventsOf(c, 'failover').some((f) => f.node === p.id && f.e.summary.newEpoch === r.currentEpoch);
  }, maxMs);
  assert.ok(ok, `no new primary within ${maxMs} ms (roles: ${c.nodes.map((n) => `${n.id}=${n.up ? n.driver!.replica.currentRole : 'down'}`).join(' ')})`);
  return c.primary()!;
}

/**
 * The set-up of the divergent-secondary scenarios: five data nodes with A = n5 slow to stand
 * (its epoch stays the old primary's while cut off), five shared keys written and committed,
 * then the primary cut from everyone but A, so that only A receives what it submits next.
 */
export function startWithDivergentSecondary(): { c: SimCluster; P: NodeId; A: NodeId; ledger: Ledger } {
  const members = [1, 2, 3, 4, 5].map((i) => ({ id: `n${i}`, kind: 'data' as const }));
  const A = 'n5';
  const { c, primary } = startCluster({
    seed: 7070,
    members,
    mutate: (cfg) => (cfg.self === A ? { ...cfg, timing: { ...cfg.timing, electionTimeoutMs: 3000 } } : cfg),
  });
  const P = primary.id;
  assert.notEqual(P, A);
  const ledger = new Ledger();
  for (let i = 0; i < 5; i++) ledger.set(c, P, `shared-${i}`, `s${i}`);
  c.run(100);
  for (const id of othersThan(c, P).filter((id) => id !== A)) c.net.partition(P, id, true);
  return { c, P, A, ledger };
}
