// One simulated run from one seed (TigerBeetle's VOPR shape): the seed draws the
// topology, the fault options (swarm testing) and every delay, loss, crash and
// partition. A safety phase under faults is followed by a liveness phase that
// must converge. Same seed, same run.
import { formatDouble } from '../src/core/kv/float-format.ts';
import { type CoreConfig, DEFAULT_LIMITS, DEFAULT_TIMING, majorityOf, type MemberSpec } from '../src/core/config.ts';
import type { CoreEvent } from '../src/core/ready.ts';
import type { Reply } from '../src/core/reply.ts';
import { Prng } from '../src/lib/prng.ts';
import { Checkers, InvariantViolation } from './checkers.ts';
import { EventQueue } from './event-queue.ts';
import { type HistoryOp, HistoryRecorder, type OpCall } from './history.ts';
import { checkLinearizable } from './linearizability.ts';
import { SimNetwork, type NetworkFaults, CALM_NETWORK } from './sim-network.ts';
import { SimNode } from './sim-node.ts';
import { listCommand } from './list-workload.ts';
import { BlockingWorkload } from './blocking-workload.ts';
import { SCRIPT_INCR_SHARE, SCRIPT_SHARE, scriptCommand, scriptIncr } from './script-workload.ts';

export interface SimOptions {
  readonly seed: number;
  /** Simulated ms of the faulty phase. */
  readonly faultMs: number;
  /** Simulated ms of the liveness phase (no new faults; everything healed and restarted). */
  readonly liveMs: number;
  /** Which nodes may crash: only secondaries, or any node including the primary. */
  readonly crash: 'secondaries' | 'any' | 'none';
  readonly clients: number;
  /**
   * Some crashes lose the node's disk (log, hard state and storage area): it restarts empty and
   * must be refilled. One node at a time: never while another is not refilled yet (docs/protocol.md,
   * "A node that lost data", states why). Default off; `npm run sim` turns it on.
   */
  readonly diskLoss?: boolean;
  /** Write a line per notable event. */
  readonly trace?: (line: string) => void;
  /** A deliberately broken variant, to show that the checkers bite. */
  readonly mutate?: (cfg: CoreConfig) => CoreConfig;
  /**
   * Adds blocking pops (sim/blocking-workload.ts) to the workload. Default off: with it on, the
   * changed interleavings show protocol failures at some seeds of the swarm (see docs/protocol.md).
   */
  readonly blockingPops?: boolean;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly topology: string;
  readonly faults: string;
  readonly steps: number;
  readonly simMs: number;
  readonly ops: { ok: number; fail: number; info: number };
  readonly committed: number;
  readonly failovers: ReadonlyArray<{ ms: number; shipped: number; truncated: number; regions: number }>;
  readonly crashes: number;
  /** Crashes that lost the node's disk. */
  readonly disksLost: number;
  readonly linearizable: boolean | 'unknown';
  /** Blocking pops answered with elements (0 unless SimOptions.blockingPops). */
  readonly blockingServed: number;
}

/** Keys rotate every KEY_WINDOW_MS so that each key's history stays small enough to check. */
const KEYS_PER_WINDOW = 4;
const COUNTERS_PER_WINDOW = 2;
const KEY_WINDOW_MS = 400;
/** Hashes, fields per hash and sets per key window of the typed part of the workload. */
const HASHES_PER_WINDOW = 2;
const FIELDS_PER_HASH = 3;
const SETS_PER_WINDOW = 3;
/** Share of the commands outside the history that are list commands (sim/list-workload.ts). */
const LIST_SHARE = 0.4;
/** Sorted sets per key window, and members per sorted set. */
const ZSETS_PER_WINDOW = 2;
const MEMBERS_PER_ZSET = 4;

/** Events one run may take; a run beyond it is reported as a failure (a livelock, or a busy loop). */
const MAX_STEPS = 3_000_000;

/** Client-side give-up time: after it the op's outcome is unknown (info). */
const CLIENT_TIMEOUT_MS = 2000;

export function runSimulation(o: SimOptions): SimResult {
  const prng = new Prng(o.seed);
  const q = new EventQueue();
  const trace = o.trace ?? null;

  // --- swarm: draw this seed's world ---
  const topoRoll = prng.float();
  const members: MemberSpec[] =
    topoRoll < 0.6
      ? [{ id: 'n1', kind: 'data' }, { id: 'n2', kind: 'data' }, { id: 'n3', kind: 'data' }]
      : topoRoll < 0.8
        ? [{ id: 'n1', kind: 'data' }, { id: 'n2', kind: 'data' }, { id: 'w3', kind: 'witness' }]
        : [1, 2, 3, 4, 5].map((i) => ({ id: `n${i}`, kind: 'data' as const }));
  const faults: NetworkFaults = {
    lossRate: prng.chance(0.5) ? prng.float() * 0.05 : 0,
    duplicateRate: prng.chance(0.4) ? prng.float() * 0.05 : 0,
    minDelayMs: 0.05,
    maxDelayMs: 0.2 + prng.float() * (prng.chance(0.3) ? 10 : 1),
    slowRate: prng.chance(0.3) ? prng.float() * 0.02 : 0,
  };
  const partitionEveryMs = prng.chance(0.6) ? 300 + prng.float() * 2000 : Infinity;
  const crashEveryMs = o.crash === 'none' ? Infinity : 200 + prng.float() * 1500;
  const fsyncMs = 0.2 + prng.float() * 3;
  const limits = { ...DEFAULT_LIMITS, maxRetainedUpdates: prng.chance(0.3) ? 50 + prng.int(0, 200) : DEFAULT_LIMITS.maxRetainedUpdates, maxUpdatesPerAppend: prng.pick([1, 8, 64, 1024]), ...gatherLimits(prng, o.seed) };
  const net = new SimNetwork(q, prng.fork(), faults);
  const topology = members.map((m) => (m.kind === 'witness' ? `${m.id}(w)` : m.id)).join(',');
  const faultText = `loss=${faults.lossRate.toFixed(3)} dup=${faults.duplicateRate.toFixed(3)} delay≤${faults.maxDelayMs.toFixed(1)}ms slow=${faults.slowRate.toFixed(3)} partition/${fin(partitionEveryMs)}ms crash/${fin(crashEveryMs)}ms fsync=${fsyncMs.toFixed(1)}ms retain=${limits.maxRetainedUpdates} batch=${limits.maxUpdatesPerAppend} gather=${limits.maxUpdateBytes}B append≤${limits.maxAppendBytes}B retainB=${limits.maxRetainedBytes}`;
  trace?.(`seed ${o.seed}: ${topology} ${faultText}`);

  const nodes: SimNode[] = [];
  const checkers = new Checkers(nodes);
  let violation: Error | null = null;
  const hooks = {
    event: (n: SimNode, e: CoreEvent) => {
      try {
        if (e.t === 'role') {
          trace?.(`${q.now.toFixed(1)} ${n.id} ${e.role} epoch=${e.epoch} primary=${e.primaryId ?? '-'}`);
          checkers.onRole(n, e.role, e.epoch);
        } else if (e.t === 'committed') checkers.onCommitted(n, e.lsn);
        else if (e.t === 'failover') {
          checkers.onFailover(e.summary);
          trace?.(`${q.now.toFixed(1)} failover → ${e.summary.newPrimary} epoch ${e.summary.newEpoch}: sync ${e.summary.failoverSyncMs.toFixed(1)}ms shipped ${JSON.stringify(e.summary.shippedTo)} truncated ${JSON.stringify(e.summary.truncated)} pulled ${JSON.stringify(e.summary.pulledFrom)}`);
        } else if (e.t === 'truncate') trace?.(`${q.now.toFixed(1)} ${n.id} truncated ${e.removed} after ${e.afterLsn}`);
        else if (e.t === 'lost-data') trace?.(`${q.now.toFixed(1)} ${n.id} lost data: ${e.phase} (floor lsn ${e.floorLastLsn} epoch ${e.floorLastEpoch}, log ends at ${e.lastLsn})`);
        else if (e.t === 'peer-lost-data') trace?.(`${q.now.toFixed(1)} ${n.id} sees ${e.node} lost data (acknowledged ${e.ackedLsn}; ${e.inDest ? 'stays in' : 'out of'} dest)`);
      } catch (err) {
        violation ??= err as Error;
      }
    },
    fatal: (n: SimNode, err: Error) => {
      violation ??= new Error(`${n.id} fatal: ${err.message}`);
    },
    written: (n: SimNode, keys: readonly Buffer[]) => blocking?.onWritten(n, keys),
  };
  let blocking: BlockingWorkload | null = null;
  for (const m of members) {
    const cfg0: CoreConfig = { self: m.id, members, timing: DEFAULT_TIMING, limits, seed: prng.nextU32() };
    nodes.push(new SimNode(o.mutate ? o.mutate(cfg0) : cfg0, q, net, prng.fork(), hooks, fsyncMs));
  }
  const startNode = (n: SimNode): void =>
    n.start((err) => {
      if (err) violation ??= new Error(`${n.id} failed to start: ${err.message}`);
    });
  for (const n of nodes) startNode(n);

  // --- workload: clients that talk to whoever is primary (as Sentinel-aware clients do) ---
  const history = new HistoryRecorder();
  const stats = { ok: 0, fail: 0, info: 0 };
  let writesOkInLive = 0;
  let phase: 'fault' | 'live' | 'quiesce' = 'fault';
  const dataNodes = nodes.filter((n) => n.kind === 'data');
  for (let c = 0; c < o.clients; c++) {
    const cprng = prng.fork();
    const client = `c${c}`;
    let seq = 0;
    /** Sends a command outside the history; a reply that shows a bug in the command is a violation. */
    const submitUnrecorded = (primary: SimNode, cmd: string[]): void => {
      primary.driver!.submit([cmd.map((a) => Buffer.from(a))], (replies: readonly Reply[]) => {
        const r = replies[0]!;
        if (r.t === 'error' && /^(WRONGTYPE|ERR (syntax|value|wrong number|unknown|scripting is not available|Error compiling))/.test(r.msg)) {
          violation ??= new Error(`${cmd.join(' ')} answered ${r.msg}`);
        }
      });
    };
    const next = (): void => {
      if (phase === 'quiesce') return;
      const primary = dataNodes.find((n) => n.up && n.driver!.replica.currentRole === 'primary');
      if (!primary) {
        q.schedule(5 + cprng.float() * 10, next);
        return;
      }
      const roll = cprng.float();
      const w = Math.floor(q.now / KEY_WINDOW_MS);
      const KEYS = Array.from({ length: KEYS_PER_WINDOW }, (_, i) => `k${w}:${i}`);
      const COUNTERS = Array.from({ length: COUNTERS_PER_WINDOW }, (_, i) => `c${w}:${i}`);
      let call: OpCall;
      let cmd: string[];
      if (roll < 0.3) {
        const key = cprng.pick(KEYS);
        const value = `${client}-${seq++}`;
        call = { kind: 'write', key, value };
        cmd = ['SET', key, value];
      } else if (roll < 0.55) {
        const key = cprng.pick(cprng.chance(0.7) ? KEYS : COUNTERS);
        call = { kind: 'read', key };
        cmd = ['GET', key];
      } else if (roll < 0.67) {
        const key = cprng.pick(COUNTERS);
        call = { kind: 'incr', key, by: 1 };
        cmd = cprng.chance(SCRIPT_INCR_SHARE) ? scriptIncr(cprng, key) : ['INCR', key];
      } else if (roll < 0.79) {
        // A hash field is a register of its own in the history: HSET writes it, HGET reads it,
        // HDEL deletes it, HINCRBY counts on fields no other command touches.
        const hash = `h${w}:${cprng.int(0, HASHES_PER_WINDOW - 1)}`;
        const field = `f${cprng.int(0, FIELDS_PER_HASH - 1)}`;
        const counter = `n${cprng.int(0, FIELDS_PER_HASH - 1)}`;
        const r = cprng.float();
        if (r < 0.4) {
          const value = `${client}-${seq++}`;
          call = { kind: 'write', key: `${hash}/${field}`, value };
          cmd = ['HSET', hash, field, value];
        } else if (r < 0.65) {
          const f = cprng.chance(0.7) ? field : counter;
          call = { kind: 'read', key: `${hash}/${f}` };
          cmd = ['HGET', hash, f];
        } else if (r < 0.8) {
          call = { kind: 'delete', key: `${hash}/${field}` };
          cmd = ['HDEL', hash, field];
        } else {
          call = { kind: 'incr', key: `${hash}/${counter}`, by: 1 };
          cmd = ['HINCRBY', hash, counter, '1'];
        }
      } else if (roll < 0.87) {
        // A sorted-set member's score is a register too: ZADD writes it, ZSCORE reads it
        // (integer scores print as written), ZREM deletes it.
        const zset = `z${w}:${cprng.int(0, ZSETS_PER_WINDOW - 1)}`;
        const member = `m${cprng.int(0, MEMBERS_PER_ZSET - 1)}`;
        const r = cprng.float();
        if (r < 0.45) {
          const value = String(seq++);
          call = { kind: 'write', key: `${zset}/${member}`, value };
          cmd = ['ZADD', zset, value, member];
        } else if (r < 0.8) {
          call = { kind: 'read', key: `${zset}/${member}` };
          cmd = ['ZSCORE', zset, member];
        } else {
          call = { kind: 'delete', key: `${zset}/${member}` };
          cmd = ['ZREM', zset, member];
        }
      } else {
        // Sets, lists and expiring hashes, outside the history: they exercise every type, TTLs
        // and the multi-key writes, and the identical-replicas invariant compares their elements.
        const set = (): string => `s${w}:${cprng.int(0, SETS_PER_WINDOW - 1)}`;
        const member = `m${cprng.int(0, 7)}`;
        const r = cprng.float();
        if (cprng.chance(SCRIPT_SHARE)) cmd = scriptCommand(cprng, w, `${client}-${seq++}`);
        else if (cprng.chance(LIST_SHARE)) cmd = listCommand(cprng, w, `${client}-${seq++}`);
        else if (r < 0.3) cmd = ['SADD', set(), member, `m${cprng.int(0, 7)}`];
        else if (r < 0.45) cmd = ['SREM', set(), member];
        else if (r < 0.55) cmd = ['SPOP', set(), String(cprng.int(1, 2))];
        else if (r < 0.62) cmd = ['SMOVE', set(), set(), member];
        else if (r < 0.7) cmd = [cprng.pick(['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']), set(), set(), set()];
        else if (r < 0.8) cmd = ['PEXPIRE', set(), String(cprng.int(20, 600))];
        else if (r < 0.85) cmd = ['HSET', `t${w}:${cprng.int(0, 1)}`, `f${cprng.int(0, 5)}`, `${client}-${seq++}`];
        else if (r < 0.88) cmd = ['PEXPIRE', `t${w}:${cprng.int(0, 1)}`, String(cprng.int(20, 600))];
        else {
          // Sorted sets outside the history: pops, range removals, INCR and the STORE commands.
          const zs = (): string => `y${w}:${cprng.int(0, 1)}`;
          cmd = cprng.pick([
            ['ZADD', zs(), String(cprng.int(-3, 3)), `m${cprng.int(0, 7)}`, `${cprng.int(0, 9)}.5`, `m${cprng.int(0, 7)}`],
            ['ZINCRBY', zs(), '1.25', `m${cprng.int(0, 7)}`],
            ['ZPOPMIN', zs(), String(cprng.int(1, 2))],
            ['ZPOPMAX', zs()],
            ['ZREMRANGEBYSCORE', zs(), '(0', '2'],
            ['ZREMRANGEBYRANK', zs(), '0', '0'],
            ['ZRANGESTORE', zs(), zs(), '0', '2'],
            ['ZUNIONSTORE', zs(), '2', zs(), zs(), 'WEIGHTS', '1', '2'],
            ['ZINTERSTORE', zs(), '2', zs(), zs(), 'AGGREGATE', 'MAX'],
            ['ZDIFFSTORE', zs(), '2', zs(), zs()],
            ['PEXPIRE', zs(), String(cprng.int(20, 600))],
          ]);
        }
        submitUnrecorded(primary, cmd);
        q.schedule(cprng.float() * 2, next);
        return;
      }
      const id = history.invoke(client, call, q.now);
      let done = false;
      const inc = primary.incarnation;
      const timer = q.schedule(CLIENT_TIMEOUT_MS, () => {
        if (done) return;
        done = true;
        history.info(id, q.now);
        stats.info++;
        next();
      });
      primary.driver!.submit([cmd.map((s) => Buffer.from(s))], (replies: readonly Reply[]) => {
        if (done || inc !== primary.incarnation) return;
        done = true;
        timer.cancel();
        const r = replies[0]!;
        if (r.t === 'error') {
          // Not executed (refused before it became an update) vs unknown outcome.
          const unknown = r.msg.startsWith('TIMEOUT') || r.msg.includes('outcome');
          if (unknown) {
            history.info(id, q.now);
            stats.info++;
          } else {
            history.fail(id, q.now);
            stats.fail++;
          }
        } else {
          const result =
            call.kind === 'read'
              ? r.t === 'bulk' && r.b
                ? r.b.toString('latin1')
                : r.t === 'double'
                  ? formatDouble(r.d)
                  : null
              : call.kind === 'incr' || (call.kind === 'delete' && r.t === 'int')
                ? Number(r.t === 'int' ? r.n : NaN)
                : null;
          history.ok(id, result, q.now);
          stats.ok++;
          if (phase === 'live' && call.kind === 'write') writesOkInLive++;
        }
        q.schedule(cprng.float() * 2, next);
      });
    };
    q.schedule(50 + cprng.float() * 20, next);
  }

  // Blocking pops through the server's blocking registry (sim/blocking-workload.ts), drawn from a
  // stream of their own so that the seed's faults stay as they were without them.
  blocking = new BlockingWorkload(new Prng(o.seed ^ 0xb10c_4ed), {
    q,
    primary: () => dataNodes.find((n) => n.up && n.driver!.replica.currentRole === 'primary'),
    clock: (n) => n.clock(),
    active: () => phase !== 'quiesce',
    violation: (e) => (violation ??= e),
  });
  if (o.blockingPops === true) blocking.start();

  // --- faults ---
  const faultPrng = prng.fork();
  let crashes = 0;
  // Drawn from its own stream, so that a seed's other faults stay as they were without disk loss.
  const diskPrng = new Prng(o.seed ^ 0x0d15_c1055);
  const diskLossRate = o.diskLoss ? 0.15 + diskPrng.float() * 0.35 : 0;
  /** Nodes that lost their disk or had their log's tail torn, and are not refilled yet. */
  const unrefilled = (): SimNode[] => nodes.filter((n) => lostAt.has(n) && (!n.up || n.driver!.replica.lostDataState !== null));
  const lostAt = new Set<SimNode>();
  let disksLost = 0;
  /**
   * A disk may be lost only where that is one failure, not two (docs/protocol.md, "What a lost
   * disk may cost"): for every node that acts as primary, every other data node is up and holds
   * what that primary committed (with a witness, everything it logged: a witness holding update
   * headers no data node has would refuse every remaining candidate), and without the victim a
   * majority still holds everything committed — and everything the victim holds matching the
   * primary's log, since an acknowledgement of it may be on its way and commit it after the loss.
   * A disk lost on the one other holder of a committed update (the rest out of dest) leaves one
   * copy: the protocol stays safe then (test/claims/lost-data.test.ts), but no design keeps
   * invariant 5 through it.
   */
  const othersHoldEverything = (victim: SimNode, primaries: readonly SimNode[]): boolean =>
    primaries.length > 0 &&
    primaries.every((primary) => {
      const p = primary.driver!.replica;
      const upTo = nodes.some((n) => n.kind === 'witness') ? p.log.last : p.commit;
      if (!dataNodes.every((n) => n === victim || (n.up && n.driver!.replica.durable >= upTo && n.driver!.replica.log.epochAt(upTo) === p.log.epochAt(upTo)))) return false;
      const v = victim.driver?.replica;
      let acked = v ? Math.min(v.durable, p.log.last) : 0;
      while (acked > p.commit && v!.log.epochAt(acked) !== p.log.epochAt(acked)) acked--;
      const top = Math.min(p.log.last, Math.max(p.commit, checkers.highestCommittedLsn, acked));
      return top <= 0 || checkers.holdersOf(top, p.log.epochAt(top), victim) >= majorityOf(nodes.length);
    });
  const scheduleCrash = (): void => {
    if (!Number.isFinite(crashEveryMs)) return;
    q.schedule(crashEveryMs * (0.5 + faultPrng.float()), () => {
      if (phase !== 'fault') return;
      const primary = nodes.find((n) => n.up && n.driver!.replica.currentRole === 'primary');
      const candidates = nodes.filter((n) => n.up && (o.crash === 'any' || n !== primary));
      const down = nodes.filter((n) => !n.up).length;
      if (candidates.length > 0 && down < Math.ceil(nodes.length / 2)) {
        const victim = o.crash === 'any' && primary && faultPrng.chance(0.5) ? primary : faultPrng.pick(candidates);
        const tearDrawn = faultPrng.chance(0.5);
        for (const n of [...lostAt]) if (n.up && n.driver!.replica.lostDataState === null) lostAt.delete(n);
        const primaries = nodes.filter((n) => n.up && n.driver!.replica.currentRole === 'primary');
        const loseDisk = diskLossRate > 0 && diskPrng.chance(diskLossRate) && unrefilled().length === 0 && othersHoldEverything(victim, primaries);
        // A torn write cuts the log's tail at restart, and a node whose log was cut lost data as
        // one whose disk is gone does (docs/protocol.md): one such node at a time as well.
        const tear = tearDrawn && !loseDisk && unrefilled().every((n) => n === victim);
        if (loseDisk || tear) lostAt.add(victim);
        trace?.(`${q.now.toFixed(1)} ${loseDisk ? 'DISK LOST' : 'CRASH'} ${victim.id}${victim === primary ? ' (primary)' : ''}${tear ? ' torn' : ''}`);
        if (loseDisk) {
          victim.loseDisk();
          checkers.onDiskLost(victim);
          disksLost++;
        } else victim.crash(tear);
        crashes++;
        q.schedule(50 + faultPrng.float() * 1000, () => {
          trace?.(`${q.now.toFixed(1)} RESTART ${victim.id}`);
          startNode(victim);
        });
      }
      scheduleCrash();
    });
  };
  scheduleCrash();
  const schedulePartition = (): void => {
    if (!Number.isFinite(partitionEveryMs)) return;
    q.schedule(partitionEveryMs * (0.5 + faultPrng.float()), () => {
      if (phase !== 'fault') return;
      const primary = nodes.find((n) => n.up && n.driver!.replica.currentRole === 'primary');
      const victim = primary && faultPrng.chance(0.5) ? primary : faultPrng.pick(nodes);
      if (faultPrng.chance(0.3)) {
        const other = faultPrng.pick(nodes.filter((n) => n !== victim));
        net.partition(victim.id, other.id, true);
        trace?.(`${q.now.toFixed(1)} CUT ${victim.id} → ${other.id} (one way)`);
      } else {
        net.isolate(victim.id, nodes.map((n) => n.id));
        trace?.(`${q.now.toFixed(1)} ISOLATE ${victim.id}`);
      }
      q.schedule(100 + faultPrng.float() * 1500, () => {
        net.heal();
        trace?.(`${q.now.toFixed(1)} HEAL`);
      });
      schedulePartition();
    });
  };
  schedulePartition();

  // --- run: safety phase, liveness phase, quiescence ---
  const SCAN_EVERY = 500;
  const fail = (msg: string): SimResult => result(false, msg);
  const result = (ok: boolean, error?: string): SimResult => ({
    seed: o.seed,
    ok,
    ...(error !== undefined ? { error } : {}),
    topology,
    faults: faultText,
    steps: q.steps,
    simMs: q.now,
    ops: stats,
    committed: checkers.committedCount,
    failovers: checkers.failovers.map((f) => ({
      ms: f.detectionMs + f.electionMs + f.failoverSyncMs,
      shipped: Object.values(f.shippedTo).reduce((a, b) => a + b, 0) + Object.values(f.pulledFrom).reduce((a, b) => a + b, 0),
      truncated: Object.values(f.truncated).reduce((a, b) => a + b, 0),
      regions: Object.values(f.regionsResynced).reduce((a, b) => a + b, 0),
    })),
    crashes,
    disksLost,
    linearizable: lin,
    blockingServed: blocking?.served ?? 0,
  });
  let lin: boolean | 'unknown' = 'unknown';
  const runTo = (until: number): Error | null => {
    let k = 0;
    try {
      q.runUntil(until, () => {
        if (violation) throw violation;
        if (++k % SCAN_EVERY === 0) checkers.scan();
        if (q.steps > MAX_STEPS) throw new Error(`step budget of ${MAX_STEPS} events exceeded at ${q.now.toFixed(1)} simulated ms (a livelock?)`);
      });
      checkers.scan();
    } catch (e) {
      return e as Error;
    }
    return violation;
  };
  let e = runTo(o.faultMs);
  if (e) return fail(describe(e));
  // Liveness: heal everything, restart every node, calm network.
  phase = 'live';
  net.heal();
  net.faults = CALM_NETWORK;
  for (const n of nodes) if (!n.up) startNode(n);
  trace?.(`${q.now.toFixed(1)} LIVENESS PHASE`);
  e = runTo(o.faultMs + o.liveMs);
  if (e) return fail(describe(e));
  if (writesOkInLive === 0) return fail(`liveness: no write succeeded within ${o.liveMs} ms after the faults stopped; ${nodeStates(nodes)}`);
  phase = 'quiesce';
  e = runTo(o.faultMs + o.liveMs + 3000);
  if (e) return fail(describe(e));
  const conv = checkers.converged();
  if (!conv.ok) return fail(`invariant 6: replicas differ after quiescence: ${conv.detail}`);
  const down = nodes.filter((n) => !n.up);
  if (down.length > 0) return fail(`liveness: ${down.map((n) => n.id).join(',')} did not come back`);
  // Invariant 2: linearizable reads and writes at the primary.
  const ops: HistoryOp[] = history.ops();
  const check = checkLinearizable(ops, { maxStepsPerKey: 2_000_000 });
  lin = check.ok === true ? true : check.ok === 'unknown' ? 'unknown' : false;
  if (check.ok === false) return fail(`invariant 2: history not linearizable: ${'explanation' in check ? check.explanation : ''}`);
  return result(true);
}

/** Each node's role, epoch, log and repair state, for a liveness failure's message. */
function nodeStates(nodes: readonly SimNode[]): string {
  return nodes
    .map((n) => {
      const r = n.driver?.replica;
      if (!r) return `${n.id}: down`;
      const lost = r.lostDataState;
      return `${n.id}: ${r.currentRole} epoch ${r.currentEpoch} log ${r.log.start}..${r.log.last}@${r.log.lastEpoch} durable ${r.durable} dirty ${r.dirtyRegions.length}${lost ? ` lost-data floor ${JSON.stringify(lost.floor)}` : ''}`;
    })
    .join('; ');
}

function describe(e: Error): string {
  return e instanceof InvariantViolation ? e.message : `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
}

function fin(x: number): string {
  return Number.isFinite(x) ? x.toFixed(0) : '∞';
}

/** Client writes gathered per update (1 byte: one update per write) and the byte budget of one append. */
function gatherLimits(prng: Prng, seed: number): { maxUpdateBytes: number; maxAppendBytes: number; maxRetainedBytes: number } {
  const maxUpdateBytes = prng.pick([1, 2048, DEFAULT_LIMITS.maxUpdateBytes]);
  return {
    maxUpdateBytes,
    maxAppendBytes: prng.pick([Math.max(maxUpdateBytes, 4096), DEFAULT_LIMITS.maxAppendBytes]),
    // Sometimes small enough that a lagging secondary crosses it (in bytes) before it crosses
    // maxRetainedUpdates. Drawn from its own stream so that the seeds' other draws stay as they were.
    maxRetainedBytes: retainedBytesOf(seed),
  };
}

function retainedBytesOf(seed: number): number {
  const p = new Prng(seed ^ 0x5eed_b17e);
  return p.chance(0.2) ? 20_000 + p.int(0, 40_000) : DEFAULT_LIMITS.maxRetainedBytes;
}
