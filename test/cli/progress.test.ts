// `understudy status --watch`: a secondary far behind gets a progress bar whose
// percentage, rate and ETA follow its acknowledgements between two refreshes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProgress } from '../../src/cli/status.ts';
import type { ClusterView } from '../../src/cli/admin-client.ts';
import type { NodeStatus, SecondaryStatus } from '../../src/runtime/node-api.ts';

function status(id: string, role: NodeStatus['role'], secondaries: SecondaryStatus[] = []): NodeStatus {
  return {
    id,
    role,
    epoch: 3,
    primaryId: 'n1',
    leaseValid: role === 'primary',
    log: { start: 1, nextToClear: 1, appliedLsn: 5000, commitLsn: 5000, lastLsn: 5000, durableLsn: 5000, bytes: 0, segments: 1 },
    secondaries,
    inFlight: [],
    regionalCounters: {},
    dirtyRegions: [],
    incarnation: 1,
    lostData: null,
    keys: 0,
  };
}

function view(acked: number, resyncRegions = 0): ClusterView {
  const sec: SecondaryStatus = { id: 'n3', inDest: false, connection: 'connected', sentLsn: 5000, ackedLsn: acked, lagUpdates: 5000 - acked, lagMs: 0, resyncRegions, incarnation: 1 };
  const up: SecondaryStatus = { ...sec, id: 'n2', inDest: true, ackedLsn: 5000, lagUpdates: 0, resyncRegions: 0, incarnation: 1 };
  return { nodes: [status('n1', 'primary', [up, sec]), status('n2', 'secondary'), status('n3', 'secondary')] } as ClusterView;
}

test('a catching-up secondary shows its progress, rate and ETA; an up-to-date one shows none', () => {
  const seen = new Map();
  const first = formatProgress(view(1000), seen, 0);
  assert.equal(first.length, 1);
  assert.match(first[0]!, /^n3 catching up \[\.+\] 0% {2}4000 updates behind {2}0 updates\/s {2}ETA —$/);
  const second = formatProgress(view(3000), seen, 1000);
  assert.match(second[0]!, /^n3 catching up \[#{15}\.{15}\] 50% {2}2000 updates behind {2}2000 updates\/s {2}ETA 1 s$/);
  assert.deepEqual(formatProgress(view(5000), seen, 2000), [], 'caught up: no bar');
});

test('a region resync is named as such', () => {
  const lines = formatProgress(view(1000, 7), new Map(), 0);
  assert.match(lines[0]!, /n3 region resync \(7 regions\), then catching up/);
});
