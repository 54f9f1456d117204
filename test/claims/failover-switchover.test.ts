// Failover: a planned switchover under load. Clients keep eight writes in
// flight against whichever node is primary while the primary hands over to a
// chosen secondary; no acknowledged write is lost, and the target ends up
// primary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimCluster } from '../../sim/sim-cluster.ts';
import { assertConverged, eventsOf, Ledger, othersThan, type Pending, replicaOf, startCluster } from './helpers.ts';

/** Keeps `depth` writes in flight against the current primary. */
class Load {
  private n = 0;
  readonly writes: Pending[] = [];
  running = true;
  constructor(
    private readonly c: SimCluster,
    private readonly ledger: Ledger,
    private readonly depth: number,
  ) {}

  /** Called after every simulated event. */
  pump(): void {
    if (!this.running) return;
    const p = this.c.primary();
    if (!p) return;
    let inFlight = this.writes.filter((w) => !w.done()).length;
    while (inFlight < this.depth) {
      this.writes.push(this.ledger.submit(this.c, p.id, `load-${this.n}`, `v${this.n}`));
      this.n++;
      inFlight++;
    }
  }

  get acked(): number {
    return this.writes.filter((w) => w.ok()).length;
  }
}

test('a planned switchover under load loses no acknowledged write', () => {
  const { c, primary } = startCluster({ seed: 4242 });
  const P = primary.id;
  const [to] = othersThan(c, P) as [string, string];
  const ledger = new Ledger();
  const load = new Load(c, ledger, 8);
  c.runUntil(() => {
    load.pump();
    return load.acked >= 200;
  }, 5000);
  assert.ok(load.acked >= 200, 'the load runs before the switchover');

  let result: Error | null | undefined;
  const askedAt = c.q.now;
  const epochBefore = replicaOf(c, P).currentEpoch;
  c.node(P).driver!.switchover(to, (err) => {
    result = err;
  });
  assert.ok(
    c.runUntil(() => {
      load.pump();
      const p = c.primary();
      return result !== undefined && p?.id === to && p.driver!.replica.leaseValid();
    }, 5000),
    `the switchover completes (result ${String(result)})`,
  );
  assert.equal(result, null, 'the old primary reports success');
  assert.equal(replicaOf(c, to).currentEpoch, epochBefore + 1, 'one election, started by the target');
  const ackedAtSwitch = load.acked;

  // Load goes on against the new primary.
  c.runUntil(() => {
    load.pump();
    return load.acked >= ackedAtSwitch + 200;
  }, 5000);
  assert.ok(load.acked >= ackedAtSwitch + 200, 'writes commit on the new primary');
  load.running = false;
  assert.ok(c.runUntil(() => load.writes.every((w) => w.done()), 5000), 'every write is answered');

  // Exactly one role change to primary after the request: the target's; the old primary stays up as a secondary.
  const won = eventsOf(c, 'role').filter((e) => e.at >= askedAt && e.e.role === 'primary').map((e) => e.node);
  assert.deepEqual(won, [to], 'the target, and only it, became primary');
  assert.equal(replicaOf(c, P).currentRole, 'secondary');
  assert.equal(replicaOf(c, P).currentPrimary, to);
  const failed = load.writes.filter((w) => !w.ok());
  assert.ok(failed.length <= 8, `at most the writes in flight at the handover fail: ${failed.map((w) => w.s.reply).join(' | ')}`);

  assertConverged(c);
  ledger.verify(c);
  assert.equal(ledger.ackedCount, load.acked);
});
