// A node loses data, with real processes: a secondary's log tail is damaged while it is stopped,
// or its whole data directory is deleted. Either way it starts again, says so, is left out of
// dest and refilled from the primary (it never serves reads as if it were in sync), ends with
// the primary's digest, and counts for the majority again: with the other secondary killed
// afterwards, writes still commit.
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { assertNoneLost, CONVERGE_TIMEOUT_MS, ProcessCluster, SHARED_MACHINE_TIMING, waitFor } from './harness.ts';

const KEYS = 1000;
/** Bytes overwritten at the end of the secondary's last log segment. */
const DAMAGED_BYTES = 16;
/** A write after the other secondary is killed waits out the ack timeout before it is left out of dest. */
const WRITE_AFTER_KILL_TIMEOUT_MS = 20_000;

let cluster: ProcessCluster;
const clients: Redis[] = [];

before(async () => {
  // Initialised as `cluster up` does: incarnation 0 is then a real one, and a cut tail makes it 1.
  cluster = await ProcessCluster.create({ nodes: 3, init: true, extra: { timing: SHARED_MACHINE_TIMING } });
  await cluster.startAll();
});

after(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.close();
});

function client(id: string): Redis {
  const c = new Redis({ port: cluster.spec(id).redisPort, host: '127.0.0.1' });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

async function writeKeys(primary: string, prefix: string): Promise<Map<string, string>> {
  const c = client(primary);
  await c.ping();
  const acked = new Map<string, string>();
  const pipe = c.pipeline();
  for (let i = 0; i < KEYS; i++) pipe.set(`${prefix}:${i}`, `v${i}`);
  const res = await pipe.exec();
  res!.forEach(([e, r], i) => {
    assert.equal(e, null, `SET ${prefix}:${i}: ${String(e)}`);
    assert.equal(r, 'OK');
    acked.set(`${prefix}:${i}`, `v${i}`);
  });
  return acked;
}

/** Waits until the primary has `id` in dest again and every node holds the same digest. */
async function refilled(primary: string, id: string): Promise<void> {
  await cluster.converged();
  await waitFor(`${id} back in dest`, CONVERGE_TIMEOUT_MS, async () => ((await cluster.status(primary)).secondaries.find((s) => s.id === id)?.inDest ? true : undefined));
  await waitFor(`${id} refilled (no longer marked as having lost data)`, CONVERGE_TIMEOUT_MS, async () => ((await cluster.status(id)).lostData === null ? true : undefined));
}

/** Kills the other secondary; a write must still commit (dest = the refilled node + the primary is a majority). */
async function otherSecondaryDiesWritesGoOn(primary: string, refilledId: string): Promise<void> {
  const other = cluster.specs.map((s) => s.id).find((x) => x !== primary && x !== refilledId)!;
  await cluster.kill(other, 'SIGKILL');
  const c = new Redis({ port: cluster.spec(primary).redisPort, host: '127.0.0.1', commandTimeout: WRITE_AFTER_KILL_TIMEOUT_MS, maxRetriesPerRequest: 0 });
  c.on('error', () => undefined);
  clients.push(c);
  assert.equal(await c.set(`after-${other}-died`, 'yes'), 'OK');
  const st = await cluster.status(primary);
  assert.deepEqual(
    st.secondaries.filter((s) => s.inDest).map((s) => s.id),
    [refilledId],
    `only ${refilledId} should be in dest: ${JSON.stringify(st.secondaries)}`,
  );
  await cluster.start(other);
  await cluster.converged();
}

function lastSegment(id: string): string {
  const dir = join(cluster.dir, id, 'log');
  const segs = readdirSync(dir).filter((n) => n.startsWith('seg-')).sort();
  assert.ok(segs.length > 0, `no segment in ${dir}`);
  return join(dir, segs[segs.length - 1]!);
}

test('a secondary whose last log record is damaged cuts it, says so, is refilled, and counts again', async () => {
  const primary = await cluster.waitPrimary();
  const victim = cluster.specs.map((s) => s.id).find((id) => id !== primary)!;
  const acked = await writeKeys(primary, 'tail');
  await cluster.converged();
  assert.deepEqual(await cluster.kill(victim, 'SIGTERM'), { code: 0, signal: null }, cluster.logTail(victim));
  const seg = lastSegment(victim);
  const size = statSync(seg).size;
  const fd = openSync(seg, 'r+');
  writeSync(fd, Buffer.alloc(DAMAGED_BYTES, 0xa5), 0, DAMAGED_BYTES, size - DAMAGED_BYTES);
  closeSync(fd);

  await cluster.start(victim);
  assert.match(cluster.logTail(victim, 200), /"code":"LOG_TORN_TAIL"/, 'the cut is logged with its error code');
  await refilled(primary, victim);
  await assertNoneLost(client(primary), acked);
  await otherSecondaryDiesWritesGoOn(primary, victim);
});

test('a secondary restarted with an empty data directory is refilled, never serves nil for existing keys, and counts again', async (t) => {
  const primary = await cluster.waitPrimary();
  const victim = cluster.specs.map((s) => s.id).find((id) => id !== primary)!;
  const acked = await writeKeys(primary, 'wiped');
  await cluster.converged();
  const before = (await cluster.status(primary)).secondaries.find((s) => s.id === victim)!;
  assert.ok(before.inDest && before.ackedLsn > 0, `the victim held the data before: ${JSON.stringify(before)}`);
  assert.equal((await cluster.status(victim)).keys, (await cluster.status(primary)).keys);

  assert.deepEqual(await cluster.kill(victim, 'SIGTERM'), { code: 0, signal: null }, cluster.logTail(victim));
  rmSync(join(cluster.dir, victim), { recursive: true, force: true });
  await cluster.start(victim);

  // While it is refilled, a read on it answers LOADING or the right value: never nil.
  const probe = client(victim);
  const sample = [...acked.keys()].filter((_, i) => i % 97 === 0);
  let sawLoading = 0;
  const wrong: string[] = [];
  await waitFor(`${victim} to answer reads again`, CONVERGE_TIMEOUT_MS, async () => {
    for (const k of sample) {
      let v: string | null;
      try {
        v = await probe.get(k);
      } catch (e) {
        if (!/LOADING/.test(String(e))) wrong.push(`${k}: ${String(e)}`);
        sawLoading++;
        return wrong.length > 0 ? true : undefined;
      }
      if (v !== acked.get(k)) {
        wrong.push(`${k}: ${String(v)}`);
        return true;
      }
    }
    return true;
  });
  assert.deepEqual(wrong, [], `${victim} answered reads while being refilled with something other than LOADING or the right value`);
  const newer = (await cluster.status(primary)).secondaries.find((s) => s.id === victim)!;
  assert.ok(newer.incarnation > before.incarnation, `the primary saw a newer incarnation: ${before.incarnation} → ${newer.incarnation}`);
  assert.match(cluster.logTail(primary, 400), new RegExp(`"code":"DATA_LOST","node":"${victim}"`), 'the primary logs that it lost data');
  assert.match(cluster.logTail(victim, 400), /"code":"DATA_LOST"/, 'the node logs that it lost data');
  await refilled(primary, victim);
  assert.equal(await probe.dbsize(), (await client(primary).dbsize()), 'DBSIZE equal to the primary');
  await assertNoneLost(probe, acked);
  await otherSecondaryDiesWritesGoOn(primary, victim);
  t.diagnostic(`${victim} answered LOADING ${sawLoading} times while being refilled; incarnation ${before.incarnation} → ${newer.incarnation}`);
});
