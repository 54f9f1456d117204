// A cluster of a single data member (a configuration the schema accepts, and `understudy cluster
// up --nodes 1` writes): it elects itself, and a majority of one — itself — confirms its read
// lease, so reads are served. Before, the lease was only ever renewed by a secondary's
// acknowledgement: writes committed, but every read waited for the lease and timed out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { show } from '../../sim/sim-cluster.ts';
import { replicaOf, startCluster } from './helpers.ts';

test('a lone data member elects itself and serves writes and reads under its own lease', () => {
  const { c, primary } = startCluster({ seed: 8181, members: [{ id: 'n1', kind: 'data' }] });
  assert.equal(primary.id, 'n1');
  assert.equal(show(c.call('n1', 'SET', 'k', 'v')), 'OK');
  assert.equal(show(c.call('n1', 'GET', 'k')), show({ t: 'bulk', b: Buffer.from('v') }));
  c.run(1000);
  assert.equal(replicaOf(c, 'n1').leaseValid(), true, 'the lease stays valid while it runs');
  assert.equal(show(c.call('n1', 'INCR', 'n')), show({ t: 'int', n: 1 }));
  assert.equal(show(c.call('n1', 'GET', 'n')), show({ t: 'bulk', b: Buffer.from('1') }));
});
