// The `understudy` command line: help texts, configuration errors through the
// real launcher, the status table and switchover against a real HTTP server
// speaking the admin API's shapes, and the local cluster's layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/program.ts';
import { connectionHelp, planCluster, type ClusterUpOptions } from '../../src/cli/cluster-up.ts';
import { formatClusterStatus } from '../../src/cli/status.ts';
import type { NodeStatus } from '../../src/runtime/node-api.ts';

const BIN = new URL('../../bin/understudy.mjs', import.meta.url).pathname;

function capture() {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d: Buffer) => (o += d.toString()));
  err.on('data', (d: Buffer) => (e += d.toString()));
  return { io: { out, err }, out: () => o, err: () => e };
}

function runBin(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`understudy ${args.join(' ')} did not exit in 20 s: ${stdout} ${stderr}`));
    }, 20_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function status(id: string, role: NodeStatus['role'], over: Partial<NodeStatus> = {}): NodeStatus {
  return {
    id,
    role,
    epoch: 4,
    primaryId: 'n1',
    leaseValid: role === 'primary',
    log: { start: 11, nextToClear: 12, appliedLsn: 120, commitLsn: 120, lastLsn: 121, durableLsn: 121, bytes: 4096, segments: 1 },
    secondaries: [],
    inFlight: [],
    regionalCounters: {},
    dirtyRegions: [],
    incarnation: 1,
    lostData: null,
    keys: 42,
    ...over,
  };
}

const CLUSTER = {
  servedBy: 'n1',
  demo: false,
  at: 1,
  nodes: [
    status('n1', 'primary', {
      secondaries: [
        { id: 'n2', inDest: true, connection: 'connected', sentLsn: 121, ackedLsn: 120, lagUpdates: 1, lagMs: 3, resyncRegions: 0, incarnation: 1 },
        { id: 'n3', inDest: false, connection: 'down', sentLsn: 90, ackedLsn: 90, lagUpdates: 31, lagMs: 5000, resyncRegions: 0, incarnation: 1 },
      ],
    }),
    status('n2', 'secondary', { log: { start: 11, nextToClear: 12, appliedLsn: 119, commitLsn: 119, lastLsn: 120, durableLsn: 120, bytes: 1, segments: 1 } }),
    { id: 'n3', error: 'connect ECONNREFUSED 127.0.0.1:7303' },
  ],
};

/** A real HTTP server answering like the admin API; records requests. */
async function adminServer(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const json = (res: ServerResponse, code: number, v: unknown): void => {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(v));
};

test('--help everywhere, with examples', async () => {
  for (const args of [['--help'], ['start', '--help'], ['cluster', 'up', '--help'], ['status', '--help'], ['switchover', '--help']]) {
    const c = capture();
    assert.equal(await runCli(args, c.io), 0, args.join(' '));
    assert.match(c.out(), /Usage: understudy/);
    assert.match(c.out(), /Examples:\n {2}\$ understudy/, `${args.join(' ')} shows examples`);
  }
  const c = capture();
  assert.equal(await runCli(['nosuch'], c.io), 1);
  assert.match(c.err(), /unknown command 'nosuch'/);
});

test('the launcher runs the CLI; start with a bad config exits 2 naming the key and the fix', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-cli-'));
  try {
    const file = join(dir, 'n1.json');
    writeFileSync(file, JSON.stringify({ nodeId: 'n1', dataDir: dir, clusterSecret: 'short', members: [{ id: 'n1', peerAddr: '127.0.0.1:1', redisAddr: '127.0.0.1:2' }], storge: 'memory' }));
    const r = await runBin(['start', '--config', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /clusterSecret: must be at least 16 characters/);
    assert.match(r.stderr, /storge: unknown key; did you mean "storage"\?/);
    // Flags are validated too, and beat the environment.
    const r2 = await runBin(['start', '--config', file, '--set', 'limits.maxClientz=1'], { UNDERSTUDY_LOG_LEVEL: 'debug' });
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /--set limits\.maxClientz: unknown key; did you mean "limits\.maxClients"\?/);
    const r3 = await runBin(['--version']);
    assert.equal(r3.stdout.trim(), '0.1.0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('status prints one row per node with role, epoch, log positions and lag; exit 2 when a node is unreachable', async () => {
  const seen: string[] = [];
  const admin = await adminServer((req, _body, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
    if (req.url === '/cluster') return json(res, 200, CLUSTER);
    json(res, 404, { code: 'NOT_FOUND', message: 'no route' });
  });
  try {
    const c = capture();
    assert.equal(await runCli(['status', '--admin', admin.url, '--token', 'tok-123'], c.io), 2);
    const lines = c.out().split('\n');
    assert.equal(lines[0], 'primary: n1 (epoch 4)');
    assert.match(lines[2]!, /^NODE\s+ROLE\s+EPOCH\s+LOG START\s+APPLIED\s+END\s+LAG\s+KEYS$/);
    assert.match(lines[4]!, /^n1\s+primary\s+4\s+11\s+120\s+121\s+-\s+42$/);
    assert.match(lines[5]!, /^n2\s+secondary\s+4\s+11\s+119\s+120\s+1 upd \/ 3 ms\s+42$/);
    assert.match(lines[6]!, /^n3\s+unreachable\s+-.*connect ECONNREFUSED 127\.0\.0\.1:7303$/);
    assert.deepEqual(seen, ['GET /cluster Bearer tok-123']);
    const j = capture();
    await runCli(['status', '--admin', admin.url, '--json'], j.io);
    assert.deepEqual(JSON.parse(j.out()), CLUSTER);
  } finally {
    await admin.close();
  }
});

test('status: a lagging, out-of-dest secondary and a primary without a lease are shown as such', () => {
  const text = formatClusterStatus({
    nodes: [
      status('n1', 'primary', {
        leaseValid: false,
        secondaries: [{ id: 'n3', inDest: false, connection: 'down', sentLsn: 90, ackedLsn: 90, lagUpdates: 31, lagMs: 5000, resyncRegions: 0, incarnation: 1 }],
      }),
      status('n3', 'secondary'),
    ],
  });
  assert.match(text, /n1\s+primary \(no lease\)/);
  assert.match(text, /n3\s+secondary\s+4\s+11\s+120\s+121\s+31 upd \/ 5000 ms \(out of dest\) \[down\]/);
  assert.match(formatClusterStatus({ nodes: [status('n2', 'candidate')] }), /^primary: none known/);
});

test('status and switchover report HTTP errors with the URL, and a hint on 401', async () => {
  const bodies: string[] = [];
  const admin = await adminServer((req, body, res) => {
    if (req.url === '/switchover' && req.method === 'POST') {
      bodies.push(body);
      if (req.headers.authorization !== 'Bearer good-token') return json(res, 401, { code: 'NOAUTH', message: 'invalid admin token' });
      const to = (JSON.parse(body) as { to?: string }).to;
      return json(res, 200, to === 'n3' ? { ok: true, primaryId: null, epoch: 6 } : { ok: true, primaryId: 'n2', epoch: 5 });
    }
    json(res, 401, { code: 'NOAUTH', message: 'authentication required' });
  });
  try {
    const a = capture();
    assert.equal(await runCli(['switchover', '--to', 'n2', '--admin', admin.url, '--token', 'good-token'], a.io), 0);
    assert.equal(a.out(), 'switchover done: primary is n2 at epoch 5\n');
    assert.deepEqual(JSON.parse(bodies[0]!), { to: 'n2' });
    const b = capture();
    assert.equal(await runCli(['switchover', '--admin', admin.url, '--to', 'n3', '--token', 'good-token'], b.io), 0);
    assert.equal(b.out(), 'switchover done at epoch 6; the new primary is being announced (see: understudy status)\n');
    assert.equal(await runCli(['switchover', '--admin', admin.url], b.io), 1);
    assert.deepEqual(JSON.parse(bodies[2]!), {}, 'without --to the node picks the target');
    assert.match(b.err(), /POST http:\/\/127\.0\.0\.1:\d+\/switchover: HTTP 401: invalid admin token \(pass --token or set UNDERSTUDY_ADMIN_TOKEN\)/);
    const c = capture();
    assert.equal(await runCli(['status', '--admin', admin.url], c.io), 1);
    assert.match(c.err(), /HTTP 401: authentication required/);
  } finally {
    await admin.close();
  }
  // A port that was just free: nothing listens there.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const freePort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const d = capture();
  assert.equal(await runCli(['status', '--admin', `http://127.0.0.1:${freePort}`], d.io), 1);
  assert.match(d.err(), new RegExp(`cannot reach the admin API at http://127\\.0\\.0\\.1:${freePort}/cluster: ECONNREFUSED`));
});

test('switchover goes to each admin URL until the primary accepts; status uses the first that answers', async () => {
  const hits: string[] = [];
  const secondary = await adminServer((req, _body, res) => {
    hits.push(`secondary ${req.method} ${req.url}`);
    if (req.url === '/cluster') return json(res, 200, CLUSTER);
    json(res, 409, { code: 'NOT_PRIMARY', message: 'this node is not the primary (the primary is n1)' });
  });
  const primary = await adminServer((req, body, res) => {
    hits.push(`primary ${req.method} ${req.url} ${body}`);
    json(res, 200, { ok: true, primaryId: 'n2', epoch: 9 });
  });
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const down = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((r) => probe.close(() => r()));
  try {
    const a = capture();
    assert.equal(await runCli(['switchover', '--to', 'n2', '--admin', `${down},${secondary.url}, ${primary.url}`], a.io), 0, a.err());
    assert.equal(a.out(), 'switchover done: primary is n2 at epoch 9\n');
    assert.deepEqual(hits, ['secondary POST /switchover', 'primary POST /switchover {"to":"n2"}']);
    const b = capture();
    assert.equal(await runCli(['switchover', '--admin', `${secondary.url},${secondary.url}`], b.io), 1);
    assert.match(b.err(), /HTTP 409: this node is not the primary \(the primary is n1\)\nno admin URL given is the primary's: pass every node's admin URL/);
    const c = capture();
    assert.equal(await runCli(['status', '--admin', `${down},${secondary.url}`], c.io), 2);
    assert.match(c.out(), /^primary: n1 \(epoch 4\)/);
    const d = capture();
    assert.equal(await runCli(['status', '--admin', ' , '], d.io), 1);
    assert.match(d.err(), /no admin URL given: pass --admin http:\/\/host:port/);
  } finally {
    await secondary.close();
    await primary.close();
  }
});

const BASE: ClusterUpOptions = {
  nodes: 3,
  basePort: 7001,
  data: '/tmp/us-data',
  storage: 'lmdb',
  witness: false,
  host: '127.0.0.1',
  masterName: 'understudy',
  logLevel: 'info',
  demo: false,
};

test('cluster up lays out ids, ports, data directories and valid configurations', () => {
  const plan = planCluster({ ...BASE, witness: true, nodes: 2, storage: 'memory' }, 'f'.repeat(32));
  assert.deepEqual(
    plan.map((n) => [n.id, n.kind, n.redisPort, n.sentinelPort, n.adminPort, n.configPath]),
    [
      ['n1', 'data', 7001, 7201, 7301, '/tmp/us-data/cluster/n1.json'],
      ['n2', 'data', 7002, 7202, 7302, '/tmp/us-data/cluster/n2.json'],
      ['w1', 'witness', undefined, undefined, 7303, '/tmp/us-data/cluster/w1.json'],
    ],
  );
  const n1 = plan[0]!.config;
  assert.equal(n1.dataDir, '/tmp/us-data/n1');
  assert.equal(n1.storage, 'memory');
  assert.equal(n1.clusterSecret, 'f'.repeat(32));
  assert.deepEqual(n1.members?.[2], { id: 'w1', kind: 'witness', peerAddr: '127.0.0.1:7103', adminAddr: '127.0.0.1:7303' });
  assert.deepEqual(n1.members?.[0], { id: 'n1', kind: 'data', redisAddr: '127.0.0.1:7001', peerAddr: '127.0.0.1:7101', sentinelAddr: '127.0.0.1:7201', adminAddr: '127.0.0.1:7301' });
  const help = connectionHelp(plan, BASE);
  assert.match(help, /redis-cli -h 127\.0\.0\.1 -p 7001/);
  assert.match(help, /new Redis\(\{ sentinels: \[\{ host: '127\.0\.0\.1', port: 7201 \}, \{ host: '127\.0\.0\.1', port: 7202 \}\], name: 'understudy' \}\)/);
  assert.match(help, /http:\/\/127\.0\.0\.1:7301\//);
  assert.match(help, /understudy switchover --to <id> --admin http:\/\/127\.0\.0\.1:7301,http:\/\/127\.0\.0\.1:7302,http:\/\/127\.0\.0\.1:7303$/m);
  assert.throws(() => planCluster({ ...BASE, nodes: 0 }), /--nodes must be an integer from 1 to 15 \(got 0\)/);
  assert.throws(() => planCluster({ ...BASE, basePort: 65300 }), /--base-port must be an integer ≥ 1024 leaving room/);
  assert.throws(() => planCluster({ ...BASE, requirePass: '' }), /requirePass/);
});

test('cluster up refuses bad flags before starting anything', async () => {
  const c = capture();
  assert.equal(await runCli(['cluster', 'up', '--nodes', '99'], c.io), 1);
  assert.match(c.err(), /--nodes must be an integer from 1 to 15/);
  const d = capture();
  assert.equal(await runCli(['cluster', 'up', '--storage', 'rocks'], d.io), 1);
  assert.match(d.err(), /Allowed choices are lmdb, memory/);
});

test('bad admin URLs and --watch-seconds are refused at once, naming the value and the form wanted', async () => {
  for (const url of ['notaurl', '127.0.0.1:7301', 'ftp://127.0.0.1:7301', 'http://127.0.0.1:7301,nope']) {
    const c = capture();
    assert.equal(await runCli(['status', '--admin', url], c.io), 1, url);
    assert.match(c.err(), /admin URL ".+" is not an http:\/\/ or https:\/\/ URL: pass e\.g\. --admin http:\/\/127\.0\.0\.1:7301/, url);
  }
  // Before, a --watch-seconds that was not a number watched forever (NaN never passes a deadline).
  for (const v of ['abc', '0', '-1', '1e400', '1.5']) {
    const c = capture();
    assert.equal(await runCli(['status', '--watch', '--watch-seconds', v, '--admin', 'http://127.0.0.1:1'], c.io), 1, v);
    assert.match(c.err(), /--watch-seconds must be an integer from 1 to 604800/, v);
  }
});
