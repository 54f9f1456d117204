// A PUBLISH goes to every other data node except one whose peer connection has
// PUBLISH_RELAY_MAX_QUEUED_BYTES or more waiting: pub/sub is at most once, and
// replication's updates and heartbeats share that connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PUBLISH_RELAY_MAX_QUEUED_BYTES, relayTargets } from '../../src/runtime/node.ts';

test('PUBLISH is relayed to peers below the queued-bytes limit only', () => {
  const queued: Record<string, number> = { n2: 0, n3: PUBLISH_RELAY_MAX_QUEUED_BYTES, n4: PUBLISH_RELAY_MAX_QUEUED_BYTES - 1 };
  assert.deepEqual(relayTargets(['n2', 'n3', 'n4'], (p) => queued[p]!), ['n2', 'n4']);
  assert.deepEqual(relayTargets([], () => 0), []);
});
