// Bad input against running node processes: malformed RESP gets an error and
// the connection closed while other clients carry on; random bytes never take
// a node down; a peer with the wrong cluster secret is refused and logged while
// the cluster goes on; a configuration with a typo stops the process at start
// with a non-zero exit code and a message naming the key.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { PeerTransport } from '../../src/host/peer-transport.ts';
import { Prng } from '../../src/lib/prng.ts';
import { BIN, ProcessCluster, REPO_ROOT, sleep, waitFor, SHARED_MACHINE_TIMING } from './harness.ts';

/** How long a reply or a close may take before the test calls it missing. */
const REPLY_TIMEOUT_MS = 3000;
/** Random blobs thrown at the node, and their largest size. */
const GARBAGE_BLOBS = 40;
const GARBAGE_MAX_BYTES = 4096;
/** How long the impostor keeps trying to connect before the test checks it never got in. */
const IMPOSTOR_TRY_MS = 1500;
const CLI_TIMEOUT_MS = 20_000;

let cluster: ProcessCluster;
let primary: string;
let bystander: Redis;

before(async () => {
  cluster = await ProcessCluster.create({ nodes: 3, extra: { timing: SHARED_MACHINE_TIMING } });
  await cluster.startAll();
  primary = await cluster.waitPrimary();
  // A well-behaved client connected all along: every bad input must leave it working.
  bystander = new Redis({ port: cluster.spec(primary).redisPort, host: '127.0.0.1', maxRetriesPerRequest: 0, commandTimeout: REPLY_TIMEOUT_MS });
  bystander.on('error', () => undefined);
});

after(async () => {
  bystander?.disconnect();
  await cluster?.close();
});

/**
 * Sends bytes on a fresh connection; resolves with what came back and whether the server closed
 * it — as soon as `complete` accepts the reply, or the server closes, or after REPLY_TIMEOUT_MS.
 * With `halfClose` the client ends its side after writing (as a client that sent garbage and left).
 */
function exchange(port: number, data: Buffer | string, complete?: (reply: string) => boolean, halfClose = false): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ reply: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), REPLY_TIMEOUT_MS);
    s.on('data', (d) => {
      chunks.push(d);
      if (complete?.(Buffer.concat(chunks).toString('latin1'))) finish(false);
    });
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.on('connect', () => (halfClose ? s.end(data) : s.write(data)));
  });
}

async function stillServes(tag: string): Promise<void> {
  assert.equal(await bystander.set(`bystander:${tag}`, tag), 'OK', `the connected client failed after ${tag}`);
  assert.equal(await bystander.get(`bystander:${tag}`), tag);
  const fresh = await exchange(cluster.spec(primary).redisPort, 'PING\r\n', (r) => r.endsWith('\r\n'));
  assert.equal(fresh.reply, '+PONG\r\n', `a new client got no PONG after ${tag}`);
  assert.ok(cluster.isRunning(primary), `${primary} exited after ${tag}:\n${cluster.logTail(primary)}`);
}

test('malformed RESP: an error, the connection closed, every other client unaffected', async () => {
  const port = cluster.spec(primary).redisPort;
  const cases: Array<[string, string, RegExp]> = [
    ['bad multibulk length', '*abc\r\n', /^-ERR Protocol error: invalid multibulk length\r\n$/],
    ['1 GiB bulk announced', '*1\r\n$1073741824\r\n', /^-ERR Protocol error: invalid bulk length\r\n$/],
    ['negative bulk length', '*1\r\n$-7\r\n', /^-ERR Protocol error: invalid bulk length\r\n$/],
    ['array where a bulk belongs (unbalanced)', '*3\r\n$3\r\nSET\r\n*1\r\n', /^-ERR Protocol error: expected '\$', got '\*'\r\n$/],
    ['unbalanced quotes inline', '"unbalanced\r\n', /^-ERR Protocol error: unbalanced quotes in request\r\n$/],
  ];
  for (const [name, bytes, want] of cases) {
    const r = await exchange(port, bytes);
    assert.match(r.reply, want, `${name}: reply ${JSON.stringify(r.reply)}`);
    assert.ok(r.closed, `${name}: the connection should be closed`);
    await stillServes(name);
  }
});

test('random bytes from many connections never take the node down', async () => {
  const port = cluster.spec(primary).redisPort;
  const prng = new Prng(0x5eed);
  let answered = 0;
  for (let i = 0; i < GARBAGE_BLOBS; i++) {
    const n = prng.int(1, GARBAGE_MAX_BYTES);
    const blob = Buffer.alloc(n);
    for (let j = 0; j < n; j++) blob[j] = prng.int(0, 255);
    // Half the blobs start like a RESP array, so the multibulk parser sees garbage too.
    if (i % 2 === 0) blob.write('*3\r\n$', 0, 'latin1');
    const r = await exchange(port, blob, undefined, true);
    // Whatever came back is RESP (errors or replies to accidental inline commands), never a crash.
    assert.ok(r.reply === '' || /^[-+:$*_]/.test(r.reply), `blob ${i}: unexpected reply ${JSON.stringify(r.reply.slice(0, 80))}`);
    if (r.reply !== '') answered++;
  }
  // The bytes were parsed, not dropped unread: some of them drew an error reply.
  assert.ok(answered > 0, 'no blob drew any reply');
  await stillServes('random bytes');
});

test('a peer with the wrong cluster secret is refused and logged; the cluster carries on', async () => {
  // The impostor claims to be a real member and dials a node with a higher id (the lower id dials).
  const target = 'n3';
  const claimed = 'n2';
  const impostor = new PeerTransport({
    self: claimed,
    listenHost: '127.0.0.1',
    listenPort: 0,
    peers: { [target]: `127.0.0.1:${cluster.spec(target).peerPort}` },
    secret: 'this-is-not-the-cluster-secret',
    clusterName: 'understudy',
    logger: { warn: () => undefined, info: () => undefined },
  });
  try {
    await new Promise<void>((resolve, reject) => impostor.listen((err) => (err ? reject(err) : resolve())));
    const deadline = Date.now() + IMPOSTOR_TRY_MS;
    while (Date.now() < deadline) {
      assert.notEqual(impostor.peerState(target), 'connected', 'the impostor got a connection');
      await sleep(50);
    }
  } finally {
    await new Promise<void>((resolve) => impostor.close(resolve));
  }
  const refused = await waitFor(`${target} to log the refused handshake`, REPLY_TIMEOUT_MS, () => {
    const lines = readFileSync(cluster.spec(target).logPath, 'utf8').split('\n');
    return lines.find((l) => l.includes('PEER_AUTH_FAILED') && l.includes('secret')) ?? undefined;
  });
  assert.match(refused, /"level":40/, 'the refusal is a warning');
  // Unharmed: the same primary, every node still following it, writes still go through everywhere.
  assert.equal(await cluster.waitPrimary(), primary);
  await stillServes('impostor');
  const st = await cluster.converged();
  assert.equal(new Set([...st.values()].map((s) => s.digest)).size, 1);
});

test('a configuration with a typo: the process exits non-zero naming the key', async () => {
  const good = JSON.parse(readFileSync(cluster.spec('n1').configPath, 'utf8')) as Record<string, unknown>;
  const bad = { ...good, dataDir: join(cluster.dir, 'typo-node'), timing: { electionTimeoutMS: 500 } };
  const path = join(cluster.dir, 'typo.json');
  writeFileSync(path, JSON.stringify(bad));
  const r = await promisify(execFile)(process.execPath, [BIN, 'start', '--config', path], { cwd: REPO_ROOT, timeout: CLI_TIMEOUT_MS }).then(
    (ok) => ({ code: 0, stderr: ok.stderr }),
    (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, stderr: e.stderr ?? '' }),
  );
  assert.notEqual(r.code, 0, 'a typo must stop the process');
  assert.match(r.stderr, /timing\.electionTimeoutMS/, `stderr should name the key: ${r.stderr}`);
  assert.match(r.stderr, /electionTimeoutMs/, `stderr should suggest the right key: ${r.stderr}`);
});
