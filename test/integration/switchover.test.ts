// A planned switchover under load through the CLI (`understudy switchover --to`,
// which posts to a node's admin API): the primary role moves to the named node,
// the Sentinel-aware client follows, and no acknowledged write is lost.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { BIN, assertNoneLost, ProcessCluster, sentinelClient, REPO_ROOT, writeLoad, SHARED_MACHINE_TIMING } from './harness.ts';

const MAX_WRITES = 5000;
const MAX_LOAD_MS = 15_000;
const SWITCH_AFTER_ACKS = 800;
const WORKERS = 4;
/** The CLI process (TypeScript loader included) must be done within this long. */
const CLI_TIMEOUT_MS = 20_000;

let cluster: ProcessCluster;
let redis: Redis | null = null;

before(async () => {
  cluster = await ProcessCluster.create({ nodes: 3, extra: { timing: SHARED_MACHINE_TIMING } });
  await cluster.startAll();
});

after(async () => {
  redis?.disconnect();
  await cluster?.close();
});

test('switchover under load through the CLI and the admin API: zero acknowledged writes lost', async (t) => {
  const first = await cluster.waitPrimary();
  const target = cluster.specs.map((s) => s.id).find((id) => id !== first)!;
  redis = sentinelClient(cluster);
  await redis.set('warmup', '1');

  let cli: Promise<{ stdout: string; stderr: string }> | null = null;
  let acks = 0;
  let acksWhenSwitched = -1;
  const load = await writeLoad(redis, {
    prefix: 'sw',
    workers: WORKERS,
    maxWrites: MAX_WRITES,
    maxMs: MAX_LOAD_MS,
    onAck: (n) => {
      acks = n;
      if (n >= SWITCH_AFTER_ACKS && cli === null) {
        cli = promisify(execFile)(process.execPath, [BIN, 'switchover', '--admin', cluster.adminUrl(first), '--to', target], {
          cwd: REPO_ROOT,
          timeout: CLI_TIMEOUT_MS,
        });
        cli.then(
          () => (acksWhenSwitched = acks),
          () => undefined,
        );
      }
    },
  });
  assert.ok(cli, 'the load ended before the switchover');
  const c = await (cli as Promise<{ stdout: string; stderr: string }>);
  t.diagnostic(`understudy switchover: ${c.stdout.trim()}`);

  const now = await cluster.waitPrimary();
  assert.equal(now, target);
  await assertNoneLost(redis, load.acked);
  assert.ok(acksWhenSwitched >= 0 && load.acked.size > acksWhenSwitched, `writes were acknowledged after the switchover (${acksWhenSwitched} before, ${load.acked.size} in all)`);

  await redis.set('after-switchovers', 'x');
  const st = await cluster.converged();
  assert.equal(new Set([...st.values()].map((s) => s.digest)).size, 1);
  t.diagnostic(
    `writes: ${load.attempts} attempted, ${load.acked.size} acknowledged, ${load.unknown.size} unknown, 0 lost; ` +
      `switchover ${first} → ${target} after ${acksWhenSwitched} acks; longest client-observed gap ${load.maxGapMs} ms`,
  );
});

test('switchover --if-primary, as a stop hook on every node: a secondary does nothing, the primary hands over', async () => {
  const primary = await cluster.waitPrimary();
  const secondary = cluster.specs.map((s) => s.id).find((id) => id !== primary)!;
  const run = (id: string) => promisify(execFile)(process.execPath, [BIN, 'switchover', '--if-primary', '--admin', cluster.adminUrl(id)], { cwd: REPO_ROOT, timeout: CLI_TIMEOUT_MS });
  const s = await run(secondary);
  assert.equal(s.stdout, `${secondary} is not the primary (secondary); nothing to hand over\n`);
  assert.equal(await cluster.waitPrimary(), primary, 'the primary stays where it was');
  const p = await run(primary);
  assert.match(p.stdout, /^switchover done/);
  const next = await cluster.waitPrimary(undefined, primary);
  assert.notEqual(next, primary);
});
