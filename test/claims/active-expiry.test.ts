// Active expiry (EXPIRY_INTERVAL_MS, EXPIRY_SCAN_PER_RUN): the primary alone decides that a key
// has expired and replicates its deletion, so every storage area drops it without anyone reading
// it, and replicas never diverge on time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPIRY_INTERVAL_MS } from '../../src/core/config.ts';
import { show } from '../../sim/sim-cluster.ts';
import type { AppendMsg } from '../../src/core/messages.ts';
import { liveDataNodes, recordDeliveries, startCluster, storedValue } from './helpers.ts';

test('an expired key is deleted by the primary and the deletion replicated, without a read', () => {
  const { c, primary } = startCluster({ seed: 5150 });
  const P = primary.id;
  assert.equal(show(c.call(P, 'SET', 'short', 'lived', 'PX', '200')), 'OK');
  assert.equal(show(c.call(P, 'SET', 'long', 'lived')), 'OK');
  c.run(50);
  for (const n of liveDataNodes(c)) assert.equal(storedValue(n, 'short'), 'lived', `${n.id} holds the key before it expires`);
  const deletes = new Set<string>();
  recordDeliveries(c, (d) => {
    if (d.msg.t !== 'append' || d.from !== P) return;
    for (const u of (d.msg as AppendMsg).updates) for (const op of u.ops) if (op.k === 'del') deletes.add(op.key.toString());
  });
  // Past the expiry, plus a few expiry runs; nobody reads the key meanwhile.
  c.run(200 + 4 * EXPIRY_INTERVAL_MS);
  for (const n of liveDataNodes(c)) {
    assert.equal(storedValue(n, 'short'), undefined, `${n.id}'s storage area dropped the expired key`);
    assert.equal(storedValue(n, 'long'), 'lived', `${n.id} keeps the key without expiry`);
  }
  assert.deepEqual([...deletes], ['short'], 'the primary sent its secondaries a delete of the expired key, and of nothing else');
});
