// FailoverSync's cost follows the diff, not the data (invariant 7 of
// docs/protocol.md). On a real 3-node cluster (LMDB, default timing):
//
// - a diff made two ways: a heavy pipelined write load at the moment of a
//   kill -9 of the primary (the writes in flight), and a larger, controlled one:
//   one secondary stopped (SIGSTOP) under that load for a while — the primary
//   leaves it out of dest after ackTimeoutMs and goes on with the other — then
//   the primary killed and the secondary resumed (SIGCONT), so it is behind
//   when the new primary runs FailoverSync;
// - the same drills on a data set of 10k keys and of 1M keys.
//
// Each drill reads how far each secondary is behind from the primary's status
// just before the kill, the new primary's failover report (updates shipped,
// pulled, truncated, regions resynced, FailoverSync ms), and reads every
// acknowledged write back once the old primary is back and all three nodes
// have converged.
import { randomInt } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { Redis } from 'ioredis';
import { DEFAULT_VALUE_BYTES, key16, respCommand } from '../../src/bench/resp-load.ts';
import { TIMING_DEFAULTS } from '../../src/config/schema.ts';
import type { FailoverReport, NodeStatus } from '../../src/runtime/node-api.ts';
import { CONVERGE_TIMEOUT_MS, ELECTION_TIMEOUT_MS, HTTP_TIMEOUT_MS, POLL_MS, ProcessCluster, sleep, waitFor } from '../../test/integration/harness.ts';
import { cell, tempDirs } from './common.ts';
import { CallError, LineClient } from './line-client.ts';
import { ResourceSampler, resourceRows, type ResourceSummary } from './resources.ts';

/** The small data set. */
export const SMALL_KEYS = 10_000;
/** The large data set (the standalone entry takes --big-keys to try a smaller one). */
export const DEFAULT_BIG_KEYS = 1_000_000;
/** Bytes per value, preload and drill writes alike (redis-benchmark's default -d of the rest of the benchmark). */
const VALUE_BYTES = DEFAULT_VALUE_BYTES;

// Preload: MSET with many keys per command, several commands in flight per connection. Each
// MSET is one update (one log record, one fsync group on every node), so the data set goes in
// as ~1000 large updates instead of a million small ones.
const PRELOAD_KEYS_PER_MSET = 1000;
const PRELOAD_CONNS = 2;
const PRELOAD_PIPELINE = 4;
/** One MSET of PRELOAD_KEYS_PER_MSET keys behind others on a loaded 2-core machine. */
const PRELOAD_CALL_TIMEOUT_MS = 30_000;
/** The whole preload of the large data set (measured well under this; a bound, not a target). */
const PRELOAD_LIMIT_MS = 240_000;
/** Connections re-opened after a failure (a primary change under the preload's load) before giving up. */
const PRELOAD_MAX_RECONNECTS = 20;

// The drill's write load: pipelined SETs over the data set's keys, so that many writes are in
// flight at the kill and the data set keeps its size (DBSIZE stays the preloaded count).
const LOAD_CONNS = 8;
const LOAD_PIPELINE = 64;
/** Load before the kill (or before the pause). */
const LOAD_BEFORE_MS = 1000;
/** A pipeline unanswered this long is abandoned (the node answers TIMEOUT after its request timeout). */
const WRITE_CALL_TIMEOUT_MS = TIMING_DEFAULTS.requestTimeoutMs + 1000;
/** Writer loops end by this long after their start whatever happens. */
const LOAD_MAX_MS = 30_000;
/** Waiting for the writers to finish once told to stop. */
const WRITER_STOP_GRACE_MS = WRITE_CALL_TIMEOUT_MS + 1000;

/** How long one secondary is stopped under load before the kill (0 = load only). */
export const SCENARIOS: ReadonlyArray<{ readonly label: string; readonly pauseMs: number }> = [
  { label: 'load only', pauseMs: 0 },
  { label: 'secondary paused 1 s', pauseMs: 1000 },
  { label: 'secondary paused 3 s', pauseMs: 3000 },
];

/** The new primary's report appears once its epoch-start update commits. */
const REPORT_TIMEOUT_MS = 15_000;
/** Convergence (digests computed over the whole storage area) of the large data set: about 5 s for 1M keys when nothing is wrong. */
const CONVERGE_BIG_TIMEOUT_MS = 60_000;
/** A drill disturbed before its kill (a spurious election on the shared machine) is run again, this many times at most. */
const MAX_DRILL_ATTEMPTS = 3;
/** One status request with the storage digest (about 2.6 s for 1M keys whose regions all changed, on this 2-core machine). */
const DIGEST_HTTP_TIMEOUT_MS = 30_000;
/** The admin API answers a switchover within 5 s (docs/admin-api.md); a little more for a loaded machine. */
const SWITCHOVER_HTTP_TIMEOUT_MS = 8000;
/** Lines of each node's log shown when the section fails. */
const DESCRIBE_LOG_LINES = 15;
/** Keys per MGET when reading acknowledged writes back. */
const READ_BACK_CHUNK = 500;
const READ_BACK_TIMEOUT_MS = 10_000;

export interface SyncCostOptions {
  readonly reps: number;
  /** Keys of the large data set (default DEFAULT_BIG_KEYS). */
  readonly bigKeys?: number;
  readonly log?: (s: string) => void;
}

export interface DrillOutcome {
  readonly keys: number;
  readonly scenario: string;
  readonly oldPrimary: string;
  readonly newPrimary: string;
  /** Per secondary, lagUpdates in the primary's status just before the kill. */
  readonly lagAtKill: Readonly<Record<string, number>>;
  /**
   * Writes acknowledged between the SIGSTOP and the kill: committed without the stopped
   * secondary, so it lacks them (0 for load only). The primary gathers writes arriving together
   * into one update, so this says in writes what lagUpdates and shipped say in updates.
   */
  readonly ackedWhilePaused: number;
  /** The first failover after the kill (the new primary's FailoverSync against the diff). */
  readonly report: FailoverReport;
  /** Failovers between the kill and the new primary's report (1 when nothing else happened). */
  readonly failovers: number;
  readonly lastFailoverEpoch: number;
  /** The old primary's epoch: epochs up to lastFailoverEpoch with no report were elections that completed no failover. */
  readonly epochBefore: number;
  /** Sum over secondaries of status().secondaries[].resyncRegions on the new primary right after the report. */
  readonly resyncRegionsAfter: number;
  readonly acked: number;
  readonly unknown: number;
  /** Acknowledged writes read back with another value (or none). */
  readonly lost: number;
  /** status().keys on every node once converged (or when convergence was given up). */
  readonly keysAfter: readonly number[];
  /**
   * Null when all three nodes converged after the old primary's return; otherwise what was left
   * behind (the cluster is then moved to a new epoch by a switchover, see recoverStuck()).
   */
  readonly notConverged: { readonly node: string; readonly description: string } | null;
  /** The old primary's start → all nodes converged (or given up). */
  readonly convergeMs: number;
  /** The epoch once converged: above the report's newEpoch if elections followed the failover (the old primary's return, a starved primary). */
  readonly epochAfter: number;
  /** The old primary's return (after the report, outside FailoverSync): updates it truncated, and most dirty regions seen. */
  readonly returnTruncated: number;
  readonly returnDirtyRegionsMax: number;
}

export interface PreloadResult {
  readonly keys: number;
  readonly ms: number;
  readonly msets: number;
  readonly reconnects: number;
}

const sum = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((a, b) => a + b, 0);

function valueOf(tag: string, i: number): string {
  const v = `${tag}:${i}:`;
  return v + '.'.repeat(Math.max(0, VALUE_BYTES - v.length));
}

// ------------------------------------------------------------------ preload

/**
 * Sets keys key16(from) … key16(to - 1) on the current primary, MSET by MSET. A failed MSET is
 * sent again (MSET is idempotent) to whichever node is primary then.
 */
export async function preload(cluster: ProcessCluster, from: number, to: number): Promise<PreloadResult> {
  const t0 = Date.now();
  const todo: number[] = [];
  for (let b = from; b < to; b += PRELOAD_KEYS_PER_MSET) todo.push(b);
  const totalBatches = todo.length;
  let reconnects = 0;
  const worker = async (): Promise<void> => {
    let client: LineClient | null = null;
    try {
      while (todo.length > 0) {
        if (Date.now() - t0 > PRELOAD_LIMIT_MS) throw new Error(`preload of ${to - from} keys not done within ${PRELOAD_LIMIT_MS} ms (${todo.length} of ${totalBatches} MSETs left)`);
        if (!client || client.closed) {
          if (client && ++reconnects > PRELOAD_MAX_RECONNECTS) throw new Error(`preload: more than ${PRELOAD_MAX_RECONNECTS} reconnects`);
          client = await LineClient.connect(cluster.spec(await cluster.waitPrimary()).redisPort);
        }
        const batches = todo.splice(0, PRELOAD_PIPELINE);
        const c = client;
        const results = await Promise.allSettled(
          batches.map((b) => {
            const args = ['MSET'];
            for (let i = b; i < Math.min(b + PRELOAD_KEYS_PER_MSET, to); i++) args.push(key16(i, to), valueOf('p', i));
            return c.call(respCommand(...args), 1, PRELOAD_CALL_TIMEOUT_MS);
          }),
        );
        results.forEach((r, j) => {
          if (r.status === 'rejected' || r.value[0] !== '+OK') todo.push(batches[j]!);
        });
        // An error reply (READONLY after a primary change, TRYAGAIN) leaves the connection
        // usable but pointed at the wrong node: reconnect to the current primary.
        if (results.some((r) => r.status === 'fulfilled' && r.value[0] !== '+OK')) {
          c.close();
          await sleep(50);
        }
      }
    } finally {
      client?.close();
    }
  };
  await Promise.all(Array.from({ length: PRELOAD_CONNS }, () => worker()));
  return { keys: to - from, ms: Date.now() - t0, msets: totalBatches, reconnects };
}

/** DBSIZE on the primary. */
async function dbsize(cluster: ProcessCluster): Promise<number> {
  const c = await LineClient.connect(cluster.spec(await cluster.waitPrimary()).redisPort);
  try {
    const [line] = await c.call(respCommand('DBSIZE'), 1, 5000);
    if (!line?.startsWith(':')) throw new Error(`DBSIZE answered ${line}`);
    return Number(line.slice(1));
  } finally {
    c.close();
  }
}

// ------------------------------------------------------------------ the drill's writers

/** Per key: the last value acknowledged, and values written after it whose outcome is unknown. */
interface KeyOutcome {
  acked: string | null;
  later: string[];
}

/**
 * LOAD_CONNS connections, each sending LOAD_PIPELINE SETs at a time over its own share of the
 * keyspace (key i belongs to connection i mod LOAD_CONNS), so that one key is written by one
 * connection only and, replies coming in order, the last acknowledged value of a key is the one
 * it must hold unless a later write of unknown outcome took effect.
 */
class DrillWriters {
  readonly outcomes = new Map<string, KeyOutcome>();
  acked = 0;
  unknown = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(port: number, keyspace: number, tag: string) {
    const t0 = Date.now();
    const perConn = Math.floor(keyspace / LOAD_CONNS);
    const loop = async (conn: number): Promise<void> => {
      let client: LineClient;
      try {
        client = await LineClient.connect(port);
      } catch {
        return;
      }
      let j = randomInt(perConn);
      for (let seq = 0; !this.stopped && Date.now() - t0 < LOAD_MAX_MS; seq++) {
        const batch: Array<[string, string]> = [];
        for (let p = 0; p < LOAD_PIPELINE; p++, j = (j + 1) % perConn) batch.push([key16(conn + j * LOAD_CONNS, keyspace), valueOf(tag, seq * LOAD_PIPELINE + p)]);
        let lines: readonly string[];
        let ended = false;
        try {
          lines = await client.call(batch.map(([k, v]) => respCommand('SET', k, v)).join(''), batch.length, WRITE_CALL_TIMEOUT_MS);
        } catch (e) {
          lines = e instanceof CallError ? e.partial : [];
          ended = true;
        }
        batch.forEach(([k, v], i) => {
          let o = this.outcomes.get(k);
          if (!o) this.outcomes.set(k, (o = { acked: null, later: [] }));
          if (lines[i] === '+OK') {
            o.acked = v;
            o.later = [];
            this.acked++;
          } else {
            // An error reply (TIMEOUT: outcome unknown) or no reply at all.
            o.later.push(v);
            this.unknown++;
          }
        });
        if (ended) break;
      }
      client.close();
    };
    this.done = Promise.all(Array.from({ length: LOAD_CONNS }, (_, c) => loop(c))).then(() => undefined);
  }

  /** Stops sending; resolves once every connection's last pipeline is answered or abandoned. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.race([this.done, sleep(WRITER_STOP_GRACE_MS)]);
  }
}

/** Reads every key that got an acknowledgement back; counts those holding neither that value nor a later unknown one. */
async function lostAcked(port: number, outcomes: ReadonlyMap<string, KeyOutcome>): Promise<number> {
  const keys = [...outcomes].filter(([, o]) => o.acked !== null).map(([k]) => k);
  const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, commandTimeout: READ_BACK_TIMEOUT_MS, retryStrategy: () => null });
  r.on('error', () => {});
  let lost = 0;
  try {
    for (let i = 0; i < keys.length; i += READ_BACK_CHUNK) {
      const chunk = keys.slice(i, i + READ_BACK_CHUNK);
      const values = await r.mget(...chunk);
      chunk.forEach((k, j) => {
        const o = outcomes.get(k)!;
        const v = values[j];
        if (v !== o.acked && !(v !== null && v !== undefined && o.later.includes(v))) lost++;
      });
    }
  } finally {
    r.disconnect();
  }
  return lost;
}

// ------------------------------------------------------------------ failover reports

/** The failover reports every reachable member holds, as one node's admin API merges them. */
async function clusterFailovers(cluster: ProcessCluster, id: string): Promise<FailoverReport[]> {
  const r = await fetch(`${cluster.adminUrl(id)}/failovers?scope=cluster`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  if (!r.ok) throw new Error(`GET /failovers?scope=cluster on ${id}: HTTP ${r.status}`);
  return ((await r.json()) as { reports: FailoverReport[] }).reports;
}

// ------------------------------------------------------------------ the old primary's return

/** Updates a node reported truncating ("divergent log tail truncated", with `removed`) in its log file from byte `offset` on. */
function truncatedSince(logPath: string, offset: number): number {
  let text: string;
  try {
    text = readFileSync(logPath).subarray(offset).toString('utf8');
  } catch {
    return 0;
  }
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.includes('divergent log tail truncated')) continue;
    try {
      n += Number((JSON.parse(line) as { removed?: unknown }).removed ?? 0);
    } catch {
      // A line cut by the kill of a previous process: not a report of this return.
    }
  }
  return n;
}

/**
 * Polls a returning node's status until stopped and keeps the most dirty regions (regions
 * waiting for a resync from the primary) it showed. Bounded by the caller's convergence wait.
 */
function watchDirtyRegions(cluster: ProcessCluster, id: string): { stop: () => Promise<number> } {
  let max = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const st = await cluster.statusOrNull(id);
      if (st) max = Math.max(max, st.dirtyRegions.length);
      await sleep(POLL_MS);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return max;
    },
  };
}

// ------------------------------------------------------------------ convergence

const convergeTimeout = (keys: number): number => (keys > SMALL_KEYS ? CONVERGE_BIG_TIMEOUT_MS : CONVERGE_TIMEOUT_MS);

async function statusWithDigest(cluster: ProcessCluster, id: string): Promise<NodeStatus | null> {
  try {
    const r = await fetch(`${cluster.adminUrl(id)}/status?digest=1`, { signal: AbortSignal.timeout(DIGEST_HTTP_TIMEOUT_MS) });
    return r.ok ? ((await r.json()) as NodeStatus) : null;
  } catch {
    return null;
  }
}

/**
 * Every node running, at the same log end, everything applied, no dirty region, and equal
 * storage digests; null if not so within timeoutMs. Unlike the harness's converged(), digests
 * are asked for only once the logs agree, one node at a time and secondaries first: a digest
 * over a large storage area whose regions all changed reads all of it (seconds for 1M keys) and
 * holds that node's event loop meanwhile; asked of every node every poll, it starved the primary
 * into spurious elections.
 */
async function settle(cluster: ProcessCluster, timeoutMs: number): Promise<Map<string, NodeStatus> | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const st = await Promise.all(cluster.specs.map((s) => (cluster.isRunning(s.id) ? cluster.statusOrNull(s.id) : null)));
    const p = st.find((x): x is NodeStatus => x?.role === 'primary');
    const agree = p !== undefined && st.every((x) => x !== null && x.log.lastLsn === p.log.lastLsn && x.log.appliedLsn === p.log.lastLsn && x.dirtyRegions.length === 0);
    if (agree) {
      const order = [...st.filter((x) => x!.id !== p.id), p].map((x) => x!.id);
      const withDigest: NodeStatus[] = [];
      for (const id of order) {
        const d = await statusWithDigest(cluster, id);
        if (d) withDigest.push(d);
      }
      // Equal digests at one log end; anything that moved meanwhile (a new epoch's first update) means: look again.
      if (withDigest.length === order.length && withDigest.every((x) => x.digest !== undefined && x.digest === withDigest[0]!.digest && x.log.lastLsn === p.log.lastLsn)) {
        return new Map(withDigest.map((x) => [x.id, x]));
      }
    }
    await sleep(POLL_MS);
  }
  return null;
}

// ------------------------------------------------------------------ a node left behind

/** The node furthest behind the current primary, described from both sides (its own log, and the primary's view of it). */
async function whoIsBehind(cluster: ProcessCluster): Promise<{ node: string; description: string }> {
  const all = (await Promise.all(cluster.specs.map((s) => cluster.statusOrNull(s.id)))).filter((x): x is NodeStatus => x !== null);
  const p = all.find((x) => x.role === 'primary');
  const behind = all.filter((x) => x.id !== p?.id).sort((a, b) => a.log.lastLsn - b.log.lastLsn)[0];
  if (!p || !behind) return { node: behind?.id ?? '?', description: `no primary; statuses: ${JSON.stringify(all.map((x) => ({ id: x.id, role: x.role, epoch: x.epoch, log: x.log })))}` };
  const view = p.secondaries.find((x) => x.id === behind.id);
  return {
    node: behind.id,
    description:
      `${behind.id}: log last ${behind.log.lastLsn}, applied ${behind.log.appliedLsn}, commit ${behind.log.commitLsn}, dirty regions ${behind.dirtyRegions.length}; ` +
      `primary ${p.id} (epoch ${p.epoch}): log last ${p.log.lastLsn}, its view of ${behind.id}: ${JSON.stringify(view)}`,
  };
}

/**
 * Moves the cluster to a new epoch by a planned switchover to the node that is neither the
 * primary nor the one left behind: the new primary's FailoverSync starts from every node's
 * reported position, whatever the old one believed. Then waits for convergence.
 */
async function recoverStuck(cluster: ProcessCluster, behind: string, keys: number): Promise<void> {
  const primary = await cluster.waitPrimary();
  const to = cluster.specs.map((s) => s.id).find((id) => id !== primary && id !== behind);
  const r = await fetch(`${cluster.adminUrl(primary)}/switchover`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(to ? { to } : {}),
    signal: AbortSignal.timeout(SWITCHOVER_HTTP_TIMEOUT_MS),
  });
  if (!r.ok) throw new Error(`switchover ${primary} → ${to ?? 'any'}: HTTP ${r.status} ${await r.text()}`);
  await cluster.waitPrimary(ELECTION_TIMEOUT_MS, primary);
  if (!(await settle(cluster, convergeTimeout(keys)))) throw new Error(`the nodes did not converge within ${convergeTimeout(keys)} ms after a switchover`);
}

// ------------------------------------------------------------------ one drill

class Disturbed extends Error {}

async function drill(cluster: ProcessCluster, keys: number, scenario: (typeof SCENARIOS)[number], tag: string): Promise<DrillOutcome> {
  const oldPrimary = await cluster.waitPrimary();
  const before = await cluster.status(oldPrimary);
  const epoch0 = before.epoch;
  const target = cluster.specs.map((s) => s.id).find((id) => id !== oldPrimary)!;
  let stoppedPid: number | null = null;
  const writers = new DrillWriters(cluster.spec(oldPrimary).redisPort, keys, tag);
  try {
    await sleep(LOAD_BEFORE_MS);
    let ackedAtPause = 0;
    if (scenario.pauseMs > 0) {
      stoppedPid = cluster.pidOf(target);
      process.kill(stoppedPid, 'SIGSTOP');
      ackedAtPause = writers.acked;
      await sleep(scenario.pauseMs);
    }
    let st: NodeStatus;
    try {
      st = await cluster.status(oldPrimary);
    } catch (e) {
      throw new Disturbed(`status of ${oldPrimary} before the kill: ${(e as Error).message}`);
    }
    if (st.role !== 'primary' || st.epoch !== epoch0) throw new Disturbed(`${oldPrimary} is no longer primary of epoch ${epoch0} before the kill (${st.role}, epoch ${st.epoch})`);
    const lagAtKill = Object.fromEntries(st.secondaries.map((s) => [s.id, s.lagUpdates]));
    const ackedWhilePaused = scenario.pauseMs > 0 ? writers.acked - ackedAtPause : 0;
    // The primary dies first, then the stopped secondary resumes: it is behind by everything it
    // missed while stopped when the new primary collects log positions (the other secondary
    // cannot win without its vote, so the election waits for it).
    await cluster.kill(oldPrimary, 'SIGKILL');
    if (stoppedPid !== null) {
      process.kill(stoppedPid, 'SIGCONT');
      stoppedPid = null;
    }
    await writers.stop();
    // Every failover since the kill, from every member's reports, oldest first, once the primary
    // of the moment has reported its own. The first is the FailoverSync that met the diff; another
    // may follow at once (a new primary deposed before its first update committed) and is counted.
    let primaryNow = '';
    const reports = await waitFor(`the failover reports after epoch ${epoch0}`, REPORT_TIMEOUT_MS, async () => {
      primaryNow = await cluster.waitPrimary(ELECTION_TIMEOUT_MS, oldPrimary);
      const epochNow = (await cluster.status(primaryNow)).epoch;
      const since = (await clusterFailovers(cluster, primaryNow)).filter((r) => r.newEpoch > epoch0).sort((a, b) => a.newEpoch - b.newEpoch);
      return since.some((r) => r.newPrimary === primaryNow && r.newEpoch === epochNow) ? since : undefined;
    });
    const report = reports[0]!;
    const newPrimary = report.newPrimary;
    const after = await cluster.status(primaryNow);
    const resyncRegionsAfter = after.secondaries.reduce((a, s) => a + s.resyncRegions, 0);
    const logPath = cluster.spec(oldPrimary).logPath;
    const logOffset = statSync(logPath).size;
    await cluster.start(oldPrimary);
    const watch = watchDirtyRegions(cluster, oldPrimary);
    const convStart = Date.now();
    // Not converging is recorded, not fatal: the acknowledged writes can still be read back from the primary.
    const conv = await settle(cluster, convergeTimeout(keys));
    const convergeMs = Date.now() - convStart;
    const returnDirtyRegionsMax = await watch.stop();
    const notConverged = conv ? null : await whoIsBehind(cluster);
    // Read back from whichever node is primary now (an election may have followed the report).
    const lost = await lostAcked(cluster.spec(await cluster.waitPrimary()).redisPort, writers.outcomes);
    const finalStatus = conv ? [...conv.values()] : (await Promise.all(cluster.specs.map((s) => cluster.statusOrNull(s.id)))).filter((x): x is NodeStatus => x !== null);
    return {
      keys,
      scenario: scenario.label,
      oldPrimary,
      newPrimary,
      lagAtKill,
      ackedWhilePaused,
      report,
      failovers: reports.length,
      lastFailoverEpoch: reports[reports.length - 1]!.newEpoch,
      epochBefore: epoch0,
      resyncRegionsAfter,
      acked: writers.acked,
      unknown: writers.unknown,
      lost,
      keysAfter: finalStatus.map((s) => s.keys),
      notConverged,
      convergeMs,
      epochAfter: Math.max(...finalStatus.map((x) => x.epoch)),
      returnTruncated: truncatedSince(logPath, logOffset),
      returnDirtyRegionsMax,
    };
  } finally {
    // A stopped process cannot act on anything (SIGKILL included) until resumed.
    if (stoppedPid !== null) process.kill(stoppedPid, 'SIGCONT');
    await writers.stop();
  }
}

/** Brings a disturbed cluster back to three running, converged nodes. */
async function restore(cluster: ProcessCluster, keys: number): Promise<void> {
  for (const s of cluster.specs) if (!cluster.isRunning(s.id)) await cluster.start(s.id);
  await cluster.waitPrimary();
  if (!(await settle(cluster, convergeTimeout(keys)))) throw new Error(`the nodes did not converge within ${convergeTimeout(keys)} ms`);
}

// ------------------------------------------------------------------ the section

/** Lines of each node's status and the end of its log. */
async function describeNodes(cluster: ProcessCluster): Promise<string> {
  const lines: string[] = [];
  for (const s of cluster.specs) {
    const st = cluster.isRunning(s.id) ? await cluster.statusOrNull(s.id) : null;
    lines.push(
      st
        ? `${s.id}: ${st.role} epoch ${st.epoch}, log start ${st.log.start} last ${st.log.lastLsn} applied ${st.log.appliedLsn} commit ${st.log.commitLsn} durable ${st.log.durableLsn}, ` +
            `dirty regions ${st.dirtyRegions.length}, keys ${st.keys}, secondaries ${JSON.stringify(st.secondaries)}`
        : `${s.id}: ${cluster.isRunning(s.id) ? 'no status' : 'not running'}`,
      cluster.logTail(s.id, DESCRIBE_LOG_LINES),
    );
  }
  return lines.join('\n');
}

/**
 * Runs `reps` drills of every scenario at SMALL_KEYS and at bigKeys keys on one fresh 3-node
 * cluster, and returns the benchmark section (markdown lines).
 */
export async function failoverSyncCost(opts: SyncCostOptions): Promise<string[]> {
  const log = opts.log ?? (() => {});
  const bigKeys = opts.bigKeys ?? DEFAULT_BIG_KEYS;
  if (!Number.isInteger(bigKeys) || bigKeys < SMALL_KEYS) throw new Error(`bigKeys must be an integer ≥ ${SMALL_KEYS} (the small data set), got ${bigKeys}`);
  const sizes = [SMALL_KEYS, bigKeys].filter((n, i, a) => a.indexOf(n) === i).sort((a, b) => a - b);
  const notes: string[] = [];
  const preloads: Array<PreloadResult & { total: number; dbsize: number }> = [];
  const drills: DrillOutcome[] = [];
  const cluster = await ProcessCluster.create({ nodes: 3, storage: 'lmdb' });
  // UNDERSTUDY_BENCH_KEEP=1 keeps the cluster's directory (node logs, data) for a look afterwards.
  const keep = process.env['UNDERSTUDY_BENCH_KEEP'] === '1';
  if (keep) log(`sync cost: cluster directory ${cluster.dir} (kept)`);
  else tempDirs.push(cluster.dir);
  const sampler = new ResourceSampler(cluster);
  let resources: ResourceSummary;
  let drillNo = 0;
  try {
    await cluster.startAll();
    await cluster.waitPrimary();
    sampler.start();
    let loaded = 0;
    for (const keys of sizes) {
      log(`sync cost: preloading keys ${loaded}…${keys - 1}`);
      // The keys already there are the first ones of the larger data set (key16(i) is the same key).
      const p = await preload(cluster, loaded, keys);
      loaded = keys;
      const n = await dbsize(cluster);
      preloads.push({ ...p, total: keys, dbsize: n });
      log(`sync cost: preloaded ${p.keys} keys in ${(p.ms / 1000).toFixed(1)} s (${p.msets} MSETs, ${p.reconnects} reconnects); DBSIZE ${n}`);
      if (n !== keys) notes.push(`after the preload of ${keys} keys DBSIZE answered ${n}.`);
      if (!(await settle(cluster, convergeTimeout(keys)))) throw new Error(`the nodes did not converge within ${convergeTimeout(keys)} ms after the preload`);
      for (let rep = 1; rep <= opts.reps; rep++) {
        for (const sc of SCENARIOS) {
          for (let attempt = 1; ; attempt++) {
            const tag = `d${++drillNo}`;
            try {
              const d = await drill(cluster, keys, sc, tag);
              drills.push(d);
              log(
                `sync cost: ${keys} keys, ${sc.label}, rep ${rep}: ${d.oldPrimary} killed → ${d.newPrimary}; behind at kill ${JSON.stringify(d.lagAtKill)}; ` +
                  `shipped ${JSON.stringify(d.report.shippedTo)}, pulled ${JSON.stringify(d.report.pulledFrom)}, FailoverSync ${d.report.failoverSyncMs} ms; ` +
                  `${d.failovers} failover(s) after the kill; ${d.acked} acked, ${d.unknown} unknown, ${d.lost} lost; converged ${(d.convergeMs / 1000).toFixed(1)} s after the old primary served again, ` +
                  `epoch ${d.lastFailoverEpoch} → ${d.epochAfter}`,
              );
              if (d.notConverged) {
                const n = `${keys} keys, ${sc.label}, rep ${rep}: the nodes did not converge after ${d.oldPrimary}'s return; left behind: ${d.notConverged.description}. ` +
                  'Recovered by a switchover (a new epoch).';
                notes.push(n);
                log(`sync cost: ${n}`);
                await recoverStuck(cluster, d.notConverged.node, keys);
              }
              break;
            } catch (e) {
              if (!(e instanceof Disturbed) || attempt >= MAX_DRILL_ATTEMPTS) throw e;
              notes.push(`${keys} keys, ${sc.label}, rep ${rep}: drill run again (${e.message}).`);
              log(`sync cost: drill disturbed, run again: ${e.message}`);
              await restore(cluster, keys);
            }
          }
        }
      }
    }
    resources = await sampler.stop();
  } catch (e) {
    // What each node says, and the end of its log, to tell a slow machine from a stuck node.
    log(`sync cost failed: ${(e as Error).message}\n${await describeNodes(cluster)}`);
    throw e;
  } finally {
    await cluster.close(keep);
  }
  const out = syncCostRows(drills, preloads, opts.reps, notes);
  out.push(
    `Memory and log of the nodes over these drills (the ${bigKeys.toLocaleString('en-US')}-key preload included; peak RSS is the largest VmHWM of the node's processes, each restarted old primary included):`,
    '',
    ...resourceRows(resources),
    '',
  );
  return out;
}

function syncCostRows(drills: DrillOutcome[], preloads: ReadonlyArray<PreloadResult & { total: number; dbsize: number }>, reps: number, notes: string[]): string[] {
  const int = (x: number): string => Math.round(x).toLocaleString('en-US');
  const out: string[] = [];
  out.push(
    `## FailoverSync cost: the updates that differ, not the data set (${reps} drill${reps > 1 ? 's' : ''} per row)`,
    '',
    `3 nodes, LMDB, default timing. Each drill: ${LOAD_CONNS} connections × ${LOAD_PIPELINE} pipelined SETs (${VALUE_BYTES}-byte values) over the data set's own keys ` +
      `for ${LOAD_BEFORE_MS / 1000} s, then kill -9 of the primary. "Secondary paused": one secondary stopped (SIGSTOP) under that load for the time given — ` +
      `the primary leaves it out of dest after ackTimeoutMs (${TIMING_DEFAULTS.ackTimeoutMs} ms) and goes on with the other — then the primary killed and the secondary resumed (SIGCONT). ` +
      `"Writes acknowledged while a secondary was stopped": committed without it, so it lacks them. The primary gathers writes arriving together into one ` +
      `update, so the next columns count far fewer updates than writes. "Behind at kill": the furthest-behind secondary's lagUpdates (updates it has not ` +
      `acknowledged) in the primary's status just before the kill. Shipped / pulled / truncated / regions resynced / FailoverSync ms: the report of the first failover completed after the kill. Lost: acknowledged writes read back with another value once the old primary is back and all nodes ` +
      `converged, and the report's own count (acknowledgedWritesLost); both are totals over the row's drills, as are regions resynced (the report's, plus any still ` +
      `pending on the new primary right after it). The old primary's return comes after the report: the updates it truncated from its log (its own log file) and ` +
      `the most dirty regions (waiting for a region resync) its status showed, and the drills where the three nodes had not converged ` +
      `${CONVERGE_TIMEOUT_MS / 1000} s (${CONVERGE_BIG_TIMEOUT_MS / 1000} s for the large data set) after it (see the notes). Other figures: median (min–max).`,
    '',
  );
  for (const p of preloads) {
    out.push(`- ${int(p.total)} keys: ${int(p.keys)} preloaded in ${(p.ms / 1000).toFixed(1)} s (${int(p.msets)} MSETs of ${PRELOAD_KEYS_PER_MSET} keys); DBSIZE ${int(p.dbsize)}.`);
  }
  out.push(
    '',
    '| keys | scenario | writes acknowledged while a secondary was stopped | behind at kill, updates | shipped, updates | pulled | truncated | FailoverSync ms | regions resynced | acked writes | lost (read back / report) | old primary\'s return: truncated / dirty regions / drills not converged | keys on every node after |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  const groups = new Map<string, DrillOutcome[]>();
  for (const d of drills) {
    const k = `${d.keys}|${d.scenario}`;
    groups.set(k, [...(groups.get(k) ?? []), d]);
  }
  for (const ds of groups.values()) {
    const d0 = ds[0]!;
    const c = (f: (d: DrillOutcome) => number): string => cell(ds.map(f), int);
    const keysAfter = new Set(ds.flatMap((d) => d.keysAfter));
    out.push(
      `| ${int(d0.keys)} | ${d0.scenario} | ${c((d) => d.ackedWhilePaused)} | ${c((d) => Math.max(0, ...Object.values(d.lagAtKill)))} | ${c((d) => sum(d.report.shippedTo))} | ${c((d) => sum(d.report.pulledFrom))} | ` +
        `${c((d) => sum(d.report.truncated))} | ${c((d) => d.report.failoverSyncMs)} | ${ds.reduce((a, d) => a + sum(d.report.regionsResynced) + d.resyncRegionsAfter, 0)} | ` +
        `${c((d) => d.acked)} | ${ds.reduce((a, d) => a + d.lost, 0)} / ${ds.some((d) => d.report.acknowledgedWritesLost === undefined) ? '—' : ds.reduce((a, d) => a + d.report.acknowledgedWritesLost!, 0)} | ` +
        `${c((d) => d.returnTruncated)} / ${Math.max(...ds.map((d) => d.returnDirtyRegionsMax))} / ${ds.filter((d) => d.notConverged).length} | ${[...keysAfter].map(int).join(', ')} |`,
    );
  }
  for (const keys of new Set(drills.map((d) => d.keys))) {
    const ds = drills.filter((d) => d.keys === keys);
    // An epoch with no report: a split vote, or a primary that stepped down before its first update
    // committed (check quorum: its one live secondary sent no acknowledgement for a whole election
    // timeout while taking the diff). What such a FailoverSync shipped is in no report.
    const cut = ds.filter((d) => d.lastFailoverEpoch - d.epochBefore > d.failovers);
    if (cut.length) {
      notes.push(
        `${int(keys)} keys: in ${cut.length} of ${ds.length} drills the cluster went through more epochs than completed failovers before the new primary's report ` +
          `(${cut.map((d) => `${d.scenario}: epoch ${d.epochBefore} → ${d.lastFailoverEpoch}, ${d.failovers} report(s), first shipped ${sum(d.report.shippedTo)}`).join('; ')}): ` +
          'a FailoverSync cut short leaves its updates shipped in no report, and the one that completes may find nothing left to ship.',
      );
    }
    const more = ds.filter((d) => d.failovers > 1);
    if (more.length) {
      notes.push(
        `${int(keys)} keys: in ${more.length} of ${ds.length} drills a second failover followed the first before the new primary's report ` +
          `(${more.map((d) => `${d.scenario}: ${d.failovers} failovers`).join('; ')}); the row shows the first.`,
      );
    }
    const extra = ds.filter((d) => d.epochAfter > d.lastFailoverEpoch).length;
    if (extra) {
      notes.push(
        `${int(keys)} keys: in ${extra} of ${ds.length} drills another election followed the failover while the convergence check ran ` +
          '(a status request with the storage digest reads every changed region and holds that node\'s event loop meanwhile — seconds for 1M keys — and the check asks the primary too).',
      );
    }
  }
  if (notes.length) out.push('', ...notes.map((n) => `- ${n}`));
  out.push('');
  return out;
}
