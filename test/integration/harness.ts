// Real-process clusters for the integration tests: every node is an
// `understudy start` child process on 127.0.0.1 with its own temporary data
// directory and free ports; tests kill -9 and restart them by PID. Every wait
// is bounded in time, and after() kills only the PIDs started here.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis, type RedisOptions } from 'ioredis';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { FailoverReport, NodeStatus } from '../../src/runtime/node-api.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(REPO_ROOT, 'bin', 'understudy.mjs');
/** A node process (TypeScript loader included) must be serving within this long. */
export const NODE_START_TIMEOUT_MS = 20_000;
/** A cluster must elect a primary within this long of its nodes serving. */
export const ELECTION_TIMEOUT_MS = 15_000;
/** Catching up and converging after a restart or failover, on a loaded 2-core machine. */
export const CONVERGE_TIMEOUT_MS = 30_000;
/** Polling interval of every wait below. */
export const POLL_MS = 50;
/** One admin HTTP request. */
export const HTTP_TIMEOUT_MS = 3000;
export const MASTER_NAME = 'itest';
/**
 * Timing for the tests whose subject is not failure detection (client tools, bad input, a
 * secondary's restart, a planned switchover). The defaults (300 ms election timeout) hold on
 * an idle machine, but a 2-core machine shared with other work can starve a primary's event
 * loop past them, and a spurious election would fail those tests for a reason they are not
 * about. The failover test keeps the defaults.
 */
export const SHARED_MACHINE_TIMING = { electionTimeoutMs: 1500, leaseMarginMs: 300 } as const;

/** Free TCP ports on 127.0.0.1 (all held open together so none repeats, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port));
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** Polls `probe` until it returns a value other than undefined; fails after timeoutMs saying what it waited for. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${String(lastErr)})` : ''}`);
    await sleep(POLL_MS);
  }
}

/** UNDERSTUDY_IT_KEEP=1 keeps the clusters' data directories (and node logs) after the run. */
function keepDirs(): boolean {
  return process.env['UNDERSTUDY_IT_KEEP'] === '1';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Every node process started by this test file and not yet seen exiting. */
const liveChildren = new Set<ChildProcess>();
/** Data directories of clusters not closed yet (removed on an early exit too). */
const liveDirs = new Set<string>();

function killLiveChildren(): void {
  for (const c of liveChildren) {
    if (c.pid === undefined) continue;
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

// If this test file's process is stopped before its after() hooks run (a runner timeout, Ctrl-C),
// its node processes must not outlive it: kill them (by PID) on the way out.
process.once('exit', killLiveChildren);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killLiveChildren();
    if (!keepDirs()) for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

export interface NodeSpec {
  readonly id: string;
  /** The address its ports are on: 127.0.0.1, or its own host's (ClusterOptions.hosts). */
  readonly host: string;
  readonly redisPort: number;
  readonly peerPort: number;
  readonly sentinelPort: number;
  readonly adminPort: number;
  readonly configPath: string;
  readonly logPath: string;
}

export interface ClusterOptions {
  readonly nodes: number;
  readonly storage?: 'lmdb' | 'memory';
  /** Extra configuration keys for every node (e.g. timing). */
  readonly extra?: Partial<ConfigInput>;
  /** Run `understudy init` on every member's configuration before any start (a new cluster). */
  readonly init?: boolean;
  /** Each node on a host of its own (test/netns/hosts.ts) instead of all on 127.0.0.1. */
  readonly hosts?: SeparateHosts;
  /** Options for node itself before the program (e.g. --cpu-prof, which NODE_OPTIONS may not carry). */
  readonly nodeArgs?: readonly string[];
}

/** Where node i runs: its address, and the command line that starts a process there. */
export interface SeparateHosts {
  addressOf(i: number): string;
  command(i: number, argv: readonly string[]): string[];
}

/** On a host of its own a node has every port to itself: the same ports on every host. */
const HOST_PORTS = { redis: 7001, peer: 7101, sentinel: 7201, admin: 7301 } as const;

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly out: WriteStream;
}

/** A cluster of `understudy start` processes. Call close() in after(). */
export class ProcessCluster {
  readonly dir: string;
  readonly specs: NodeSpec[];
  private readonly running = new Map<string, Running>();
  /** Every PID this cluster started (the only ones it may kill). */
  readonly pids = new Set<number>();
  /** How each node's last process ended. */
  readonly lastExit = new Map<string, { code: number | null; signal: NodeJS.Signals | null }>();

  private constructor(
    dir: string,
    specs: NodeSpec[],
    private readonly hosts?: SeparateHosts,
    private readonly nodeArgs: readonly string[] = [],
  ) {
    this.dir = dir;
    this.specs = specs;
  }

  static async create(o: ClusterOptions): Promise<ProcessCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'understudy-it-'));
    liveDirs.add(dir);
    const ports = o.hosts ? [] : await freePorts(4 * o.nodes);
    const specs: NodeSpec[] = [];
    for (let i = 0; i < o.nodes; i++) {
      const id = `n${i + 1}`;
      const h = o.hosts;
      specs.push({
        id,
        host: h ? h.addressOf(i) : '127.0.0.1',
        redisPort: h ? HOST_PORTS.redis : ports[4 * i]!,
        peerPort: h ? HOST_PORTS.peer : ports[4 * i + 1]!,
        sentinelPort: h ? HOST_PORTS.sentinel : ports[4 * i + 2]!,
        adminPort: h ? HOST_PORTS.admin : ports[4 * i + 3]!,
        configPath: join(dir, `${id}.json`),
        logPath: join(dir, `${id}.log`),
      });
    }
    const members = specs.map((s) => ({
      id: s.id,
      kind: 'data' as const,
      peerAddr: `${s.host}:${s.peerPort}`,
      redisAddr: `${s.host}:${s.redisPort}`,
      sentinelAddr: `${s.host}:${s.sentinelPort}`,
      adminAddr: `${s.host}:${s.adminPort}`,
    }));
    const secret = randomBytes(16).toString('hex');
    for (const s of specs) {
      const config: ConfigInput = {
        nodeId: s.id,
        dataDir: join(dir, s.id),
        members,
        clusterSecret: secret,
        masterName: MASTER_NAME,
        storage: o.storage ?? 'lmdb',
        logLevel: 'info',
        ...o.extra,
      };
      writeFileSync(s.configPath, JSON.stringify(config, null, 2));
      if (o.init) {
        const r = spawnSync(process.execPath, [BIN, 'init', '--config', s.configPath], { cwd: REPO_ROOT, encoding: 'utf8', timeout: NODE_START_TIMEOUT_MS });
        assert.equal(r.status, 0, `understudy init for ${s.id}: ${r.stderr}`);
      }
    }
    return new ProcessCluster(dir, specs, o.hosts, o.nodeArgs);
  }

  spec(id: string): NodeSpec {
    const s = this.specs.find((x) => x.id === id);
    assert.ok(s, `no node ${id}`);
    return s;
  }

  /** Starts the node's process (again, after a kill) and waits until its admin API answers. */
  async start(id: string): Promise<void> {
    assert.ok(!this.running.has(id), `${id} is already running`);
    const s = this.spec(id);
    const out = createWriteStream(s.logPath, { flags: 'a' });
    const argv = [process.execPath, ...this.nodeArgs, BIN, 'start', '--config', s.configPath];
    const [cmd, ...args] = this.hosts ? this.hosts.command(this.specs.indexOf(s), argv) : argv;
    const child = spawn(cmd!, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    assert.ok(child.pid !== undefined, `${id} did not spawn`);
    this.pids.add(child.pid);
    liveChildren.add(child);
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    // After 'close' both pipes are drained: nothing more can be written to the log file.
    child.once('close', () => out.end());
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => {
        liveChildren.delete(child);
        this.lastExit.set(id, { code, signal });
        if (this.running.get(id)?.child === child) this.running.delete(id);
        resolve({ code, signal });
      }),
    );
    this.running.set(id, { child, exited, out });
    await waitFor(`${id} to serve its admin API (log: ${s.logPath})`, NODE_START_TIMEOUT_MS, async () => {
      if (!this.running.has(id)) throw new Error(`${id} exited during start; log tail:\n${this.logTail(id)}`);
      return (await this.statusOrNull(id)) ?? undefined;
    });
  }

  async startAll(): Promise<void> {
    await Promise.all(this.specs.map((s) => this.start(s.id)));
  }

  pidOf(id: string): number {
    const r = this.running.get(id);
    assert.ok(r?.child.pid !== undefined, `${id} is not running`);
    return r.child.pid;
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  /** Sends a signal to the node's process (its own PID only) and waits for it to exit. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const r = this.running.get(id);
    assert.ok(r && r.child.pid !== undefined, `${id} is not running`);
    process.kill(r.child.pid, signal);
    const res = await Promise.race([r.exited, sleep(NODE_START_TIMEOUT_MS).then(() => null)]);
    assert.ok(res, `${id} (pid ${r.child.pid}) did not exit within ${NODE_START_TIMEOUT_MS} ms of ${signal}`);
    return res;
  }

  adminUrl(id: string): string {
    const s = this.spec(id);
    return `http://${s.host}:${s.adminPort}`;
  }

  async status(id: string, digest = false): Promise<NodeStatus> {
    const r = await fetch(`${this.adminUrl(id)}/status${digest ? '?digest=1' : ''}`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    assert.equal(r.status, 200, `GET /status on ${id}: HTTP ${r.status}`);
    return (await r.json()) as NodeStatus;
  }

  async statusOrNull(id: string, digest = false): Promise<NodeStatus | null> {
    try {
      return await this.status(id, digest);
    } catch {
      return null;
    }
  }

  async failovers(id: string): Promise<FailoverReport[]> {
    const r = await fetch(`${this.adminUrl(id)}/failovers`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    return ((await r.json()) as { reports: FailoverReport[] }).reports;
  }

  /** The primary that every running node agrees on, with a valid lease. */
  async waitPrimary(timeoutMs = ELECTION_TIMEOUT_MS, not?: string): Promise<string> {
    return waitFor(`a primary${not ? ` other than ${not}` : ''} agreed by every running node`, timeoutMs, async () => {
      const ids = [...this.running.keys()];
      const st = await Promise.all(ids.map((id) => this.statusOrNull(id)));
      const p = st.find((s) => s?.role === 'primary' && s.leaseValid);
      if (!p || p.id === not) return undefined;
      return st.every((s) => s !== null && s.primaryId === p.id && s.epoch === p.epoch) ? p.id : undefined;
    });
  }

  /**
   * After a failover test: starts the killed node again, waits until it follows the new primary,
   * makes one more write (so every node has something of the new epoch to agree on), and asserts
   * that every node converged to one digest.
   */
  async rejoinAndConverge(killed: string, primary: string, write: () => Promise<unknown>): Promise<void> {
    await this.start(killed);
    await waitFor(`${killed} to rejoin as a secondary of ${primary}`, CONVERGE_TIMEOUT_MS, async () => {
      const s = await this.statusOrNull(killed);
      return s?.role === 'secondary' && s.primaryId === primary ? s : undefined;
    });
    await write();
    const st = await this.converged();
    const digests = new Set([...st.values()].map((s) => s.digest));
    if (digests.size !== 1) throw new Error(`digests differ: ${JSON.stringify([...st.values()].map((s) => [s.id, s.digest]))}`);
  }

  /**
   * Waits until every running node holds the same log end and applied position, with no dirty
   * region, then returns their digests (invariant 6: after quiescence, equal storage areas).
   */
  async converged(timeoutMs = CONVERGE_TIMEOUT_MS): Promise<Map<string, NodeStatus>> {
    return waitFor('every running node to converge (same last/applied lsn, no dirty region, equal digests)', timeoutMs, async () => {
      const ids = [...this.running.keys()];
      const st = await Promise.all(ids.map((id) => this.statusOrNull(id, true)));
      if (st.some((s) => s === null)) return undefined;
      const all = st as NodeStatus[];
      const p = all.find((s) => s.role === 'primary');
      if (!p) return undefined;
      const same = all.every(
        (s) =>
          s.log.lastLsn === p.log.lastLsn &&
          s.log.appliedLsn === p.log.lastLsn &&
          s.dirtyRegions.length === 0 &&
          s.digest !== undefined &&
          s.digest === p.digest,
      );
      return same ? new Map(all.map((s) => [s.id, s])) : undefined;
    });
  }

  logTail(id: string, lines = 30): string {
    try {
      return readFileSync(this.spec(id).logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /**
   * Kills every process still running (by its PID) and removes the data directory unless kept
   * (by default kept when UNDERSTUDY_IT_KEEP=1, to read a failed test's node logs).
   */
  async close(keep = keepDirs()): Promise<void> {
    for (const [, r] of this.running) {
      if (r.child.pid !== undefined) {
        try {
          process.kill(r.child.pid, 'SIGKILL');
        } catch {
          // Already exited between the check and the kill.
        }
      }
    }
    await Promise.all([...this.running.values()].map((r) => Promise.race([r.exited, sleep(5000)])));
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
    liveDirs.delete(this.dir);
  }
}

// ---------------------------------------------------------------- client load

/** The outcome of a bounded write load: what the cluster said OK to, and what stayed unknown. */
export interface LoadResult {
  /** key → value, for every SET answered OK: each must be readable afterwards. */
  readonly acked: Map<string, string>;
  /** Keys whose SET failed or timed out: their outcome is unknown (never counted as lost). */
  readonly unknown: Set<string>;
  readonly errors: string[];
  readonly attempts: number;
  /** Longest time between two consecutive acknowledgements (what a client saw of a failover). */
  readonly maxGapMs: number;
  readonly elapsedMs: number;
}

export interface LoadOptions {
  readonly prefix: string;
  readonly workers: number;
  /** Stop after this many attempted writes in all… */
  readonly maxWrites: number;
  /** …or after this long, whichever comes first. */
  readonly maxMs: number;
  /** Called after each acknowledgement with the count so far (to act mid-way, e.g. kill the primary). */
  readonly onAck?: (acked: number) => void;
}

/** Pause after a failed write so a worker does not spin while the cluster elects a primary. */
const WRITE_ERROR_BACKOFF_MS = 20;
/** Errors kept for the report (the count is in `unknown`). */
const MAX_ERRORS_KEPT = 50;

/** Writes unique keys from `workers` concurrent loops through a client with a `set` method. */
export async function writeLoad(client: { set(k: string, v: string): Promise<unknown> }, o: LoadOptions): Promise<LoadResult> {
  const acked = new Map<string, string>();
  const unknown = new Set<string>();
  const errors: string[] = [];
  const started = Date.now();
  let attempts = 0;
  let lastAck = started;
  let maxGapMs = 0;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; attempts < o.maxWrites && Date.now() - started < o.maxMs; i++) {
      attempts++;
      const key = `${o.prefix}:${w}:${i}`;
      const value = `${i}-${randomBytes(4).toString('hex')}`;
      try {
        const r = await client.set(key, value);
        if (r !== 'OK') throw new Error(`SET answered ${String(r)}`);
        acked.set(key, value);
        const now = Date.now();
        maxGapMs = Math.max(maxGapMs, now - lastAck);
        lastAck = now;
        o.onAck?.(acked.size);
      } catch (e) {
        unknown.add(key);
        if (errors.length < MAX_ERRORS_KEPT) errors.push((e as Error).message);
        await sleep(WRITE_ERROR_BACKOFF_MS);
      }
    }
  };
  await Promise.all(Array.from({ length: o.workers }, (_, w) => worker(w)));
  return { acked, unknown, errors, attempts, maxGapMs, elapsedMs: Date.now() - started };
}

/** Keys per MGET when reading acknowledged writes back. */
const READ_BACK_CHUNK = 500;

/** Reads every acknowledged key back; returns the keys whose value is missing or different. */
/** Every acknowledged write reads back with its value; fails naming how many did not (and the first few). */
export async function assertNoneLost(client: { mget(...keys: string[]): Promise<Array<string | null>> }, acked: ReadonlyMap<string, string>): Promise<void> {
  const lost = await lostWrites(client, acked);
  assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acknowledged writes lost`);
}

export async function lostWrites(client: { mget(...keys: string[]): Promise<Array<string | null>> }, acked: ReadonlyMap<string, string>): Promise<string[]> {
  const keys = [...acked.keys()];
  const lost: string[] = [];
  for (let i = 0; i < keys.length; i += READ_BACK_CHUNK) {
    const chunk = keys.slice(i, i + READ_BACK_CHUNK);
    const values = await client.mget(...chunk);
    chunk.forEach((k, j) => {
      if (values[j] !== acked.get(k)) lost.push(`${k}: expected ${acked.get(k)}, got ${String(values[j])}`);
    });
  }
  return lost;
}

/**
 * An ioredis client in Sentinel mode on the cluster, bounded everywhere (a request, a connect,
 * retries while the cluster elects). Reconnects are expected: outcomes are judged per command.
 */
export function sentinelClient(cluster: ProcessCluster, extra: Partial<RedisOptions> = {}): Redis {
  const r = new Redis({
    sentinels: cluster.specs.map((s) => ({ host: s.host, port: s.sentinelPort })),
    name: MASTER_NAME,
    commandTimeout: 3000,
    connectTimeout: 2000,
    maxRetriesPerRequest: 100,
    retryStrategy: () => 50,
    sentinelRetryStrategy: () => 50,
    ...extra,
  });
  r.on('error', () => undefined);
  return r;
}
