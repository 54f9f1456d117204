// The systems users would pick instead, started and loaded the same way as
// understudy: Redis 7 primary + 2 replicas (appendfsync always), a 3-member
// etcd cluster, and redis-benchmark as the C load generator for both RESP
// systems.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { DEFAULT_KEYSPACE, DEFAULT_VALUE_BYTES, key16, percentile, type Sample } from '../../src/bench/resp-load.ts';
import { freePorts, waitFor } from '../../test/integration/harness.ts';
import { START_TIMEOUT_MS, startProcess, tempDir } from './common.ts';

/** redis-benchmark runs are sized from a probe to last about this long (ms)… */
export const RB_TARGET_MS = 2000;
/** …and are killed (by the `timeout` wrapper) after this long (s). */
const RB_TIMEOUT_S = 20;

// ------------------------------------------------------------------ redis-benchmark

/**
 * One redis-benchmark run. It runs under `timeout` inside a shell whose `times` reports the CPU
 * its children used, so the generator's own CPU is known.
 */
export function redisBenchmark(port: number, test: 'set' | 'get', clients: number, pipeline: number, requests: number): Sample {
  const rb = `timeout -s KILL ${RB_TIMEOUT_S} redis-benchmark -h 127.0.0.1 -p ${port} -t ${test} -c ${clients} -P ${pipeline} -n ${requests} -d ${DEFAULT_VALUE_BYTES} -r ${DEFAULT_KEYSPACE} --csv`;
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
export class RbSizer {
  private readonly rate = new Map<string, number>();
  requests(key: string): number {
    const r = this.rate.get(key) ?? 1000;
    return Math.max(500, Math.round((r * RB_TARGET_MS) / 1000));
  }
  record(key: string, s: Sample): void {
    this.rate.set(key, s.opsPerSec);
  }
}

// ------------------------------------------------------------------ etcd put loop

export async function etcdPutLoad(url: string, conc: number, durationMs: number): Promise<Sample & { errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let seq = 0;
  const value = Buffer.from('v'.repeat(DEFAULT_VALUE_BYTES)).toString('base64');
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

export interface RedisSet {
  readonly primaryPort: number;
  readonly procs: ChildProcess[];
}

export async function startRedis(): Promise<RedisSet> {
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

export interface EtcdSet {
  readonly leaderUrl: string;
  readonly procs: ChildProcess[];
}

export function etcdInstalled(): boolean {
  return spawnSync('bash', ['-c', 'command -v etcd']).status === 0;
}

/** The command line of one member of a new 3-member etcd cluster (extra: e.g. timing flags). */
export function etcdMemberArgs(m: { name: string; dataDir: string; clientUrl: string; peerUrl: string; initialCluster: string; token: string; extra?: readonly string[] }): string[] {
  return [
    '--name', m.name,
    '--data-dir', m.dataDir,
    '--listen-client-urls', m.clientUrl,
    '--advertise-client-urls', m.clientUrl,
    '--listen-peer-urls', m.peerUrl,
    '--initial-advertise-peer-urls', m.peerUrl,
    '--initial-cluster', m.initialCluster,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', m.token,
    ...(m.extra ?? []),
  ];
}

export async function startEtcd(): Promise<EtcdSet> {
  const dir = tempDir('understudy-bench-etcd-');
  const ports = await freePorts(6);
  const peer = (i: number): string => `http://127.0.0.1:${ports[3 + i]}`;
  const client = (i: number): string => `http://127.0.0.1:${ports[i]}`;
  const initial = [0, 1, 2].map((i) => `e${i}=${peer(i)}`).join(',');
  const token = `bench-${randomBytes(4).toString('hex')}`;
  const procs = [0, 1, 2].map((i) =>
    startProcess(
      'etcd',
      etcdMemberArgs({ name: `e${i}`, dataDir: join(dir, `e${i}`), clientUrl: client(i), peerUrl: peer(i), initialCluster: initial, token }),
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
