// storage: memory with real processes. The storage area does not outlive a node's process, so a
// restarted node starts as one whose disk was replaced: it is refilled from the others and reads
// every acknowledged write. A restart of every node starts an empty cluster that elects a
// primary and takes writes (as Redis without persistence), instead of three nodes that each
// wait for a storage area nobody can refill.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { CONVERGE_TIMEOUT_MS, ProcessCluster, SHARED_MACHINE_TIMING, waitFor } from './harness.ts';

const KEYS = 200;

test('memory storage: one restarted node is refilled; all restarted start an empty cluster that elects a primary', async () => {
  const cluster = await ProcessCluster.create({ nodes: 3, storage: 'memory', init: true, extra: { timing: SHARED_MACHINE_TIMING } });
  const clients: Redis[] = [];
  const client = (id: string): Redis => {
    const c = new Redis({ port: cluster.spec(id).redisPort, host: '127.0.0.1', maxRetriesPerRequest: 3 });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  try {
    await cluster.startAll();
    const primary = await cluster.waitPrimary();
    const p = client(primary);
    for (let i = 0; i < KEYS; i++) assert.equal(await p.set(`mem:${i}`, `v${i}`), 'OK');

    const secondary = ['n1', 'n2', 'n3'].find((id) => id !== primary)!;
    await cluster.kill(secondary);
    await cluster.start(secondary);
    const s = client(secondary);
    await waitFor(`${secondary} refilled`, CONVERGE_TIMEOUT_MS, async () => ((await cluster.status(secondary)).lostData === null ? true : undefined));
    await waitFor(`${secondary} holds every key`, CONVERGE_TIMEOUT_MS, async () => ((await s.dbsize().catch(() => -1)) === KEYS ? true : undefined));
    assert.equal(await s.get(`mem:${KEYS - 1}`), `v${KEYS - 1}`);

    for (const id of ['n1', 'n2', 'n3']) await cluster.kill(id);
    await cluster.startAll();
    const again = await cluster.waitPrimary();
    const q = client(again);
    assert.equal(await q.dbsize(), 0, 'memory storage keeps nothing over a restart of every node');
    assert.equal(await q.set('mem:after', 'x'), 'OK');
    await cluster.converged();
  } finally {
    for (const c of clients) c.disconnect();
    await cluster.close();
  }
});
