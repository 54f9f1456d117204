// Gathered writes (limits.maxUpdateBytes): client writes that arrive
// together become one update — one lsn, one log record, one acknowledgement — and every client
// still hears OK only once that update is committed on every secondary. A command later in the
// same burst reads those writes and waits for them; the size limit splits a burst.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendMsg } from '../../src/core/messages.ts';
import type { Reply } from '../../src/core/reply.ts';
import { Ledger, othersThan, recordDeliveries, replicaOf, startCluster } from './helpers.ts';

const WRITERS = 10;
const VALUE = 'v'.repeat(100);

test('writes arriving together become one update; every reply waits for its commit on every secondary', () => {
  const { c, primary } = startCluster({ seed: 301, limits: { maxUpdateBytes: 1024 * 1024 } });
  const P = primary.id;
  const rp = replicaOf(c, P);
  const before = rp.log.last;
  const deliveries = recordDeliveries(c);
  const ledger = new Ledger();
  const atReply: Array<{ lsn: number; acked: Record<string, number> }> = [];
  const writes = Array.from({ length: WRITERS }, (_, i) =>
    ledger.submit(c, P, `g-${i}`, `${VALUE}${i}`, (s) => atReply.push({ lsn: s.lsn, acked: Object.fromEntries(othersThan(c, P).map((id) => [id, replicaOf(c, id).durable])) })),
  );
  // A read in the same burst sees the writes before it, and waits for their update too.
  let read: Reply | undefined;
  c.node(P).driver!.submit([[Buffer.from('GET'), Buffer.from('g-3')]], (r) => (read = r[0]));
  assert.equal(rp.log.last, before, 'nothing is stamped while the burst is still arriving');

  assert.ok(c.runUntil(() => writes.every((w) => w.done()) && read !== undefined, 2000), 'every client is answered');
  assert.ok(writes.every((w) => w.ok()), 'every write is acknowledged');
  const lsns = new Set(writes.map((w) => w.s.lsn));
  assert.equal(lsns.size, 1, `one update holds all ${WRITERS} writes (lsns ${[...lsns].join(', ')})`);
  const lsn = [...lsns][0]!;
  assert.equal(lsn, before + 1);
  const u = rp.log.get(lsn) ?? deliveries.flatMap((d) => (d.msg.t === 'append' ? (d.msg as AppendMsg).updates : [])).find((x) => x.lsn === lsn);
  assert.ok(u, 'the update is known');
  assert.equal(u.ops.length, WRITERS, 'its ops are the writes, in arrival order');
  assert.deepEqual(u.ops.map((o) => (o.k === 'flush' ? '' : o.key.toString())), writes.map((w) => w.key));
  for (const r of atReply) for (const [id, durable] of Object.entries(r.acked)) assert.ok(durable >= lsn, `at a reply, ${id} held the update durably`);
  assert.deepEqual(read, { t: 'bulk', b: Buffer.from(`${VALUE}3`) }, 'the read saw the write before it in the burst');
  ledger.verify(c);
});

test('limits.maxUpdateBytes splits a burst: no gathered update is larger', () => {
  // Each SET counts ~16 + 4 + 101 bytes: three fit in 400.
  const { c, primary } = startCluster({ seed: 302, limits: { maxUpdateBytes: 400 } });
  const rp = replicaOf(c, primary.id);
  const before = rp.log.last;
  const ledger = new Ledger();
  const writes = Array.from({ length: WRITERS }, (_, i) => ledger.submit(c, primary.id, `s-${i}`, `${VALUE}${i % 10}`));
  assert.ok(c.runUntil(() => writes.every((w) => w.done()), 2000));
  assert.ok(writes.every((w) => w.ok()));
  const sizes: number[] = [];
  for (let l = before + 1; l <= rp.log.last; l++) {
    const u = rp.log.get(l);
    if (u && u.kind === 'data') sizes.push(u.ops.length);
  }
  assert.deepEqual(sizes, [3, 3, 3, 1]);
  ledger.verify(c);
});
