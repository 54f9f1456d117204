#!/usr/bin/env node
// `npm run build`: the library and CLI as JavaScript with declaration files in
// dist/ (what the published package runs), plus the dashboard's static files,
// which the admin server serves from beside its own module.
import { cpSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url);
const dist = new URL('dist/', root);

// A clean directory, so a module deleted from src/ does not live on in dist/.
rmSync(dist, { recursive: true, force: true });
const tsc = new URL('node_modules/typescript-7/bin/tsc', root).pathname;
const res = spawnSync(process.execPath, [tsc, '-p', new URL('tsconfig.build.json', root).pathname], { stdio: 'inherit' });
if (res.status !== 0) process.exit(res.status ?? 1);
cpSync(new URL('src/server/dashboard/', root), new URL('server/dashboard/', dist), { recursive: true });
