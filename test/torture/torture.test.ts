// A short torture run (test/torture/run.ts) as part of the suite: three nodes on three hosts,
// about 25 s of faults of a few kinds (kill -9 of any node, the primary cut off, the primary
// partitioned from the secondaries while clients reach it, a paused secondary, a full disk), then the
// linearizability checker over the clients' history, every acknowledged write read back and
// equal digests. The seed is printed; replay with `npm run torture -- --seed N --faults ...`.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import type { FaultKind } from './nemesis.ts';
import { runTorture } from './run.ts';

const KINDS: readonly FaultKind[] = ['kill-one', 'isolate-primary', 'primary-minority', 'pause-secondary', 'disk-full'];
/** How long the nemesis starts new faults; recovery and the checks come on top. */
const FAULTS_MS = 25_000;

test('a short torture run: linearizable, no acknowledged write lost, equal digests once healed', async () => {
  const seed = Number(process.env['UNDERSTUDY_TORTURE_SEED'] ?? randomInt(1, 2 ** 31));
  const lines: string[] = [];
  const r = await runTorture({ seed, durationMs: FAULTS_MS, kinds: KINDS, log: (l) => lines.push(l) });
  const replay = `replay: npm run torture -- --seed ${seed} --minutes ${FAULTS_MS / 60_000} --faults ${KINDS.join(',')}`;
  assert.ok(r.faults.length > 0, `no fault ran\n${r.report}`);
  assert.equal(r.linearizable.ok, true, `${r.report}\n${replay}`);
  assert.deepEqual(r.lost, [], `${r.report}\n${replay}`);
  assert.ok(r.digestsEqual, `${r.report}\n${replay}`);
  assert.ok(r.pass, `${r.report}\n${replay}`);
});
