// `tsx bench/data-model.ts [--elements N] [--requests N]`: the benchmark's data-model rows on
// their own (a 3-node understudy cluster on LMDB and Redis primary + 2 replicas with
// appendfsync always, started here and stopped by PID). Prints markdown to stdout.
import { parseArgs } from 'node:util';
import { ProcessCluster } from '../test/integration/harness.ts';
import { positiveInt, stopProcess, tempDirs } from './lib/common.ts';
import { dataModelBench, DEFAULT_ELEMENTS } from './lib/data-model.ts';
import { startRedis } from './lib/peers.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { elements: { type: 'string' }, requests: { type: 'string' } }, strict: true });
  const elements = positiveInt('elements', values.elements, DEFAULT_ELEMENTS);
  const requests = positiveInt('requests', values.requests, 20_000);
  const t0 = Date.now();
  const log = (s: string): void => void process.stderr.write(`[data-model ${((Date.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);
  const cluster = await ProcessCluster.create({ nodes: 3, storage: 'lmdb' });
  tempDirs.push(cluster.dir);
  const redis = await startRedis();
  try {
    await cluster.startAll();
    const out = await dataModelBench({ understudyPort: async () => cluster.spec(await cluster.waitPrimary()).redisPort, redisPort: redis.primaryPort, elements, requests, log });
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    for (const p of redis.procs) await stopProcess(p);
    await cluster.close();
  }
}

await main();
