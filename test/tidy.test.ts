// Enforces the architecture's import boundaries: the protocol core is pure
// and deterministic (no node:* modules, no timers, no Date, no Math.random,
// no Promises), and only imports from lib/ and itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

function importsOf(src: string): string[] {
  const re = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;
  const out: string[] = [];
  for (const m of src.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

const forbiddenInPure: Array<[RegExp, string]> = [
  [/\bDate\b/, 'Date (time comes in through ticks)'],
  [/\bMath\.random\b/, 'Math.random (use the seeded Prng)'],
  [/\bset(Timeout|Interval|Immediate)\b/, 'timers (time comes in through ticks)'],
  [/\bprocess\./, 'process'],
  [/\bPromise\b|\basync\b|\bawait\b/, 'Promises (the core is synchronous and sans-IO)'],
  [/\brequire\(/, 'require'],
];

for (const [dir, allowed] of [
  // The error catalogue imports nothing: the core takes its reply texts from it.
  ['src/core', ['src/core', 'src/lib', 'src/errors.ts']],
  ['src/lib', ['src/lib']],
] as const) {
  test(`${dir} is pure: imports only ${allowed.join(', ')} and no I/O, time or randomness`, () => {
    const list = files(join(root, dir));
    assert.ok(list.length > 0, `${dir} has no files`);
    const problems: string[] = [];
    for (const f of list) {
      const src = stripComments(readFileSync(f, 'utf8'));
      const rel = relative(root, f);
      for (const spec of importsOf(src)) {
        if (!spec.startsWith('.')) {
          problems.push(`${rel}: imports package '${spec}'`);
          continue;
        }
        const target = relative(root, join(f, '..', spec));
        if (!allowed.some((a) => target === a || target.startsWith(a + '/'))) problems.push(`${rel}: imports ${target}`);
      }
      for (const [re, what] of forbiddenInPure) if (re.test(src)) problems.push(`${rel}: uses ${what}`);
    }
    assert.deepEqual(problems, []);
  });
}

test('no focused or skipped tests are left behind', () => {
  const problems: string[] = [];
  for (const f of files(join(root, 'test'))) {
    const src = readFileSync(f, 'utf8');
    if (f.endsWith('tidy.test.ts')) continue;
    if (/\b(it|test|describe)\.(only|skip|todo)\(|\{\s*(only|skip|todo)\s*:\s*true/.test(src)) problems.push(relative(root, f));
  }
  assert.deepEqual(problems, []);
});
