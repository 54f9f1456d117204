// The scripting row of `npm run bench`: EVALSHA of a 3-command script (INCR, PEXPIRE, GET on one
// key: a rate limiter's step) on understudy, beside Redis with WAIT 2 after each call (its write
// acknowledged by both replicas, as understudy's reply is by both secondaries). The same closed-loop
// generator drives both. `npx tsx bench/lib/scripts.ts` runs this row alone, briefly, on a fresh
// cluster and Redis set.
import { execFileSync } from 'node:child_process';
import { respLoad, type RespLoadResult } from '../../src/bench/resp-load.ts';
import { ProcessCluster } from '../../test/integration/harness.ts';
import { fmtMs, fmtOps, stopProcess, tempDirs } from './common.ts';
import { startRedis } from './peers.ts';

/** The script: three commands, the reply a bulk string (the generator counts integer replies with WAIT as errors). */
export const BENCH_SCRIPT = "redis.call('INCR', KEYS[1]) redis.call('PEXPIRE', KEYS[1], 60000) return redis.call('GET', KEYS[1])";

/** Loads the script on the server at `port` and returns its sha. */
export function loadBenchScript(port: number): string {
  const sha = execFileSync('redis-cli', ['-p', String(port), 'SCRIPT', 'LOAD', BENCH_SCRIPT], { encoding: 'utf8' }).trim();
  if (!/^[0-9a-f]{40}$/.test(sha)) throw new Error(`SCRIPT LOAD on port ${port} answered ${JSON.stringify(sha)}`);
  return sha;
}

export interface ScriptRows {
  readonly understudy: RespLoadResult;
  readonly redis: RespLoadResult;
}

/** One run of each side at `conns` connections for `durationMs`. */
export async function evalshaRuns(understudyPort: number, redisPort: number, conns: number, durationMs: number): Promise<ScriptRows> {
  const understudy = await respLoad({ port: understudyPort, conns, durationMs, op: 'evalsha', sha: loadBenchScript(understudyPort) });
  const redis = await respLoad({ port: redisPort, conns, durationMs, op: 'evalsha-wait', sha: loadBenchScript(redisPort) });
  return { understudy, redis };
}

/** Workload labels of the two rows in the bench table. */
export const UNDERSTUDY_SCRIPT_WORKLOAD = 'EVALSHA, 3-command script (fsync on 3 nodes)';
export const REDIS_SCRIPT_WORKLOAD = 'EVALSHA, 3-command script + WAIT 2 1000';

async function standalone(): Promise<void> {
  const durationMs = Number(process.env['BENCH_SCRIPT_MS'] ?? 2000);
  const cluster = await ProcessCluster.create({ nodes: 3, storage: 'lmdb' });
  tempDirs.push(cluster.dir);
  const redis = await startRedis();
  try {
    await cluster.startAll();
    const port = cluster.spec(await cluster.waitPrimary()).redisPort;
    for (const c of [1, 16]) {
      const r = await evalshaRuns(port, redis.primaryPort, c, durationMs);
      for (const [who, s] of [['understudy', r.understudy], ['Redis', r.redis]] as const) {
        process.stdout.write(`${who} c=${c}: ${fmtOps(s.opsPerSec)} ops/s, p50 ${fmtMs(s.p50Ms)} ms, p99 ${fmtMs(s.p99Ms)} ms, errors ${s.errors}\n`);
      }
    }
  } finally {
    for (const p of redis.procs) await stopProcess(p);
    await cluster.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await standalone();
