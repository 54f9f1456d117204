// A TEST HARNESS for the RESP server layer, not a node: a NodeHandle for one
// node over the real pure executor (src/core/kv/executor.ts) and a Map, with
// nothing replicated. It lets the server's tests run over real TCP with real
// clients before (and independently of) the replication runtime; the same
// tests can later be pointed at a real node, since they only use NodeHandle.
//
// What it adds for tests: replies can be delayed per command (to show that
// the server keeps replies in request order when the node answers out of
// order), the role and the known primary can be set (demotion, +switch-master),
// and every execute() batch and WAIT call is recorded.
import { EventEmitter } from 'node:events';
import { executeBatch } from '../../src/core/kv/executor.ts';
import { keysGivenElements } from '../../src/runtime/driver.ts';
import { isWriteCommand } from '../../src/core/kv/command-table.ts';
import { MapView } from '../kv/map-view.ts';
import { LuaEngine } from '../../src/scripting/lua-engine.ts';
import { err, type Reply } from '../../src/core/reply.ts';
import type { Epoch, Lsn, NodeId, Update } from '../../src/core/types.ts';
import type { MemberInfo, NodeEvents, NodeHandle, NodeStatus, Role, SecondaryStatus, StatusOptions } from '../../src/runtime/node-api.ts';
import { keyspaceStats } from '../../src/core/kv/keyspace-stats.ts';

export interface SingleNodeOptions {
  readonly id?: NodeId;
  readonly members?: readonly MemberInfo[];
  /** Milliseconds to hold back the replies of a batch (by its first command); default 0 = next tick. */
  readonly delayMs?: (cmds: readonly Buffer[][]) => number;
}

export class SingleNodeHarness implements NodeHandle {
  readonly id: NodeId;
  members: readonly MemberInfo[];
  readonly view = new MapView();
  /** EVAL runs (the map holds no script cache: EVALSHA finds nothing). */
  private readonly scripting = new LuaEngine();
  readonly batches: Buffer[][][] = [];
  readonly waits: Array<{ lsn: Lsn; numReplicas: number; timeoutMs: number }> = [];
  secondaries: SecondaryStatus[] = [];
  private readonly events = new EventEmitter();
  private currentRole: Role = 'primary';
  private currentEpoch: Epoch = 1;
  private primary: NodeId | null;
  private lsn: Lsn = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: SingleNodeOptions = {}) {
    this.id = opts.id ?? 'n1';
    this.members = opts.members ?? [{ id: this.id, kind: 'data', peerAddr: '127.0.0.1:1', redisAddr: '127.0.0.1:6379' }];
    this.primary = this.id;
  }

  role(): Role {
    return this.currentRole;
  }
  epoch(): Epoch {
    return this.currentEpoch;
  }
  primaryId(): NodeId | null {
    return this.primary;
  }

  /** Test control: change role (emits 'role') and the primary this node knows of. */
  setRole(role: Role, primary: NodeId | null, epoch = this.currentEpoch + 1): void {
    this.currentRole = role;
    this.currentEpoch = epoch;
    this.primary = primary;
    this.events.emit('epoch', epoch);
    this.events.emit('role', role, epoch);
  }

  execute(cmds: Buffer[][], cb: (replies: Reply[]) => void): void {
    this.batches.push(cmds);
    let replies: Reply[];
    if (this.currentRole !== 'primary' && cmds.some((c) => isWriteCommand(c[0]!))) {
      replies = cmds.map(() => err("READONLY You can't write against a read only replica."));
    } else {
      // State changes now, in call order; only the replies are (optionally) held back.
      const r = executeBatch(cmds, this.view, Date.now(), { scripting: this.scripting });
      if (r.ops.length) {
        this.view.apply(r.ops);
        this.lsn++;
        // As a primary's node does: the lists and sorted sets that got elements (wakes blocked clients).
        const written = keysGivenElements([r.ops]);
        if (written.length > 0) this.events.emit('written', written);
        // What a node announces once an update is in its storage area (keyspace notifications, tracking).
        const u: Update = { lsn: this.lsn, epoch: this.currentEpoch, dest: [], kind: 'data', ops: r.ops, regions: [], ...(r.keyEvents.length ? { keyEvents: r.keyEvents } : {}) };
        this.events.emit('applied', u);
      }
      replies = r.replies;
    }
    const delay = this.opts.delayMs?.(cmds) ?? 0;
    if (delay <= 0) {
      process.nextTick(() => cb(replies));
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      cb(replies);
    }, delay);
    this.timers.add(t);
  }

  waitReplicas(lsn: Lsn, numReplicas: number, timeoutMs: number, cb: (count: number) => void): void {
    this.waits.push({ lsn, numReplicas, timeoutMs });
    // One node, no secondaries: nothing can ever acknowledge, so WAIT answers 0 — at once when
    // no replica is required, else at the timeout (as Redis does with no replicas attached).
    if (numReplicas <= 0) return process.nextTick(() => cb(0));
    const t = setTimeout(() => {
      this.timers.delete(t);
      cb(0);
    }, timeoutMs);
    this.timers.add(t);
  }

  lastLsn(): Lsn {
    return this.lsn;
  }

  status(opts: StatusOptions = {}): NodeStatus {
    return {
      id: this.id,
      role: this.currentRole,
      epoch: this.currentEpoch,
      primaryId: this.primary,
      leaseValid: this.currentRole === 'primary',
      log: { start: 1, nextToClear: this.lsn + 1, appliedLsn: this.lsn, commitLsn: this.lsn, lastLsn: this.lsn, durableLsn: this.lsn, bytes: 0, segments: 1 },
      secondaries: this.secondaries,
      inFlight: [],
      regionalCounters: {},
      dirtyRegions: [],
      incarnation: 1,
      lostData: null,
      keys: this.view.size(),
      ...(opts.keyspace ? { keyspace: keyspaceStats(this.view, Date.now()) } : {}),
    };
  }

  switchover(_to: NodeId | undefined, cb: (err: Error | null) => void): void {
    cb(new Error('a single-node harness has no secondary to switch over to'));
  }

  on<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void {
    this.events.on(event, listener as (...args: unknown[]) => void);
  }
  off<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void {
    this.events.off(event, listener as (...args: unknown[]) => void);
  }
  listenerCount(event: keyof NodeEvents): number {
    return this.events.listenerCount(event);
  }

  stop(cb: (err: Error | null) => void): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    cb(null);
  }
}
