// Shared scenario for the failover-cost test: preload a store, let one secondary
// fall behind by a fixed number of writes, crash the primary, and read what the
// new primary's FailoverSync shipped.
import assert from 'node:assert/strict';
import type { NodeId } from '../../src/core/types.ts';
import { awaitNewPrimary, eventsOf, othersThan, replicaOf, startCluster } from './helpers.ts';

/** Keys per MSET when preloading (one update each). */
export const MSET_KEYS_PER_COMMAND = 500;

export function shippedAfterFailover(o: { seed: number; preloadKeys: number; lagWrites: number }): {
  keys: number;
  shipped: number;
  lagUpdates: number;
  regionsResynced: number;
} {
  const { c, primary } = startCluster({ seed: o.seed });
  const P = primary.id;
  const [S, T] = othersThan(c, P) as [NodeId, NodeId];
  for (let i = 0; i < o.preloadKeys; i += MSET_KEYS_PER_COMMAND) {
    const args = ['MSET'];
    for (let k = i; k < Math.min(o.preloadKeys, i + MSET_KEYS_PER_COMMAND); k++) args.push(`key:${k}`, `value-${k}`);
    const r = c.call(P, ...args);
    assert.equal(r.t, 'simple');
  }
  c.run(300);
  // T stops hearing from P; writes go on with P and S (T leaves dest after the ack timeout).
  c.net.partition(P, T, true);
  for (let i = 0; i < o.lagWrites; i++) assert.equal(c.call(P, 'SET', `lag:${i}`, `${i}`).t, 'simple');
  c.run(100);
  const lagUpdates = replicaOf(c, S).log.last - replicaOf(c, T).log.last;
  c.crash(P);
  c.net.heal();
  const np = awaitNewPrimary(c, P);
  assert.equal(np.id, S, 'the secondary holding every committed update wins');
  const f = eventsOf(c, 'failover').filter((e) => e.node === S).at(-1);
  assert.ok(f, 'the new primary reported its failover');
  return {
    keys: replicaOf(c, S).currentRole === 'primary' ? np.storage!.size() : 0,
    shipped: f.e.summary.shippedTo[T] ?? -1,
    lagUpdates,
    regionsResynced: Object.values(f.e.summary.regionsResynced).reduce((a, b) => a + b, 0),
  };
}
