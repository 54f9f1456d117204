#!/usr/bin/env node
// Runs the test suite through node:test with an explicit file list.
// Node 20's test runner has no glob support, and `node --test` with no
// .ts files found exits 0 — so we collect the files ourselves and refuse an
// empty list (a suite that ran nothing must not look green).
//
// Usage: npm test                      all of test/**/*.test.ts
//        npm test -- test/log          only files under the given paths
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('--'));

function collect(path, out) {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name === 'node_modules' || name === 'fixtures') continue;
      collect(join(path, name), out);
    }
  } else if (path.endsWith('.test.ts')) {
    out.push(relative(root, path));
  }
  return out;
}

const files = (roots.length ? roots : ['test']).flatMap((r) => collect(join(root, r), []));
if (files.length === 0) {
  console.error(`no test files found under ${roots.length ? roots.join(', ') : 'test/'} — refusing to report an empty run as a pass`);
  process.exit(1);
}
console.error(`running ${files.length} test files`);
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...passThrough, ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, UNDERSTUDY_TEST: '1' } },
);
process.exit(res.status ?? 1);
