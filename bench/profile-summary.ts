// `npx tsx bench/profile-summary.ts DIR`: a flame summary of the .cpuprofile files that
// `npm run bench -- --only set --cpu-prof DIR` leaves (one per node process and thread): per
// profile, the self time of the heaviest functions and of each source area (src/core,
// src/codec, node internals, lmdb, …) during the measured SET runs only (DIR/windows.jsonl,
// written by the bench), and the µs of each per acknowledged write.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
}

interface Window {
  readonly fromUs: number;
  readonly toUs: number;
  readonly writes: number;
}

/** Functions listed per profile. */
const TOP_FUNCTIONS = 25;

/** The source area a frame belongs to: a directory of src/, a package, or node's own code. */
function areaOf(url: string, fn: string): string {
  if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') return fn;
  const src = /\/src\/([^/]+)\//.exec(url);
  if (src && !url.includes('node_modules')) return `src/${src[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url.split('/')[0]!;
  return url === '' ? '(native)' : url;
}

function summarize(file: string, windows: readonly Window[]): string[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const writes = windows.length ? windows.reduce((a, w) => a + w.writes, 0) : undefined;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (windows.length && !windows.some((w) => t >= w.fromUs && t <= w.toUs)) continue;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    if (f.functionName === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const short = f.url.replace(/^.*\/(src|node_modules)\//, '$1/');
    const k = `${f.functionName || '(anonymous)'} ${short}:${f.lineNumber + 1}`;
    fns.set(k, (fns.get(k) ?? 0) + us);
    const a = areaOf(f.url, f.functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const per = (us: number): string => (writes ? ` | ${(us / writes).toFixed(2)}` : '');
  const head = writes ? ' | µs per write' : '';
  const out = [`### ${file.split('/').pop()}: ${(total / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle`, ''];
  out.push(`| area | self ms | share${head} |`, `| --- | --- | ---${writes ? ' | ---' : ''} |`);
  for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1])) out.push(`| ${a} | ${(us / 1000).toFixed(1)} | ${((100 * us) / total).toFixed(1)}%${per(us)} |`);
  out.push('', `| function | self ms | share${head} |`, `| --- | --- | ---${writes ? ' | ---' : ''} |`);
  for (const [k, us] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, TOP_FUNCTIONS)) out.push(`| \`${k}\` | ${(us / 1000).toFixed(1)} | ${((100 * us) / total).toFixed(1)}%${per(us)} |`);
  out.push('');
  return out;
}

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: npx tsx bench/profile-summary.ts DIR\n');
  process.exit(2);
}
const windowsFile = join(dir, 'windows.jsonl');
const windows: Window[] = existsSync(windowsFile)
  ? readFileSync(windowsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Window)
  : [];
for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile')).sort()) process.stdout.write(summarize(join(dir, f), windows).join('\n') + '\n');
