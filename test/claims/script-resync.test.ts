// Loaded scripts survive what the data survives. A secondary down beyond the retention limit
// misses the updates that loaded scripts and is refilled by region resync; the scripts of a
// region come with its content, across several chunks (one item per chunk here), so afterwards
// it holds every sha — and when the primary then fails, whichever node takes over answers
// EVALSHA for every script a client loaded, with no NOSCRIPT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha1Hex } from '../../src/lib/sha1.ts';
import { regionOfKey } from '../../src/core/regions.ts';
import { show } from '../../sim/sim-cluster.ts';
import { assertConverged, awaitNewPrimary, Ledger, othersThan, replicaOf, restart, startCluster } from './helpers.ts';

const RETAIN = 20;
const SCRIPTS = 30;

test('a secondary refilled by region resync holds every loaded script, and a new primary runs them all by sha', () => {
  const { c, primary } = startCluster({ seed: 7171, limits: { maxRetainedUpdates: RETAIN, regionChunkEntries: 1 } });
  const P = primary.id;
  const [, T] = othersThan(c, P) as [string, string];
  const ledger = new Ledger();
  ledger.set(c, P, 'early', 'e');
  c.run(200);

  c.crash(T);
  const bodies = Array.from({ length: SCRIPTS }, (_, i) => `return redis.call('GET', KEYS[1]) or '${i}'`);
  // Several scripts in one region too, so that a region's scripts span chunks.
  const region = regionOfKey(Buffer.from(sha1Hex(Buffer.from(bodies[0]!))));
  for (let i = SCRIPTS; bodies.filter((b) => regionOfKey(Buffer.from(sha1Hex(Buffer.from(b)))) === region).length < 3; i++) bodies.push(`return redis.call('GET', KEYS[1]) or 'x${i}'`);
  const shas = bodies.map((b) => sha1Hex(Buffer.from(b)));
  // The first write waits for T's acknowledgement until T is left out of dest.
  assert.equal(show(c.call(P, 'SCRIPT', 'LOAD', bodies[0]!)), shas[0]);
  for (let i = 1; i < bodies.length; i++) assert.equal(show(c.call(P, 'SCRIPT', 'LOAD', bodies[i]!)), shas[i]);
  for (let i = 0; i < 3 * RETAIN; i++) ledger.set(c, P, `down-${i}`, `d${i}`);
  c.run(300);
  assert.equal(replicaOf(c, P).progressOf().find((p) => p.id === T)!.waived, true, 'T is marked for a region resync');

  restart(c, T);
  assertConverged(c, 20_000);
  const storage = c.node(T).storage!;
  for (const [i, sha] of shas.entries()) assert.equal(storage.getScript(Buffer.from(sha))?.toString(), bodies[i], `T holds script ${i}`);

  c.crash(P);
  const next = awaitNewPrimary(c, P);
  for (const sha of shas) {
    const r = c.call(next.id, 'EVALSHA', sha, '1', 'early');
    assert.equal(show(r), 'e', `EVALSHA ${sha} on the new primary ${next.id}`);
  }
  ledger.verify(c);
});
