// npm run torture [-- --seed N] [--minutes M] [--faults kind,kind] [--clients N]
// Runs one torture run (test/torture/run.ts) and exits 0 only when its verdict is PASS.
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind } from './nemesis.ts';
import { runTorture } from './run.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    minutes: { type: 'string', default: '1' },
    faults: { type: 'string' },
    clients: { type: 'string' },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) : randomInt(1, 2 ** 31);
const minutes = Number(values.minutes);
if (!Number.isSafeInteger(seed) || !(minutes > 0)) {
  console.error('usage: npm run torture -- [--seed <integer>] [--minutes <number>] [--faults <kind,...>] [--clients <n>]');
  process.exit(2);
}
const kinds = values.faults?.split(',').map((k) => k.trim()) ?? [...FAULT_KINDS];
const unknownKinds = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
if (unknownKinds.length > 0) {
  console.error(`unknown fault kind ${unknownKinds.join(', ')}; the kinds are: ${FAULT_KINDS.join(', ')}`);
  process.exit(2);
}
console.log(`seed ${seed} (replay with --seed ${seed})`);
const r = await runTorture({ seed, durationMs: minutes * 60_000, kinds: kinds as FaultKind[], ...(values.clients ? { clients: Number(values.clients) } : {}) });
console.log(`report: ${r.reportPath}`);
process.exit(r.pass ? 0 : 1);
