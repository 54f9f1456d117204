// CPU per acknowledged write: the CPU time (user + system, every thread) of each understudy
// node's process over a SET run, read from /proc/<pid>/stat before and after, divided by the
// writes the generator saw acknowledged. Summed over the three nodes, with each node's share, so
// that the primary's cost and the secondaries' are both visible: the figure the speed target is
// stated in (µs of CPU per acknowledged write, all nodes).
import { readFileSync } from 'node:fs';
import type { ProcessCluster } from '../../test/integration/harness.ts';

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds of one process so far, every thread (fields 14 and 15 of /proc/<pid>/stat). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / USER_HZ;
}

/** Per node: CPU seconds of its process so far. */
export function clusterCpuSeconds(cluster: ProcessCluster): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of cluster.specs) if (cluster.isRunning(s.id)) m.set(s.id, processCpuSeconds(cluster.pidOf(s.id)));
  return m;
}

export interface WriteCpu {
  /** µs of CPU per acknowledged write, summed over the nodes. */
  readonly totalUs: number;
  /** µs per acknowledged write of each node (same order as the cluster's specs). */
  readonly perNodeUs: ReadonlyArray<{ readonly id: string; readonly us: number; readonly primary: boolean }>;
}

/** The CPU the nodes spent between two readings, per acknowledged write. */
export function writeCpuOf(before: Map<string, number>, after: Map<string, number>, writes: number, primary: string): WriteCpu {
  const perNodeUs = [...after].map(([id, s]) => ({ id, us: writes > 0 ? ((s - (before.get(id) ?? s)) * 1e6) / writes : NaN, primary: id === primary }));
  return { totalUs: perNodeUs.reduce((a, n) => a + n.us, 0), perNodeUs };
}

/** "92 (P 41 · 26 · 25)": the sum, then the primary's share first and the secondaries'. */
export function fmtWriteCpu(c: WriteCpu): string {
  if (!Number.isFinite(c.totalUs)) return '—';
  const parts = [...c.perNodeUs].sort((a, b) => Number(b.primary) - Number(a.primary)).map((n) => `${n.primary ? 'P ' : ''}${n.us.toFixed(0)}`);
  return `${c.totalUs.toFixed(0)} (${parts.join(' · ')})`;
}

/** The median run's figures, by total (an even count takes the upper middle, as median() does not apply to records). */
export function medianWriteCpu(xs: readonly WriteCpu[]): WriteCpu | undefined {
  const ok = xs.filter((x) => Number.isFinite(x.totalUs)).sort((a, b) => a.totalUs - b.totalUs);
  return ok[Math.floor(ok.length / 2)];
}
