// Failover with two data nodes and a data-less witness: the cluster survives the
// loss of either data node. The witness votes and logs update headers, so the
// surviving data node plus the witness are a majority that holds every
// committed update.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MemberSpec } from '../../src/core/config.ts';
import { assertConverged, awaitNewPrimary, Ledger, liveDataNodes, replicaOf, restart, startCluster, storedValue } from './helpers.ts';

const MEMBERS: readonly MemberSpec[] = [
  { id: 'n1', kind: 'data' },
  { id: 'n2', kind: 'data' },
  { id: 'w3', kind: 'witness' },
];

test('two data nodes and a witness survive the loss of either data node', () => {
  const { c, primary } = startCluster({ seed: 33, members: MEMBERS });
  const first = primary.id;
  assert.notEqual(first, 'w3', 'the witness never becomes primary');
  const second = first === 'n1' ? 'n2' : 'n1';
  const ledger = new Ledger();
  for (let i = 0; i < 10; i++) ledger.set(c, first, `one-${i}`, `1.${i}`);
  assert.deepEqual([...replicaOf(c, first).destination].sort(), [second, 'w3'].sort(), 'both the data secondary and the witness are in dest');
  // The witness holds the updates' headers only.
  const lastOne = replicaOf(c, first).log.last;
  c.run(20);
  assert.ok(replicaOf(c, 'w3').durable >= lastOne, 'the witness logs every update');
  assert.equal(c.node('w3').storage, null, 'the witness has no storage area');

  // Lose the first data node: the second, with the witness's vote, takes over.
  c.crash(first);
  assert.equal(awaitNewPrimary(c, first).id, second);
  for (let i = 0; i < 10; i++) ledger.set(c, second, `two-${i}`, `2.${i}`);
  assert.deepEqual(liveDataNodes(c).map((n) => n.id), [second]);
  ledger.verify(c);

  // The first comes back and catches up.
  restart(c, first);
  assertConverged(c);
  const p = c.primary()!.id;
  for (let i = 0; i < 5; i++) ledger.set(c, p, `three-${i}`, `3.${i}`);
  assertConverged(c);
  for (const n of liveDataNodes(c)) assert.equal(storedValue(n, 'two-9'), '2.9', `${n.id} holds the writes made while the other was down`);

  // Lose the other data node: the one left, with the witness's vote, takes over.
  const victim = c.primary()!.id;
  assert.notEqual(victim, 'w3');
  const survivor = victim === 'n1' ? 'n2' : 'n1';
  c.crash(victim);
  assert.equal(awaitNewPrimary(c, victim).id, survivor);
  for (let i = 0; i < 10; i++) ledger.set(c, survivor, `four-${i}`, `4.${i}`);
  ledger.verify(c);

  restart(c, victim);
  assertConverged(c);
  ledger.verify(c);
  assert.equal(ledger.ackedCount, 35);
});

test('a data node behind the witness cannot take over: the cluster waits for the data node holding the committed writes', () => {
  const { c, primary } = startCluster({ seed: 34, members: MEMBERS });
  const first = primary.id;
  const second = first === 'n1' ? 'n2' : 'n1';
  const ledger = new Ledger();
  for (let i = 0; i < 3; i++) ledger.set(c, first, `both-${i}`, `b${i}`);
  // The second data node stops receiving; writes commit on the first plus the witness.
  c.net.partition(first, second, true);
  ledger.set(c, first, 'first-only-0', 'f0', 3000);
  for (let i = 1; i < 5; i++) ledger.set(c, first, `first-only-${i}`, `f${i}`);
  assert.deepEqual([...replicaOf(c, first).destination], ['w3'], 'dest is the witness alone');
  assert.ok(replicaOf(c, 'w3').log.last > replicaOf(c, second).log.last, 'the witness is ahead of the second data node');

  c.crash(first);
  c.net.heal();
  c.run(3000);
  // The witness refuses its vote to a log missing committed updates: no primary, nothing lost.
  assert.equal(c.primary(), undefined, 'no primary while the only up-to-date data node is down');
  assert.equal(storedValue(c.node(second), 'first-only-4'), undefined);

  restart(c, first);
  assertConverged(c, 5000);
  for (const n of liveDataNodes(c)) assert.equal(storedValue(n, 'first-only-4'), 'f4');
  ledger.verify(c);
});
