// The Driver carries out the protocol core's outputs through the ports, in the
// order ready.ts prescribes, and feeds completions back as inputs. The same
// Driver runs over real files, sockets and clocks (src/host) and over the
// simulator's (sim/), so what the simulator checks is what production runs.
import { decodeUpdate, encodeUpdate } from '../codec/update-codec.ts';
import type { CoreConfig } from '../core/config.ts';
import type { Envelope } from '../core/messages.ts';
import type { CoreEvent, Ready } from '../core/ready.ts';
import { type Input, Replica } from '../core/replica.ts';
import type { Reply } from '../core/reply.ts';
import type { Lsn, NodeId, Op, Update } from '../core/types.ts';
import type { HardStateFile } from '../log/hard-state.ts';
import type { LogRecord, UpdateLog } from '../log/update-log.ts';
import type { Clock, Timer } from '../ports/clock.ts';
import type { Network } from '../ports/network.ts';
import type { StorageArea } from '../storage/storage-area.ts';

/** How often the core gets a tick (heartbeats and timeouts are multiples of it). */
export const DEFAULT_TICK_MS = 10;
/** How often the storage area is made durable (the log may be cleared only up to it). */
export const DEFAULT_STORAGE_SYNC_MS = 100;
/**
 * Clears of the log (claims 3–4) start at most this often. Each persists the log's pointers with
 * a write, an fsync and a rename; started on every advance of the clear pointer, they were a
 * second fsync stream beside the log's own under a steady write load. A pointer that lags only
 * keeps more records, which recovery replays over the storage area (updates are final values).
 */
export const CLEAR_INTERVAL_MS = 100;

import type { ScriptEngine } from '../core/kv/scripting.ts';

export interface DriverOptions {
  readonly config: CoreConfig;
  readonly clock: Clock;
  readonly network: Network;
  readonly log: UpdateLog;
  readonly hardState: HardStateFile;
  /** null for a witness. */
  readonly storage: StorageArea | null;
  /** The host knows this node lost what it held (a memory storage area after a restart). */
  readonly dataLost?: boolean;
  /** Runs fn soon, after the current input burst (setImmediate in production). */
  readonly defer: (fn: () => void) => void;
  readonly tickMs?: number;
  readonly storageSyncMs?: number;
  /** The Lua engine for EVAL and SCRIPT (src/scripting/lua-engine.ts); without one they answer an error. */
  readonly scripting?: ScriptEngine;
}

export type ClientCallback = (replies: readonly Reply[], lsn: Lsn) => void;

/** Observes every core event and every fatal error. */
export interface DriverListener {
  event(e: CoreEvent): void;
  /** The node cannot go on (its disk failed): the host must stop it. */
  fatal(err: Error): void;
  /** After each batch made durable: size and time, for metrics. */
  batch?(updates: number, seconds: number): void;
  /** Primary: the collections a flush's new updates put elements into (see Driver.reportWrittenKeys). */
  written?(keys: readonly Buffer[]): void;
  /** An update is now in the storage area (keyspace notifications and client tracking follow it). */
  applied?(update: Update): void;
  /** A region's content was installed wholesale (a region resync): any of its keys may have changed. */
  installed?(): void;
}

/**
 * The lists and sorted sets these ops give elements to, each key once, in op order: what can
 * wake a client blocked on a key (a pop or a delete gives a blocked client nothing).
 */
export function keysGivenElements(opLists: ReadonlyArray<readonly Op[]>): Buffer[] {
  const seen = new Map<string, Buffer>();
  for (const ops of opLists)
    for (const op of ops) {
      if (op.k !== 'elem' || op.value === null || (op.type !== 'list' && op.type !== 'zset')) continue;
      const id = op.key.toString('latin1');
      if (!seen.has(id)) seen.set(id, op.key);
    }
  return [...seen.values()];
}

export class Driver {
  readonly replica: Replica;
  readonly id: NodeId;
  /** Whether to report written keys to the listener (off while nobody waits on a key: it costs a walk over the ops). */
  reportWrittenKeys = false;
  private readonly o: DriverOptions;
  private readonly listener: DriverListener;
  private nextClientId = 1;
  private readonly clients = new Map<number, ClientCallback>();
  private readonly switchovers = new Map<number, (err: Error | null) => void>();
  private flushScheduled = false;
  private hardStateInFlight = 0;
  private readonly gated: Envelope[] = [];
  private tickTimer: Timer | null = null;
  private syncTimer: Timer | null = null;
  private storageSyncInFlight = false;
  private halted = false;
  private clearInFlight = false;
  /** Log operations wait while a log restart is pending (its storage sync first). */
  private logGate = 0;
  private readonly logQueue: Array<() => void> = [];
  private pendingClear: Lsn = -1;
  private lastClearStartMs = -Infinity;
  private clearTimer: Timer | null = null;
  /** Storage operations of Readies not yet carried out (see flush, step 2). */
  private readonly storageBacklog: Array<Ready['storage']> = [];
  private storageScheduled = false;

  private constructor(o: DriverOptions, replica: Replica, listener: DriverListener) {
    this.o = o;
    this.replica = replica;
    this.id = o.config.self;
    this.listener = listener;
    o.network.onMessage((from, msg) => this.input({ t: 'message', from, msg }));
    this.scheduleTick();
    this.scheduleStorageSync();
  }

  /** Recovers the core's state from the log, the hard state and the storage area, and starts. */
  static open(o: DriverOptions, listener: DriverListener, cb: (err: Error | null, d?: Driver) => void): void {
    o.log.readAll((err, records) => {
      if (err || !records) return cb(err ?? new Error('log readAll returned nothing'));
      let updates: Update[];
      try {
        // Records below nextToClear are cleared (claim 4); the log keeps them only until their
        // whole segment can go, so the protocol's view starts at the pointer.
        const ntc = o.log.nextToClear;
        updates = records.filter((r) => r.lsn >= ntc).map((r) => decodeUpdate(r.payload));
      } catch (e) {
        return cb(e as Error);
      }
      const found = o.hardState.get();
      const cut = o.log.recovery !== null && (o.log.recovery.tornSegment !== null || o.log.recovery.repaired !== null);
      // No hard state (a new node, or an emptied data directory), or records cut from the log that
      // it may have acknowledged: it lost data (src/core/disk-loss.ts). A higher incarnation tells
      // the primary that its earlier acknowledgements are void; it is durable before anything leaves.
      const lost = o.hardState.missing || cut || o.dataLost === true;
      const hs = lost ? { ...found, incarnation: Math.max(found.incarnation + 1, o.clock.wallMs()), lostData: true } : found;
      const s = o.storage;
      const rec = {
        epoch: hs.epoch,
        votedFor: hs.votedFor,
        logStart: updates[0]?.lsn ?? o.log.lastLsn + 1,
        nextToClear: o.log.nextToClear,
        boundaryEpoch: o.log.epochAt((updates[0]?.lsn ?? o.log.lastLsn + 1) - 1) ?? 0,
        updates,
        storage: s,
        storageAppliedLsn: s ? s.appliedLsn : 0,
        storageDurableLsn: s ? s.durableLsn : o.log.lastLsn,
        dirtyRegions: s ? s.dirtyRegions() : [],
        incarnation: hs.incarnation,
        lostData: hs.lostData,
        clearedCutTo: o.log.recovery?.clearedCutTo ?? 0,
      };
      const start = (): void => cb(null, new Driver(o, new Replica(o.config, rec, { scripting: o.scripting }), listener));
      if (!lost) return start();
      o.hardState.save(hs, (err) => (err ? cb(err) : start()));
    });
  }

  // ------------------------------------------------------------------ inputs

  /** Runs a client request (one command, or the commands of a MULTI/EXEC). */
  submit(cmds: readonly Buffer[][], cb: ClientCallback): void {
    const id = this.nextClientId++;
    this.clients.set(id, cb);
    this.input({ t: 'client', id, cmds, wallMs: this.o.clock.wallMs() });
  }

  switchover(to: NodeId | undefined, cb: (err: Error | null) => void): void {
    const id = this.nextClientId++;
    this.switchovers.set(id, cb);
    this.input({ t: 'switchover', id, to });
  }

  private input(i: Input): void {
    if (this.halted) return;
    // The core requires its storage operations carried out before its next step.
    if (this.storageBacklog.length > 0) this.carryOutStorage();
    this.replica.step(this.o.clock.nowMs(), i);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.o.defer(() => {
      this.flushScheduled = false;
      if (!this.halted) this.flush();
    });
  }

  private scheduleTick(): void {
    this.tickTimer = this.o.clock.setTimer(this.o.tickMs ?? DEFAULT_TICK_MS, () => {
      if (this.halted) return;
      this.input({ t: 'tick', wallMs: this.o.clock.wallMs() });
      this.scheduleTick();
    });
  }

  private scheduleStorageSync(): void {
    const s = this.o.storage;
    this.syncTimer = this.o.clock.setTimer(this.o.storageSyncMs ?? DEFAULT_STORAGE_SYNC_MS, () => {
      if (this.halted) return;
      if (s && !this.storageSyncInFlight && s.appliedLsn > s.durableLsn) {
        this.storageSyncInFlight = true;
        s.sync((err, lsn) => {
          this.storageSyncInFlight = false;
          if (this.halted) return;
          if (err) return this.die(err);
          this.input({ t: 'storage-durable', lsn });
        });
      } else if (!s) {
        this.input({ t: 'storage-durable', lsn: this.o.log.durableLsn });
      }
      this.scheduleStorageSync();
    });
  }

  // ------------------------------------------------------------------ outputs, in order

  private flush(): void {
    if (this.storageBacklog.length > 0) this.carryOutStorage();
    const r: Ready = this.replica.ready();
    const { log, network } = this.o;

    // 1. The vote and epoch: nothing this Ready sends may leave before they are durable.
    if (r.hardState) {
      this.hardStateInFlight++;
      this.o.hardState.save(r.hardState, (err) => {
        if (this.halted) return;
        if (err) return this.die(err);
        this.hardStateInFlight--;
        if (this.hardStateInFlight === 0) {
          const msgs = this.gated.splice(0);
          for (const e of msgs) network.send(e.to, e.msg);
        }
      });
    }

    // 2. The storage area, in order (it only ever applies what is already durable in the log).
    //    Carried out after this turn's messages and replies have left (an ack or a client's OK
    //    does not wait for a storage commit), and in any case before the core's next step; a log
    //    restart or truncation needs the storage area's marks first, so then it is carried out now.
    if (r.storage.length > 0) {
      this.storageBacklog.push(r.storage);
      if (r.restartLog || r.truncateAfter >= 0) this.carryOutStorage();
      else if (!this.storageScheduled) {
        this.storageScheduled = true;
        this.o.defer(() => {
          this.storageScheduled = false;
          if (!this.halted) this.carryOutStorage();
        });
      }
    }

    // 3. The log: a restart (region resync beyond retention) or the truncation of a divergent
    //    tail, then appends (group commit in the log). The log orders them as called.
    if (r.restartLog) {
      const { afterLsn, afterEpoch } = r.restartLog;
      // The storage area must record which regions it now lacks before the log forgets the
      // updates it had not applied: sync it, then restart the log.
      this.afterStorageSync(() =>
        log.restartAfter(afterLsn, afterEpoch, (err) => {
          if (err && !this.halted) this.die(err);
        }),
      );
    }
    if (r.truncateAfter >= 0) {
      const lsn = r.truncateAfter;
      // Likewise a truncation: the storage area may hold updates of the cut tail (applied once
      // durable), and its lowered applied lsn and dirty regions must be durable before the log
      // holds another history there. Otherwise a crash brings back a storage area that says it
      // applied those lsns while the log holds different updates at them, and nothing refetches.
      this.afterStorageSync(() => {
        if (lsn < log.lastLsn) {
          log.truncateAfter(lsn, (err) => {
            if (err && !this.halted) this.die(err);
          });
        }
      });
    }
    if (r.appends.length > 0 && this.reportWrittenKeys && this.listener.written) this.reportWritten(r.appends);
    if (r.appends.length > 0) {
      const records: LogRecord[] = r.appends.map((u) => ({ lsn: u.lsn, epoch: u.epoch, payload: encodeUpdate(u) }));
      const last = r.appends[r.appends.length - 1]!;
      const started = this.o.clock.nowMs();
      this.withLog(() =>
        log.append(records, (err) => {
          if (this.halted) return;
          if (err) return this.die(err);
          this.listener.batch?.(records.length, (this.o.clock.nowMs() - started) / 1000);
          // Carried out at once rather than after the current loop phase: on a secondary this
          // sends the acknowledgement, on the primary it may commit and answer clients.
          this.input({ t: 'persisted', lsn: last.lsn, epoch: last.epoch });
          if (!this.halted) this.flush();
        }),
      );
    }

    // 4. Clearing (claims 3–4): the log's pointers advance; whole segments below go.
    if (r.clear) {
      const lsn = r.clear.start - 1;
      this.withLog(() => this.clearLog(lsn));
    }

    // 5. Messages (held back while the vote/epoch is being made durable), then replies.
    for (const e of r.messages) {
      if (this.hardStateInFlight > 0) this.gated.push(e);
      else network.send(e.to, e.msg);
    }
    for (const rep of r.replies) {
      const cb = this.clients.get(rep.id);
      if (!cb) continue;
      this.clients.delete(rep.id);
      cb(rep.replies, rep.lsn);
    }
    for (const e of r.events) {
      if (e.t === 'switchover') {
        const cb = this.switchovers.get(e.id);
        this.switchovers.delete(e.id);
        cb?.(e.error ? new Error(e.error) : null);
      }
      this.listener.event(e);
    }
  }

  /**
   * Tells the listener which lists and sorted sets the primary's new updates put elements into:
   * what wakes clients blocked on those keys (BLPOP, BZPOPMIN…) without polling. Only elements
   * set count (a pop or a delete gives a blocked client nothing); each key once, in op order.
   */
  private reportWritten(appends: readonly Update[]): void {
    if (this.replica.currentRole !== 'primary') return;
    const keys = keysGivenElements(appends.filter((u) => u.kind === 'data').map((u) => u.ops));
    if (keys.length > 0) this.listener.written!(keys);
  }

  /** Runs a log operation now, or after the pending storage syncs that gate the log. */
  private withLog(f: () => void): void {
    if (this.logGate > 0) this.logQueue.push(f);
    else f();
  }

  /**
   * Runs log operation f, in its turn among log operations, once the storage area has made what
   * was carried out so far durable. Log operations called meanwhile wait behind it.
   */
  private afterStorageSync(f: () => void): void {
    this.withLog(() => {
      const storage = this.o.storage;
      if (!storage) return f();
      this.carryOutStorage();
      this.logGate++;
      storage.sync((err) => {
        if (this.halted) return;
        if (err) return this.die(err);
        f();
        this.logGate--;
        while (this.logGate === 0 && this.logQueue.length > 0) this.logQueue.shift()!();
      });
    });
  }

  private carryOutStorage(): void {
    for (const ops of this.storageBacklog.splice(0)) this.applyStorage(ops);
  }

  private applyStorage(ops: Ready['storage']): void {
    const storage = this.o.storage;
    if (storage) {
      for (const op of ops) {
        switch (op.k) {
          case 'apply':
            storage.apply(op.update);
            this.listener.applied?.(op.update);
            break;
          case 'install':
            storage.installRegion(op.region, op.items, op.first);
            this.listener.installed?.();
            break;
          case 'dirty':
            storage.markDirty(op.regions);
            break;
          case 'clean':
            storage.markClean(op.region);
            break;
          case 'set-applied':
            storage.setAppliedLsn(op.lsn);
            break;
        }
      }
    }
  }

  private clearLog(lsn: Lsn): void {
    const log = this.o.log;
    this.pendingClear = Math.max(this.pendingClear, lsn);
    if (this.clearInFlight || this.clearTimer) return;
    const target = Math.min(this.pendingClear, log.lastLsn);
    if (target < log.nextToClear) return;
    const waitMs = this.lastClearStartMs + CLEAR_INTERVAL_MS - this.o.clock.nowMs();
    if (waitMs > 0) {
      this.clearTimer = this.o.clock.setTimer(waitMs, () => {
        this.clearTimer = null;
        if (!this.halted) this.clearLog(this.pendingClear);
      });
      return;
    }
    this.lastClearStartMs = this.o.clock.nowMs();
    this.clearInFlight = true;
    log.clearTo(target, (err) => {
      this.clearInFlight = false;
      if (this.halted) return;
      if (err) return this.die(err);
      if (this.pendingClear > target) this.clearLog(this.pendingClear);
    });
  }

  private die(err: Error): void {
    if (this.halted) return;
    this.halt();
    this.listener.fatal(err);
  }

  /** Stops all activity at once (a crash in the simulator; the first step of a shutdown). */
  halt(): void {
    this.halted = true;
    this.tickTimer?.cancel();
    this.syncTimer?.cancel();
    this.clearTimer?.cancel();
  }

  get isHalted(): boolean {
    return this.halted;
  }

  /** The node's durable UpdateLog, for status and tests (read-only use). */
  get updateLog(): UpdateLog {
    return this.o.log;
  }

  /** Orderly stop: halts, then closes the log and the storage area. */
  stop(cb: (err: Error | null) => void): void {
    // What the core decided to apply is applied before the storage area closes.
    if (!this.halted && this.storageBacklog.length > 0) this.carryOutStorage();
    this.halt();
    for (const [, c] of this.clients) c([{ t: 'error', msg: 'ERR server is shutting down' }], 0);
    this.clients.clear();
    this.o.log.close((err) => {
      const s = this.o.storage;
      if (!s) return cb(err);
      s.close((err2) => cb(err ?? err2));
    });
  }
}
