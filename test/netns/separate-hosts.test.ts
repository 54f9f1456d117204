// Three nodes on three hosts: each node in a network namespace of its own with its own address
// (test/netns/hosts.ts), binding 0.0.0.0 (listenHost) on the same ports as the others, and
// reached from this process over a bridge as from another machine. An ioredis client in
// Sentinel mode writes throughout; the primary's host is cut off the network (the other two
// elect a primary; the old one, healed, follows it), then the new primary is killed with
// SIGKILL. Every acknowledged write reads back and the replicas converge to one digest.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { assertNoneLost, CONVERGE_TIMEOUT_MS, ELECTION_TIMEOUT_MS, ProcessCluster, SHARED_MACHINE_TIMING, sentinelClient, waitFor, writeLoad } from '../integration/harness.ts';
import { NetnsHosts } from './hosts.ts';

/** Bounds of the write load that runs through each fault. */
const LOAD = { workers: 4, maxWrites: 20_000, maxMs: 12_000 } as const;

let hosts: NetnsHosts;
let cluster: ProcessCluster;

before(async () => {
  hosts = NetnsHosts.create(3);
  cluster = await ProcessCluster.create({ nodes: 3, init: true, hosts, extra: { listenHost: '0.0.0.0', timing: SHARED_MACHINE_TIMING } });
  await cluster.startAll();
});

after(async () => {
  await cluster?.close();
  hosts?.close();
});

/** The primary that the given nodes agree on, with a valid lease. */
async function primaryAmong(ids: readonly string[], not: string): Promise<string> {
  return waitFor(`a primary other than ${not} agreed by ${ids.join(', ')}`, ELECTION_TIMEOUT_MS, async () => {
    const st = await Promise.all(ids.map((id) => cluster.statusOrNull(id)));
    const p = st.find((s) => s?.role === 'primary' && s.leaseValid);
    if (!p || p.id === not) return undefined;
    return st.every((s) => s !== null && s.primaryId === p.id && s.epoch === p.epoch) ? p.id : undefined;
  });
}

test('three hosts: the secondaries replicate from the primary over the network, each from its own address', async () => {
  const primary = await cluster.waitPrimary();
  const c = new Redis({ host: cluster.spec(primary).host, port: cluster.spec(primary).redisPort, maxRetriesPerRequest: 3 });
  c.on('error', () => undefined);
  try {
    assert.equal(await c.set('hosts:k', 'v'), 'OK');
    const repl = await c.info('replication');
    for (const s of cluster.specs.filter((x) => x.id !== primary)) assert.match(repl, new RegExp(`ip=${s.host.replaceAll('.', '\\.')},`), `INFO replication names ${s.id}'s own address:\n${repl}`);
    for (const s of cluster.specs) {
      const r = new Redis({ host: s.host, port: s.redisPort, maxRetriesPerRequest: 3 });
      r.on('error', () => undefined);
      try {
        await waitFor(`${s.id} to hold hosts:k`, CONVERGE_TIMEOUT_MS, async () => ((await r.get('hosts:k').catch(() => null)) === 'v' ? true : undefined));
      } finally {
        r.disconnect();
      }
    }
  } finally {
    c.disconnect();
  }
});

test('the primary\'s host cut off the network, then the new primary killed: no acknowledged write lost, one digest', async () => {
  const ids = cluster.specs.map((s) => s.id);
  const first = await cluster.waitPrimary();
  const client = sentinelClient(cluster);
  try {
    const load = writeLoad(client, { ...LOAD, prefix: 'cut' });
    await waitFor('writes acknowledged before the cut', CONVERGE_TIMEOUT_MS, async () => ((await client.dbsize().catch(() => 0)) > 50 ? true : undefined));
    const i = ids.indexOf(first);
    hosts.setLink(i, false);
    const second = await primaryAmong(ids.filter((id) => id !== first), first);
    hosts.setLink(i, true);
    await cluster.waitPrimary(ELECTION_TIMEOUT_MS);
    const cut = await load;
    assert.ok(cut.acked.size > 0, `no write acknowledged: ${cut.errors.slice(0, 3).join('; ')}`);

    const load2 = writeLoad(client, { ...LOAD, prefix: 'kill' });
    await waitFor('writes acknowledged before the kill', CONVERGE_TIMEOUT_MS, async () => ((await client.dbsize().catch(() => 0)) > cut.acked.size + 50 ? true : undefined));
    await cluster.kill(second);
    await cluster.waitPrimary(ELECTION_TIMEOUT_MS, second);
    const killed = await load2;
    await cluster.start(second);
    await cluster.converged();
    await assertNoneLost(client, cut.acked);
    await assertNoneLost(client, killed.acked);
  } finally {
    client.disconnect();
  }
});
