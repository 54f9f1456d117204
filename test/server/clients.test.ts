// Real clients against the RESP server: ioredis 6 (its connect-time INFO ready
// check and CLIENT SETINFO, pipelines, MULTI, RESP3, AUTH) and Debian's
// redis-cli (PING, --pipe). The node is the single-node test harness.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import { RespServer, type RespServerOptions } from '../../src/server/resp-server.ts';
import { runTool } from '../tool-run.ts';
import { SingleNodeHarness } from './single-node.ts';

async function serve(opts: Partial<RespServerOptions> = {}) {
  const node = new SingleNodeHarness();
  const server = new RespServer({ node, port: 0, ...opts });
  const { port } = await server.listen();
  return {
    node,
    server,
    port,
    async close() {
      await server.close();
    },
  };
}

/** ioredis that fails fast instead of retrying forever (a test must end). */
function client(port: number, extra: Record<string, unknown> = {}): Redis {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...extra });
  r.on('error', () => undefined);
  return r;
}

test('ioredis connects (INFO ready check, CLIENT SETINFO), runs commands, pipelines and MULTI', async () => {
  const h = await serve();
  const r = client(h.port);
  try {
    await r.connect();
    assert.equal(r.status, 'ready');
    assert.equal(await r.set('k', 'v'), 'OK');
    assert.equal(await r.get('k'), 'v');
    assert.equal(await r.incrby('n', 5), 5);
    const p = r.pipeline();
    for (let i = 0; i < 1000; i++) p.incr('p');
    const res = await p.exec();
    assert.deepEqual(
      res!.map(([e, v]) => [e, v]),
      Array.from({ length: 1000 }, (_, i) => [null, i + 1]),
    );
    assert.deepEqual(await r.multi().set('m', '1').incr('m').get('m').exec(), [
      [null, 'OK'],
      [null, 2],
      [null, '2'],
    ]);
    // A queue-time error (wrong arity) makes the whole EXEC fail, as with Redis.
    await assert.rejects(r.multi().call('SET', 'only-key').exec(), /EXECABORT Transaction discarded because of previous errors/);
    const info = await r.info('replication');
    assert.match(info, /role:master/);
    const list = await r.client('LIST');
    assert.match(String(list), /lib-name=ioredis/, 'ioredis announced itself with CLIENT SETINFO');
    assert.equal(await r.dbsize(), 4);
  } finally {
    r.disconnect();
    await h.close();
  }
});

test('ioredis with a password: right, wrong, missing', async () => {
  const h = await serve({ requirePass: 'correct horse' });
  const good = client(h.port, { password: 'correct horse' });
  const bad = client(h.port, { password: 'wrong' });
  const none = client(h.port);
  try {
    await good.connect();
    assert.equal(await good.ping(), 'PONG');
    const errors: string[] = [];
    bad.on('error', (e: Error) => errors.push(e.message));
    await assert.rejects(bad.connect().then(() => bad.ping()));
    assert.ok(errors.some((m) => m.startsWith('WRONGPASS invalid username-password pair')), errors.join('; '));
    // Without a password the handshake (HELLO, then the INFO ready check) is refused: ioredis reports NOAUTH.
    const noneErrors: string[] = [];
    none.on('error', (e: Error) => noneErrors.push(e.message));
    await none.connect().catch(() => undefined);
    await assert.rejects(none.get('x'));
    assert.ok(noneErrors.some((m) => m.startsWith('NOAUTH ')), noneErrors.join('; '));
  } finally {
    good.disconnect();
    bad.disconnect();
    none.disconnect();
    await h.close();
  }
});

test('redis-cli -p PORT PING, SET/GET, INFO', async () => {
  const h = await serve();
  try {
    const ping = await runTool('redis-cli', ['-p', String(h.port), 'PING']);
    assert.equal(ping.stdout.trim(), 'PONG');
    assert.equal((await runTool('redis-cli', ['-p', String(h.port), 'SET', 'a', 'hello'])).stdout.trim(), 'OK');
    assert.equal((await runTool('redis-cli', ['-p', String(h.port), 'GET', 'a'])).stdout.trim(), 'hello');
    assert.equal((await runTool('redis-cli', ['-p', String(h.port), 'SELECT', '3'])).stdout.trim(), 'ERR DB index is out of range');
    const role = await runTool('redis-cli', ['-p', String(h.port), '--no-raw', 'ROLE']);
    assert.match(role.stdout, /1\) "master"/);
  } finally {
    await h.close();
  }
});

test('redis-cli --pipe: mass insertion of 10 000 commands, every reply counted', async () => {
  const h = await serve();
  try {
    let input = '';
    for (let i = 0; i < 10_000; i++) input += `*3\r\n$3\r\nSET\r\n$${`key:${i}`.length}\r\nkey:${i}\r\n$${String(i).length}\r\n${i}\r\n`;
    const r = await runTool('redis-cli', ['-p', String(h.port), '--pipe'], input);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /errors: 0, replies: 10000/);
    assert.equal(h.node.view.size(), 10_000);
  } finally {
    await h.close();
  }
});

test('redis-cli reports a refused connection at maxclients', async () => {
  const h = await serve({ limits: { maxClients: 1 } });
  const holder = client(h.port);
  try {
    await holder.connect();
    const r = await new Promise<string>((resolve) =>
      execFile('redis-cli', ['-p', String(h.port), 'PING'], { timeout: 10_000 }, (_e, stdout, stderr) => resolve(stdout + stderr)),
    );
    assert.match(r, /max number of clients reached/);
  } finally {
    holder.disconnect();
    await h.close();
  }
});
