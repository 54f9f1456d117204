#!/usr/bin/env node
// Launcher of the `understudy` command. In a checkout (src/ beside bin/, tsx
// installed by `npm ci`) it runs the CLI from the TypeScript source, so
// `npm start` needs no build step and never runs a stale build; an installed
// package ships no src/ and runs the JavaScript build in dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const build = new URL('../dist/cli/main.js', import.meta.url);

async function tsxRegister() {
  try {
    return (await import('tsx/esm/api')).register;
  } catch (e) {
    if (e?.code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw e;
  }
}

const register = existsSync(source) ? await tsxRegister() : undefined;
if (register) {
  register();
  await import(source.href);
} else if (existsSync(build)) {
  await import(build.href);
} else {
  process.stderr.write(`understudy: neither ${build.pathname} nor the TypeScript source with tsx is here; run \`npm run build\`\n`);
  process.exitCode = 1;
}
