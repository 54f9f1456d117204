// The PUBLISH fan-out rows of `npm run bench` on their own, one short round:
// `npx tsx bench/pubsub-fanout.ts [durationMs]`. Starts a 3-node understudy
// cluster (LMDB) and one redis-server, prints the rows, stops both by PID.
import { ProcessCluster } from '../test/integration/harness.ts';
import { fmtMs, fmtOps, stopProcess, tempDirs } from './lib/common.ts';
import { startRedis } from './lib/peers.ts';
import { fanoutRound } from './lib/pubsub-fanout.ts';

const durationMs = Number(process.argv[2] ?? 2000);
const cluster = await ProcessCluster.create({ nodes: 3, storage: 'lmdb' });
tempDirs.push(cluster.dir);
const redis = await startRedis();
const notes: string[] = [];
try {
  await cluster.startAll();
  const epoch0 = (await cluster.status(await cluster.waitPrimary())).epoch;
  await fanoutRound({
    cluster,
    redisPort: redis.primaryPort,
    durationMs,
    notes,
    round: 1,
    add: (system, workload, conc, s) =>
      console.log(`| ${system} | ${workload} | ${conc} | ${fmtOps(s.opsPerSec)} msg/s | p50 ${fmtMs(s.p50Ms)} ms | p99 ${fmtMs(s.p99Ms)} ms | gen CPU ${s.genCpu.toFixed(2)} |`),
  });
  for (const n of notes) console.log(`note: ${n}`);
  const epoch1 = (await cluster.status(await cluster.waitPrimary())).epoch;
  if (epoch1 !== epoch0) console.log(`note: the primary changed during the run (epoch ${epoch0} → ${epoch1})`);
} finally {
  for (const p of redis.procs) await stopProcess(p);
  await cluster.close();
}
