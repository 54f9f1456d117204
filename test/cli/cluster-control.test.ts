// The control endpoint of `cluster up` (what `cluster ps|stop|start` talk to): found through
// <data>/cluster/supervisor.json, answering only to its token, and a file left by a killed
// supervisor recognised as stale even when its PID now belongs to a live process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answeringSupervisor, controlRequest, startControl, supervisorFilePath } from '../../src/cli/cluster-control.ts';
import { ClusterSupervisor } from '../../src/cli/cluster-supervisor.ts';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('the control endpoint answers to its token only, names unknown members, and its file goes with it', async () => {
  const data = mkdtempSync(join(tmpdir(), 'understudy-control-'));
  mkdirSync(join(data, 'cluster'));
  // No members: nothing is spawned; the endpoint and its file are what is under test.
  const sup = new ClusterSupervisor([], { note: () => undefined, spawned: () => undefined });
  const control = await startControl(sup, data, [7001, 7101]);
  try {
    const file = supervisorFilePath(data);
    assert.equal(statSync(file).mode & 0o777, 0o600, 'only its owner can read the token');
    const f = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; url: string; token: string; ports: number[] };
    assert.equal(f.pid, process.pid);
    assert.deepEqual(f.ports, [7001, 7101]);
    assert.equal((await answeringSupervisor(data))?.url, f.url);
    assert.deepEqual((await controlRequest(data, 'GET', '/members')).body, { members: [] });
    const unknown = await controlRequest(data, 'POST', '/members/n9/stop');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'no member "n9" (members: )');
    const wrong = await fetch(`${f.url}/members`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const none = await fetch(`${f.url}/members`);
    assert.equal(none.status, 401);
  } finally {
    await control.close();
  }
  assert.equal(existsSync(supervisorFilePath(data)), false, 'closing removes the file');
  assert.equal(await answeringSupervisor(data), null);
  rmSync(data, { recursive: true, force: true });
});

test('a supervisor file whose PID is alive but whose port does not answer is stale', async () => {
  const data = mkdtempSync(join(tmpdir(), 'understudy-control-'));
  mkdirSync(join(data, 'cluster'));
  // This test's own PID stands for a reused one: alive, but no supervisor.
  writeFileSync(supervisorFilePath(data), JSON.stringify({ pid: process.pid, url: `http://127.0.0.1:${await closedPort()}`, token: 'x', ports: [] }));
  assert.equal(await answeringSupervisor(data), null);
  await assert.rejects(controlRequest(data, 'GET', '/members'), /\(pid \d+\) does not answer at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); if it was killed, that file is stale/);
  rmSync(data, { recursive: true, force: true });
});
