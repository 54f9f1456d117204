// Blocking pops side by side with redis-server (Debian's 7.0): every script runs on a real
// redis-server and on the primary of a real three-node cluster (startNode, LMDB, TCP), over
// several raw connections, and every connection's bytes must be identical. Scripts cover the
// argument errors and their order, the immediate pops, MULTI (never blocks), timeouts, wake-ups
// by pushes from other clients and transactions, fairness in arrival order, a client blocked on
// several keys, BLMOVE's wrong-typed destination, pipelined commands behind a blocked one,
// CLIENT UNBLOCK, and RESP3. A step that blocks waits until the server reports the client
// blocked (INFO's blocked_clients), so both servers see the same order of events.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { parseConfig, startNode, type StartedNode } from '../../src/index.ts';
import { freePorts, SHARED_MACHINE_TIMING, waitFor } from '../integration/harness.ts';
import { RedisServer, replyEnd } from '../kv/redis-server.ts';
import { cmd, rawConnect, type RawConn } from './raw-client.ts';

const NODES = 3;
const WAIT_MS = 10_000;

let dir: string;
let nodes: StartedNode[] = [];
let redis: RedisServer;
let primaryPort = 0;
let secondaryPort = 0;

const quiet = new Writable({ write: (_c, _e, cb) => cb() });

before(async () => {
  redis = await RedisServer.start();
  dir = mkdtempSync(join(tmpdir(), 'understudy-blocking-'));
  const ports = await freePorts(2 * NODES);
  const members = Array.from({ length: NODES }, (_, i) => ({ id: `n${i + 1}`, peerAddr: `127.0.0.1:${ports[2 * i]}`, redisAddr: `127.0.0.1:${ports[2 * i + 1]}` }));
  nodes = await Promise.all(
    members.map((m) =>
      startNode(parseConfig({ nodeId: m.id, dataDir: join(dir, m.id), members, clusterSecret: 'blocking-differential-secret', storage: 'lmdb', timing: SHARED_MACHINE_TIMING }), {
        logDestination: quiet,
        onFatal: (e) => assert.fail(`node ${m.id} failed: ${e.message}`),
      }),
    ),
  );
  const primary = await waitFor('a primary with a lease and both secondaries in dest', WAIT_MS, () =>
    nodes.find((n) => n.node.role() === 'primary' && n.node.status().leaseValid && n.node.status().secondaries.filter((s) => s.inDest).length === NODES - 1),
  );
  const portOf = (n: StartedNode): number => Number(members.find((m) => m.id === n.node.id)!.redisAddr.split(':')[1]);
  primaryPort = portOf(primary);
  secondaryPort = portOf(nodes.find((n) => n !== primary)!);
});

after(async () => {
  redis?.stop();
  await Promise.all(nodes.map((n) => n.stop()));
  rmSync(dir, { recursive: true, force: true });
});

/** Complete replies in `buf`. */
function replyCount(buf: Buffer): number {
  let n = 0;
  let pos = 0;
  for (;;) {
    const end = pos < buf.length ? replyEnd(buf, pos) : -1;
    if (end <= 0) return n;
    n++;
    pos = end;
  }
}

/** Several raw connections to one server, and a control connection that reads blocked_clients. */
class Peer {
  private readonly conns: RawConn[] = [];
  private readonly sent: number[] = [];
  private control!: RawConn;
  private controlSent = 0;
  constructor(readonly port: number) {}

  async open(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.conns.push(await rawConnect(this.port));
      this.sent.push(0);
    }
    this.control = await rawConnect(this.port);
  }

  /** Sends one command on connection i and waits for its reply. */
  async run(i: number, ...args: string[]): Promise<void> {
    this.send(i, args);
    await this.settled(i);
  }

  /** Sends commands on connection i in one write (a pipeline) and does not wait. */
  send(i: number, ...cmds: string[][]): void {
    this.conns[i]!.write(cmds.map((a) => cmd(...a)).join(''));
    this.sent[i]! += cmds.length;
  }

  /** Waits until connection i has answered everything sent to it. */
  async settled(i: number): Promise<void> {
    await this.conns[i]!.until((d) => replyCount(Buffer.from(d, 'latin1')) >= this.sent[i]!, `conn ${i}: ${this.sent[i]} replies`);
  }

  /** Sends a command expected to block on connection i and waits until `blocked` clients are blocked. */
  async block(i: number, blocked: number, ...args: string[]): Promise<void> {
    this.send(i, args);
    await this.blocked(blocked);
  }

  async blocked(n: number): Promise<void> {
    await waitFor(`${n} blocked clients on port ${this.port}`, WAIT_MS, async () => {
      this.control.write(cmd('INFO', 'clients'));
      this.controlSent++;
      const got = await this.control.until((d) => replyCount(Buffer.from(d, 'latin1')) >= this.controlSent);
      const last = got.lastIndexOf('blocked_clients:');
      return Number(got.slice(last + 16, got.indexOf('\r\n', last))) === n ? true : undefined;
    });
  }

  /** Runs a command on connection i whose reply differs between servers (ids): returned, and cut from the transcript. */
  async unlisted(i: number, ...args: string[]): Promise<string> {
    const before = this.conns[i]!.received().length;
    await this.run(i, ...args);
    const text = this.conns[i]!.received().subarray(before).toString('latin1');
    this.forget.push([i, before, this.conns[i]!.received().length]);
    return text;
  }

  /** Client id of connection i. */
  async clientId(i: number): Promise<string> {
    const text = await this.unlisted(i, 'CLIENT', 'ID');
    return text.slice(1, text.indexOf('\r\n'));
  }

  /** HELLO 3 on connection i (its reply names the server and the client id: not compared). */
  async resp3(i: number): Promise<void> {
    await this.unlisted(i, 'HELLO', '3');
  }

  private readonly forget: Array<[number, number, number]> = [];

  /** Every connection's bytes, once each has answered all it was sent (CLIENT ID replies cut out). */
  async transcript(): Promise<string[]> {
    for (let i = 0; i < this.conns.length; i++) await this.settled(i);
    const out = this.conns.map((c) => c.received());
    for (const [i, from, to] of [...this.forget].reverse()) out[i] = Buffer.concat([out[i]!.subarray(0, from), out[i]!.subarray(to)]);
    return out.map((b) => b.toString('latin1'));
  }

  /** Closes every connection (a client still blocked must not count in the next script). */
  close(): void {
    for (const c of this.conns) c.socket.destroy();
    this.control?.socket.destroy();
  }
}

/** Runs `script` against redis-server and against our primary (each from an empty keyspace); the bytes of every connection must match. */
async function same(name: string, conns: number, script: (p: Peer) => Promise<void>): Promise<void> {
  const results: string[][] = [];
  for (const port of [redis.port, primaryPort]) {
    const p = new Peer(port);
    await p.open(conns);
    try {
      await p.run(0, 'FLUSHALL');
      await script(p);
      results.push(await p.transcript());
    } finally {
      p.close();
    }
  }
  assert.deepEqual(results[1], results[0], `${name}: our replies differ from redis-server's`);
}

test('argument errors, their order, and the pops that find data at once match redis-server', async () => {
  await same('timeouts', 1, async (p) => {
    for (const t of ['-1', '-0.5', 'abc', '', ' 1', '1 ', 'nan', 'inf', '-inf', '1e300', '9223372036854775807', '9.3e15', '-0x10', '1.5e', '1\u0000'])
      await p.run(0, 'BLPOP', 'k', t);
    for (const t of ['-1', 'x', 'inf']) {
      await p.run(0, 'BRPOP', 'k', 'j', t);
      await p.run(0, 'BZPOPMIN', 'z', t);
      await p.run(0, 'BZPOPMAX', 'z', t);
      await p.run(0, 'BLMOVE', 'a', 'b', 'LEFT', 'RIGHT', t);
      await p.run(0, 'BRPOPLPUSH', 'a', 'b', t);
      await p.run(0, 'BLMPOP', t, '1', 'k', 'LEFT');
      await p.run(0, 'BZMPOP', t, '1', 'z', 'MIN');
    }
  });
  await same('arity and syntax', 1, async (p) => {
    await p.run(0, 'BLPOP', 'k');
    await p.run(0, 'BRPOPLPUSH', 'a', 'b');
    await p.run(0, 'BLMOVE', 'a', 'b', 'LEFT', 'RIGHT');
    await p.run(0, 'BLMOVE', 'a', 'b', 'UP', 'RIGHT', '-1');
    await p.run(0, 'BLMOVE', 'a', 'b', 'left', 'down', 'x');
    await p.run(0, 'BLMPOP', '0', '1', 'k');
    await p.run(0, 'BLMPOP', '-1', '0', 'k', 'LEFT');
    await p.run(0, 'BLMPOP', '-1', 'x', 'k', 'LEFT');
    await p.run(0, 'BLMPOP', '-1', '2', 'k', 'LEFT');
    await p.run(0, 'BLMPOP', '-1', '1', 'k', 'UP');
    await p.run(0, 'BLMPOP', '-1', '1', 'k', 'LEFT', 'COUNT', '0');
    await p.run(0, 'BLMPOP', '-1', '1', 'k', 'LEFT', 'COUNT');
    await p.run(0, 'BLMPOP', '-1', '1', 'k', 'LEFT', 'COUNT', '1', 'COUNT', '1');
    await p.run(0, 'BLMPOP', '-1', '1', 'k', 'LEFT', 'COUNT', '1');
    await p.run(0, 'BZMPOP', '0', '1', 'z');
    await p.run(0, 'BZMPOP', '-1', '0', 'z', 'MIN');
    await p.run(0, 'BZMPOP', '-1', '99', 'z', 'MIN');
    await p.run(0, 'BZMPOP', '-1', '1', 'z', 'LEFT');
    await p.run(0, 'BZMPOP', '-1', '1', 'z', 'MAX', 'COUNT', '-3');
    await p.run(0, 'BZMPOP', '-1', '1', 'z', 'MAX', 'COUNT', '2');
  });
  await same('immediate pops and WRONGTYPE', 1, async (p) => {
    await p.run(0, 'RPUSH', 'l', 'a', 'b', 'c', 'd', 'e');
    await p.run(0, 'SET', 's', 'str');
    await p.run(0, 'ZADD', 'z', '1', 'one', '2', 'two', '3', 'three', '-1.5', 'neg');
    await p.run(0, 'BLPOP', 'nokey', 'l', '0');
    await p.run(0, 'BRPOP', 'l', 's', '0');
    await p.run(0, 'BLPOP', 'nokey', 's', 'l', '0');
    await p.run(0, 'BLPOP', 's', '-1');
    await p.run(0, 'BLMOVE', 'l', 'dst', 'LEFT', 'RIGHT', '0');
    await p.run(0, 'BLMOVE', 'l', 's', 'LEFT', 'RIGHT', '0');
    await p.run(0, 'BLMOVE', 's', 'dst', 'LEFT', 'RIGHT', '0');
    await p.run(0, 'BLMOVE', 'nokey', 's', 'LEFT', 'RIGHT', '0.01');
    await p.run(0, 'BRPOPLPUSH', 'l', 'l', '0');
    await p.run(0, 'LRANGE', 'l', '0', '-1');
    await p.run(0, 'LRANGE', 'dst', '0', '-1');
    await p.run(0, 'BLMPOP', '0', '3', 'nokey', 'l', 'dst', 'RIGHT', 'COUNT', '10');
    await p.run(0, 'BLMPOP', '0', '1', 'dst', 'LEFT');
    await p.run(0, 'EXISTS', 'l', 'dst');
    await p.run(0, 'BZPOPMIN', 'nokey', 'z', '0');
    await p.run(0, 'BZPOPMAX', 'z', '0');
    await p.run(0, 'BZPOPMIN', 's', 'z', '0');
    await p.run(0, 'BZMPOP', '0', '2', 'nokey', 'z', 'MAX', 'COUNT', '5');
    await p.run(0, 'EXISTS', 'z');
    await p.run(0, 'BZPOPMIN', 's', '0');
  });
});

test('inside MULTI a blocking pop never blocks: it pops, or answers the nil of a timeout, as redis-server does', async () => {
  await same('multi', 1, async (p) => {
    await p.run(0, 'MULTI');
    for (const c of [
      ['BLPOP', 'k', '0'],
      ['BRPOP', 'k', 'j', '100'],
      ['BLMOVE', 'k', 'd', 'LEFT', 'LEFT', '0'],
      ['BRPOPLPUSH', 'k', 'd', '0'],
      ['BLMPOP', '0', '1', 'k', 'LEFT'],
      ['BZPOPMIN', 'z', '0'],
      ['BZPOPMAX', 'z', '0'],
      ['BZMPOP', '0', '1', 'z', 'MIN'],
      ['BLPOP', 'k', '-1'],
      ['RPUSH', 'k', 'a', 'b'],
      ['BLPOP', 'k', '0'],
      ['BLMOVE', 'k', 'd', 'LEFT', 'LEFT', '0'],
      ['ZADD', 'z', '5', 'm'],
      ['BZPOPMAX', 'z', '0'],
    ])
      await p.run(0, ...c);
    await p.run(0, 'EXEC');
    await p.run(0, 'LRANGE', 'd', '0', '-1');
  });
  await same('multi, RESP3', 1, async (p) => {
    await p.resp3(0);
    await p.run(0, 'MULTI');
    await p.run(0, 'BLPOP', 'k', '0');
    await p.run(0, 'BLMOVE', 'k', 'd', 'LEFT', 'LEFT', '0');
    await p.run(0, 'BZPOPMIN', 'z', '0');
    await p.run(0, 'EXEC');
  });
});

test('in a script BLMPOP and BZMPOP never block, and the one-key-list pops are refused, as in redis-server', async () => {
  await same('scripts', 1, async (p) => {
    await p.run(0, 'EVAL', "return redis.call('blmpop', 0, 1, 'k', 'LEFT')", '0');
    await p.run(0, 'EVAL', "return redis.call('bzmpop', 0, 1, 'z', 'MIN')", '0');
    await p.run(0, 'RPUSH', 'k', 'a', 'b');
    await p.run(0, 'ZADD', 'z', '1', 'm');
    await p.run(0, 'EVAL', "return redis.call('blmpop', 0, 1, KEYS[1], 'RIGHT', 'COUNT', 5)", '1', 'k');
    await p.run(0, 'EVAL', "return redis.call('bzmpop', 0, 1, KEYS[1], 'MAX')", '1', 'z');
    await p.run(0, 'EVAL', "return redis.call('blmpop', -1, 1, KEYS[1], 'RIGHT')", '1', 'k');
    await p.run(0, 'EVAL', "return redis.pcall('blpop', KEYS[1], 0)['err'] ~= nil", '1', 'k');
  });
});

test('timeouts answer nil (RESP2 and RESP3), and commands pipelined behind a blocked one wait for it', async () => {
  await same('timeouts', 1, async (p) => {
    await p.run(0, 'BLPOP', 'k', '0.02');
    await p.run(0, 'BRPOP', 'k', 'j', '0.02');
    await p.run(0, 'BLMOVE', 'k', 'd', 'LEFT', 'RIGHT', '0.02');
    await p.run(0, 'BRPOPLPUSH', 'k', 'd', '0.02');
    await p.run(0, 'BLMPOP', '0.02', '2', 'k', 'j', 'RIGHT', 'COUNT', '3');
    await p.run(0, 'BZPOPMIN', 'z', '0.02');
    await p.run(0, 'BZMPOP', '0.02', '1', 'z', 'MAX');
    await p.resp3(0);
    await p.run(0, 'BLPOP', 'k', '0.02');
    await p.run(0, 'BLMOVE', 'k', 'd', 'LEFT', 'RIGHT', '0.02');
    await p.run(0, 'BZPOPMAX', 'z', '0.02');
  });
  await same('pipelined behind a blocked pop', 1, async (p) => {
    // Redis reads nothing more from a blocked client: the LPUSH does not feed the BLPOP before it.
    p.send(0, ['BLPOP', 'k', '0.05'], ['LPUSH', 'k', 'x']);
    await p.settled(0);
    await p.run(0, 'BLPOP', 'k', '0');
    await p.run(0, 'LLEN', 'k');
  });
});

test('pushes wake blocked clients in arrival order, from the first key that gets data, as in redis-server', async () => {
  await same('fairness', 4, async (p) => {
    await p.block(0, 1, 'BLPOP', 'q', '0');
    await p.block(1, 2, 'BRPOP', 'q', '0');
    await p.block(2, 3, 'BLPOP', 'q', 'other', '0');
    await p.run(3, 'RPUSH', 'q', 'a', 'b');
    await p.settled(0);
    await p.settled(1);
    await p.blocked(1);
    await p.run(3, 'LPUSH', 'q', 'c', 'd');
    await p.settled(2);
    await p.run(3, 'LRANGE', 'q', '0', '-1');
  });
  await same('timeouts past the clock (the deadline overflows: never) and -0.0001 (0: never)', 2, async (p) => {
    await p.block(0, 1, 'BLPOP', 'k', '9223372036854775.807');
    await p.run(1, 'RPUSH', 'k', 'a');
    await p.settled(0);
    await p.block(0, 1, 'BRPOP', 'k', '-0.0001');
    await p.run(1, 'RPUSH', 'k', 'b');
    await p.settled(0);
  });
  await same('several keys', 3, async (p) => {
    await p.block(0, 1, 'BLPOP', 'k1', 'k2', 'k3', '0');
    await p.block(1, 2, 'BLPOP', 'k3', 'k2', '0');
    await p.run(2, 'RPUSH', 'k2', 'x');
    await p.settled(0);
    await p.run(2, 'RPUSH', 'k3', 'y');
    await p.settled(1);
    await p.run(2, 'EXISTS', 'k1', 'k2', 'k3');
  });
  await same('a transaction wakes with its final state', 3, async (p) => {
    await p.block(0, 1, 'BLPOP', 'k', 'j', '0');
    await p.block(1, 2, 'BLPOP', 'e', '0.2');
    await p.run(2, 'MULTI');
    await p.run(2, 'RPUSH', 'j', 'a');
    await p.run(2, 'RPUSH', 'k', 'b');
    await p.run(2, 'RPUSH', 'e', 'gone');
    await p.run(2, 'LPOP', 'e');
    await p.run(2, 'EXEC');
    await p.settled(0);
    await p.settled(1);
    await p.run(2, 'LRANGE', 'k', '0', '-1');
    await p.run(2, 'LRANGE', 'j', '0', '-1');
  });
  await same('a key set to another type keeps its clients waiting', 2, async (p) => {
    await p.block(0, 1, 'BLPOP', 'k1', 'k2', '0');
    await p.run(1, 'SET', 'k1', 'str');
    await p.run(1, 'RPUSH', 'k2', 'v');
    await p.settled(0);
  });
  await same('sorted sets and BZMPOP', 3, async (p) => {
    await p.block(0, 1, 'BZPOPMIN', 'z', '0');
    await p.block(1, 2, 'BZMPOP', '0', '2', 'y', 'z', 'MAX', 'COUNT', '10');
    await p.run(2, 'ZADD', 'z', '2', 'b', '1', 'a', '3.5', 'c');
    await p.settled(0);
    await p.settled(1);
    await p.resp3(2);
    await p.resp3(0);
    await p.block(0, 1, 'BZPOPMAX', 'z', '0');
    await p.run(2, 'ZADD', 'z', '-0.25', 'q');
    await p.settled(0);
  });
  await same('BLMPOP with COUNT and BLMOVE', 3, async (p) => {
    await p.block(0, 1, 'BLMPOP', '0', '2', 'l1', 'l2', 'RIGHT', 'COUNT', '2');
    await p.block(1, 2, 'BLMOVE', 'l2', 'done', 'LEFT', 'RIGHT', '0');
    await p.run(2, 'RPUSH', 'l2', 'a', 'b', 'c');
    await p.settled(0);
    await p.settled(1);
    await p.run(2, 'LRANGE', 'done', '0', '-1');
    await p.block(0, 1, 'BRPOPLPUSH', 'r', 'r', '0');
    await p.run(2, 'RPUSH', 'r', 'x', 'y');
    await p.settled(0);
    await p.run(2, 'LRANGE', 'r', '0', '-1');
  });
  await same("BLMOVE into a wrong-typed destination answers WRONGTYPE and leaves the element", 2, async (p) => {
    await p.run(1, 'SET', 'dst', 'str');
    await p.block(0, 1, 'BLMOVE', 'src', 'dst', 'RIGHT', 'LEFT', '0');
    await p.run(1, 'LPUSH', 'src', 'a');
    await p.settled(0);
    await p.run(1, 'LRANGE', 'src', '0', '-1');
  });
});

test('CLIENT UNBLOCK ends a wait as a timeout or with an error, as in redis-server', async () => {
  await same('client unblock', 2, async (p) => {
    const id = await p.clientId(0);
    await p.block(0, 1, 'BLPOP', 'k', '0');
    await p.run(1, 'CLIENT', 'UNBLOCK', id, 'TIMEOUT');
    await p.settled(0);
    await p.block(0, 1, 'BLMOVE', 'k', 'd', 'LEFT', 'LEFT', '0');
    await p.run(1, 'CLIENT', 'UNBLOCK', id, 'ERROR');
    await p.settled(0);
    await p.run(1, 'CLIENT', 'UNBLOCK', id);
    await p.run(1, 'CLIENT', 'UNBLOCK', id, 'NOPE');
    await p.run(1, 'CLIENT', 'UNBLOCK', 'x');
    await p.run(1, 'CLIENT', 'UNBLOCK', id, 'ERROR', 'more');
  });
});

test('a secondary answers a blocking pop as a Redis replica answers a write', async () => {
  const c = await rawConnect(secondaryPort);
  c.write(cmd('BLPOP', 'k', '0') + cmd('BZPOPMIN', 'z', '0') + cmd('BLMOVE', 'a', 'b', 'LEFT', 'LEFT', '0'));
  const ro = "-READONLY You can't write against a read only replica.\r\n";
  assert.equal(await c.until((d) => d.length >= 3 * ro.length), ro.repeat(3));
  c.end();
});

test('when the primary steps down its blocked clients are disconnected, unanswered, and pop nothing afterwards', async () => {
  const p = new Peer(primaryPort);
  await p.open(1);
  const c = await rawConnect(primaryPort);
  try {
    c.write(cmd('BLPOP', 'parked', '0'));
    await p.blocked(1);
    const old = nodes.find((n) => n.node.role() === 'primary')!;
    await new Promise<void>((resolve, reject) => old.node.switchover(undefined, (e) => (e ? reject(e) : resolve())));
    assert.equal(await c.closed(), '', 'the blocked client got no reply before its connection closed');
    const next = await waitFor('a new primary with a lease', WAIT_MS, () => nodes.find((n) => n !== old && n.node.role() === 'primary' && n.node.status().leaseValid));
    const exec = (...args: string[]): Promise<unknown> =>
      new Promise((resolve) => next.node.execute([args.map((a) => Buffer.from(a))], (r) => resolve(r[0])));
    assert.deepEqual(await exec('RPUSH', 'parked', 'x'), { t: 'int', n: 1 });
    assert.deepEqual(await exec('LLEN', 'parked'), { t: 'int', n: 1 }, 'no pop of the disconnected client took the element');
  } finally {
    p.close();
    c.socket.destroy();
  }
});
