// The client commands' behaviour over real TCP on one RESP server (the single-node harness):
// CLIENT PAUSE holding writes (or everything) in order until UNPAUSE or its end, CLIENT KILL by
// each filter, the flags CLIENT LIST shows, SLOWLOG entries and LATENCY events, and OBJECT
// IDLETIME's access times. Every wait is bounded polling; nothing asserts on a timing.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RespServer } from '../../src/server/resp-server.ts';
import type { Connection } from '../../src/server/resp-connection.ts';
import { SingleNodeHarness } from './single-node.ts';
import { cmd as c, rawConnect, WAIT_MS, type RawConn } from './raw-client.ts';

let server: RespServer;

before(async () => {
  // GETs of keys named "slow:*" answer after 30 ms: a command the slowlog and latency monitor see.
  const node = new SingleNodeHarness({ delayMs: (cmds) => (cmds.some((a) => a[1]?.toString().startsWith('slow:')) ? 30 : 0) });
  server = new RespServer({ node, port: 0, diagnostics: { slowlogLogSlowerThanUs: 20_000, latencyMonitorThresholdMs: 20 } });
  await server.listen();
});

after(async () => {
  await server.close();
});

/** Polls until `pred` holds (bounded by WAIT_MS). */
async function eventually(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The server's connection for a client, found by the client's local port (once the server has accepted it). */
async function serverSide(localPort: number): Promise<Connection> {
  const find = (): Connection | undefined => [...server.connections()].find((x) => x.addr.endsWith(`:${localPort}`));
  await eventually(() => find() !== undefined, `the server to accept port ${localPort}`);
  return find()!;
}

/** Sends a command whose reply is one line and answers that reply. */
async function askOn(conn: RawConn, script: string): Promise<string> {
  const before = conn.received().length;
  conn.write(script);
  await conn.until((d) => d.length > before && d.endsWith('\r\n'), script);
  return conn.received().toString('latin1').slice(before);
}

async function one(port: number, script: string, until: (d: string) => boolean): Promise<string> {
  const conn = await rawConnect(port);
  conn.write(script);
  const got = await conn.until(until, script);
  conn.end();
  return got;
}

test('CLIENT PAUSE WRITE holds a write and everything its client sends after it; reads of others pass; UNPAUSE runs them in order', async () => {
  const admin = await rawConnect(server.port);
  admin.write(c('SET', 'pw', 'old') + c('CLIENT', 'PAUSE', '600000', 'WRITE'));
  await admin.until((d) => d === '+OK\r\n+OK\r\n');
  const writer = await rawConnect(server.port);
  writer.write(c('SET', 'pw', 'new') + c('GET', 'pw') + c('PING'));
  const held = await serverSide(writer.socket.localPort!);
  await eventually(() => held.isHeld, 'the writer to be held');
  // Another client's read passes and sees the old value: the write has not run.
  assert.equal(await one(server.port, c('GET', 'pw'), (d) => d.endsWith('\r\n\r\n') || d.includes('old')), '$3\r\nold\r\n');
  assert.equal(writer.received().length, 0, 'nothing answered to the held client');
  assert.match(await one(server.port, c('CLIENT', 'LIST'), (d) => d.endsWith('\n\r\n')), new RegExp(`addr=${held.addr} .*flags=b `));
  admin.write(c('CLIENT', 'UNPAUSE'));
  assert.equal(await writer.until((d) => d.endsWith('+PONG\r\n'), 'held replies'), '+OK\r\n$3\r\nnew\r\n+PONG\r\n');
  admin.end();
  writer.end();
});

test('CLIENT PAUSE WRITE holds a write queued in MULTI and an EXEC that writes, not a read-only EXEC', async () => {
  const admin = await rawConnect(server.port);
  admin.write(c('CLIENT', 'PAUSE', '600000', 'WRITE'));
  await admin.until((d) => d === '+OK\r\n');
  const reader = await rawConnect(server.port);
  reader.write(c('MULTI') + c('GET', 'pm') + c('EXEC'));
  assert.equal(await reader.until((d) => d.endsWith('*1\r\n$-1\r\n')), '+OK\r\n+QUEUED\r\n*1\r\n$-1\r\n');
  const writer = await rawConnect(server.port);
  writer.write(c('MULTI') + c('SET', 'pm', '1') + c('EXEC'));
  // MULTI runs; the SET is held before it is queued, as Redis checks the pause before queueing.
  await writer.until((d) => d === '+OK\r\n', 'MULTI');
  const held = await serverSide(writer.socket.localPort!);
  await eventually(() => held.isHeld, 'the queued write to be held');
  admin.write(c('CLIENT', 'UNPAUSE'));
  assert.equal(await writer.until((d) => d.endsWith('*1\r\n+OK\r\n')), '+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n');
  for (const x of [admin, reader, writer]) x.end();
});

test('CLIENT PAUSE ALL holds reads too and ends by itself; a second pause keeps the stricter mode and the later end', async () => {
  const admin = await rawConnect(server.port);
  // ALL for 2 s, then WRITE for 1 ms: still ALL, and still until the later end.
  admin.write(c('MULTI') + c('CLIENT', 'PAUSE', '2000', 'ALL') + c('CLIENT', 'PAUSE', '1', 'WRITE') + c('EXEC'));
  await admin.until((d) => d.endsWith('*2\r\n+OK\r\n+OK\r\n'));
  const reader = await rawConnect(server.port);
  reader.write(c('GET', 'pa'));
  const held = await serverSide(reader.socket.localPort!);
  await eventually(() => held.isHeld || reader.received().length > 0, 'the read to be held or answered');
  assert.ok(held.isHeld, 'a read is held under a pause of ALL');
  // Nobody unpauses: the pause ends at its end and the read runs.
  assert.equal(await reader.until((d) => d === '$-1\r\n', 'the read after the pause'), '$-1\r\n');
  assert.equal(held.isHeld, false);
  admin.end();
  reader.end();
});

test('CLIENT KILL by ID, ADDR, LADDR, TYPE, USER and MAXAGE counts and closes the matching connections', async () => {
  const victims = await Promise.all([1, 2, 3].map(() => rawConnect(server.port)));
  const sides = await Promise.all(victims.map((v) => serverSide(v.socket.localPort!)));
  const admin = await rawConnect(server.port);
  const ask = (script: string): Promise<string> => askOn(admin, script);
  assert.equal(await ask(c('CLIENT', 'KILL', 'ID', String(sides[0]!.id))), ':1\r\n');
  await victims[0]!.closed();
  assert.equal(await ask(c('CLIENT', 'KILL', 'ADDR', sides[1]!.addr, 'TYPE', 'pubsub')), ':0\r\n');
  assert.equal(await ask(c('CLIENT', 'KILL', 'ADDR', sides[1]!.addr, 'TYPE', 'normal', 'MAXAGE', '100000')), ':0\r\n');
  assert.equal(await ask(c('CLIENT', 'KILL', 'ADDR', sides[1]!.addr, 'USER', 'default')), ':1\r\n');
  await victims[1]!.closed();
  // LADDR is the server's own address: every client but this one (SKIPME yes).
  assert.equal(await ask(c('CLIENT', 'KILL', 'LADDR', sides[2]!.laddr, 'MAXAGE', '0')), ':1\r\n');
  await victims[2]!.closed();
  assert.equal(server.clientCount, 1);
  admin.end();
});

test('CLIENT INFO shows NO-EVICT, NO-TOUCH, MULTI and MONITOR as Redis flags; RESET clears them', async () => {
  const conn = await rawConnect(server.port);
  conn.write(c('CLIENT', 'NO-EVICT', 'on') + c('CLIENT', 'NO-TOUCH', 'on') + c('CLIENT', 'INFO') + c('MULTI') + c('CLIENT', 'LIST') + c('DISCARD') + c('RESET') + c('CLIENT', 'INFO'));
  const got = await conn.until((d) => d.includes('+RESET') && (d.match(/flags=/g) ?? []).length === 2 && d.endsWith('\n\r\n'));
  const flags = [...got.matchAll(/flags=(\S+)/g)].map((m) => m[1]);
  assert.deepEqual(flags, ['eT', 'N']);
  conn.end();
  const tracking = await rawConnect(server.port);
  tracking.write(c('HELLO', '3') + c('CLIENT', 'TRACKING', 'on', 'BCAST') + c('CLIENT', 'INFO'));
  assert.match(await tracking.until((d) => /flags=\S+ /.test(d)), /flags=tB /);
  tracking.end();
  const multi = await rawConnect(server.port);
  multi.write(c('MULTI'));
  await multi.until((d) => d === '+OK\r\n');
  const side = await serverSide(multi.socket.localPort!);
  assert.match(await one(server.port, c('CLIENT', 'LIST'), (d) => d.endsWith('\n\r\n')), new RegExp(`addr=${side.addr} .*flags=x `));
  multi.end();
  const mon = await rawConnect(server.port);
  mon.write(c('MONITOR'));
  await mon.until((d) => d === '+OK\r\n');
  assert.match(await one(server.port, c('CLIENT', 'LIST'), (d) => d.endsWith('\n\r\n')), /flags=O /);
  mon.end();
});

test('SLOWLOG keeps a slow command as Redis shapes an entry; LATENCY records it as a fast-command event', async () => {
  const conn = await rawConnect(server.port);
  conn.write(c('SLOWLOG', 'RESET') + c('LATENCY', 'RESET') + c('CLIENT', 'SETNAME', 'slowpoke') + c('GET', 'slow:1'));
  // Connection commands run at once, data commands when the node answers: ask once GET is answered.
  await conn.until((d) => d.endsWith('$-1\r\n'), 'the slow GET');
  // On a loaded machine other commands may be slow too: look for the GET's entry among them.
  conn.write(c('SLOWLOG', 'GET', '-1') + c('ECHO', 'end'));
  const got = await conn.until((d) => d.endsWith('$3\r\nend\r\n'), 'slowlog entries');
  const side = await serverSide(conn.socket.localPort!);
  // The GET's entry: id, unix time, microseconds, the arguments, the client's address and name.
  assert.match(got, new RegExp(`\\*6\\r\\n:\\d+\\r\\n:\\d+\\r\\n:\\d+\\r\\n\\*2\\r\\n\\$3\\r\\nGET\\r\\n\\$6\\r\\nslow:1\\r\\n\\$${side.addr.length}\\r\\n${side.addr}\\r\\n\\$8\\r\\nslowpoke\\r\\n`));
  const before = conn.received().length;
  conn.write(c('LATENCY', 'LATEST') + c('LATENCY', 'HISTORY', 'fast-command') + c('LATENCY', 'DOCTOR') + c('ECHO', 'end'));
  const lat = (await conn.until((d) => d.length > before && d.endsWith('$3\r\nend\r\n'), 'latency')).slice(before);
  assert.match(lat, /\*4\r\n\$12\r\nfast-command\r\n:\d+\r\n:\d+\r\n:\d+\r\n/);
  assert.match(lat, /\*2\r\n:\d+\r\n:\d+\r\n/);
  assert.match(lat, /\d\. fast-command: \d+ latency spikes \(average \d+ms, mean deviation \d+ms, period \d+\.\d\d sec\)\. Worst all time event \d+ms\./);
  assert.match(lat, /The system is slow to execute Redis code paths/);
  conn.end();
});

test('OBJECT IDLETIME grows while nobody names the key; a CLIENT NO-TOUCH client\'s GET leaves it, a plain GET resets it', async () => {
  const conn = await rawConnect(server.port);
  const ask = (script: string): Promise<string> => askOn(conn, script);
  assert.equal(await ask(c('SET', 'idle:k', 'v')), '+OK\r\n');
  assert.equal(await ask(c('OBJECT', 'IDLETIME', 'idle:nokey')), '$-1\r\n');
  const deadline = Date.now() + WAIT_MS;
  while ((await ask(c('OBJECT', 'IDLETIME', 'idle:k'))) === ':0\r\n') {
    assert.ok(Date.now() < deadline, 'idle time never grew');
    await new Promise((r) => setTimeout(r, 100));
  }
  const touchless = await rawConnect(server.port);
  touchless.write(c('CLIENT', 'NO-TOUCH', 'on') + c('GET', 'idle:k') + c('TYPE', 'idle:k'));
  await touchless.until((d) => d.endsWith('+string\r\n'));
  touchless.end();
  assert.notEqual(await ask(c('OBJECT', 'IDLETIME', 'idle:k')), ':0\r\n');
  assert.equal(await ask(c('GET', 'idle:k')), '$1\r\nv\r\n');
  assert.equal(await ask(c('OBJECT', 'IDLETIME', 'idle:k')), ':0\r\n');
  conn.end();
});
