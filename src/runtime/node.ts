// A running node as the servers and embedding programs see it (NodeHandle),
// over one Driver. It turns core events into typed node events, answers WAIT
// from the primary's view of each secondary, and builds NodeStatus from the
// replica, the update log and the storage area. It owns no I/O of its own: the
// host (src/host/start-node.ts) opens the ports and hands them in.
import { keyspaceStats } from '../core/kv/keyspace-stats.ts';
import { EventEmitter } from 'node:events';
import type { CoreEvent } from '../core/ready.ts';
import type { Reply } from '../core/reply.ts';
import type { Epoch, Lsn, NodeId, Update } from '../core/types.ts';
import type { UpdateLog } from '../log/update-log.ts';
import type { Clock, Timer } from '../ports/clock.ts';
import type { Network } from '../ports/network.ts';
import type { StorageArea } from '../storage/storage-area.ts';
import { Driver, type DriverOptions } from './driver.ts';
import type {
  FailoverReport,
  InFlightStatus,
  MemberInfo,
  NodeEvents,
  NodeHandle,
  NodeStatus,
  Role,
  SecondaryStatus,
  StatusOptions,
} from './node-api.ts';

/** Failover reports kept in memory (the admin API keeps its own history too); older ones drop off. */
export const MAX_FAILOVER_REPORTS = 100;
/** In-flight updates listed in a status: enough for the dashboard, bounded whatever the write rate. */
export const MAX_STATUS_IN_FLIGHT = 64;
/** How often a pending WAIT re-reads the secondaries' acknowledged positions (acks also trigger a check). */
export const WAIT_POLL_INTERVAL_MS = 5;
/** WAITs pending at once; beyond, new ones answer at once with the current count (memory bound). */
export const MAX_PENDING_WAITS = 10_000;

/**
 * Bytes queued for a peer beyond which a PUBLISH is not sent to it: pub/sub is at most once, and a
 * flood of messages must not hold back the updates and heartbeats sharing the connection.
 */
export const PUBLISH_RELAY_MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** The peers a PUBLISH goes to: those whose outbound queue is below PUBLISH_RELAY_MAX_QUEUED_BYTES. */
export function relayTargets(peers: Iterable<NodeId>, queuedBytes: (peer: NodeId) => number): NodeId[] {
  const out: NodeId[] = [];
  for (const id of peers) if (queuedBytes(id) < PUBLISH_RELAY_MAX_QUEUED_BYTES) out.push(id);
  return out;
}

/** Observes client commands as they complete (for metrics); never changes them. */
export interface CommandObserver {
  /** One command answered: its name, the time from submit to reply, and the error code if it failed. */
  command(name: string, seconds: number, errCode: string | undefined, isWrite: boolean): void;
}

export interface RuntimeNodeOptions {
  readonly driver: DriverOptions;
  readonly members: readonly MemberInfo[];
  /** The node cannot go on (its disk failed); called once, after the driver halted. */
  readonly onFatal: (err: Error) => void;
  /** After each batch made durable: updates in it and the time the append took. */
  readonly onBatch?: (updates: number, seconds: number) => void;
  readonly observer?: CommandObserver;
  /** Decides which commands count as writes for the observer (the core's command table). */
  readonly isWrite?: (name: Buffer) => boolean;
}

interface PendingWait {
  readonly lsn: Lsn;
  readonly want: number;
  readonly deadlineMs: number; // Infinity: WAIT with timeout 0 blocks until enough or stop
  readonly cb: (count: number) => void;
}

export class RuntimeNode implements NodeHandle {
  readonly id: NodeId;
  readonly members: readonly MemberInfo[];
  readonly driver: Driver;
  private readonly log: UpdateLog;
  private readonly storage: StorageArea | null;
  private readonly clock: Clock;
  private readonly network: Network;
  private readonly emitter = new EventEmitter();
  private readonly observer: CommandObserver | undefined;
  private readonly isWrite: ((name: Buffer) => boolean) | undefined;
  /** Every other member in configuration order: the order of the core's indicator arrays. */
  private readonly others: readonly NodeId[];
  private readonly dataSecondaries: ReadonlySet<NodeId>;
  private readonly reports: FailoverReport[] = [];
  private readonly waits: PendingWait[] = [];
  private waitTimer: Timer | null = null;
  private lastWriteLsn: Lsn = 0;
  private knownEpoch: Epoch;
  private stopped = false;

  private constructor(o: RuntimeNodeOptions, driver: Driver) {
    this.driver = driver;
    this.id = driver.id;
    this.members = o.members;
    this.log = o.driver.log;
    this.storage = o.driver.storage;
    this.clock = o.driver.clock;
    this.network = o.driver.network;
    this.observer = o.observer;
    this.isWrite = o.isWrite;
    this.others = o.driver.config.members.filter((m) => m.id !== this.id).map((m) => m.id);
    this.dataSecondaries = new Set(o.driver.config.members.filter((m) => m.id !== this.id && m.kind === 'data').map((m) => m.id));
    this.knownEpoch = driver.replica.currentEpoch;
    // A node event listener that throws must not take the node down with it: EventEmitter
    // would rethrow into the driver's flush. Errors are reported on 'error' only if listened.
    this.emitter.setMaxListeners(64);
  }

  /** Recovers the node from its log, hard state and storage area, and starts its driver. */
  static open(o: RuntimeNodeOptions, cb: (err: Error | null, node?: RuntimeNode) => void): void {
    let node: RuntimeNode | null = null;
    const early: CoreEvent[] = [];
    const userDefer = o.driver.defer;
    const net = o.driver.network;
    const driverOpts: DriverOptions = {
      ...o.driver,
      // Pub/sub messages are no business of the protocol: they go to the node's servers, never the Replica.
      network: {
        send: (to, msg) => net.send(to, msg),
        onMessage: (handler) =>
          net.onMessage((from, msg) => {
            if (msg.t === 'publish') node?.emit('publish', msg.shard, msg.channel, msg.message);
            else handler(from, msg);
          }),
        peerState: (peer) => net.peerState(peer),
        close: () => net.close(),
      },
      // After every flush, look for an epoch change no role event announced (a secondary
      // adopting a newer epoch from a vote request keeps its role and primary).
      defer: (fn) =>
        userDefer(() => {
          fn();
          node?.checkEpoch();
        }),
    };
    Driver.open(
      driverOpts,
      {
        event: (e) => (node ? node.onCoreEvent(e) : early.push(e)),
        fatal: (err) => {
          // The driver halted: new commands must be refused rather than left without an answer.
          if (node) {
            node.stopped = true;
            node.failWaits();
          }
          o.onFatal(err);
        },
        batch: (updates, seconds) => o.onBatch?.(updates, seconds),
        written: (keys) => node?.emit('written', keys),
        applied: (u) => node?.onApplied(u),
        installed: () => node?.emit('replaced'),
      },
      (err, driver) => {
        if (err || !driver) return cb(err ?? new Error('Driver.open returned no driver'));
        node = new RuntimeNode(o, driver);
        for (const e of early.splice(0)) node.onCoreEvent(e);
        cb(null, node);
      },
    );
  }

  // ------------------------------------------------------------------ NodeHandle

  role(): Role {
    return this.driver.replica.currentRole;
  }

  epoch(): Epoch {
    return this.driver.replica.currentEpoch;
  }

  primaryId(): NodeId | null {
    return this.driver.replica.currentPrimary;
  }

  execute(cmds: Buffer[][], cb: (replies: Reply[]) => void): void {
    if (this.stopped) {
      cb(cmds.map(() => ({ t: 'error', msg: 'ERR server is shutting down' })));
      return;
    }
    const obs = this.observer;
    const started = obs ? this.clock.nowMs() : 0;
    this.driver.submit(cmds, (replies, lsn) => {
      if (lsn > this.lastWriteLsn) this.lastWriteLsn = lsn;
      if (obs) this.observe(obs, cmds, replies, (this.clock.nowMs() - started) / 1000);
      cb(replies as Reply[]);
    });
  }

  lastLsn(): Lsn {
    return this.lastWriteLsn;
  }

  relayPublish(shard: boolean, channel: Buffer, message: Buffer): void {
    // Every other data member has clients; a witness has none. Lost while a peer is unreachable.
    const msg = { t: 'publish', epoch: this.driver.replica.currentEpoch, shard, channel, message } as const;
    for (const id of relayTargets(this.dataSecondaries, (peer) => this.network.queuedBytes?.(peer) ?? 0)) this.network.send(id, msg);
  }

  waitReplicas(lsn: Lsn, numReplicas: number, timeoutMs: number, cb: (count: number) => void): void {
    // On a secondary nothing is replicated from here: Redis answers 0 there too.
    if (this.role() !== 'primary' || this.stopped) return cb(0);
    const now = this.ackedCount(lsn);
    if (now >= numReplicas || this.waits.length >= MAX_PENDING_WAITS) return cb(now);
    const deadlineMs = timeoutMs > 0 ? this.clock.nowMs() + timeoutMs : Infinity;
    this.waits.push({ lsn, want: numReplicas, deadlineMs, cb });
    this.scheduleWaitPoll();
  }

  status(opts: StatusOptions = {}): NodeStatus {
    const r = this.driver.replica;
    const role = r.currentRole;
    const now = r.nowMs;
    const last = r.log.last;
    const secondaries: SecondaryStatus[] =
      role === 'primary'
        ? r.progressOf().map((p) => {
            const lag = Math.max(0, last - p.matchLsn);
            return {
              id: p.id,
              inDest: p.inDest,
              connection: this.network.peerState(p.id),
              sentLsn: Math.max(0, p.nextLsn - 1),
              ackedLsn: Math.max(0, p.matchLsn),
              lagUpdates: lag,
              lagMs: lag > 0 ? Math.max(0, now - p.lastProgressMs) : 0,
              resyncRegions: p.resyncRegions,
              incarnation: p.incarnation,
            };
          })
        : [];
    const inFlight: InFlightStatus[] = r.inFlight(MAX_STATUS_IN_FLIGHT).map((u) => ({
      lsn: u.lsn,
      regions: u.regions,
      sent: this.others.filter((_, i) => u.sentIndicator[i] === 1),
      received: this.others.filter((_, i) => u.receivedIndicator[i] === 1),
    }));
    const s = this.storage;
    return {
      id: this.id,
      role,
      epoch: r.currentEpoch,
      primaryId: r.currentPrimary,
      leaseValid: r.leaseValid(),
      log: {
        start: this.log.start,
        nextToClear: this.log.nextToClear,
        appliedLsn: r.applied,
        commitLsn: r.commit,
        lastLsn: last,
        durableLsn: r.durable,
        bytes: this.log.bytesOnDisk,
        segments: this.log.segmentCount,
      },
      secondaries,
      inFlight,
      regionalCounters: r.regionalCounters(),
      dirtyRegions: r.dirtyRegions,
      incarnation: r.currentIncarnation,
      lostData: r.lostDataState,
      keys: s ? s.size() : 0,
      ...(opts.keyspace === true && s ? { keyspace: keyspaceStats(s, Date.now()) } : {}),
      ...(opts.digest === true && s ? { digest: s.digest() } : {}),
    };
  }

  /** The most recent failover reports this node produced as the new primary, oldest first. */
  failovers(): readonly FailoverReport[] {
    return [...this.reports];
  }

  switchover(to: NodeId | undefined, cb: (err: Error | null) => void): void {
    if (this.stopped) return cb(new Error('the node is stopped'));
    this.driver.switchover(to, cb);
  }

  on<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void {
    this.emitter.on(event, listener);
    if (event === 'written') this.driver.reportWrittenKeys = true;
  }

  off<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void {
    this.emitter.off(event, listener);
    if (event === 'written') this.driver.reportWrittenKeys = this.emitter.listenerCount('written') > 0;
  }

  /** Orderly stop: pending WAITs answer, the driver halts and closes the log and the storage area. */
  stop(cb: (err: Error | null) => void): void {
    if (this.stopped) return cb(null);
    this.stopped = true;
    this.failWaits();
    this.driver.stop(cb);
  }

  /** kill -9 in-process: stops all activity at once, closing nothing (tests of crash behaviour). */
  halt(): void {
    this.stopped = true;
    this.failWaits();
    this.driver.halt();
  }

  // ------------------------------------------------------------------ events

  private onApplied(u: Update): void {
    // Only data updates change keys; nothing to build while nobody listens.
    if (u.kind === 'data' && u.ops.length > 0 && this.emitter.listenerCount('applied') > 0) this.emit('applied', u);
  }

  private onCoreEvent(e: CoreEvent): void {
    switch (e.t) {
      case 'role':
        this.emit('role', e.role, e.epoch);
        break;
      case 'failover': {
        const s = e.summary;
        const { epochStartLsn: _start, ...summary } = s;
        const report: FailoverReport = { ...summary, at: this.clock.wallMs() };
        this.reports.push(report);
        if (this.reports.length > MAX_FAILOVER_REPORTS) this.reports.splice(0, this.reports.length - MAX_FAILOVER_REPORTS);
        this.emit('failover', report);
        break;
      }
      case 'truncate':
        this.emit('truncate', e.afterLsn, e.epoch, e.removed);
        break;
      case 'committed':
        this.emit('committed', e.lsn);
        if (this.waits.length > 0) this.checkWaits();
        break;
      case 'switchover':
        break; // answered through the switchover callback
      case 'lost-data':
        this.emit('lostData', e.phase, { epoch: e.floorEpoch, lastEpoch: e.floorLastEpoch, lastLsn: e.floorLastLsn }, e.lastLsn);
        break;
      case 'peer-lost-data':
        this.emit('peerLostData', e.node, e.incarnation, e.previousIncarnation, e.ackedLsn, e.inDest);
        break;
    }
    this.checkEpoch();
  }

  private checkEpoch(): void {
    const epoch = this.driver.replica.currentEpoch;
    if (epoch === this.knownEpoch) return;
    this.knownEpoch = epoch;
    this.emit('epoch', epoch);
  }

  private emit<E extends keyof NodeEvents>(event: E, ...args: Parameters<NodeEvents[E]>): void {
    // One failing listener must not stop the others nor reach into the driver's flush.
    for (const l of this.emitter.listeners(event)) {
      try {
        (l as (...a: unknown[]) => void)(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  // ------------------------------------------------------------------ WAIT

  /** Data secondaries whose acknowledged position covers lsn (a witness holds no data: not a replica). */
  private ackedCount(lsn: Lsn): number {
    let n = 0;
    for (const p of this.driver.replica.progressOf()) if (this.dataSecondaries.has(p.id) && p.matchLsn >= lsn) n++;
    return n;
  }

  private scheduleWaitPoll(): void {
    if (this.waitTimer || this.waits.length === 0) return;
    this.waitTimer = this.clock.setTimer(WAIT_POLL_INTERVAL_MS, () => {
      this.waitTimer = null;
      this.checkWaits();
      this.scheduleWaitPoll();
    });
  }

  private checkWaits(): void {
    const primary = this.role() === 'primary';
    const now = this.clock.nowMs();
    let keep = 0;
    for (const w of this.waits) {
      const count = primary ? this.ackedCount(w.lsn) : 0;
      if (!primary || count >= w.want || now >= w.deadlineMs) w.cb(count);
      else this.waits[keep++] = w;
    }
    this.waits.length = keep;
  }

  private failWaits(): void {
    this.waitTimer?.cancel();
    this.waitTimer = null;
    for (const w of this.waits.splice(0)) w.cb(0);
  }

  // ------------------------------------------------------------------ observation

  private observe(obs: CommandObserver, cmds: Buffer[][], replies: readonly Reply[], seconds: number): void {
    // A MULTI/EXEC batch counts as one 'exec'; its write-ness is that of any command in it.
    const single = cmds.length === 1 ? cmds[0] : undefined;
    const name = single?.[0] ? single[0].toString('latin1').toLowerCase() : 'exec';
    let errCode: string | undefined;
    for (const r of replies) {
      if (r.t === 'error') {
        errCode = r.msg.split(' ', 1)[0] ?? 'ERR';
        break;
      }
    }
    const isWrite = this.isWrite ? cmds.some((c) => c[0] !== undefined && this.isWrite!(c[0])) : false;
    obs.command(name, seconds, errCode, isWrite);
  }
}
