// One simulated node: the real Driver, UpdateLog, HardStateFile and the
// in-memory StorageArea over the simulated disk, network and clock. Its disk
// survives a crash (minus what was not synced); everything else is rebuilt
// from it on restart, exactly as a real process would.
import type { CoreConfig } from '../src/core/config.ts';
import type { CoreEvent } from '../src/core/ready.ts';
import type { Prng } from '../src/lib/prng.ts';
import { HardStateFile } from '../src/log/hard-state.ts';
import { UpdateLog } from '../src/log/update-log.ts';
import type { Clock } from '../src/ports/clock.ts';
import { LuaEngine } from '../src/scripting/lua-engine.ts';
import { Driver } from '../src/runtime/driver.ts';
import { MemoryStorage } from '../src/storage/memory-storage.ts';
import type { EventQueue } from './event-queue.ts';
import { SimDisk } from './sim-disk.ts';
import type { SimNetwork } from './sim-network.ts';

/** Small segments so that clearing and segment deletion happen within a short run. */
export const SIM_SEGMENT_BYTES = 64 * 1024;
/** Simulated wall clock epoch (unix ms) for key expiry. */
export const SIM_WALL_EPOCH_MS = 1_800_000_000_000;

export interface SimNodeHooks {
  event(node: SimNode, e: CoreEvent): void;
  fatal(node: SimNode, err: Error): void;
  /** The driver's report of lists and sorted sets given elements (wakes blocked pops; Driver.reportWrittenKeys turns it on). */
  written?(node: SimNode, keys: readonly Buffer[]): void;
}

export class SimNode {
  readonly id: string;
  readonly kind: 'data' | 'witness';
  disk: SimDisk;
  storage: MemoryStorage | null;
  driver: Driver | null = null;
  /** The replica of the last incarnation, kept after a crash: what its disk holds durably. */
  lastReplica: Driver['replica'] | null = null;
  /** Incremented on every crash: late callbacks of an older incarnation are ignored. */
  incarnation = 0;
  restarts = 0;
  starting = false;
  /** The node's Lua state (a process's: it outlives crashes, and holds no data, only compiled code). */
  private readonly scripting = new LuaEngine({ clock: () => 0 });

  constructor(
    readonly config: CoreConfig,
    private readonly q: EventQueue,
    private readonly net: SimNetwork,
    private readonly prng: Prng,
    private readonly hooks: SimNodeHooks,
    private readonly fsyncLatencyMs: number,
  ) {
    this.id = config.self;
    this.kind = config.members.find((m) => m.id === config.self)!.kind;
    this.disk = this.newDisk();
    this.storage = this.newStorage();
  }

  private newDisk(): SimDisk {
    return new SimDisk(this.prng.fork(), (d, fn) => this.q.schedule(d, fn), { fsyncLatencyMs: this.fsyncLatencyMs, opLatencyMs: 0.02, jitter: 1 });
  }

  private newStorage(): MemoryStorage | null {
    return this.kind === 'data' ? new MemoryStorage({ scheduler: (fn) => this.q.schedule(0.05, fn) }) : null;
  }

  get up(): boolean {
    return this.driver !== null && !this.driver.isHalted;
  }

  /** This node's view of simulated time (its driver's clock). */
  clock(): Clock {
    const q = this.q;
    return {
      nowMs: () => q.now,
      // Whole milliseconds, as Date.now() gives them: expiry arithmetic is done in integers.
      wallMs: () => Math.floor(SIM_WALL_EPOCH_MS + q.now),
      setTimer: (d, fn) => q.schedule(d, fn),
    };
  }

  /** Opens the log and the vote from disk and starts the Driver. */
  start(cb: (err: Error | null) => void): void {
    if (this.up || this.starting) return cb(null);
    this.starting = true;
    const inc = this.incarnation;
    const done = (err: Error | null): void => {
      if (inc !== this.incarnation) return; // crashed while starting
      this.starting = false;
      cb(err);
    };
    this.disk.mkdirp('/data/log', (err) => {
      if (err) return done(err);
      UpdateLog.open(this.disk, '/data/log', { segmentBytes: SIM_SEGMENT_BYTES, defer: (fn) => this.q.schedule(0, fn) }, (err2, log) => {
        if (err2 || !log) return done(err2 ?? new Error('no log'));
        HardStateFile.load(this.disk, '/data/hard-state', (err3, hs) => {
          if (err3 || !hs) return done(err3 ?? new Error('no hard state'));
          if (inc !== this.incarnation) return;
          Driver.open(
            {
              config: this.config,
              clock: this.clock(),
              network: this.net.port(this.id),
              log,
              hardState: hs,
              storage: this.storage,
              defer: (fn) => this.q.schedule(0, fn),
              // No time limit in the simulator (its clock is not the engine's): scripts here are short.
              scripting: this.scripting,
            },
            {
              event: (e) => this.hooks.event(this, e),
              fatal: (e) => this.hooks.fatal(this, e),
              written: (keys) => this.hooks.written?.(this, keys),
            },
            (err4, driver) => {
              if (err4 || !driver) return done(err4 ?? new Error('no driver'));
              if (inc !== this.incarnation) {
                driver.halt();
                return;
              }
              this.driver = driver;
              done(null);
            },
          );
        });
      });
    });
  }

  /** kill -9: unsynced writes are lost (torn if `tear`), memory is gone. */
  crash(tear: boolean): void {
    this.incarnation++;
    this.starting = false;
    this.driver?.halt();
    if (this.driver) this.lastReplica = this.driver.replica;
    this.driver = null;
    this.net.detach(this.id);
    this.disk.crash({ tear });
    if (this.storage) this.storage = this.storage.crash();
    this.restarts++;
  }

  /**
   * The disk is lost: kill -9, then the node's log, hard state and storage area are gone (a new
   * empty disk, as after the data directory was deleted). Start it again to rejoin.
   */
  loseDisk(): void {
    if (this.up || this.starting || this.driver) this.crash(false);
    this.disk = this.newDisk();
    this.storage = this.newStorage();
    // Nothing it held survives: the checkers must not count its old log as durable anywhere.
    this.lastReplica = null;
    this.disksLost++;
  }

  /** How many times this node lost its disk. */
  disksLost = 0;
}
