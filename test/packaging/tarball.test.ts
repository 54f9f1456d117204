// The package as a user gets it: `npm pack` (which builds dist/ first) makes a
// tarball; an empty project installs it with `npm ci`, offline, from the npm
// cache that the repository's own `npm ci` filled, at the versions the
// repository's lockfile pins and tests with. Then, with no TypeScript loader
// anywhere in that project:
//   - a plain ESM program imports the library, starts three nodes, writes
//     through the primary, reads on a secondary, fetches the dashboard page, and
//     stops them;
//   - the installed `understudy` command starts a node from a config file and
//     stops on SIGTERM with exit code 0;
//   - a TypeScript project type-checks against the shipped declaration files,
//     and a deliberate type error in it is reported (the types are not `any`).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { runTool } from '../tool-run.ts';
import { freePorts, HTTP_TIMEOUT_MS, NODE_START_TIMEOUT_MS, REPO_ROOT, waitFor } from '../integration/harness.ts';

/** `npm pack` includes the build (tsc over src/) and packing; a loaded 2-core machine is slow at both. */
const PACK_TIMEOUT_MS = 180_000;
/** Installing from the cache: no download, but ~90 packages unpacked. */
const INSTALL_TIMEOUT_MS = 180_000;
/** Type-checking the consumer project against the shipped declarations. */
const TYPECHECK_TIMEOUT_MS = 120_000;
/** The plain-JavaScript program: start a node, elect itself, write, read, stop. */
const PROGRAM_TIMEOUT_MS = 60_000;
const NPM = 'npm';

let dir: string;
let consumer: string;
let tarball: string;
let packedFiles: string[] = [];

interface LockEntry {
  dev?: boolean;
  [k: string]: unknown;
}

interface RepoPackage {
  dependencies: Record<string, string>;
  overrides: Record<string, unknown>;
  engines: unknown;
  bin: unknown;
  license: string;
  version: string;
}

function repoPackage(): RepoPackage {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as RepoPackage;
}

/** npm with the machine's cache and no audit/fund traffic; output kept for the assertion messages. */
function npm(args: string[], cwd: string, timeoutMs: number) {
  return runTool(NPM, [...args, '--no-audit', '--no-fund'], '', timeoutMs, { cwd });
}

/**
 * The consumer's lockfile: the tarball, plus every package the repository's lockfile installs
 * outside devDependencies, at the same place in node_modules (they are understudy's dependency
 * tree, hoisted exactly as in the repository). With the integrity of each, `npm ci --offline`
 * takes them from the cache.
 */
function consumerLock(tarballName: string, tarballIntegrity: string): unknown {
  const pkg = repoPackage();
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { understudy: `file:${tarballName}` } },
    'node_modules/understudy': {
      version: pkg.version,
      resolved: `file:${tarballName}`,
      integrity: tarballIntegrity,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === '' || entry.dev === true) continue;
    packages[key] = entry;
  }
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'understudy-pack-'));
  const packed = await npm(['pack', '--json', '--pack-destination', dir], REPO_ROOT, PACK_TIMEOUT_MS);
  assert.equal(packed.code, 0, `npm pack failed:\n${packed.stderr}`);
  // prepack's build output precedes the JSON on stdout.
  const json = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('\n[') + 1)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const info = json[0]!;
  tarball = join(dir, info.filename);
  packedFiles = info.files.map((f) => f.path);

  consumer = join(dir, 'consumer');
  mkdirSync(consumer);
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: { understudy: `file:../${info.filename}` },
      // What the README asks of a user on Node 20 with npm 11: npm applies overrides only at a
      // project's root, so the ones that keep two of fastify's dependencies on releases for
      // Node 20 are the user's to declare; and LMDB's and msgpackr's native addons may run
      // their install step.
      overrides: repoPackage().overrides,
      allowScripts: { lmdb: true, 'msgpackr-extract': true },
    }),
  );
  writeFileSync(join(consumer, 'package-lock.json'), JSON.stringify(consumerLock(`../${info.filename}`, integrity), null, 2));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the JavaScript build, its declarations and the dashboard, and no TypeScript source', () => {
  for (const f of ['package.json', 'bin/understudy.mjs', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/server/dashboard/index.html', 'dist/server/dashboard/app.js']) {
    assert.ok(packedFiles.includes(f), `${f} is in the tarball (files: ${packedFiles.length})`);
  }
  const stray = packedFiles.filter((f) => f.startsWith('src/') || f.startsWith('test/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
  assert.deepEqual(stray, [], 'no source or tests in the tarball');
});

test('an empty project installs the tarball offline with no warning', async () => {
  const r = await npm(['ci', '--offline'], consumer, INSTALL_TIMEOUT_MS);
  assert.equal(r.code, 0, `npm ci failed:\n${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(`${r.stdout}\n${r.stderr}`, /npm warn/i, 'npm ci printed a warning');
  assert.ok(existsSync(join(consumer, 'node_modules', 'understudy', 'dist', 'index.js')));
  assert.ok(!existsSync(join(consumer, 'node_modules', 'tsx')), 'no TypeScript loader came with it');
});

/** Three free ports and a one-member configuration: enough for a node that only has to serve its admin API. */
async function oneNodeConfig(id: string): Promise<Record<string, unknown>> {
  const [peer, redis, admin] = await freePorts(3);
  return {
    nodeId: id,
    dataDir: join(dir, `data-${id}`),
    members: [{ id, peerAddr: `127.0.0.1:${peer}`, redisAddr: `127.0.0.1:${redis}`, adminAddr: `127.0.0.1:${admin}` }],
    clusterSecret: 'tarball-test-cluster-secret',
    storage: 'lmdb',
    logLevel: 'warn',
  };
}

test('plain ESM JavaScript imports the installed library, starts three nodes, writes through the primary, reads on a secondary, stops them', async () => {
  const ports = await freePorts(9);
  const members = [0, 1, 2].map((i) => ({
    id: `js${i + 1}`,
    peerAddr: `127.0.0.1:${ports[3 * i]}`,
    redisAddr: `127.0.0.1:${ports[3 * i + 1]}`,
    adminAddr: `127.0.0.1:${ports[3 * i + 2]}`,
  }));
  writeFileSync(
    join(consumer, 'program.mjs'),
    `import { startNode, parseConfig } from 'understudy';
const { members, dir } = JSON.parse(process.argv[2]);
const nodes = await Promise.all(members.map((m) =>
  startNode(parseConfig({ nodeId: m.id, dataDir: dir + '/' + m.id, members, clusterSecret: 'tarball-test-cluster-secret', storage: 'lmdb', logLevel: 'warn' }))));
const exec = (n, ...args) => new Promise((resolve) => n.node.execute([args.map((a) => Buffer.from(a))], (replies) => resolve(replies)));
const text = (replies) => replies.map((r) => (r.t === 'bulk' && r.b ? r.b.toString() : r));
const deadline = Date.now() + ${NODE_START_TIMEOUT_MS};
let primary;
while (!(primary = nodes.find((n) => n.node.role() === 'primary' && n.node.status().leaseValid))) {
  if (Date.now() > deadline) throw new Error('no primary with a lease: ' + JSON.stringify(nodes.map((n) => n.node.status())));
  await new Promise((r) => setTimeout(r, 20));
}
const set = await exec(primary, 'SET', 'greeting', 'hello');
// Durable on every secondary before OK: a secondary's storage area already has it.
const secondary = nodes.find((n) => n !== primary);
const get = await exec(secondary, 'GET', 'greeting');
const page = await fetch('http://' + primary.addresses.admin + '/', { signal: AbortSignal.timeout(${HTTP_TIMEOUT_MS}) });
const html = await page.text();
await Promise.all(nodes.map((n) => n.stop()));
console.log(JSON.stringify({ set, get: text(get), page: page.status, dashboard: html.includes('<title>') }));
`,
  );
  const r = await runTool(process.execPath, ['program.mjs', JSON.stringify({ members, dir: join(dir, 'data-js') })], '', PROGRAM_TIMEOUT_MS, { cwd: consumer });
  assert.equal(r.code, 0, `program failed:\n${r.stdout}\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { set: unknown[]; get: unknown[]; page: number; dashboard: boolean };
  assert.deepEqual(out.set, [{ t: 'simple', s: 'OK' }]);
  assert.deepEqual(out.get, ['hello']);
  assert.equal(out.page, 200, 'the dashboard page is served from the installed package');
  assert.ok(out.dashboard, 'the dashboard page is HTML');
});

test('the installed understudy command starts a node from the build and stops on SIGTERM', async () => {
  const config = await oneNodeConfig('bin1');
  const file = join(dir, 'bin1.json');
  writeFileSync(file, JSON.stringify(config));
  const admin = (config['members'] as Array<{ adminAddr: string }>)[0]!.adminAddr;
  const child = spawn(join(consumer, 'node_modules', '.bin', 'understudy'), ['start', '--config', file], { cwd: consumer, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const status = await waitFor(`the installed command's node to serve /status (output: ${output})`, NODE_START_TIMEOUT_MS, async () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${output}`);
      try {
        const res = await fetch(`http://${admin}/status`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
        return res.ok ? ((await res.json()) as { id: string }) : undefined;
      } catch {
        return undefined;
      }
    });
    assert.equal(status.id, 'bin1');
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, `exit code after SIGTERM; output:\n${output}`);
});

test('a TypeScript project type-checks against the shipped declarations, and a type error in it is caught', async () => {
  const project = join(consumer, 'ts');
  mkdirSync(project);
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        // The shipped declarations are checked too, not skipped.
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [join(REPO_ROOT, 'node_modules', '@types')],
      },
      include: ['*.ts'],
    }),
  );
  writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  const good = `import { startNode, parseConfig, type StartedNode, type NodeStatus, type Role } from 'understudy';
const n: StartedNode = await startNode(parseConfig({}));
const s: NodeStatus = n.node.status();
const role: Role = s.role;
const lsn: number = s.log.lastLsn;
n.node.on('failover', (r) => console.log(r.newPrimary, r.detectionMs.toFixed(0), role, lsn));
await n.stop();
`;
  writeFileSync(join(project, 'good.ts'), good);
  // The compiler the repository type-checks with (the native one: seconds, not a minute, on 2 cores).
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript-7', 'bin', 'tsc');
  const ok = await runTool(process.execPath, [tsc, '-p', project], '', TYPECHECK_TIMEOUT_MS, { cwd: project });
  assert.equal(ok.code, 0, `type errors:\n${ok.stdout}${ok.stderr}`);

  // The same program with a status field that does not exist: the declarations must reject it.
  writeFileSync(join(project, 'bad.ts'), `import type { NodeStatus } from 'understudy';\nexport const f = (s: NodeStatus): number => s.noSuchField;\n`);
  const bad = await runTool(process.execPath, [tsc, '-p', project], '', TYPECHECK_TIMEOUT_MS, { cwd: project });
  assert.notEqual(bad.code, 0, 'a misuse of the types was accepted');
  assert.match(bad.stdout, /bad\.ts.*Property 'noSuchField' does not exist on type/);
  assert.doesNotMatch(bad.stdout, /good\.ts/);
});
