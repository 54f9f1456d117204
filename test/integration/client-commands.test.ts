// Client commands on a real 3-node process cluster with real clients: redis-cli MONITOR on the
// primary streams what ioredis writes, in Redis's line format (and a secondary's monitor shows
// only its own clients' commands); CLIENT KILL ID closes an ioredis connection; CLIENT PAUSE
// WRITE holds an ioredis write while reads pass, and the write runs (replicated) at UNPAUSE.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { ProcessCluster, SHARED_MACHINE_TIMING, waitFor } from './harness.ts';

/** How long a command's effect may take to show (a monitor line, a closed connection, a replicated write). */
const SHOW_TIMEOUT_MS = 10_000;

let cluster: ProcessCluster;
const clients: Redis[] = [];
const tools: ChildProcess[] = [];

function client(id: string, extra: Record<string, unknown> = {}): Redis {
  const r = new Redis({ port: cluster.spec(id).redisPort, host: '127.0.0.1', maxRetriesPerRequest: 1, ...extra });
  clients.push(r);
  return r;
}

/** redis-cli MONITOR on a node; `lines()` is what it printed so far. */
function monitor(id: string): { lines: () => string[]; stop: () => void } {
  const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(cluster.spec(id).redisPort), 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
  tools.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  return { lines: () => out.split('\n').filter((l) => l.length > 0), stop: () => child.kill('SIGTERM') };
}

before(async () => {
  cluster = await ProcessCluster.create({ nodes: 3, extra: { timing: SHARED_MACHINE_TIMING } });
  await cluster.startAll();
});

after(async () => {
  for (const t of tools) if (t.exitCode === null && t.signalCode === null) t.kill('SIGKILL');
  for (const c of clients) c.disconnect();
  await cluster?.close();
});

/** A MONITOR line: seconds with microseconds, database 0, the client's address, the quoted arguments. */
const LINE = /^(\d+)\.(\d{6}) \[0 127\.0\.0\.1:(\d+)\] (.*)$/;

test('redis-cli MONITOR on the primary prints every command ioredis sends, in Redis line format; a secondary shows only its own clients', async () => {
  const primary = await cluster.waitPrimary();
  const secondary = cluster.specs.find((s) => s.id !== primary)!.id;
  const onPrimary = monitor(primary);
  const onSecondary = monitor(secondary);
  await waitFor('both monitors to start', SHOW_TIMEOUT_MS, () => (onPrimary.lines()[0] === 'OK' && onSecondary.lines()[0] === 'OK' ? true : undefined));
  const writer = client(primary, { connectionName: 'writer' });
  await writer.set('mon:k', 'v 1"\n');
  await writer.incr('mon:n');
  await writer.multi().hset('mon:h', 'f', 'x').hget('mon:h', 'f').exec();
  const writerPort = (await writer.client('INFO')).toString().match(/addr=127\.0\.0\.1:(\d+)/)![1];
  const atSecondary = client(secondary);
  // A write sent to a secondary is refused before it runs: its monitor does not show it, as a Redis replica's does not.
  await assert.rejects(atSecondary.set('mon:ro', 'x'), /READONLY/);
  await atSecondary.get('mon:k');
  const wanted = ['"set" "mon:k" "v 1\\"\\n"', '"incr" "mon:n"', '"multi"', '"hset" "mon:h" "f" "x"', '"hget" "mon:h" "f"', '"exec"'];
  const lines = await waitFor('the writer\'s commands on the primary\'s monitor', SHOW_TIMEOUT_MS, () => {
    const mine = onPrimary.lines().slice(1).map((l) => LINE.exec(l)).filter((m) => m !== null && m[3] === writerPort).map((m) => m![4]!);
    return wanted.every((w) => mine.includes(w)) ? mine : undefined;
  });
  // In the order they ran; CLIENT INFO and the admin-less commands ioredis sends at connect are there too.
  const order = wanted.map((w) => lines.indexOf(w));
  assert.deepEqual([...order].sort((a, b) => a - b), order, lines.join('\n'));
  for (const l of onPrimary.lines().slice(1)) assert.match(l, LINE);
  await waitFor('the secondary\'s own GET on its monitor', SHOW_TIMEOUT_MS, () => (onSecondary.lines().some((l) => l.endsWith('"get" "mon:k"')) ? true : undefined));
  // The writes reached the secondary as updates, not as commands: its monitor does not show them.
  assert.ok(!onSecondary.lines().some((l) => l.includes('"set" "mon:k"') || l.includes('"set" "mon:ro"')), onSecondary.lines().join('\n'));
  onPrimary.stop();
  onSecondary.stop();
});

test('CLIENT KILL ID closes an ioredis connection; TYPE and USER filters count what they close', async () => {
  const primary = await cluster.waitPrimary();
  const victim = client(primary, { connectionName: 'victim', retryStrategy: () => null });
  await victim.ping();
  const closed = new Promise<void>((resolve) => victim.once('end', () => resolve()));
  const admin = client(primary);
  const list = (await admin.client('LIST')) as string;
  const line = list.split('\n').find((l) => / name=victim /.test(l));
  assert.ok(line, list);
  const id = line.match(/^id=(\d+)/)![1]!;
  assert.equal(await admin.client('KILL', 'ID', id), 1);
  await closed;
  assert.equal(victim.status, 'end');
  assert.ok(!((await admin.client('LIST')) as string).includes(`id=${id} `));
  assert.equal(await admin.call('CLIENT', 'KILL', 'TYPE', 'replica'), 0);
  await assert.rejects(admin.call('CLIENT', 'KILL', 'USER', 'nobody'), /ERR No such user 'nobody'/);
});

test('CLIENT PAUSE WRITE on the primary holds an ioredis write while reads pass; at UNPAUSE the write runs and reaches the secondaries', async () => {
  const primary = await cluster.waitPrimary();
  const secondary = cluster.specs.find((s) => s.id !== primary)!.id;
  const admin = client(primary);
  const reader = client(primary);
  const writer = client(primary, { connectionName: 'held-writer', commandTimeout: 60_000 });
  await writer.set('pause:k', 'before');
  assert.equal(await admin.client('PAUSE', '60000', 'WRITE'), 'OK');
  let answered = false;
  const write = writer.set('pause:k', 'after').then((r) => {
    answered = true;
    return r;
  });
  await waitFor('the write to be held (flag b)', SHOW_TIMEOUT_MS, async () => (/ name=held-writer .*flags=b /.test((await admin.client('LIST')) as string) ? true : undefined));
  // Reads pass while the write waits, and see the value from before it.
  assert.equal(await reader.get('pause:k'), 'before');
  assert.equal(await reader.exists('pause:k'), 1);
  assert.equal(answered, false);
  assert.equal(await admin.client('UNPAUSE'), 'OK');
  assert.equal(await write, 'OK');
  assert.equal(await reader.get('pause:k'), 'after');
  const onSecondary = client(secondary);
  await waitFor('the write on a secondary', SHOW_TIMEOUT_MS, async () => ((await onSecondary.get('pause:k')) === 'after' ? true : undefined));
});
