// `understudy bench` against a real 3-node cluster (library nodes on 127.0.0.1,
// in-memory storage): it loads the primary and prints one row per run with
// ops/s and latencies; pointed at a secondary it says so and exits 1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { runCli } from '../../src/cli/program.ts';
import { parseConfig } from '../../src/config/load.ts';
import { startNode, type StartedNode } from '../../src/host/start-node.ts';
import { freePorts, waitFor } from '../integration/harness.ts';

const WAIT_MS = 15_000;
let dir: string;
let nodes: StartedNode[] = [];
const quiet = new Writable({ write: (_c, _e, cb) => cb() });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'understudy-cli-bench-'));
  const ports = await freePorts(9);
  const members = [0, 1, 2].map((i) => ({ id: `n${i + 1}`, peerAddr: `127.0.0.1:${ports[3 * i]}`, redisAddr: `127.0.0.1:${ports[3 * i + 1]}`, adminAddr: `127.0.0.1:${ports[3 * i + 2]}` }));
  nodes = await Promise.all(
    members.map((m) =>
      startNode(parseConfig({ nodeId: m.id, dataDir: join(dir, m.id), members, clusterSecret: 'cli-bench-secret', storage: 'memory', logLevel: 'silent', timing: { electionTimeoutMs: 1500, leaseMarginMs: 300 } }), {
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

async function bench(args: string[]): Promise<{ code: number; out: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  const code = await runCli(['bench', ...args], { out, err: out });
  return { code, out: text };
}

function portOf(n: StartedNode): string {
  return n.node.members.find((m) => m.id === n.node.id)!.redisAddr!.split(':')[1]!;
}

test('bench loads the primary: a row per test and client count, every operation answered', async () => {
  const primary = await waitFor('a primary with a lease', WAIT_MS, () => nodes.find((n) => n.node.role() === 'primary' && n.node.status().leaseValid));
  const r = await bench(['--port', portOf(primary), '-c', '1,4', '-s', '1', '-t', 'set,get', '-d', '32', '-r', '50']);
  assert.equal(r.code, 0, r.out);
  const rows = r.out.split('\n').filter((l) => /^\| (SET|GET) \|/.test(l));
  assert.deepEqual(rows.map((l) => l.split('|').slice(1, 3).map((x) => x.trim()).join(' ')), ['SET 1', 'SET 4', 'GET 1', 'GET 4']);
  for (const l of rows) {
    const cells = l.split('|').map((x) => x.trim());
    assert.ok(Number(cells[3]!.replaceAll(',', '')) > 0, `ops/s in ${l}`);
    assert.equal(cells[7], '0', `no errors in ${l}`);
  }
  // The SETs were real writes: a key of the keyspace holds a value of the size asked for.
  const v = await new Promise<unknown>((resolve) => primary.node.execute([[Buffer.from('GET'), Buffer.from('key:000000000007')]], (rep) => resolve(rep[0])));
  assert.deepEqual(v, { t: 'bulk', b: Buffer.alloc(32, 'v') });
});

test('bench pointed at a secondary says so and exits 1', async () => {
  const secondary = await waitFor('a secondary', WAIT_MS, () => nodes.find((n) => n.node.role() === 'secondary'));
  const r = await bench(['--port', portOf(secondary), '-c', '1', '-s', '1']);
  assert.equal(r.code, 1);
  assert.match(r.out, /is a secondary \(it answered READONLY\): point --port at the primary/);
});
