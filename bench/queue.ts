// `npm run bench:queue`: only the RPUSH/BLPOP job-queue rows of `npm run bench` (16 producers,
// 16 consumers), once, on a fresh 3-node understudy cluster (LMDB) and a Redis primary with 2
// replicas (appendfsync always), for a quick look without the whole benchmark.
import { ProcessCluster } from '../test/integration/harness.ts';
import { fmtMs, fmtOps, stopProcess, tempDirs } from './lib/common.ts';
import { queueRound } from './lib/blocking-queue.ts';
import { startRedis } from './lib/peers.ts';

/** Length of the one measured run (ms). */
const RUN_MS = 2000;

const cluster = await ProcessCluster.create({ nodes: 3, storage: 'lmdb' });
tempDirs.push(cluster.dir);
const redis = await startRedis();
try {
  await cluster.startAll();
  const primary = await cluster.waitPrimary();
  const rows = await queueRound({ understudyPort: cluster.spec(primary).redisPort, redisPort: redis.primaryPort, durationMs: RUN_MS });
  const out = ['| system | workload | clients | jobs/s | p50 ms | p99 ms | p99.9 ms | gen CPU |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    const s = r.sample;
    out.push(`| ${r.system} | ${r.workload} | ${r.conc} | ${fmtOps(s.opsPerSec)} | ${fmtMs(s.p50Ms)} | ${fmtMs(s.p99Ms)} | ${fmtMs(s.p999Ms ?? NaN)} | ${s.genCpu.toFixed(2)} |`);
  }
  for (const r of rows) if (r.note) out.push('', `- ${r.note}`);
  process.stdout.write(out.join('\n') + '\n');
} finally {
  for (const p of redis.procs) await stopProcess(p);
  await cluster.close();
}
