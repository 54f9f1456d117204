// `understudy cluster up` end to end: three real node processes with generated
// configurations, reachable with ioredis (Sentinel mode), log lines prefixed
// with the node id, `understudy status` and `switchover` against the real admin
// API (the old primary closes its clients, +switch-master is published), and
// SIGTERM to the launcher stopping every child (checked by the PIDs the nodes
// report in INFO).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { PORT_STRIDE } from '../../src/cli/cluster-up.ts';
import { rawConnect } from '../server/raw-client.ts';

const BIN = new URL('../../bin/understudy.mjs', import.meta.url).pathname;
const START_DEADLINE_MS = 60_000;
const STOP_DEADLINE_MS = 30_000;

async function portFree(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port whose four blocks (redis, peer, sentinel, admin) are free for `n` nodes. */
async function freeBase(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    let ok = true;
    for (let block = 0; block < 4 && ok; block++) for (let i = 0; i < n && ok; i++) ok = await portFree(base + block * PORT_STRIDE + i);
    if (ok) return base;
  }
  throw new Error('no free block of ports found in 50 attempts');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every node's PID, from INFO server on its Redis port. */
async function nodePids(base: number, n: number): Promise<number[]> {
  const pids: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = new Redis({ port: base + i, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, commandTimeout: ATTEMPT_TIMEOUT_MS });
    r.on('error', () => undefined);
    try {
      await r.connect();
      pids.push(Number(/process_id:(\d+)/.exec(await r.info('server'))![1]));
    } finally {
      r.disconnect();
    }
  }
  return pids;
}

/** One attempt of `eventually` gives up after this long (a client may wait on a dead connection). */
const ATTEMPT_TIMEOUT_MS = 3000;
/** Ceiling on each test; every wait inside is bounded well below it. */
const TEST_TIMEOUT_MS = 180_000;

/** Retries `fn` until it resolves truthy, at most `deadlineMs`; each attempt is bounded too. */
async function eventually(what: string, deadlineMs: number, fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    const attempt = Promise.race([fn().catch(() => false), sleep(ATTEMPT_TIMEOUT_MS).then(() => false)]);
    if (await attempt) return;
    await sleep(200);
  }
  assert.fail(`${what}: not within ${deadlineMs} ms`);
}

/** Stops the launcher (SIGTERM, then SIGKILL) and kills any node it left behind, all by PID. */
async function cleanup(child: ReturnType<typeof spawn>, exited: Promise<unknown>, pids: readonly number[]): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    process.kill(child.pid, 'SIGTERM');
    await Promise.race([exited, sleep(STOP_DEADLINE_MS)]);
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
}

test('cluster up: three nodes, Sentinel discovery, status, a switchover (clients closed, +switch-master), SIGTERM stops every child', { timeout: TEST_TIMEOUT_MS }, async () => {
  const data = mkdtempSync(join(tmpdir(), 'understudy-cluster-'));
  const base = await freeBase(3);
  const child = spawn(process.execPath, [BIN, 'cluster', 'up', '--nodes', '3', '--base-port', String(base), '--data', data, '--storage', 'memory'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const sentinels = [0, 1, 2].map((i) => ({ host: '127.0.0.1', port: base + 2 * PORT_STRIDE + i }));
  const client = new Redis({ sentinels, name: 'understudy', lazyConnect: true, maxRetriesPerRequest: 3, retryStrategy: () => 200, sentinelRetryStrategy: () => 200, commandTimeout: ATTEMPT_TIMEOUT_MS });
  client.on('error', () => undefined);
  let pids: number[] = [];
  try {
    // Bounded wait for an elected primary reachable through the sentinel ports.
    await eventually('a first write through Sentinel discovery', START_DEADLINE_MS, async () => {
      if (client.status === 'wait' || client.status === 'end') await client.connect();
      return (await client.set('hello', 'world')) === 'OK';
    });
    assert.equal(await client.get('hello'), 'world');
    assert.match(out, new RegExp(`redis-cli -h 127\\.0\\.0\\.1 -p ${base}`));
    assert.match(out, /^\[n1\] /m, 'child output is prefixed with the node id');
    assert.match(out, /^\[n3\] /m);
    pids = await nodePids(base, 3);
    assert.equal(new Set(pids).size, 3);
    // `understudy status` against the real admin API: one row per node, one primary.
    const status = await runCli(['status', '--admin', `http://127.0.0.1:${base + 3 * PORT_STRIDE}`]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^primary: n[123] \(epoch \d+\)$/m);
    assert.equal(status.stdout.split('\n').filter((l) => /^n[123]\s+(primary|secondary)\s+\d+/.test(l)).length, 3, status.stdout);
    // A switchover: the old primary closes its client connections, every sentinel port publishes
    // +switch-master, and Sentinel-aware clients write to the new primary.
    const sentinel = new Redis({ port: sentinels[0]!.port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => null, commandTimeout: ATTEMPT_TIMEOUT_MS });
    sentinel.on('error', () => undefined);
    const [, oldPort] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'understudy')) as [string, string];
    const subscriber = new Redis({ port: sentinels[1]!.port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => null, commandTimeout: ATTEMPT_TIMEOUT_MS });
    subscriber.on('error', () => undefined);
    const switches: string[] = [];
    subscriber.on('message', (_channel: string, msg: string) => switches.push(msg));
    await subscriber.subscribe('+switch-master');
    const onOld = await rawConnect(Number(oldPort));
    onOld.write('PING\r\n');
    await onOld.until((d) => d === '+PONG\r\n');
    const admins = [0, 1, 2].map((i) => `http://127.0.0.1:${base + 3 * PORT_STRIDE + i}`).join(',');
    const sw = await runCli(['switchover', '--admin', admins]);
    assert.equal(sw.code, 0, sw.stderr);
    await onOld.closed();
    await eventually('+switch-master on a sentinel port', 10_000, async () => switches.length > 0);
    assert.match(switches[0]!, new RegExp(`^understudy 127\\.0\\.0\\.1 ${oldPort} 127\\.0\\.0\\.1 \\d+$`));
    await eventually('a write on the new primary', START_DEADLINE_MS, async () => (await client.set('after', 'switchover')) === 'OK');
    assert.equal(await client.get('hello'), 'world');
    const [, newPort] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'understudy')) as [string, string];
    assert.notEqual(newPort, oldPort);
    sentinel.disconnect();
    subscriber.disconnect();
    client.disconnect();
    process.kill(child.pid!, 'SIGTERM');
    const code = await Promise.race([exited, sleep(STOP_DEADLINE_MS).then(() => 'timeout' as const)]);
    assert.equal(code, 0, `cluster up exit: ${String(code)}; output:\n${out}`);
    for (const pid of pids) assert.equal(alive(pid), false, `node process ${pid} still running`);
  } finally {
    client.disconnect();
    await cleanup(child, exited, pids);
    rmSync(data, { recursive: true, force: true });
  }
});

test('ioredis in Sentinel mode follows a failover when the primary process is killed, and the acknowledged write survives', { timeout: TEST_TIMEOUT_MS }, async () => {
  const data = mkdtempSync(join(tmpdir(), 'understudy-cluster-'));
  const base = await freeBase(3);
  const child = spawn(process.execPath, [BIN, 'cluster', 'up', '--nodes', '3', '--base-port', String(base), '--data', data, '--storage', 'memory', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const sentinels = [0, 1, 2].map((i) => ({ host: '127.0.0.1', port: base + 2 * PORT_STRIDE + i }));
  const client = new Redis({ sentinels, name: 'understudy', maxRetriesPerRequest: 5, retryStrategy: () => 100, sentinelRetryStrategy: () => 100, commandTimeout: ATTEMPT_TIMEOUT_MS });
  client.on('error', () => undefined);
  let pids: number[] = [];
  try {
    await eventually('a first write through Sentinel discovery', START_DEADLINE_MS, async () => (await client.set('k', 'acked')) === 'OK');
    pids = await nodePids(base, 3);
    const sentinel = new Redis({ port: sentinels[0]!.port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => null, commandTimeout: ATTEMPT_TIMEOUT_MS });
    sentinel.on('error', () => undefined);
    const addr = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'understudy')) as string[];
    sentinel.disconnect();
    const primaryIndex = Number(addr[1]) - base;
    assert.ok(primaryIndex >= 0 && primaryIndex < 3, `primary at ${addr.join(':')}`);
    process.kill(pids[primaryIndex]!, 'SIGKILL');
    // The client is disconnected, asks the sentinels again, and reaches the new primary.
    await eventually('a write on the new primary', START_DEADLINE_MS, async () => (await client.set('k2', 'after')) === 'OK');
    assert.equal(await client.get('k'), 'acked', 'the write acknowledged before the failover is still there');
    const now = (await client.call('ROLE')) as unknown[];
    assert.equal(now[0], 'master');
    assert.match(out, new RegExp(`\\[n${primaryIndex + 1}\\] exited \\(SIGKILL\\); the other nodes keep running`));
    client.disconnect();
    process.kill(child.pid!, 'SIGTERM');
    const code = await Promise.race([exited, sleep(STOP_DEADLINE_MS).then(() => 'timeout' as const)]);
    assert.equal(code, 1, 'cluster up reports that a node exited on its own');
    for (const pid of pids) assert.equal(alive(pid), false, `node process ${pid} still running`);
  } finally {
    client.disconnect();
    await cleanup(child, exited, pids);
    rmSync(data, { recursive: true, force: true });
  }
});
