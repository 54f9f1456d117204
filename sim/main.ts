// npm run sim -- --seed S       replay one seed with a readable trace
// npm run sim -- --seeds N      run N seeds (from --from, default 1) and print the failing ones
// options: --crash secondaries|any|none (default any), --disk-loss on|off (default on: some crashes
//          lose the node's disk), --blocking on|off (default off: blocking pops in the workload),
//          --fault-ms, --live-ms, --clients
import { runSimulation, type SimOptions, type SimResult } from './simulation.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const base: Omit<SimOptions, 'seed'> = {
  faultMs: Number(arg('fault-ms') ?? 6000),
  liveMs: Number(arg('live-ms') ?? 3000),
  crash: (arg('crash') ?? 'any') as SimOptions['crash'],
  clients: Number(arg('clients') ?? 6),
  diskLoss: (arg('disk-loss') ?? 'on') !== 'off',
  blockingPops: arg('blocking') === 'on',
};

function summary(r: SimResult): string {
  return `seed ${r.seed} ${r.ok ? 'ok  ' : 'FAIL'} ${r.topology.padEnd(14)} steps=${r.steps} ops ok/fail/info=${r.ops.ok}/${r.ops.fail}/${r.ops.info} committed=${r.committed} crashes=${r.crashes} disks-lost=${r.disksLost} failovers=${r.failovers.length} lin=${r.linearizable}`;
}

const seedArg = arg('seed');
if (seedArg !== undefined) {
  const r = runSimulation({ ...base, seed: Number(seedArg), trace: (l) => console.log(l) });
  console.log(summary(r));
  console.log(`faults: ${r.faults}`);
  for (const f of r.failovers) console.log(`failover: ${f.ms.toFixed(1)} ms, shipped ${f.shipped}, truncated ${f.truncated}, regions resynced ${f.regions}`);
  if (!r.ok) {
    console.log(`\n${r.error}`);
    process.exit(1);
  }
} else {
  const n = Number(arg('seeds') ?? 20);
  const from = Number(arg('from') ?? 1);
  const failed: number[] = [];
  const t0 = performance.now();
  let ops = 0;
  let simMs = 0;
  const failoverMs: number[] = [];
  const shipped: number[] = [];
  for (let s = from; s < from + n; s++) {
    const t1 = performance.now();
    const r = runSimulation({ ...base, seed: s });
    if (process.argv.includes('--progress')) console.error(`seed ${s}: ${((performance.now() - t1) / 1000).toFixed(1)} s, ${r.steps} steps`);
    ops += r.ops.ok + r.ops.fail + r.ops.info;
    simMs += r.simMs;
    for (const f of r.failovers) {
      failoverMs.push(f.ms);
      shipped.push(f.shipped);
    }
    if (!r.ok) {
      failed.push(s);
      console.log(summary(r));
      console.log(`  ${r.error?.split('\n')[0]}`);
    } else if (process.argv.includes('--verbose')) console.log(summary(r));
  }
  const wall = (performance.now() - t0) / 1000;
  const pct = (xs: number[], p: number): string => {
    if (xs.length === 0) return '-';
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(0);
  };
  console.log(`\n${n} seeds, ${failed.length} failed${failed.length ? ': ' + failed.join(' ') : ''}`);
  console.log(`${ops} client operations, ${(simMs / 1000).toFixed(0)} simulated s in ${wall.toFixed(1)} wall s (${(ops / wall).toFixed(0)} ops/wall-s, ${(simMs / 1000 / wall).toFixed(1)}× real time)`);
  console.log(`failovers: ${failoverMs.length}, time to first commit of new epoch p50 ${pct(failoverMs, 0.5)} ms p99 ${pct(failoverMs, 0.99)} ms max ${pct(failoverMs, 1)} ms; updates shipped per failover p50 ${pct(shipped, 0.5)} p99 ${pct(shipped, 0.99)} max ${pct(shipped, 1)}`);
  if (failed.length) process.exit(1);
}
