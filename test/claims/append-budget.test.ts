// The byte budget of one append (limits.maxAppendBytes, 4 MiB by default): a secondary catching
// up after being down gets its missing updates in appends that each stay within the budget (one
// update always goes, whatever its size), and it converges. A region resync's chunks keep to the
// same budget, so that a region of large values still goes in frames the transport accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendMsg, RegionDataMsg } from '../../src/core/messages.ts';
import { entryBytes } from '../../src/core/log-view.ts';
import { regionOfKey } from '../../src/core/regions.ts';
import { opsBytes } from '../../src/core/log-view.ts';
import { assertConverged, Ledger, othersThan, recordDeliveries, replicaOf, restart, startCluster, storedValue } from './helpers.ts';

const BUDGET = 600;
const VALUE = 'v'.repeat(100);

test('appends to a catching-up secondary stay within limits.maxAppendBytes', () => {
  const { c, primary } = startCluster({ seed: 7070, limits: { maxAppendBytes: BUDGET } });
  const P = primary.id;
  const [, T] = othersThan(c, P) as [string, string];
  const ledger = new Ledger();
  ledger.set(c, P, 'before', 'b');
  c.crash(T);
  // The first write waits for T until it is left out of dest.
  ledger.set(c, P, 'down-0', VALUE, 3000);
  for (let i = 1; i < 40; i++) ledger.set(c, P, `down-${i}`, VALUE);
  const sizes: Array<{ updates: number; bytes: number }> = [];
  recordDeliveries(c, (d) => {
    if (d.msg.t !== 'append' || d.to !== T) return;
    const m = d.msg as AppendMsg;
    if (m.updates.length > 0) sizes.push({ updates: m.updates.length, bytes: m.updates.reduce((a, u) => a + opsBytes(u.ops), 0) });
  });
  restart(c, T);
  assertConverged(c, 10_000);
  assert.ok(sizes.some((s) => s.updates > 1), `some append carried several updates: ${JSON.stringify(sizes)}`);
  for (const s of sizes) assert.ok(s.updates === 1 || s.bytes <= BUDGET, `an append of ${s.updates} updates carried ${s.bytes} bytes, over the budget of ${BUDGET}`);
  ledger.verify(c);
});

test('region resync chunks stay within limits.maxAppendBytes, and the region converges', () => {
  // Beyond retention, so the returning secondary gets regions, not the log; all keys in one region.
  const { c, primary } = startCluster({ seed: 7171, limits: { maxAppendBytes: BUDGET, maxRetainedUpdates: 20 } });
  const P = primary.id;
  const [, T] = othersThan(c, P) as [string, string];
  const keys: string[] = [];
  for (let i = 0; keys.length < 30; i++) if (regionOfKey(Buffer.from(`big-${i}`)) === 7) keys.push(`big-${i}`);
  const ledger = new Ledger();
  c.crash(T);
  ledger.set(c, P, keys[0]!, VALUE, 3000);
  for (const k of keys.slice(1)) ledger.set(c, P, k, VALUE);
  for (let i = 0; i < 60; i++) ledger.set(c, P, `filler-${i}`, 'f');
  c.run(300);
  assert.ok(replicaOf(c, P).progressOf().find((p) => p.id === T)!.resyncRegions > 0, 'T is marked for a region resync');
  const chunks: RegionDataMsg[] = [];
  recordDeliveries(c, (d) => {
    if (d.msg.t === 'region-data' && d.to === T) chunks.push(d.msg as RegionDataMsg);
  });
  restart(c, T);
  assertConverged(c, 10_000);
  const ofRegion = chunks.filter((m) => m.region === 7);
  assert.ok(ofRegion.length > 1, `region 7 came in several chunks: ${ofRegion.map((m) => m.items.length).join(',')}`);
  for (const m of chunks) {
    const bytes = m.items.reduce((a, it) => a + (it.t === 'key' ? entryBytes(it.key, it.entry.value) : entryBytes(it.key, it.value) + (it.t === 'elem' ? it.elem.length : 0)), 0);
    assert.ok(m.items.length <= 1 || bytes <= BUDGET, `a chunk of ${m.items.length} items carried ${bytes} bytes, over the budget of ${BUDGET}`);
  }
  for (const k of keys) assert.equal(storedValue(c.node(T), k), VALUE, `T holds ${k}`);
  ledger.verify(c);
});
