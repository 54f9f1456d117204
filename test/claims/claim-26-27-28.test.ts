// Claims 26–28: a regional counter on the primary, incremented by the number of
// secondaries an update is sent to, decremented per acknowledgement; back at its
// prior value, every secondary has acknowledged. Here several updates to ONE
// region are in flight at once (pipelined SETs of one key), so the counter holds
// 3 × 2, and whether "back to the prior value" is reached is decided per update:
// update 1 is determined acknowledged by all while update 3 still waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimCluster } from '../../sim/sim-cluster.ts';
import type { AckMsg } from '../../src/core/messages.ts';
import { regionOfKey } from '../../src/core/regions.ts';
import type { Lsn, NodeId } from '../../src/core/types.ts';
import { assertConverged, eventsOf, Ledger, othersThan, type Pending, recordDeliveries, replicaOf, startCluster } from './helpers.ts';

const KEY = 'claim26-key';
const REGION = regionOfKey(Buffer.from(KEY));

/** The counter of the key's region at the primary (0 when absent: nothing outstanding). */
function counter(c: SimCluster, P: NodeId): number {
  return replicaOf(c, P).regionalCounters()[REGION] ?? 0;
}

/** Acknowledgements not yet received for the given updates, from the received indicators (claims 27–28's definition). */
function notYetReceived(c: SimCluster, P: NodeId, lsns: readonly Lsn[]): number {
  const r = replicaOf(c, P);
  const secondaries = othersThan(c, P);
  let n = 0;
  for (const l of lsns) {
    const e = r.inFlight(1 << 20).find((x) => x.lsn === l);
    const u = r.log.get(l);
    if (!e || !u) continue;
    for (const d of u.dest) if (e.receivedIndicator[secondaries.indexOf(d)] !== 1) n++;
  }
  return n;
}

interface Step {
  at: number;
  from: NodeId;
  ackLsn: Lsn;
  before: number;
  after: number;
  commit: Lsn;
}

interface Run {
  c: SimCluster;
  P: NodeId;
  lsns: Lsn[];
  prior: number;
  /** Counter right after each SET was stamped (identifying its secondaries). */
  afterEach: number[];
  dests: NodeId[][];
  /** All three stamped, sent, none acknowledged. */
  allInFlight: number;
  commitAllInFlight: Lsn;
  /** Every acknowledgement delivered after the cuts healed, with the counter around it. */
  steps: Step[];
  /** The first moment update 1 was determined acknowledged by all. */
  firstDetermined: { counter: number; commit: Lsn } | null;
  /** When the first client got its reply. */
  firstReply: { counter: number; commit: Lsn; replied: boolean[] } | null;
  /** Counter = acknowledgements not yet received, checked after every event. */
  definitionHeld: boolean;
  final: number;
  writes: Pending[];
  ledger: Ledger;
}

/** A cluster after one acknowledged warm-up write to another key, and the claim's region counter then. */
function warmedUp(o: Parameters<typeof startCluster>[0]) {
  const { c, primary } = startCluster(o);
  const P = primary.id;
  const [S, T] = othersThan(c, P) as [NodeId, NodeId];
  const ledger = new Ledger();
  ledger.set(c, P, 'claim26-warmup', 'w');
  c.run(100);
  return { c, P, S, T, ledger, prior: counter(c, P) };
}

/**
 * Acks are held back while update 1 reaches both secondaries; updates 2 and 3 are sent while
 * the primary is cut off entirely. After healing, each secondary's first acknowledgement covers
 * update 1 only (2 and 3 are not yet durable there), its next one covers 2 and 3.
 */
function stepwise(seed: number): Run {
  const { c, P, S, T, ledger, prior } = warmedUp({ seed, fsyncLatencyMs: 4 });
  const rp = replicaOf(c, P);

  c.net.partition(S, P, true);
  c.net.partition(T, P, true);
  const writes: Pending[] = [];
  const lsns: Lsn[] = [];
  const afterEach: number[] = [];
  const dests: NodeId[][] = [];
  const write = (i: number): void => {
    writes.push(ledger.submit(c, P, KEY, `value-${i}`));
    lsns.push(rp.log.last);
    dests.push([...rp.log.get(rp.log.last)!.dest].sort());
    afterEach.push(counter(c, P));
  };
  write(1);
  assert.ok(c.runUntil(() => replicaOf(c, S).durable >= lsns[0]! && replicaOf(c, T).durable >= lsns[0]!, 100), 'update 1 is durable on both secondaries');
  c.net.isolate(P, [S, T]);
  write(2);
  write(3);
  c.run(1);
  const allInFlight = counter(c, P);
  const commitAllInFlight = rp.commit;

  const steps: Step[] = [];
  let before = allInFlight;
  let pendingAck: { at: number; from: NodeId; ackLsn: Lsn } | null = null;
  recordDeliveries(c, (d) => {
    if (d.msg.t === 'ack' && d.to === P && (d.msg as AckMsg).ok) pendingAck = { at: d.at, from: d.from, ackLsn: (d.msg as AckMsg).ackLsn };
  });
  let firstDetermined: Run['firstDetermined'] = null;
  let firstReply: Run['firstReply'] = null;
  let definitionHeld = true;
  c.net.heal();
  assert.ok(
    c.runUntil(() => {
      const now = counter(c, P);
      if (now !== notYetReceived(c, P, lsns)) definitionHeld = false;
      if (pendingAck) {
        steps.push({ ...pendingAck, before, after: now, commit: rp.commit });
        pendingAck = null;
      }
      before = now;
      if (firstDetermined === null && rp.commit >= lsns[0]!) firstDetermined = { counter: now, commit: rp.commit };
      if (firstReply === null && writes[0]!.done()) firstReply = { counter: now, commit: rp.commit, replied: writes.map((w) => w.done()) };
      return writes.every((w) => w.done());
    }, 2000),
    'all three writes are answered after the cuts heal',
  );
  return { c, P, lsns, prior, afterEach, dests, allInFlight, commitAllInFlight, steps, firstDetermined, firstReply, definitionHeld, final: counter(c, P), writes, ledger };
}

test('claim 26: with three updates to one region in flight, the regional counter is incremented by the number of secondaries each is sent to, and returns to its prior value once all acknowledged', () => {
  const { c, P, S, T, ledger, prior } = warmedUp({ seed: 2626 });
  assert.equal(prior, 0, 'nothing outstanding in the region before');

  // Block the acknowledgements; pipeline three SETs of one key without waiting.
  c.net.partition(S, P, true);
  c.net.partition(T, P, true);
  const writes = [1, 2, 3].map((i) => ledger.submit(c, P, KEY, `pipelined-${i}`));
  const rp = replicaOf(c, P);
  const lsns = [rp.log.last - 2, rp.log.last - 1, rp.log.last];
  for (const l of lsns) {
    assert.deepEqual([...rp.log.get(l)!.dest].sort(), [S, T].sort(), `update ${l} is sent to both secondaries`);
    assert.deepEqual(rp.log.get(l)!.regions, [REGION], `update ${l} touches the one region`);
  }
  c.run(30); // all three reach both secondaries' logs; no acknowledgement gets back
  for (const s of [S, T]) assert.ok(replicaOf(c, s).durable >= lsns[2]!, `${s} holds all three`);
  assert.equal(counter(c, P), prior + 3 * 2, 'three updates in flight to one region, each sent to two secondaries');
  assert.ok(rp.commit < lsns[0]!, 'none is determined acknowledged');
  assert.ok(writes.every((w) => !w.done()), 'no client is answered');

  c.net.heal();
  assert.ok(c.runUntil(() => writes.every((w) => w.done()), 1000), 'the writes are answered once acknowledgements flow');
  assert.ok(writes.every((w) => w.ok()), 'all three commit');
  assert.equal(counter(c, P), prior, 'the counter is back to its value prior to the incrementing');
  assert.equal(replicaOf(c, P).regionalCounters()[REGION], undefined, 'no entry left for the region');
  assertConverged(c);
  ledger.verify(c);
  assert.ok(rp.commit >= lsns[2]!);
});

test('claim 26: incrementing on identifying the secondaries, decrementing per acknowledgement, and determining that all acknowledged an update when its part of the counter is back to the prior value — per update', () => {
  const o = stepwise(2627);
  assert.equal(o.prior, 0);
  // Incrementing by the number of secondaries the update is sent to, on identifying them.
  for (const [i, d] of o.dests.entries()) assert.equal(d.length, 2, `update ${i + 1} is sent to two secondaries`);
  assert.deepEqual(o.afterEach, [2, 4, 6], 'each update adds |dest| = 2');
  assert.equal(o.allInFlight, 6, 'three updates to one region in flight at once');
  assert.ok(o.commitAllInFlight < o.lsns[0]!, 'none determined yet');

  // Decrementing per acknowledgement received.
  assert.ok(o.steps.length >= 4, `acknowledgements after healing: ${JSON.stringify(o.steps)}`);
  for (const s of o.steps) {
    const newly = o.lsns.filter((l) => l <= s.ackLsn).length;
    assert.ok(s.after <= s.before, `an acknowledgement never increments: ${JSON.stringify(s)}`);
    assert.ok(s.before - s.after <= newly, `an acknowledgement up to ${s.ackLsn} decrements at most once per update it covers`);
  }
  assert.ok(o.steps.some((s) => s.before - s.after === 1 && s.ackLsn === o.lsns[0]), 'an acknowledgement of update 1 alone decrements by one');

  // Determining per update: update 1 is acknowledged by all while updates 2 and 3 are not.
  const f = o.firstDetermined;
  assert.ok(f, 'update 1 was determined acknowledged');
  assert.equal(f.commit, o.lsns[0], 'update 1 is determined acknowledged by all before updates 2 and 3');
  assert.equal(f.counter, 4, "update 1's part is back to zero; updates 2 and 3 still wait for both secondaries");
  assert.ok(o.firstReply, 'the first client was answered');
  assert.equal(o.firstReply.commit, o.lsns[0]);
  assert.deepEqual(o.firstReply.replied, [true, false, false], 'the first client is answered while the other two wait');

  // In the end, the counter is back to its value prior to the incrementing.
  assert.equal(o.final, o.prior);
  assert.ok(o.writes.every((w) => w.ok()));
  assertConverged(o.c);
  o.ledger.verify(o.c);
});

test('claim 27: the regional counter is the number of secondary nodes from which an acknowledgement to the update has not been received; decremented per acknowledgement; then determining that each secondary acknowledged', () => {
  const o = stepwise(2728);
  assert.equal(o.allInFlight, 6);
  assert.ok(o.definitionHeld, 'after every simulated event, the counter equals the acknowledgements not yet received (received indicators unset over dest)');
  const committed = eventsOf(o.c, 'committed').filter((e) => e.node === o.P).map((e) => e.e.lsn);
  assert.ok(committed.includes(o.lsns[0]!), 'update 1 committed on its own');
  assert.ok(committed.some((l) => l >= o.lsns[2]!), 'update 3 committed afterwards');
  assert.equal(o.final, 0);
  assertConverged(o.c);
  o.ledger.verify(o.c);
});

test('claim 28: the same counter in the computer system: incremented by the secondaries an update is sent to, decremented per acknowledgement, determining that each secondary acknowledged', () => {
  const o = stepwise(2829);
  assert.deepEqual(o.afterEach, [2, 4, 6]);
  assert.ok(o.definitionHeld, 'the counter equals the acknowledgements not yet received');
  assert.ok(o.firstDetermined && o.firstDetermined.commit === o.lsns[0] && o.firstDetermined.counter === 4, `per update: ${JSON.stringify(o.firstDetermined)}`);
  assert.equal(o.final, 0);
  assert.ok(o.writes.every((w) => w.ok()));
  assertConverged(o.c);
  o.ledger.verify(o.c);
});
