// A region resync finishes however the network orders its chunks. The simulator found a
// secondary restarted beyond the retention limit whose storage area never got one region: that
// region's first chunk (one large list) always arrived after the smaller chunks behind it, the
// secondary dropped those as out of order, and every re-request repeated the same race, so the
// storage area stayed at its old applied lsn for good. Here every first chunk of a region that
// spans several chunks is held back so that the rest overtake it, every time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regionOfKey } from '../../src/core/regions.ts';
import { assertConverged, Ledger, othersThan, replicaOf, restart, startCluster } from './helpers.ts';

const RETAIN = 20;
const LIST = 'queue';
const ELEMENTS = 40;

test('a secondary refilled by region resync installs chunks that arrive before the chunk they continue', () => {
  const { c, primary } = startCluster({ seed: 1028, limits: { maxRetainedUpdates: RETAIN, regionChunkEntries: 4 } });
  const P = primary.id;
  const [, T] = othersThan(c, P) as [string, string];
  const ledger = new Ledger();
  ledger.set(c, P, 'early', 'e');
  c.run(200);

  c.crash(T);
  for (let i = 0; i < ELEMENTS; i++) c.call(P, 'RPUSH', LIST, `job-${i}`);
  for (let i = 0; i < 3 * RETAIN; i++) ledger.set(c, P, `down-${i}`, `d${i}`);
  c.run(300);
  assert.equal(replicaOf(c, P).progressOf().find((p) => p.id === T)!.waived, true, 'T is marked for a region resync');

  let heldBack = 0;
  c.net.extraDelayMs = (_from, to, m) => (to === T && m.t === 'region-data' && m.first && !m.last ? (heldBack++, 100) : 0);
  restart(c, T);
  assertConverged(c, 20_000);
  assert.ok(heldBack > 0, 'first chunks were held back behind the chunks after them');
  const list = c.node(T).storage!;
  assert.equal(replicaOf(c, T).applied, replicaOf(c, P).applied, 'T applied as far as the primary');
  assert.ok(list.get(Buffer.from(LIST)) !== undefined, `T holds the list of region ${regionOfKey(Buffer.from(LIST))}`);
  ledger.verify(c);
});
