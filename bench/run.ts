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
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePorts, lostWrites, ProcessCluster, sleep, waitFor } from '../test/integration/harness.ts';
import type { FailoverReport } from '../src/runtime/node-api.ts';

const ROUNDS = 3;
/** Length of one measured run of the Node generators (ms). */
const RUN_MS = 2000;
/** A generator connection still waiting for a reply this long after its run's end is abandoned (ms). */
const STALL_GRACE_MS = 3000;
/** redis-benchmark runs are sized from a probe to last about this long (ms)… */
const RB_TARGET_MS = 2000;
/** …and are killed (by the `timeout` wrapper) after this long (s). */
const RB_TIMEOUT_S = 20;
const CONCURRENCY = [1, 16, 64] as const;
const PIPELINE = 16;
const VALUE = 'v'.repeat(100);
const KEYSPACE = 100_000;
const FAILOVER_REPS = 5;
const FAILOVER_WORKERS = 4;
/** Load before each kill (ms) and after the first write on the new primary (ms). */
const FAILOVER_PRE_MS = 1000;
const FAILOVER_POST_MS = 500;
/** A write not answered within this long is abandoned (its outcome unknown, never counted as lost). */
const FAILOVER_WRITE_TIMEOUT_MS = 1000;
const FAILOVER_FIRST_WRITE_LIMIT_MS = 10_000;
const START_TIMEOUT_MS = 20_000;

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

// ------------------------------------------------------------------ processes

/** Every process this run started and has not seen exit: the only ones it kills. */
const started = new Set<ChildProcess>();
const tempDirs: string[] = [];

function killStarted(): void {
  for (const c of started) {
    if (c.pid === undefined) continue;
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
process.once('exit', () => {
  killStarted();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

function startProcess(cmd: string, args: string[], logPath: string): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  const out = createWriteStream(logPath);
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  child.once('close', () => out.end());
  child.once('exit', () => started.delete(child));
  return child;
}

async function stopProcess(c: ChildProcess): Promise<void> {
  if (c.pid === undefined || !started.has(c)) return;
  const gone = new Promise<void>((r) => c.once('exit', () => r()));
  process.kill(c.pid, 'SIGKILL');
  await Promise.race([gone, sleep(5000)]);
}

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

// ------------------------------------------------------------------ statistics

interface Sample {
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Only where the generator keeps every latency (not redis-benchmark's CSV). */
  readonly p999Ms?: number;
  /** Load generator CPU time / wall time (1 = one core busy). */
  readonly genCpu: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function fmtOps(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

function fmtMs(x: number): string {
  return x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
}

function cell(xs: number[], f: (x: number) => string): string {
  if (xs.length === 0) return '—';
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

// ------------------------------------------------------------------ redis-benchmark

/**
 * One redis-benchmark run. It runs under `timeout` inside a shell whose `times` reports the CPU
 * its children used, so the generator's own CPU is known.
 */
function redisBenchmark(port: number, test: 'set' | 'get', clients: number, pipeline: number, requests: number): Sample {
  const rb = `timeout -s KILL ${RB_TIMEOUT_S} redis-benchmark -h 127.0.0.1 -p ${port} -t ${test} -c ${clients} -P ${pipeline} -n ${requests} -d ${VALUE.length} -r ${KEYSPACE} --csv`;
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', `${rb}; rc=$?; times; exit $rc`], { encoding: 'utf8', timeout: (RB_TIMEOUT_S + 5) * 1000 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`redis-benchmark ${test} -c ${clients} -P ${pipeline} failed (status ${r.status}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const row = lines.find((l) => l.startsWith(`"${test.toUpperCase()}"`));
  if (!row) throw new Error(`redis-benchmark printed no ${test} row: ${r.stdout}`);
  const f = row.split(',').map((x) => x.replaceAll('"', ''));
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const child = lines[lines.length - 1]!.trim().split(/\s+/).map(parseTimes);
  return { opsPerSec: Number(f[1]), p50Ms: Number(f[4]), p99Ms: Number(f[6]), genCpu: (child[0]! + child[1]!) / (wallMs / 1000) };
}

/** "0m1.234s" → seconds. */
function parseTimes(s: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
}

/** Sizes redis-benchmark runs (requests) so each lasts about RB_TARGET_MS; remembers the last rate per configuration. */
class RbSizer {
  private readonly rate = new Map<string, number>();
  requests(key: string): number {
    const r = this.rate.get(key) ?? 1000;
    return Math.max(500, Math.round((r * RB_TARGET_MS) / 1000));
  }
  record(key: string, s: Sample): void {
    this.rate.set(key, s.opsPerSec);
  }
}

// ------------------------------------------------------------------ RESP closed-loop generator

function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** 16-byte keys like redis-benchmark's "key:000000012345". */
function key16(i: number): string {
  return `key:${String(i % KEYSPACE).padStart(12, '0')}`;
}

/**
 * `conns` connections, each a closed loop: send one operation (SET, or SET + WAIT pipelined),
 * wait for all its replies, send the next. Every reply here is one line (+OK, :2, -ERR …).
 */
async function respLoad(port: number, conns: number, durationMs: number, withWait: boolean): Promise<Sample & { errors: number; stalled: number }> {
  const repliesPerOp = withWait ? 2 : 1;
  const latencies: number[] = [];
  let errors = 0;
  let seq = randomBytes(2).readUInt16BE(0);
  const sockets: Socket[] = [];
  await Promise.all(
    Array.from({ length: conns }, () => new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve());
      s.once('error', reject);
      sockets.push(s);
    })),
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  // A connection whose operation is still unanswered this long after the deadline is given up on.
  let stalled = 0;
  const ends: Array<() => void> = [];
  const giveUp = setTimeout(() => ends.forEach((f) => f()), durationMs + STALL_GRACE_MS);
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((done) => {
          let finished = false;
          const resolve = (): void => {
            if (!finished) {
              finished = true;
              done();
            }
          };
          ends.push(() => {
            if (!finished) stalled++;
            resolve();
          });
          let pending = 0;
          let sentAt = 0;
          let tail = '';
          const send = (): void => {
            if (performance.now() >= deadline) return resolve();
            const k = key16(seq++);
            pending = repliesPerOp;
            sentAt = performance.now();
            s.write(withWait ? resp('SET', k, VALUE) + resp('WAIT', '2', '1000') : resp('SET', k, VALUE));
          };
          s.on('data', (b: Buffer) => {
            tail += b.toString('latin1');
            let i: number;
            while ((i = tail.indexOf('\r\n')) >= 0) {
              const line = tail.slice(0, i);
              tail = tail.slice(i + 2);
              if (line.startsWith('-') || (withWait && line.startsWith(':') && line !== ':2')) errors++;
              if (--pending === 0) {
                latencies.push(performance.now() - sentAt);
                send();
              }
            }
          });
          // A server that closes the connection ends this client's loop (counted as stalled if an operation was unanswered).
          s.once('error', () => resolve());
          s.once('close', () => {
            if (pending > 0 && !finished) stalled++;
            resolve();
          });
          send();
        }),
    ),
  );
  clearTimeout(giveUp);
  const wallMs = Math.min(performance.now() - t0, durationMs + (stalled ? 0 : STALL_GRACE_MS));
  const cpu = process.cpuUsage(cpu0);
  for (const s of sockets) s.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    opsPerSec: (latencies.length / wallMs) * 1000,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    genCpu: (cpu.user + cpu.system) / 1000 / wallMs,
    errors,
    stalled,
  };
}

// ------------------------------------------------------------------ etcd put loop

async function etcdPutLoad(url: string, conc: number, durationMs: number): Promise<Sample & { errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let seq = 0;
  const value = Buffer.from(VALUE).toString('base64');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (performance.now() < deadline) {
        const body = JSON.stringify({ key: Buffer.from(key16(seq++)).toString('base64'), value });
        const s = performance.now();
        try {
          const r = await fetch(`${url}/v3/kv/put`, { method: 'POST', body, signal: AbortSignal.timeout(5000) });
          await r.arrayBuffer();
          if (r.status !== 200) errors++;
          else latencies.push(performance.now() - s);
        } catch {
          errors++;
        }
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const sorted = Float64Array.from(latencies).sort();
  return { opsPerSec: (latencies.length / wallMs) * 1000, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), p999Ms: percentile(sorted, 99.9), genCpu: (cpu.user + cpu.system) / 1000 / wallMs, errors };
}

// ------------------------------------------------------------------ the systems

interface RedisSet {
  readonly primaryPort: number;
  readonly procs: ChildProcess[];
}

async function startRedis(): Promise<RedisSet> {
  const dir = tempDir('understudy-bench-redis-');
  const ports = await freePorts(3);
  const procs: ChildProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const d = join(dir, `r${i}`);
    mkdirSync(d);
    const args = ['--port', String(ports[i]), '--bind', '127.0.0.1', '--dir', d, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''];
    if (i > 0) args.push('--replicaof', '127.0.0.1', String(ports[0]));
    procs.push(startProcess('redis-server', args, join(dir, `r${i}.log`)));
  }
  const c = new Redis({ host: '127.0.0.1', port: ports[0]!, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  c.on('error', () => {});
  try {
    await waitFor('Redis primary with 2 online replicas', START_TIMEOUT_MS, async () => {
      const info = await c.info('replication');
      return (info.match(/state=online/g) ?? []).length === 2 ? true : undefined;
    });
  } finally {
    c.disconnect();
  }
  return { primaryPort: ports[0]!, procs };
}

interface EtcdSet {
  readonly leaderUrl: string;
  readonly procs: ChildProcess[];
}

function etcdInstalled(): boolean {
  return spawnSync('bash', ['-c', 'command -v etcd']).status === 0;
}

async function startEtcd(): Promise<EtcdSet> {
  const dir = tempDir('understudy-bench-etcd-');
  const ports = await freePorts(6);
  const peer = (i: number): string => `http://127.0.0.1:${ports[3 + i]}`;
  const client = (i: number): string => `http://127.0.0.1:${ports[i]}`;
  const initial = [0, 1, 2].map((i) => `e${i}=${peer(i)}`).join(',');
  const token = `bench-${randomBytes(4).toString('hex')}`;
  const procs = [0, 1, 2].map((i) =>
    startProcess(
      'etcd',
      [
        '--name', `e${i}`,
        '--data-dir', join(dir, `e${i}`),
        '--listen-client-urls', client(i),
        '--advertise-client-urls', client(i),
        '--listen-peer-urls', peer(i),
        '--initial-advertise-peer-urls', peer(i),
        '--initial-cluster', initial,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', token,
      ],
      join(dir, `e${i}.log`),
    ),
  );
  const leaderUrl = await waitFor('an etcd leader', START_TIMEOUT_MS, async () => {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${client(i)}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
      const st = (await r.json()) as { header?: { member_id?: string }; leader?: string };
      if (st.leader && st.leader !== '0' && st.header?.member_id === st.leader) return client(i);
    }
    return undefined;
  });
  return { leaderUrl, procs };
}

function versionOf(cmd: string, args: string[], re: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) return 'not installed';
  return re.exec(r.stdout)?.[1] ?? r.stdout.trim().split('\n')[0]!;
}

// ------------------------------------------------------------------ failover drill

interface DrillResult {
  readonly killToFirstWriteMs: number;
  readonly report: FailoverReport | undefined;
  readonly acked: number;
  readonly unknown: number;
  readonly lost: number;
  readonly oldPrimary: string;
  readonly newPrimary: string;
}

async function failoverDrill(cluster: ProcessCluster, rep: number): Promise<DrillResult> {
  const oldPrimary = await cluster.waitPrimary();
  const clients = new Map(
    cluster.specs.map((s) => [
      s.id,
      new Redis({ host: '127.0.0.1', port: s.redisPort, maxRetriesPerRequest: 0, enableOfflineQueue: false, commandTimeout: FAILOVER_WRITE_TIMEOUT_MS, retryStrategy: () => 50 }),
    ]),
  );
  for (const c of clients.values()) c.on('error', () => {});
  try {
    await waitFor('clients connected', 5000, () => ([...clients.values()].every((c) => c.status === 'ready') ? true : undefined));
    const acked = new Map<string, string>();
    let unknown = 0;
    let killAt = Infinity;
    let firstNewAt = Infinity;
    let stopAt = Infinity;
    const t0 = performance.now();
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; performance.now() < stopAt && performance.now() - t0 < FAILOVER_FIRST_WRITE_LIMIT_MS + 5000; i++) {
        const k = `fo${rep}:${w}:${i}`;
        const v = randomBytes(6).toString('hex');
        // Every node gets the write; only the primary can accept it (secondaries answer READONLY).
        const live = [...clients.entries()].filter(([id]) => cluster.isRunning(id));
        try {
          const from = await Promise.any(live.map(async ([id, c]) => ((await c.set(k, v)) === 'OK' ? id : Promise.reject(new Error('not OK')))));
          acked.set(k, v);
          const now = performance.now();
          if (now > killAt && from !== oldPrimary && firstNewAt === Infinity) {
            firstNewAt = now;
            stopAt = now + FAILOVER_POST_MS;
          }
        } catch {
          unknown++;
          await sleep(5);
        }
      }
    };
    const load = Promise.all(Array.from({ length: FAILOVER_WORKERS }, (_, w) => worker(w)));
    await sleep(FAILOVER_PRE_MS);
    killAt = performance.now();
    const killWall = Date.now();
    await cluster.kill(oldPrimary, 'SIGKILL');
    await load;
    const newPrimary = await cluster.waitPrimary(15_000, oldPrimary);
    const reports = await cluster.failovers(newPrimary);
    const report = reports.find((r) => r.newPrimary === newPrimary && r.at >= killWall - 1000);
    await cluster.start(oldPrimary);
    await cluster.converged();
    const reader = new Redis({ host: '127.0.0.1', port: cluster.spec(newPrimary).redisPort, maxRetriesPerRequest: 1, commandTimeout: 5000 });
    reader.on('error', () => {});
    let lost: string[];
    try {
      lost = await lostWrites(reader, acked);
    } finally {
      reader.disconnect();
    }
    return { killToFirstWriteMs: firstNewAt - killAt, report, acked: acked.size, unknown, lost: lost.length, oldPrimary, newPrimary };
  } finally {
    for (const c of clients.values()) c.disconnect();
  }
}

// ------------------------------------------------------------------ main

interface Row {
  readonly system: string;
  readonly workload: string;
  readonly conc: string;
  readonly samples: Sample[];
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

  log('starting a 3-node understudy cluster (LMDB), Redis primary + 2 replicas (appendfsync always)…');
  const cluster = await ProcessCluster.create({ nodes: 3, storage: 'lmdb' });
  tempDirs.push(cluster.dir);
  let redis: RedisSet | undefined;
  let etcd: EtcdSet | undefined;
  const notes: string[] = [];
  const rows = new Map<string, Row>();
  const add = (system: string, workload: string, conc: string, s: Sample): void => {
    const k = `${system}|${workload}|${conc}`;
    const r = rows.get(k) ?? { system, workload, conc, samples: [] };
    r.samples.push(s);
    rows.set(k, r);
    log(`  ${system} ${workload} c=${conc}: ${fmtOps(s.opsPerSec)} ops/s, p50 ${fmtMs(s.p50Ms)} ms, p99 ${fmtMs(s.p99Ms)} ms, gen CPU ${s.genCpu.toFixed(2)}`);
  };
  const drills: DrillResult[] = [];
  try {
    await cluster.startAll();
    const primary = await cluster.waitPrimary();
    const epoch0 = (await cluster.status(primary)).epoch;
    redis = await startRedis();
    if (etcdInstalled()) {
      log('starting a 3-member etcd cluster…');
      etcd = await startEtcd();
    } else notes.push('etcd is not installed (Debian package etcd-server): etcd rows skipped.');
    const uPort = cluster.spec(primary).redisPort;
    const sizer = new RbSizer();

    // Probe runs (not recorded): warm up every system and size the redis-benchmark runs.
    const rbConfigs: Array<{ test: 'set' | 'get'; c: number; p: number }> = [];
    for (const test of ['set', 'get'] as const) {
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

    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round}/${ROUNDS}`);
      for (const c of CONCURRENCY) {
        // The primary may have changed (an election under load): always load the current one.
        const u = await respLoad(cluster.spec(await cluster.waitPrimary()).redisPort, c, RUN_MS, false);
        if (u.errors) notes.push(`round ${round}: understudy SET c=${c}: ${u.errors} error replies`);
        if (u.stalled) notes.push(`round ${round}: understudy SET c=${c}: ${u.stalled} connection(s) ended with an operation unanswered (closed by a demoted primary, or no reply ${STALL_GRACE_MS} ms after the run)`);
        add('understudy', 'SET (fsync on 3 nodes)', String(c), u);
        const r = await respLoad(redis.primaryPort, c, RUN_MS, true);
        if (r.errors) notes.push(`round ${round}: Redis SET+WAIT c=${c}: ${r.errors} replies that were errors or WAIT < 2`);
        if (r.stalled) notes.push(`round ${round}: Redis SET+WAIT c=${c}: ${r.stalled} connection(s) left without a reply`);
        add('Redis', 'SET + WAIT 2 1000', String(c), r);
        if (etcd) {
          const e = await etcdPutLoad(etcd.leaderUrl, c, RUN_MS);
          if (e.errors) notes.push(`round ${round}: etcd put c=${c}: ${e.errors} failed puts`);
          add('etcd', 'put (JSON gateway, leader)', String(c), e);
        }
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
    }
    const epoch1 = (await cluster.status(await cluster.waitPrimary())).epoch;
    if (epoch1 !== epoch0) notes.push(`understudy changed primary during the throughput runs (epoch ${epoch0} → ${epoch1}).`);

    for (const p of redis.procs) await stopProcess(p);
    redis = undefined;
    if (etcd) for (const p of etcd.procs) await stopProcess(p);
    etcd = undefined;

    for (let rep = 1; rep <= FAILOVER_REPS; rep++) {
      log(`failover drill ${rep}/${FAILOVER_REPS}`);
      drills.push(await failoverDrill(cluster, rep));
      const d = drills[drills.length - 1]!;
      log(`  ${d.oldPrimary} killed → ${d.newPrimary}: first acked write after ${d.killToFirstWriteMs.toFixed(0)} ms; ${d.acked} acked, ${d.lost} lost`);
    }
  } finally {
    if (redis) for (const p of redis.procs) await stopProcess(p);
    if (etcd) for (const p of etcd.procs) await stopProcess(p);
    await cluster.close();
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
    '| system | workload | clients | ops/s | p50 ms | p99 ms | p99.9 ms | gen CPU |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  const sorted = [...rows.values()].sort((a, b) => (a.workload.startsWith('redis-benchmark') ? 1 : 0) - (b.workload.startsWith('redis-benchmark') ? 1 : 0));
  for (const r of sorted) {
    out.push(
      `| ${r.system} | ${r.workload} | ${r.conc} | ${cell(r.samples.map((s) => s.opsPerSec), fmtOps)} | ${cell(r.samples.map((s) => s.p50Ms), fmtMs)} | ${cell(r.samples.map((s) => s.p99Ms), fmtMs)} | ${cell(r.samples.flatMap((s) => (s.p999Ms === undefined ? [] : [s.p999Ms])), fmtMs)} | ${median(r.samples.map((s) => s.genCpu)).toFixed(2)} |`,
    );
  }
  out.push('', '## Ratios (medians; understudy SET vs durable writes acknowledged by every replica)', '');
  out.push('| clients | understudy / Redis (SET+WAIT 2) ops/s | p99 understudy / Redis | understudy / etcd ops/s | p99 understudy / etcd |', '| --- | --- | --- | --- | --- |');
  const med = (system: string, workload: string, conc: string, f: (s: Sample) => number): number => {
    const r = [...rows.values()].find((x) => x.system === system && x.workload.startsWith(workload) && x.conc === conc);
    return r ? median(r.samples.map(f)) : NaN;
  };
  const ratio = (a: number, b: number): string => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '—');
  for (const c of CONCURRENCY.map(String)) {
    const u = med('understudy', 'SET (', c, (s) => s.opsPerSec);
    const up = med('understudy', 'SET (', c, (s) => s.p99Ms);
    out.push(
      `| ${c} | ${ratio(u, med('Redis', 'SET + WAIT', c, (s) => s.opsPerSec))} | ${ratio(up, med('Redis', 'SET + WAIT', c, (s) => s.p99Ms))} | ${ratio(u, med('etcd', 'put', c, (s) => s.opsPerSec))} | ${ratio(up, med('etcd', 'put', c, (s) => s.p99Ms))} |`,
    );
  }
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
  const missing = drills.filter((d) => !d.report).length;
  if (missing) notes.push(`${missing} drill(s) without a failover report on the new primary.`);
  if (notes.length) out.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  out.push('', `Whole run: ${((Date.now() - t0) / 1000).toFixed(0)} s.`, '');
  const text = out.join('\n');
  process.stdout.write(text);
  const resultsDir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${date}.md`), text);
  log(`written to bench/results/${date}.md`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
