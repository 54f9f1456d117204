// Options of `npm run bench`, for short targeted runs on a shared machine:
//   --only set        the SET rows alone (understudy, and Redis + WAIT 2 beside it)
//   --rounds N        runs per configuration (default 3)
//   --clients 1,64    the client counts of the SET rows (default 1,16,64)
//   --cpu-prof DIR    every node runs with node --cpu-prof; the profiles land in DIR once the
//                     throughput runs end (the nodes are stopped with SIGTERM so they write them)
import { appendFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { resolve } from 'node:path';
import type { ProcessCluster } from '../../test/integration/harness.ts';

export interface BenchArgs {
  readonly only: 'set' | undefined;
  readonly rounds: number | undefined;
  readonly clients: readonly number[] | undefined;
  readonly cpuProfDir: string | undefined;
}

/** Most runs per configuration a run accepts (each SET run is a few seconds on every system). */
const MAX_ROUNDS = 20;

export function benchArgs(argv: readonly string[]): BenchArgs {
  let only: BenchArgs['only'];
  let rounds: number | undefined;
  let clients: number[] | undefined;
  let cpuProfDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--only') {
      const v = value();
      if (v !== 'set') throw new Error(`--only takes "set" (the SET rows), not "${v}"`);
      only = v;
    } else if (a === '--rounds') {
      rounds = Number(value());
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_ROUNDS) throw new Error(`--rounds must be an integer in 1..${MAX_ROUNDS}`);
    } else if (a === '--clients') {
      clients = value().split(',').map(Number);
      if (clients.some((c) => !Number.isInteger(c) || c < 1 || c > 1024)) throw new Error('--clients takes client counts in 1..1024, separated by commas (e.g. 1,64)');
    } else if (a === '--cpu-prof') {
      cpuProfDir = resolve(value());
      mkdirSync(cpuProfDir, { recursive: true });
    } else throw new Error(`unknown option ${a} (options: --only set, --rounds N, --clients 1,64, --cpu-prof DIR)`);
  }
  // The profiles are written when the nodes stop, before the failover drills would need them.
  if (cpuProfDir && only !== 'set') throw new Error('--cpu-prof goes with --only set (the nodes are stopped after the SET rows to write their profiles)');
  return { only, rounds, clients, cpuProfDir };
}

/** Stops every node with SIGTERM (a clean exit writes its --cpu-prof profile) and names the profiles. */
export async function stopForProfiles(cluster: ProcessCluster, dir: string, log: (s: string) => void): Promise<void> {
  for (const s of cluster.specs) {
    if (!cluster.isRunning(s.id)) continue;
    log(`stopping ${s.id} (pid ${cluster.pidOf(s.id)}) to write its CPU profile`);
    await cluster.kill(s.id, 'SIGTERM');
  }
  log(`CPU profiles in ${dir}: ${readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).join(', ')}`);
}

/** The monotonic clock in µs, as V8 stamps profile samples (CLOCK_MONOTONIC on Linux). */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Notes a measured run in DIR/windows.jsonl, so the profile summary counts only the load (not start-up). */
export function recordProfileWindow(dir: string | undefined, fromUs: number, toUs: number, writes: number, clients: number): void {
  if (dir) appendFileSync(join(dir, 'windows.jsonl'), JSON.stringify({ fromUs, toUs, writes, clients }) + '\n');
}
