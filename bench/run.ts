// `npm run bench`: understudy side by side with what users would pick instead,
// on this machine, in one run.
//
// Starts everything it measures on 127.0.0.1 (a 3-node understudy cluster on
// LMDB, Redis 7 primary + 2 replicas with appendfsync always, a 3-member etcd
// cluster when etcd is installed), measures, stops it by PID, and prints a
// markdown table, also written to bench/results/<date>.md.
//
// - Throughput/latency: redis-benchmark (C) SET/GET against understudy and
//   Redis; a small closed-loop RESP generator (one connection per client, raw
//   sockets) for SET on understudy vs SET + WAIT 2 1000 on Redis, the same
//   generator on both sides; etcd puts through its JSON gateway (/v3/kv/put).
//   Configurations are interleaved round by round so drift on a shared
//   machine hits every system alike; each figure is the median of ROUNDS runs
//   with min–max beside it. The generator's own CPU is reported per row.
// - Failover drill: kill -9 of the understudy primary under a steady write
//   load, FAILOVER_REPS times: kill → first acknowledged write on the new
//   primary, the new primary's failover report, and every acknowledged write
//   read back afterwards.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { respLoad, STALL_GRACE_MS, type Sample } from '../src/bench/resp-load.ts';
import { ProcessCluster } from '../test/integration/harness.ts';
import { cell, fmtMs, fmtOps, median, REPO_ROOT, stopProcess, tempDirs, versionOf } from './lib/common.ts';
import { type DrillResult, failoverDrill, FAILOVER_WORKERS } from './lib/drill.ts';
import { ResourceSampler, resourceRows, type ResourceSummary, sustainedLoadResources } from './lib/resources.ts';
import { failoverSyncCost } from './lib/sync-cost.ts';
import { fanoutRound } from './lib/pubsub-fanout.ts';
import { evalshaRuns, REDIS_SCRIPT_WORKLOAD, UNDERSTUDY_SCRIPT_WORKLOAD } from './lib/scripts.ts';
import { dataModelBench } from './lib/data-model.ts';
import { clusterCpuSeconds, fmtWriteCpu, medianWriteCpu, type WriteCpu, writeCpuOf } from './lib/write-cpu.ts';
import { benchArgs, monotonicUs, recordProfileWindow, stopForProfiles } from './lib/bench-args.ts';
import { etcdFailoverDrill, PEER_DRILL_NOTES, type PeerDrillResult, sentinelFailoverDrill } from './lib/peer-drills.ts';
import { queueRound } from './lib/blocking-queue.ts';
import { etcdInstalled, etcdPutLoad, type EtcdSet, RB_TARGET_MS, RbSizer, redisBenchmark, type RedisSet, startEtcd, startRedis } from './lib/peers.ts';

const ROUNDS = 3;
/** Length of one measured run of the Node generators (ms). */
const RUN_MS = 2000;
const CONCURRENCY = [1, 16, 64] as const;
const PIPELINE = 16;
const FAILOVER_REPS = 10;
const ETCD_FAST_TIMING = { heartbeatMs: 50, electionMs: 300 } as const;
const SENTINEL_DOWN_AFTER_MS = 1000;
/** Repetitions of each FailoverSync-cost scenario (each at 10k and 1M keys). */
const SYNC_COST_REPS = 3;

// ------------------------------------------------------------------ main

interface Row {
  readonly system: string;
  readonly workload: string;
  readonly conc: string;
  readonly samples: Sample[];
  /** understudy SET rows: the nodes' CPU per acknowledged write, one per run. */
  readonly cpu: WriteCpu[];
  readonly note?: string;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const date = new Date().toISOString().slice(0, 10);
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  const versions = {
    understudy: pkg.version,
    redis: versionOf('redis-server', ['--version'], /v=(\S+)/),
    redisBenchmark: versionOf('redis-benchmark', ['--version'], /redis-benchmark (\S+)/),
    etcd: versionOf('etcd', ['--version'], /etcd Version: (\S+)/),
  };
  const log = (s: string): void => void process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);
  // `--only set`: the SET rows alone (understudy and Redis + WAIT 2); `--cpu-prof DIR`: profile the nodes.
  const args = benchArgs(process.argv.slice(2));
  const setOnly = args.only === 'set';

  log('starting a 3-node understudy cluster (LMDB), Redis primary + 2 replicas (appendfsync always)…');
  const cluster = await ProcessCluster.create({ nodes: 3, storage: 'lmdb', nodeArgs: args.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${args.cpuProfDir}`] : [] });
  tempDirs.push(cluster.dir);
  let redis: RedisSet | undefined;
  let etcd: EtcdSet | undefined;
  const notes: string[] = [];
  const rows = new Map<string, Row>();
  const add = (system: string, workload: string, conc: string, s: Sample, cpu?: WriteCpu): void => {
    const k = `${system}|${workload}|${conc}`;
    const r = rows.get(k) ?? { system, workload, conc, samples: [], cpu: [] };
    r.samples.push(s);
    if (cpu) r.cpu.push(cpu);
    rows.set(k, r);
    log(`  ${system} ${workload} c=${conc}: ${fmtOps(s.opsPerSec)} ops/s, p50 ${fmtMs(s.p50Ms)} ms, p99 ${fmtMs(s.p99Ms)} ms, gen CPU ${s.genCpu.toFixed(2)}${cpu ? `, node CPU µs/write ${fmtWriteCpu(cpu)}` : ''}`);
  };
  const drills: DrillResult[] = [];
  let dataModel: string[] | undefined;
  let sampler: ResourceSampler | undefined;
  let throughputResources: ResourceSummary | undefined;
  try {
    await cluster.startAll();
    const primary = await cluster.waitPrimary();
    const epoch0 = (await cluster.status(primary)).epoch;
    redis = await startRedis();
    if (etcdInstalled() && !setOnly) {
      log('starting a 3-member etcd cluster…');
      etcd = await startEtcd();
    } else if (!setOnly) notes.push('etcd is not installed (Debian package etcd-server): etcd rows skipped.');
    const uPort = cluster.spec(primary).redisPort;
    // Memory and log size of the understudy nodes through the throughput runs.
    sampler = new ResourceSampler(cluster);
    sampler.start();
    const sizer = new RbSizer();

    // Probe runs (not recorded): warm up every system and size the redis-benchmark runs.
    const rbConfigs: Array<{ test: 'set' | 'get'; c: number; p: number }> = [];
    for (const test of setOnly ? [] : (['set', 'get'] as const)) {
      for (const c of CONCURRENCY) rbConfigs.push({ test, c, p: 1 });
      rbConfigs.push({ test, c: 16, p: PIPELINE });
    }
    const rbTargets: Array<{ system: string; port: number }> = [
      { system: 'understudy', port: uPort },
      { system: 'Redis', port: redis.primaryPort },
    ];
    log('probing redis-benchmark rates…');
    for (const t of rbTargets) {
      for (const cfg of rbConfigs) {
        const k = `${t.system}|${cfg.test}|${cfg.c}|${cfg.p}`;
        sizer.record(k, redisBenchmark(t.port, cfg.test, cfg.c, cfg.p, Math.max(500, cfg.c * cfg.p * 20)));
      }
    }

    const rounds = args.rounds ?? ROUNDS;
    for (let round = 1; round <= rounds; round++) {
      log(`round ${round}/${rounds}`);
      for (const c of args.clients ?? CONCURRENCY) {
        // The primary may have changed (an election under load): always load the current one.
        const loaded = await cluster.waitPrimary();
        const cpu0 = clusterCpuSeconds(cluster);
        const from = monotonicUs();
        const u = await respLoad({ port: cluster.spec(loaded).redisPort, conns: c, durationMs: RUN_MS, op: 'set' });
        recordProfileWindow(args.cpuProfDir, from, monotonicUs(), u.ops, c);
        const cpu = writeCpuOf(cpu0, clusterCpuSeconds(cluster), u.ops, loaded);
        if (u.errors) notes.push(`round ${round}: understudy SET c=${c}: ${u.errors} error replies`);
        if (u.stalled) notes.push(`round ${round}: understudy SET c=${c}: ${u.stalled} connection(s) ended with an operation unanswered (closed by a demoted primary, or no reply ${STALL_GRACE_MS} ms after the run)`);
        add('understudy', 'SET (fsync on 3 nodes)', String(c), u, cpu);
        const r = await respLoad({ port: redis.primaryPort, conns: c, durationMs: RUN_MS, op: 'set-wait' });
        if (r.errors) notes.push(`round ${round}: Redis SET+WAIT c=${c}: ${r.errors} replies that were errors or WAIT < 2`);
        if (r.stalled) notes.push(`round ${round}: Redis SET+WAIT c=${c}: ${r.stalled} connection(s) left without a reply`);
        add('Redis', 'SET + WAIT 2 1000', String(c), r);
        if (etcd) {
          const e = await etcdPutLoad(etcd.leaderUrl, c, RUN_MS);
          if (e.errors) notes.push(`round ${round}: etcd put c=${c}: ${e.errors} failed puts`);
          add('etcd', 'put (JSON gateway, leader)', String(c), e);
        }
      }
      if (setOnly) continue; // --only set: the SET rows alone
      // Blocking pops: a 16-producer, 16-consumer RPUSH/BLPOP job queue on both RESP systems.
      for (const q of await queueRound({ understudyPort: cluster.spec(await cluster.waitPrimary()).redisPort, redisPort: redis.primaryPort, durationMs: RUN_MS })) {
        add(q.system, q.workload, q.conc, q.sample);
        if (q.note) notes.push(`round ${round}: ${q.note}`);
      }
      // Scripts (bench/lib/scripts.ts): EVALSHA of a 3-command script, beside Redis + WAIT 2.
      for (const c of [1, 16]) {
        const sr = await evalshaRuns(cluster.spec(await cluster.waitPrimary()).redisPort, redis.primaryPort, c, RUN_MS);
        if (sr.understudy.errors || sr.redis.errors) notes.push(`round ${round}: EVALSHA c=${c}: ${sr.understudy.errors} understudy / ${sr.redis.errors} Redis error replies`);
        add('understudy', UNDERSTUDY_SCRIPT_WORKLOAD, String(c), sr.understudy);
        add('Redis', REDIS_SCRIPT_WORKLOAD, String(c), sr.redis);
      }
      rbTargets[0] = { system: 'understudy', port: cluster.spec(await cluster.waitPrimary()).redisPort };
      for (const t of rbTargets) {
        for (const cfg of rbConfigs) {
          const k = `${t.system}|${cfg.test}|${cfg.c}|${cfg.p}`;
          let s: Sample;
          try {
            s = redisBenchmark(t.port, cfg.test, cfg.c, cfg.p, sizer.requests(k));
          } catch (e) {
            notes.push(`round ${round}: ${t.system} ${k}: run dropped (${(e as Error).message.split('\n')[0]})`);
            continue;
          }
          sizer.record(k, s);
          const workload = `redis-benchmark ${cfg.test.toUpperCase()}${t.system === 'Redis' && cfg.test === 'set' ? ' (no WAIT)' : ''}`;
          add(t.system, workload, cfg.p > 1 ? `${cfg.c} × P${cfg.p}` : String(cfg.c), s);
        }
      }
      await fanoutRound({ cluster, redisPort: redis.primaryPort, durationMs: RUN_MS, add, notes, round });
    }
    throughputResources = await sampler.stop();
    sampler = undefined;
    const epoch1 = (await cluster.status(await cluster.waitPrimary())).epoch;
    if (epoch1 !== epoch0) notes.push(`understudy changed primary during the throughput runs (epoch ${epoch0} → ${epoch1}).`);

    if (!setOnly) {
      log('data-model rows: collections and element writes on big and small collections');
      const uPrimary = async (): Promise<number> => cluster.spec(await cluster.waitPrimary()).redisPort;
      dataModel = await dataModelBench({ understudyPort: uPrimary, redisPort: redis.primaryPort, log });
    }

    for (const p of redis.procs) await stopProcess(p);
    redis = undefined;
    if (etcd) for (const p of etcd.procs) await stopProcess(p);
    etcd = undefined;

    if (args.cpuProfDir) await stopForProfiles(cluster, args.cpuProfDir, log);
    for (let rep = 1; rep <= (setOnly ? 0 : FAILOVER_REPS); rep++) {
      log(`failover drill ${rep}/${FAILOVER_REPS}`);
      drills.push(await failoverDrill(cluster, rep));
      const d = drills[drills.length - 1]!;
      log(`  ${d.oldPrimary} killed → ${d.newPrimary}: first acked write after ${d.killToFirstWriteMs.toFixed(0)} ms; ${d.acked} acked, ${d.lost} lost`);
    }
  } finally {
    if (sampler) await sampler.stop();
    if (redis) for (const p of redis.procs) await stopProcess(p);
    if (etcd) for (const p of etcd.procs) await stopProcess(p);
    await cluster.close();
  }

  // The same drill on the systems users would pick instead, each on a fresh cluster of its own.
  const peerDrills: Array<{ label: string; rs: PeerDrillResult[] }> = [];
  if (etcdInstalled() && !setOnly) {
    log(`etcd failover drills (${ETCD_FAST_TIMING.heartbeatMs}/${ETCD_FAST_TIMING.electionMs} ms), ${FAILOVER_REPS}×`);
    peerDrills.push({ label: `etcd, --heartbeat-interval ${ETCD_FAST_TIMING.heartbeatMs} --election-timeout ${ETCD_FAST_TIMING.electionMs}`, rs: await etcdFailoverDrill({ ...ETCD_FAST_TIMING, reps: FAILOVER_REPS, log }) });
    log(`etcd failover drills (default timing), ${FAILOVER_REPS}×`);
    peerDrills.push({ label: 'etcd, default timing (100/1000 ms)', rs: await etcdFailoverDrill({ reps: FAILOVER_REPS, log }) });
  }
  let syncCost: string[] = [];
  let sustained: string[] = [];
  if (!setOnly) {
    log(`FailoverSync cost at 10k and 1M keys, ${SYNC_COST_REPS}× per scenario`);
    syncCost = await failoverSyncCost({ reps: SYNC_COST_REPS, log });
    log('memory and log size under a sustained write load');
    sustained = await sustainedLoadResources({ log });
    log(`Redis Sentinel failover drills (down-after ${SENTINEL_DOWN_AFTER_MS} ms), ${FAILOVER_REPS}×`);
    peerDrills.push({ label: `Redis + 3 Sentinels, down-after-milliseconds ${SENTINEL_DOWN_AFTER_MS}`, rs: await sentinelFailoverDrill({ downAfterMs: SENTINEL_DOWN_AFTER_MS, reps: FAILOVER_REPS, log }) });
  }

  // ---------------------------------------------------------------- report
  const out: string[] = [];
  out.push(`# understudy benchmark, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`, '');
  out.push(
    `Machine: ${cpus().length} cores (${cpuModel}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node ${process.version}. ` +
      `understudy ${versions.understudy} (3 nodes, LMDB, fsync on, default timing), Redis ${versions.redis} (primary + 2 replicas, appendonly yes, appendfsync always), ` +
      `redis-benchmark ${versions.redisBenchmark}, etcd ${versions.etcd} (3 members, default timing). All on 127.0.0.1.`,
    '',
    `Each figure: median of ${ROUNDS} runs (min–max). 16-byte keys, 100-byte values. Node generator: one connection per client, closed loop, ${RUN_MS / 1000} s per run; ` +
      `redis-benchmark runs sized to ~${RB_TARGET_MS / 1000} s. "gen CPU" is the load generator's own CPU (1.00 = one core).`,
    '',
    '## Throughput and latency',
    '',
    '| system | workload | clients | ops/s | p50 ms | p99 ms | p99.9 ms | gen CPU | node CPU µs per acknowledged write: all nodes (primary · secondaries) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  const sorted = [...rows.values()].sort((a, b) => (a.workload.startsWith('redis-benchmark') ? 1 : 0) - (b.workload.startsWith('redis-benchmark') ? 1 : 0));
  for (const r of sorted) {
    out.push(
      `| ${r.system} | ${r.workload} | ${r.conc} | ${cell(r.samples.map((s) => s.opsPerSec), fmtOps)} | ${cell(r.samples.map((s) => s.p50Ms), fmtMs)} | ${cell(r.samples.map((s) => s.p99Ms), fmtMs)} | ${cell(r.samples.flatMap((s) => (s.p999Ms === undefined ? [] : [s.p999Ms])), fmtMs)} | ${median(r.samples.map((s) => s.genCpu)).toFixed(2)} | ${r.cpu.length ? fmtWriteCpu(medianWriteCpu(r.cpu)!) : ''} |`,
    );
  }
  out.push('', '## Ratios (medians; understudy SET vs durable writes acknowledged by every replica)', '');
  out.push('| clients | understudy / Redis (SET+WAIT 2) ops/s | p99 understudy / Redis | understudy / etcd ops/s | p99 understudy / etcd |', '| --- | --- | --- | --- | --- |');
  const med = (system: string, workload: string, conc: string, f: (s: Sample) => number): number => {
    const r = [...rows.values()].find((x) => x.system === system && x.workload.startsWith(workload) && x.conc === conc);
    return r ? median(r.samples.map(f)) : NaN;
  };
  const ratio = (a: number, b: number): string => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '—');
  for (const c of (args.clients ?? CONCURRENCY).map(String)) {
    const u = med('understudy', 'SET (', c, (s) => s.opsPerSec);
    const up = med('understudy', 'SET (', c, (s) => s.p99Ms);
    out.push(
      `| ${c} | ${ratio(u, med('Redis', 'SET + WAIT', c, (s) => s.opsPerSec))} | ${ratio(up, med('Redis', 'SET + WAIT', c, (s) => s.p99Ms))} | ${ratio(u, med('etcd', 'put', c, (s) => s.opsPerSec))} | ${ratio(up, med('etcd', 'put', c, (s) => s.p99Ms))} |`,
    );
  }
  if (!setOnly) {
    out.push('', `## Failover: kill -9 of the understudy primary under a steady write load (${FAILOVER_WORKERS} writers), ${drills.length} repetitions`, '');
    const dcell = (f: (d: DrillResult) => number | undefined): string => {
      const xs = drills.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
      return xs.length ? cell(xs, (x) => x.toFixed(0)) : '—';
    };
    out.push('| measure | median (min–max) |', '| --- | --- |');
    out.push(`| kill → first acknowledged write on the new primary, ms | ${dcell((d) => d.killToFirstWriteMs)} |`);
    out.push(`| detection, ms (failover report) | ${dcell((d) => d.report?.detectionMs)} |`);
    out.push(`| election, ms (failover report) | ${dcell((d) => d.report?.electionMs)} |`);
    out.push(`| FailoverSync, ms (failover report) | ${dcell((d) => d.report?.failoverSyncMs)} |`);
    out.push(`| FailoverSync updates shipped (all nodes) | ${dcell((d) => (d.report ? Object.values(d.report.shippedTo).reduce((a, b) => a + b, 0) : undefined))} |`);
    out.push(`| acknowledged writes per drill | ${dcell((d) => d.acked)} |`);
    out.push(`| acknowledged writes lost (all drills) | ${drills.reduce((a, d) => a + d.lost, 0)} |`);
    out.push(`| write attempts no node accepted (refused or timed out during the failovers, all drills) | ${drills.reduce((a, d) => a + d.unknown, 0)} |`);
    out.push('', `## Failover side by side: kill -9 of the primary/leader under a steady write load, ${FAILOVER_REPS} repetitions each`, '');
    out.push('| system | kill → first acknowledged write on the new primary, ms: median (min–max) | max, ms | acknowledged writes lost | acknowledged writes per drill |', '| --- | --- | --- | --- | --- |');
    const foRow = (label: string, times: number[], lost: number, acked: number[], failedDrills: number): string =>
      `| ${label} | ${times.length ? cell(times, (x) => x.toFixed(0)) : '—'} | ${times.length ? Math.max(...times).toFixed(0) : '—'}${failedDrills ? ` (${failedDrills} drill(s) without a write in time)` : ''} | ${lost} | ${acked.length ? cell(acked, (x) => x.toFixed(0)) : '—'} |`;
    out.push(foRow('understudy, default timing (heartbeat 50 ms, election 300 ms + jitter)', drills.map((d) => d.killToFirstWriteMs).filter(Number.isFinite), drills.reduce((a, d) => a + d.lost, 0), drills.map((d) => d.acked), drills.filter((d) => !Number.isFinite(d.killToFirstWriteMs)).length));
    for (const p of peerDrills) {
      const ok = p.rs.filter((r) => Number.isFinite(r.killToFirstWriteMs));
      out.push(foRow(p.label, ok.map((r) => r.killToFirstWriteMs), p.rs.reduce((a, r) => a + r.lost, 0), p.rs.map((r) => r.acked), p.rs.length - ok.length));
    }
    notes.push(...PEER_DRILL_NOTES);
    out.push('', ...syncCost);
    if (dataModel) out.push('', ...dataModel);
    if (throughputResources) out.push('', '## Resources of the understudy nodes during the throughput runs above', '', ...resourceRows(throughputResources));
    out.push('', ...sustained);
  }
  const missing = drills.filter((d) => !d.report).length;
  if (missing) notes.push(`${missing} drill(s) without a failover report on the new primary.`);
  if (notes.length) out.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  out.push('', `Whole run: ${((Date.now() - t0) / 1000).toFixed(0)} s.`, '');
  const text = out.join('\n');
  process.stdout.write(text);
  const resultsDir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const name = `${date}${setOnly ? '-set' : ''}.md`;
  writeFileSync(join(resultsDir, name), text);
  log(`written to bench/results/${name}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
