// Claims 18 and 23 of US 7,617,369: the method of claim 1 as instructions on a
// storage medium (18) and as a computer system executing them (23). Here the
// medium is this package and the system is a program embedding it: three real
// nodes started in one process with `startNode` from the library entry point
// (src/index.ts), on LMDB in temporary directories, talking over TCP on
// 127.0.0.1. A write goes through the returned node handle, and at the moment
// its reply arrives every secondary's log already holds it durably and its
// storage area already has it; the clear notification then advances every
// log's pointers; everything stops cleanly.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeUpdate } from '../../src/codec/update-codec.ts';
import { parseConfig, startNode, type NodeStatus, type Reply, type StartedNode } from '../../src/index.ts';
import { freePorts, waitFor } from '../integration/harness.ts';

const NODES = 3;
/** Election, commit and clearing each happen within a few heartbeats; this bounds every wait. */
const WAIT_MS = 10_000;
/** Writes made through the handle (each checked at its reply). */
const WRITES = 20;

let dir: string;
let nodes: StartedNode[] = [];

/** Log lines of the embedded nodes are kept out of the test output. */
const quiet = new Writable({ write: (_c, _e, cb) => cb() });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'understudy-claim18-'));
  const ports = await freePorts(3 * NODES);
  const members = Array.from({ length: NODES }, (_, i) => ({
    id: `n${i + 1}`,
    peerAddr: `127.0.0.1:${ports[3 * i]}`,
    redisAddr: `127.0.0.1:${ports[3 * i + 1]}`,
    adminAddr: `127.0.0.1:${ports[3 * i + 2]}`,
  }));
  const secret = 'claims-18-23-shared-secret';
  nodes = await Promise.all(
    members.map((m) =>
      startNode(parseConfig({ nodeId: m.id, dataDir: join(dir, m.id), members, clusterSecret: secret, storage: 'lmdb', logLevel: 'info' }), {
        logDestination: quiet,
        onFatal: (err) => assert.fail(`node ${m.id} failed: ${err.message}`),
      }),
    ),
  );
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  rmSync(dir, { recursive: true, force: true });
});

function exec(n: StartedNode, ...args: string[]): Promise<{ replies: Reply[]; atReply: NodeStatus[] }> {
  return new Promise((resolve) =>
    n.node.execute([args.map((a) => Buffer.from(a))], (replies) => {
      // Taken synchronously in the reply callback: the state of every node when the client hears OK.
      resolve({ replies, atReply: nodes.map((x) => x.node.status()) });
    }),
  );
}

test('claims 18 and 23: the library, run as a program, carries out claim 1 — durable on every secondary log and in its storage area before the reply, cleared on notification', async () => {
  const primary = await waitFor('a primary with a lease', WAIT_MS, () => nodes.find((n) => n.node.role() === 'primary' && n.node.status().leaseValid));
  const secondaries = nodes.filter((n) => n !== primary);
  const secondaryIds = secondaries.map((n) => n.node.id).sort();

  // Identifying the plurality of secondary nodes the updates are sent to.
  await waitFor('both secondaries in dest', WAIT_MS, () =>
    primary.node.status().secondaries.filter((s) => s.inDest).length === secondaries.length ? true : undefined,
  );
  assert.deepEqual(primary.node.status().secondaries.map((s) => s.id).sort(), secondaryIds);

  const committed: number[] = [];
  primary.node.on('committed', (lsn) => committed.push(lsn));

  let lastLsn = 0;
  for (let i = 0; i < WRITES; i++) {
    const { replies, atReply } = await exec(primary, 'SET', `claim18:${i}`, `v${i}`);
    assert.deepEqual(replies, [{ t: 'simple', s: 'OK' }]);
    const lsn = primary.node.lastLsn();
    assert.ok(lsn > lastLsn, `each write is a new update (lsn ${lsn} after ${lastLsn})`);
    lastLsn = lsn;
    for (const s of atReply.filter((x) => x.id !== primary.node.id)) {
      // Inserted in the secondary's respective log, durably, before the reply…
      assert.ok(s.log.durableLsn >= lsn, `${s.id}: log durable to ${s.log.durableLsn} < ${lsn} when the client heard OK`);
      // …and copied from that log to its storage area.
      assert.ok(s.log.appliedLsn >= lsn, `${s.id}: storage applied to ${s.log.appliedLsn} < ${lsn} when the client heard OK`);
    }
    // The acknowledgements the primary determined all secondaries had sent.
    const p = atReply.find((x) => x.id === primary.node.id)!;
    for (const s of p.secondaries) assert.ok(s.ackedLsn >= lsn, `${s.id} had not acknowledged ${lsn} at the reply: ${s.ackedLsn}`);
  }
  assert.ok(committed.some((l) => l >= lastLsn), `a committed event covers lsn ${lastLsn}: ${committed.slice(-3).join(',')}`);

  // The update identifies the secondaries it is sent to: read back from a secondary's own log file.
  const log = secondaries[0]!.node.driver.updateLog;
  const records = await new Promise<Array<{ payload: Uint8Array }>>((resolve, reject) =>
    log.read(Math.max(log.start, lastLsn), 1 << 20, (err, r) => (err || !r ? reject(err ?? new Error('no records')) : resolve(r))),
  );
  const u = decodeUpdate(records[0]!.payload);
  assert.equal(u.lsn, lastLsn);
  assert.deepEqual([...u.dest].sort(), secondaryIds, 'the update names both secondaries');

  // Each secondary's storage area answers with the value (read on the secondary itself).
  for (const s of secondaries) {
    const { replies } = await exec(s, 'GET', `claim18:${WRITES - 1}`);
    assert.deepEqual(replies, [{ t: 'bulk', b: Buffer.from(`v${WRITES - 1}`) }], `${s.node.id} storage area`);
  }

  // The notification to clear, sent once all acknowledged: every log's next-to-clear pointer passes the writes.
  await waitFor('every log cleared past the writes', WAIT_MS, () =>
    nodes.every((n) => n.node.status().log.nextToClear > lastLsn) ? true : undefined,
  );

  // Equal copies of the data everywhere.
  const digests = new Set(nodes.map((n) => n.node.status({ digest: true }).digest));
  assert.equal(digests.size, 1);
});
