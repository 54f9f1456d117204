// `tsx bench/sync-cost.ts [--reps N] [--big-keys N] [--load-s N]`: the
// benchmark's FailoverSync-cost and resource sections on their own, without
// the full comparison run. Prints markdown to stdout, progress to stderr.
import { parseArgs } from 'node:util';
import { positiveInt } from './lib/common.ts';
import { sustainedLoadResources, SUSTAINED_LOAD_MS } from './lib/resources.ts';
import { DEFAULT_BIG_KEYS, failoverSyncCost } from './lib/sync-cost.ts';

const DEFAULT_REPS = 3;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { reps: { type: 'string' }, 'big-keys': { type: 'string' }, 'load-s': { type: 'string' }, 'skip-resources': { type: 'boolean' }, 'skip-sync': { type: 'boolean' } },
    strict: true,
  });
  const reps = positiveInt('reps', values.reps, DEFAULT_REPS);
  const bigKeys = positiveInt('big-keys', values['big-keys'], DEFAULT_BIG_KEYS);
  const loadMs = positiveInt('load-s', values['load-s'], SUSTAINED_LOAD_MS / 1000) * 1000;
  const t0 = Date.now();
  const log = (s: string): void => void process.stderr.write(`[sync-cost ${((Date.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);
  const out: string[] = [];
  if (!values['skip-sync']) out.push(...(await failoverSyncCost({ reps, bigKeys, log })));
  if (!values['skip-resources']) out.push(...(await sustainedLoadResources({ durationMs: loadMs, log })));
  out.push(`Whole run: ${((Date.now() - t0) / 1000).toFixed(0)} s.`, '');
  process.stdout.write(out.join('\n'));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`sync-cost failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
