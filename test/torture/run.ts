// One torture run: three nodes on three hosts, clients recording a history throughout, a
// nemesis schedule drawn from the seed, then the verdict: the linearizability checker over
// the history, every acknowledged unique write read back, every replica's digest equal once
// healed. The one-page report is returned, and written with the history beside it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkLinearizable, type CheckResult } from '../../sim/linearizability.ts';
import { Prng } from '../../src/lib/prng.ts';
import type { FailoverReport } from '../../src/runtime/node-api.ts';
import { CONVERGE_TIMEOUT_MS, ELECTION_TIMEOUT_MS, lostWrites, ProcessCluster, REPO_ROOT, SHARED_MACHINE_TIMING, sentinelClient, sleep } from '../integration/harness.ts';
import { NetnsHosts } from '../netns/hosts.ts';
import { FAULT_KINDS, healAll, restart, runFault, type Fault, type FaultKind } from './nemesis.ts';
import { TmpfsDisks } from './disk.ts';
import { startWorkload } from './workload.ts';

export interface TortureOptions {
  readonly seed: number;
  /** The nemesis starts no new fault after this long. */
  readonly durationMs: number;
  readonly kinds?: readonly FaultKind[];
  readonly clients?: number;
  /** Where the report and history go (default test-artifacts/torture). */
  readonly outDir?: string;
  readonly log?: (line: string) => void;
}

export interface TortureResult {
  readonly pass: boolean;
  readonly report: string;
  readonly reportPath: string;
  readonly historyPath: string;
  readonly linearizable: CheckResult;
  readonly lost: readonly string[];
  readonly digestsEqual: boolean;
  readonly faults: readonly FaultRecord[];
}

interface FaultRecord extends Fault {
  readonly startMs: number;
  readonly endMs: number;
  /** Longest time without any acknowledged operation from the fault's start to its recovery. */
  unavailableMs: number;
  readonly error?: string;
}

/** Quiet time after each fault's recovery, for the clients to run on a healthy cluster. */
const QUIET_MS = 1000;
/** The checker's time budget for a whole history. */
const CHECK_BUDGET_MS = 120_000;
const DEFAULT_CLIENTS = 5;
/** Faults are held this much longer than the election timeout. */
const HOLD_FACTOR = 2;

/** Longest stretch of [from, to] with no ok operation (times sorted). */
export function longestGap(okTimes: readonly number[], from: number, to: number): number {
  let prev = from;
  let max = 0;
  for (const t of okTimes) {
    if (t <= from) continue;
    max = Math.max(max, t - prev);
    prev = t;
    if (t >= to) return max;
  }
  return Math.max(max, to - prev);
}

async function collectFailovers(c: ProcessCluster, into: Map<string, FailoverReport>): Promise<void> {
  for (const s of c.specs) {
    if (!c.isRunning(s.id)) continue;
    for (const r of await c.failovers(s.id).catch(() => [] as FailoverReport[])) into.set(`${r.newEpoch}:${r.newPrimary}`, r);
  }
}

export async function runTorture(o: TortureOptions): Promise<TortureResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const kinds = o.kinds ?? FAULT_KINDS;
  const rng = new Prng(o.seed);
  const outDir = o.outDir ?? join(REPO_ROOT, 'test-artifacts', 'torture');
  mkdirSync(outDir, { recursive: true });
  log(`torture: seed ${o.seed}, ${Math.round(o.durationMs / 1000)} s of faults from: ${kinds.join(', ')}`);
  const holdMs = SHARED_MACHINE_TIMING.electionTimeoutMs * HOLD_FACTOR;
  const hosts = NetnsHosts.create(3);
  let cluster: ProcessCluster | undefined;
  let disks: TmpfsDisks | undefined;
  let passed = false;
  try {
    cluster = await ProcessCluster.create({ nodes: 3, init: true, hosts, extra: { listenHost: '0.0.0.0', timing: SHARED_MACHINE_TIMING } });
    if (kinds.includes('disk-full')) disks = TmpfsDisks.create(cluster);
    await cluster.startAll();
    await cluster.waitPrimary();
    const t0 = performance.now();
    const w = startWorkload(cluster, o.clients ?? DEFAULT_CLIENTS, rng.int(1, 2 ** 31));
    const faults: FaultRecord[] = [];
    // Collected after every fault: a node keeps its reports in memory, so a kill loses them.
    const reports = new Map<string, FailoverReport>();
    await sleep(QUIET_MS);
    let recoveryError: string | undefined;
    while (performance.now() - t0 < o.durationMs) {
      const kind = kinds[rng.int(0, kinds.length - 1)]!;
      w.round++;
      const startMs = performance.now();
      try {
        const f = await runFault(kind, { cluster, hosts, rng, holdMs, log, ...(disks ? { disks } : {}) });
        await cluster.waitPrimary(CONVERGE_TIMEOUT_MS);
        await collectFailovers(cluster, reports);
        faults.push({ ...f, startMs, endMs: performance.now(), unavailableMs: 0 });
      } catch (e) {
        healAll();
        recoveryError = `${kind}: ${(e as Error).message}`;
        faults.push({ kind, detail: 'did not recover', startMs, endMs: performance.now(), unavailableMs: 0, error: recoveryError });
        log(`torture: ${recoveryError}`);
        break;
      }
      await sleep(QUIET_MS);
    }
    await w.stop();
    const tEnd = performance.now();
    for (const f of faults) f.unavailableMs = longestGap(w.okTimes, f.startMs, f.endMs + QUIET_MS);

    // Healed: every node runs, one primary, equal digests.
    healAll();
    for (const s of cluster.specs) if (!cluster.isRunning(s.id)) await restart(cluster, s.id);
    await cluster.waitPrimary(CONVERGE_TIMEOUT_MS);
    let digestsEqual = false;
    let digestLine: string;
    try {
      const st = await cluster.converged();
      const digests = [...st.values()].map((s) => `${s.id} ${s.digest}`);
      digestsEqual = new Set([...st.values()].map((s) => s.digest)).size === 1;
      digestLine = digests.join(', ');
    } catch (e) {
      digestLine = `not converged: ${(e as Error).message}`;
    }

    // Every register read once more after healing (checked with the rest of the history), and
    // every acknowledged unique write read back.
    const reader = sentinelClient(cluster);
    let lost: string[];
    try {
      for (const key of [...w.keys].sort()) {
        const id = w.recorder.invoke('final', { kind: 'read', key }, performance.now());
        w.recorder.ok(id, await reader.get(key), performance.now());
      }
      lost = await lostWrites(reader, w.acked);
    } finally {
      reader.disconnect();
    }
    const history = w.recorder.ops();
    const lin = checkLinearizable(history, { clock: () => performance.now(), maxTimeMs: CHECK_BUDGET_MS });

    await collectFailovers(cluster, reports);
    const pass = lin.ok === true && lost.length === 0 && digestsEqual && recoveryError === undefined;
    const stamp = `seed-${o.seed}`;
    const reportPath = join(outDir, `${stamp}.txt`);
    const historyPath = join(outDir, `${stamp}-history.json`);
    writeFileSync(historyPath, JSON.stringify({ seed: o.seed, faults, history }, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v)));
    const report = formatReport({
      seed: o.seed,
      ranMs: tEnd - t0,
      faults,
      counts: w.counts,
      ops: history.length,
      keys: w.keys.size,
      unique: w.acked.size,
      lost,
      lin,
      digestLine,
      digestsEqual,
      longestMs: longestGap(w.okTimes, t0 + QUIET_MS, tEnd),
      failovers: [...reports.values()].sort((a, b) => a.at - b.at),
      pass,
      historyPath,
    });
    passed = pass;
    writeFileSync(reportPath, report);
    log(report);
    return { pass, report, reportPath, historyPath, linearizable: lin, lost, digestsEqual, faults };
  } finally {
    healAll();
    // A failed run keeps the nodes' data directories and logs (named in the report's errors).
    await cluster?.close(!passed);
    disks?.close();
    hosts.close();
  }
}

interface ReportInput {
  seed: number;
  ranMs: number;
  faults: readonly FaultRecord[];
  counts: { ok: number; fail: number; info: number };
  ops: number;
  keys: number;
  unique: number;
  lost: readonly string[];
  lin: CheckResult;
  digestLine: string;
  digestsEqual: boolean;
  longestMs: number;
  failovers: readonly FailoverReport[];
  pass: boolean;
  historyPath: string;
}

function formatReport(r: ReportInput): string {
  const out: string[] = [];
  out.push(`TORTURE REPORT  seed ${r.seed}  verdict ${r.pass ? 'PASS' : 'FAIL'}`);
  out.push(`ran ${(r.ranMs / 1000).toFixed(0)} s, ${r.faults.length} faults, election timeout ${SHARED_MACHINE_TIMING.electionTimeoutMs} ms (waits: election ${ELECTION_TIMEOUT_MS} ms)`);
  out.push(`ops ${r.ops} on ${r.keys} registers: ok ${r.counts.ok}, fail ${r.counts.fail}, info ${r.counts.info}; unique writes acknowledged ${r.unique}`);
  const lin = r.lin.ok === true ? 'linearizable' : r.lin.ok === false ? `NOT linearizable on ${r.lin.key}:\n${r.lin.explanation}` : `unknown (${r.lin.reason}; keys ${r.lin.keys.join(', ')})`;
  out.push(`checker: ${lin}`);
  out.push(`acknowledged writes lost: ${r.lost.length}${r.lost.length ? ` (${r.lost.slice(0, 5).join('; ')})` : ''}`);
  out.push(`digests once healed: ${r.digestsEqual ? 'equal' : 'DIFFER'} — ${r.digestLine}`);
  out.push(`longest unavailability (no ok operation): ${r.longestMs.toFixed(0)} ms`);
  const byKind = new Map<string, { n: number; max: number }>();
  for (const f of r.faults) {
    const k = byKind.get(f.kind) ?? { n: 0, max: 0 };
    byKind.set(f.kind, { n: k.n + 1, max: Math.max(k.max, f.unavailableMs) });
  }
  out.push('unavailability per fault kind (longest, from the fault to 1 s after recovery):');
  for (const [k, v] of [...byKind].sort()) out.push(`  ${k.padEnd(17)} ×${String(v.n).padEnd(3)} ${v.max.toFixed(0)} ms`);
  out.push('faults:');
  for (const f of r.faults) out.push(`  ${((f.startMs - r.faults[0]!.startMs) / 1000).toFixed(1).padStart(7)} s  ${f.detail}  (unavailable ${f.unavailableMs.toFixed(0)} ms)${f.error ? `  ERROR ${f.error}` : ''}`);
  out.push(`failovers (${r.failovers.length}, from /failovers):`);
  for (const f of r.failovers) {
    out.push(
      `  epoch ${f.oldEpoch}→${f.newEpoch} ${f.oldPrimary ?? '-'}→${f.newPrimary}: detection ${f.detectionMs.toFixed(0)} ms, election ${f.electionMs.toFixed(0)} ms, sync ${f.failoverSyncMs.toFixed(0)} ms${f.acknowledgedWritesLost !== undefined ? `, acknowledged writes lost ${f.acknowledgedWritesLost}` : ''}`,
    );
  }
  out.push(`history: ${r.historyPath}`);
  return out.join('\n') + '\n';
}
