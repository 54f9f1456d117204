// What every part of the benchmark shares: the processes it started (the only
// ones it ever kills), temporary directories, and the statistics it prints.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../../test/integration/harness.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A system under test must be serving within this long of its start (ms). */
export const START_TIMEOUT_MS = 20_000;

// ------------------------------------------------------------------ processes

/** Every process this run started and has not seen exit: the only ones it kills. */
const started = new Set<ChildProcess>();
export const tempDirs: string[] = [];

function killStarted(): void {
  for (const c of started) {
    if (c.pid === undefined) continue;
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
process.once('exit', () => {
  killStarted();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

export function startProcess(cmd: string, args: string[], logPath: string): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  const out = createWriteStream(logPath);
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  child.once('close', () => out.end());
  child.once('exit', () => started.delete(child));
  return child;
}

export async function stopProcess(c: ChildProcess): Promise<void> {
  if (c.pid === undefined || !started.has(c)) return;
  const gone = new Promise<void>((r) => c.once('exit', () => r()));
  process.kill(c.pid, 'SIGKILL');
  await Promise.race([gone, sleep(5000)]);
}

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

// ------------------------------------------------------------------ statistics

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function fmtOps(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

export function fmtMs(x: number): string {
  return x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
}

export function cell(xs: number[], f: (x: number) => string): string {
  if (xs.length === 0) return '—';
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

export function versionOf(cmd: string, args: string[], re: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) return 'not installed';
  return re.exec(r.stdout)?.[1] ?? r.stdout.trim().split('\n')[0]!;
}

/** A command-line option that must be a positive integer (its default when absent). */
export function positiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return n;
}
