// The byte budget of one append (limits.maxAppendBytes, 4 MiB by default): a secondary catching
// up after being down gets its missing updates in appends that each stay within the budget (one
// update always goes, whatever its size), and it converges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendMsg } from '../../src/core/messages.ts';
import { opsBytes } from '../../src/core/log-view.ts';
import { assertConverged, Ledger, othersThan, recordDeliveries, restart, startCluster } from './helpers.ts';

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
