// Collections under the claims: a hash and a set written element by element survive a failover
// (every acknowledged element is on the new primary and in every live storage area, and the
// replicas end identical, element digests included), and a secondary beyond retention gets a
// collection larger than one region chunk through a streamed region resync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RegionDataMsg } from '../../src/core/messages.ts';
import { regionOfKey } from '../../src/core/regions.ts';
import { assertConverged, awaitNewPrimary, liveDataNodes, othersThan, recordDeliveries, restart, startCluster } from './helpers.ts';
import type { SimCluster } from '../../sim/sim-cluster.ts';

const FIELDS = 300;

/** Pipelines HSET / SADD of `n` elements at `node`; returns the acknowledged element indexes. */
function writeElements(c: SimCluster, node: string, hash: string, set: string, n: number): { fields: number[]; members: number[] } {
  const boxes = Array.from({ length: n }, (_, i) => ({
    h: c.submit(node, 'HSET', hash, `field:${i}`, `value:${i}`),
    s: c.submit(node, 'SADD', set, `member:${i}`),
  }));
  c.runUntil(() => boxes.every((b) => b.h.done && b.s.done), 10_000);
  const fields = boxes.flatMap((b, i) => (b.h.done && b.h.replies[0]!.t === 'int' ? [i] : []));
  const members = boxes.flatMap((b, i) => (b.s.done && b.s.replies[0]!.t === 'int' ? [i] : []));
  return { fields, members };
}

/** Every acknowledged element is read back at the primary and held by every live storage area. */
function verifyElements(c: SimCluster, hash: string, set: string, acked: { fields: number[]; members: number[] }): void {
  const p = c.primary();
  assert.ok(p, 'no primary');
  for (const i of acked.fields) {
    const r = c.call(p.id, 'HGET', hash, `field:${i}`);
    assert.deepEqual(r, { t: 'bulk', b: Buffer.from(`value:${i}`) }, `HGET ${hash} field:${i} at ${p.id}`);
  }
  for (const i of acked.members) assert.deepEqual(c.call(p.id, 'SISMEMBER', set, `member:${i}`), { t: 'int', n: 1 });
  for (const n of liveDataNodes(c)) {
    for (const i of acked.fields) assert.equal(n.storage!.getElement(Buffer.from(hash), Buffer.from(`field:${i}`))?.toString(), `value:${i}`, `${n.id} holds field:${i}`);
    for (const i of acked.members) assert.ok(n.storage!.getElement(Buffer.from(set), Buffer.from(`member:${i}`)) !== undefined, `${n.id} holds member:${i}`);
  }
}

test('a hash and a set survive a failover element by element, and every replica ends identical', () => {
  const { c, primary } = startCluster({ seed: 6161 });
  const P = primary.id;
  const first = writeElements(c, P, 'user:1', 'tags:1', FIELDS);
  assert.equal(first.fields.length, FIELDS, 'every HSET before the crash is acknowledged');
  // Some elements are in flight when the primary dies: their outcome is unknown, not lost.
  for (let i = 0; i < 20; i++) c.submit(P, 'HSET', 'user:1', `late:${i}`, 'x');
  c.run(1);
  c.crash(P);
  const next = awaitNewPrimary(c, P);
  const second = writeElements(c, next.id, 'user:1', 'tags:1', 50);
  assert.ok(second.fields.length > 0, 'the new primary accepts element writes');
  verifyElements(c, 'user:1', 'tags:1', first);
  restart(c, P);
  assertConverged(c, 10_000);
  verifyElements(c, 'user:1', 'tags:1', first);
  const hlen = c.call(c.primary()!.id, 'HLEN', 'user:1');
  assert.ok(hlen.t === 'int' && Number(hlen.n) >= FIELDS, `HLEN ${JSON.stringify(hlen)}`);
});

test('a secondary beyond retention gets a hash larger than a region chunk through a streamed region resync', () => {
  const CHUNK = 40;
  const { c, primary } = startCluster({ seed: 6262, limits: { maxRetainedUpdates: 20, regionChunkEntries: CHUNK } });
  const P = primary.id;
  const [, T] = othersThan(c, P) as [string, string];
  c.crash(T);
  // The first write waits for T until it is left out of dest.
  const firstWrite = c.submit(P, 'HSET', 'big', 'first', '1');
  assert.ok(c.runUntil(() => firstWrite.done, 5000), 'the first write is answered once T is left out');
  const acked = writeElements(c, P, 'big', 'bigset', FIELDS);
  for (let i = 0; i < 60; i++) c.call(P, 'SET', `filler-${i}`, 'f');
  const chunks: RegionDataMsg[] = [];
  recordDeliveries(c, (d) => {
    if (d.msg.t === 'region-data' && d.to === T) chunks.push(d.msg as RegionDataMsg);
  });
  restart(c, T);
  assertConverged(c, 20_000);
  const region = regionOfKey(Buffer.from('big'));
  const ofRegion = chunks.filter((m) => m.region === region);
  assert.ok(ofRegion.length > FIELDS / CHUNK, `the hash's region came in ${ofRegion.length} chunks`);
  for (const m of chunks) assert.ok(m.items.length <= CHUNK, `a chunk of ${m.items.length} items, over ${CHUNK}`);
  assert.ok(
    ofRegion.some((m) => m.afterElem !== null),
    'a chunk continues inside the hash, after one of its elements',
  );
  verifyElements(c, 'big', 'bigset', acked);
});
