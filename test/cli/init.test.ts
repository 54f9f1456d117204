// Bootstrapping a new cluster: `understudy init` on each member's configuration, then the
// members vote and stand at once, so two of three elect a primary and take writes while the
// third is still down (without init each would wait for every other voter's answer, as a member
// that lost its disk must). init refuses a directory that holds anything, and `cluster up`
// initialises only when no member has anything yet: a member whose directory was emptied in an
// existing cluster still starts as one that lost its data.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { initNewCluster, planCluster } from '../../src/cli/cluster-up.ts';
import { initDataDir } from '../../src/host/init-data-dir.ts';
import { isUnderstudyError } from '../../src/errors.ts';
import { BIN, CONVERGE_TIMEOUT_MS, ProcessCluster, REPO_ROOT, SHARED_MACHINE_TIMING, waitFor } from '../integration/harness.ts';

test('initialised members of a new cluster: two of three elect a primary and commit writes, with no DATA_LOST; the third joins later and catches up', async () => {
  const cluster = await ProcessCluster.create({ nodes: 3, init: true, extra: { timing: SHARED_MACHINE_TIMING } });
  const clients: Redis[] = [];
  try {
    await cluster.start('n1');
    await cluster.start('n2');
    const primary = await cluster.waitPrimary();
    const c = new Redis({ port: cluster.spec(primary).redisPort, host: '127.0.0.1', maxRetriesPerRequest: 3 });
    c.on('error', () => undefined);
    clients.push(c);
    assert.equal(await c.set('boot:k', 'v1'), 'OK');
    for (const id of ['n1', 'n2']) {
      assert.equal((await cluster.status(id)).lostData, null, `${id} must not consider itself as having lost data`);
      assert.doesNotMatch(readFileSync(cluster.spec(id).logPath, 'utf8'), /DATA_LOST/, `${id}'s log`);
    }
    await cluster.start('n3');
    const r3 = new Redis({ port: cluster.spec('n3').redisPort, host: '127.0.0.1', maxRetriesPerRequest: 3 });
    r3.on('error', () => undefined);
    clients.push(r3);
    await waitFor('n3 to hold boot:k', CONVERGE_TIMEOUT_MS, async () => ((await r3.get('boot:k').catch(() => null)) === 'v1' ? true : undefined));
    await cluster.converged();
  } finally {
    for (const c of clients) c.disconnect();
    await cluster.close();
  }
});

test('understudy init refuses a data directory that holds anything, with DATA_DIR_NOT_EMPTY and what to do instead', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-init-'));
  try {
    const data = join(dir, 'n1');
    await initDataDir(data);
    assert.ok(existsSync(join(data, 'hard-state')));
    await assert.rejects(initDataDir(data), (e: unknown) => isUnderstudyError(e, 'DATA_DIR_NOT_EMPTY') && /started as it is/.test(e.message));
    const config = join(dir, 'n1.json');
    const members = [{ id: 'n1', kind: 'data', peerAddr: '127.0.0.1:1', redisAddr: '127.0.0.1:2', adminAddr: '127.0.0.1:3' }];
    writeFileSync(config, JSON.stringify({ nodeId: 'n1', dataDir: data, members, clusterSecret: 'x'.repeat(32) }));
    const r = spawnSync(process.execPath, [BIN, 'init', '--config', config], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /is not empty: init is only for the members of a new cluster/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cluster up initialises the members only when none has data: a member emptied in an existing cluster is left to be refilled', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-init-'));
  try {
    const plan = planCluster({ nodes: 3, basePort: 20_001, data: dir, storage: 'lmdb', witness: false, host: '127.0.0.1', masterName: 'm', logLevel: 'info', demo: false });
    assert.equal(await initNewCluster(plan), true);
    for (const n of plan) assert.ok(existsSync(join(String(n.config.dataDir), 'hard-state')), `${n.id} initialised`);
    rmSync(String(plan[1]!.config.dataDir), { recursive: true });
    assert.equal(await initNewCluster(plan), false);
    assert.equal(existsSync(join(String(plan[1]!.config.dataDir), 'hard-state')), false, 'the emptied member must not be initialised');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
