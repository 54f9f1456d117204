// The RESP server over real TCP with exact bytes: pipelining order, RESP3,
// transactions, WATCH, auth, limits, protocol errors, demotion. The node is the
// single-node test harness (test/server/single-node.ts) over the real executor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { RespServer } from '../../src/server/resp-server.ts';
import type { RespServerOptions } from '../../src/server/resp-server.ts';
import { SingleNodeHarness, type SingleNodeOptions } from './single-node.ts';
import { cmd, rawConnect } from './raw-client.ts';

async function serve(nodeOpts: SingleNodeOptions = {}, opts: Partial<RespServerOptions> = {}) {
  const node = new SingleNodeHarness(nodeOpts);
  const server = new RespServer({ node, port: 0, ...opts });
  const { port } = await server.listen();
  return {
    node,
    server,
    port,
    async close() {
      await server.close();
      await new Promise<void>((r) => node.stop(() => r()));
    },
  };
}

/** Count of RESP top-level replies that are complete in `s` (simple types, bulk, flat arrays of those). */
function countReplies(s: string): number {
  let i = 0;
  let n = 0;
  const one = (): boolean => {
    const nl = s.indexOf('\r\n', i);
    if (nl < 0) return false;
    const t = s[i];
    const len = Number(s.slice(i + 1, nl));
    i = nl + 2;
    if (t === '$' && len >= 0) {
      if (s.length < i + len + 2) return false;
      i += len + 2;
    } else if ((t === '*' || t === '%' || t === '~' || t === '>') && len > 0) {
      for (let k = 0; k < (t === '%' ? 2 * len : len); k++) if (!one()) return false;
    }
    return true;
  };
  for (;;) {
    const save = i;
    if (i >= s.length || !one()) {
      i = save;
      return n;
    }
    n++;
  }
}

test('pipelined replies come back in request order even when the node answers out of order', async () => {
  // GETs are held back 30 ms, writes answer at once: a server that wrote replies as they complete would reorder.
  const h = await serve({ delayMs: (cmds) => (cmds[0]![0]!.toString().toLowerCase() === 'get' ? 30 : 0) });
  try {
    const c = await rawConnect(h.port);
    let payload = '';
    let expected = '';
    for (let i = 0; i < 50; i++) {
      payload += cmd('SET', `k${i}`, `v${i}`) + cmd('GET', `k${i}`) + cmd('PING') + cmd('INCR', 'ctr') + cmd('ECHO', `e${i}`);
      expected += `+OK\r\n$${`v${i}`.length}\r\nv${i}\r\n+PONG\r\n:${i + 1}\r\n$${`e${i}`.length}\r\ne${i}\r\n`;
    }
    c.write(payload);
    const got = await c.until((d) => d.length >= expected.length, 'all 250 replies');
    assert.equal(got, expected);
    c.end();
  } finally {
    await h.close();
  }
});

test('a batch of ready replies goes out in one socket write', async () => {
  const h = await serve();
  try {
    const c = await rawConnect(h.port);
    c.write(cmd('PING'));
    await c.until((d) => d === '+PONG\r\n');
    const conn = [...h.server.connections()][0]!;
    const sock = conn.socket as Socket & { write: Socket['write'] };
    let writes = 0;
    const orig = sock.write.bind(sock);
    sock.write = ((...args: Parameters<Socket['write']>) => {
      writes++;
      return orig(...args);
    }) as Socket['write'];
    // 100 commands answered here without the node: one chunk in, one write out.
    c.write(Array.from({ length: 100 }, (_, i) => cmd('ECHO', String(i))).join(''));
    await c.until((d) => countReplies(d) === 101, '101 replies');
    assert.equal(writes, 1);
    // 100 data commands completing on the next tick: still one write for the batch.
    writes = 0;
    c.write(Array.from({ length: 100 }, (_, i) => cmd('SET', `k${i}`, 'x')).join(''));
    await c.until((d) => countReplies(d) === 201, '201 replies');
    assert.equal(writes, 1);
    c.end();
  } finally {
    await h.close();
  }
});

test('inline commands (telnet style) work', async () => {
  const h = await serve();
  try {
    const c = await rawConnect(h.port);
    c.write('PING\r\nSET a "hello world"\r\nGET a\r\n');
    assert.equal(await c.until((d) => countReplies(d) === 3), '+PONG\r\n+OK\r\n$11\r\nhello world\r\n');
    c.end();
  } finally {
    await h.close();
  }
});

test('RESP3 after HELLO 3: map reply, null, and back to RESP2 on RESET', async () => {
  const h = await serve();
  try {
    const c = await rawConnect(h.port);
    c.write(cmd('GET', 'missing') + cmd('HELLO', '3') + cmd('GET', 'missing') + cmd('CONFIG', 'GET', 'maxclients'));
    const got = await c.until((d) => d.includes('%1\r\n$10\r\nmaxclients'), 'config map');
    assert.ok(got.startsWith('$-1\r\n%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n'), got);
    assert.ok(got.includes('$5\r\nproto\r\n:3\r\n'));
    assert.ok(got.includes('$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n'));
    assert.ok(got.includes('_\r\n%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n'), got);
    c.write(cmd('RESET') + cmd('GET', 'missing'));
    await c.until((d) => d.endsWith('+RESET\r\n$-1\r\n'), 'RESP2 nil after RESET');
    c.write(cmd('HELLO', '4') + cmd('HELLO', 'x'));
    await c.until((d) => d.endsWith('-NOPROTO unsupported protocol version\r\n-ERR Protocol version is not an integer or out of range\r\n'));
    c.end();
  } finally {
    await h.close();
  }
});

test('MULTI/EXEC: queued commands reach the node as ONE batch; queue-time errors give EXECABORT', async () => {
  const h = await serve();
  try {
    const c = await rawConnect(h.port);
    c.write(cmd('MULTI') + cmd('SET', 'a', '1') + cmd('INCR', 'a') + cmd('PING') + cmd('GET', 'a') + cmd('EXEC'));
    const got = await c.until((d) => countReplies(d) === 6);
    assert.equal(got, '+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n+OK\r\n:2\r\n+PONG\r\n$1\r\n2\r\n');
    const last = h.node.batches.at(-1)!;
    assert.deepEqual(
      last.map((a) => a.map((b) => b.toString())),
      [['SET', 'a', '1'], ['INCR', 'a'], ['GET', 'a']],
      'data commands of the transaction in one execute() call',
    );
    const before = h.node.batches.length;
    c.write(cmd('MULTI') + cmd('SET', 'b') + cmd('NOSUCH', 'x') + cmd('SET', 'b', '2') + cmd('EXEC') + cmd('GET', 'b'));
    const got2 = (await c.until((d) => countReplies(d) === 12)).slice(got.length);
    assert.equal(
      got2,
      "+OK\r\n-ERR wrong number of arguments for 'set' command\r\n-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n+QUEUED\r\n-EXECABORT Transaction discarded because of previous errors.\r\n$-1\r\n",
    );
    assert.equal(h.node.batches.length, before + 1, 'only the final GET reached the node');
    c.write(cmd('EXEC') + cmd('DISCARD') + cmd('MULTI') + cmd('MULTI') + cmd('WATCH', 'x') + cmd('DISCARD'));
    const got3 = await c.until((d) => countReplies(d) === 18);
    assert.ok(
      got3.endsWith(
        '-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n+OK\r\n-ERR MULTI calls can not be nested\r\n-ERR WATCH inside MULTI is not allowed\r\n+OK\r\n',
      ),
      got3,
    );
    c.end();
  } finally {
    await h.close();
  }
});

test('WATCH: EXEC aborts (nil) when another client wrote a watched key, runs otherwise', async () => {
  const h = await serve();
  try {
    const a = await rawConnect(h.port);
    const b = await rawConnect(h.port);
    a.write(cmd('WATCH', 'w'));
    await a.until((d) => d === '+OK\r\n');
    b.write(cmd('SET', 'w', 'other'));
    await b.until((d) => d === '+OK\r\n');
    a.write(cmd('MULTI') + cmd('SET', 'w', 'mine') + cmd('EXEC') + cmd('GET', 'w'));
    assert.equal(await a.until((d) => countReplies(d) === 5), '+OK\r\n+OK\r\n+QUEUED\r\n*-1\r\n$5\r\nother\r\n');
    // Watch again, nobody writes: the transaction runs. UNWATCH and an unrelated key's write do not abort.
    a.write(cmd('WATCH', 'w') + cmd('UNWATCH') + cmd('WATCH', 'w'));
    await a.until((d) => countReplies(d) === 8);
    b.write(cmd('SET', 'unrelated', '1') + cmd('MSET', 'x', '1', 'y', '2'));
    await b.until((d) => countReplies(d) === 3);
    a.write(cmd('MULTI') + cmd('SET', 'w', 'mine') + cmd('EXEC'));
    assert.ok((await a.until((d) => countReplies(d) === 11)).endsWith('+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n'));
    // MSET's keys are found by the key spec (first 1, last -1, step 2).
    a.write(cmd('WATCH', 'y'));
    await a.until((d) => countReplies(d) === 12);
    b.write(cmd('MSET', 'x', '3', 'y', '4'));
    await b.until((d) => countReplies(d) === 4);
    a.write(cmd('MULTI') + cmd('GET', 'y') + cmd('EXEC'));
    assert.ok((await a.until((d) => countReplies(d) === 15)).endsWith('+OK\r\n+QUEUED\r\n*-1\r\n'));
    // FLUSHALL touches every watched key. (Redis touches only keys that existed; not knowing which
    // keys exist without asking the node, the server aborts such an EXEC too: a spurious abort is
    // safe, the client retries.)
    a.write(cmd('WATCH', 'never-written'));
    await a.until((d) => countReplies(d) === 16);
    b.write(cmd('FLUSHALL'));
    await b.until((d) => countReplies(d) === 5);
    a.write(cmd('MULTI') + cmd('PING') + cmd('EXEC'));
    assert.ok((await a.until((d) => countReplies(d) === 19)).endsWith('*-1\r\n'));
    a.end();
    b.end();
  } finally {
    await h.close();
  }
});

test('AUTH: NOAUTH before, WRONGPASS on a bad password, HELLO AUTH, RESET drops auth', async () => {
  const h = await serve({}, { requirePass: 'sekrit-pass' });
  try {
    const c = await rawConnect(h.port);
    c.write(cmd('GET', 'a') + cmd('PING') + cmd('AUTH', 'nope') + cmd('AUTH', 'bob', 'sekrit-pass') + cmd('HELLO', '3'));
    const got = await c.until((d) => countReplies(d) === 5);
    assert.equal(
      got,
      '-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n' +
        '-WRONGPASS invalid username-password pair or user is disabled.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n' +
        '-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n',
    );
    c.write(cmd('AUTH', 'sekrit-pass') + cmd('PING') + cmd('RESET') + cmd('PING') + cmd('HELLO', '2', 'AUTH', 'default', 'sekrit-pass', 'SETNAME', 'me') + cmd('CLIENT', 'GETNAME'));
    const got2 = (await c.until((d) => countReplies(d) === 11)).slice(got.length);
    assert.ok(got2.startsWith('+OK\r\n+PONG\r\n+RESET\r\n-NOAUTH Authentication required.\r\n*14\r\n'), got2);
    assert.ok(got2.endsWith('$2\r\nme\r\n'));
    c.end();
    const open = await serve();
    try {
      const d = await rawConnect(open.port);
      d.write(cmd('AUTH', 'x'));
      assert.equal(
        await d.until((s) => countReplies(s) === 1),
        '-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n',
      );
      d.end();
    } finally {
      await open.close();
    }
  } finally {
    await h.close();
  }
});

test('SELECT, ECHO, PING, arity errors, unknown commands, QUIT', async () => {
  const h = await serve();
  try {
    const c = await rawConnect(h.port);
    c.write(
      cmd('SELECT', '0') + cmd('SELECT', '1') + cmd('SELECT', 'x') + cmd('ECHO') + cmd('PING', 'hi') + cmd('PING', 'a', 'b') + cmd('FOO', 'bar') + cmd('QUIT') + cmd('PING'),
    );
    const got = await c.closed();
    assert.equal(
      got,
      '+OK\r\n-ERR DB index is out of range\r\n-ERR value is not an integer or out of range\r\n' +
        "-ERR wrong number of arguments for 'echo' command\r\n$2\r\nhi\r\n-ERR wrong number of arguments for 'ping' command\r\n" +
        "-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n+OK\r\n",
      'nothing after QUIT is answered',
    );
  } finally {
    await h.close();
  }
});

for (const [name, bytes, reply] of [
  ['garbage multibulk count', '*abc\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
  ['a 1 GiB bulk (over limits.maxValueBytes)', '*1\r\n$1073741824\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
  ['an array element that is not a bulk string', '*2\r\n$3\r\nGET\r\n:1\r\n', "-ERR Protocol error: expected '$', got ':'\r\n"],
  ['unbalanced quotes inline', 'SET "a b\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
  ['negative bulk length', '*1\r\n$-5\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
] as const) {
  test(`malformed RESP (${name}): protocol error, then the connection is closed`, async () => {
    const h = await serve();
    try {
      const c = await rawConnect(h.port);
      // A good command first: it is still answered, before the error.
      c.write(cmd('PING') + bytes);
      assert.equal(await c.closed(), '+PONG\r\n' + reply);
    } finally {
      await h.close();
    }
  });
}

test('limits: maxArgs and maxInlineBytes come from the options', async () => {
  const h = await serve({}, { limits: { maxArgs: 16, maxInlineBytes: 256 } });
  try {
    const c = await rawConnect(h.port);
    c.write('*17\r\n');
    assert.equal(await c.closed(), '-ERR Protocol error: invalid multibulk length\r\n');
    const d = await rawConnect(h.port);
    d.write('PING ' + 'x'.repeat(300));
    assert.equal(await d.closed(), '-ERR Protocol error: too big inline request\r\n');
    const e = await rawConnect(h.port);
    e.write('*16\r\n' + '$1\r\nx\r\n'.repeat(16));
    assert.ok((await e.until((s) => s.length > 0)).startsWith("-ERR unknown command 'x'"));
    e.end();
  } finally {
    await h.close();
  }
});

test('an incomplete command larger than maxQueryBufferBytes disconnects the client with the limit named', async () => {
  const h = await serve({}, { limits: { maxQueryBufferBytes: 64 * 1024 } });
  try {
    const c = await rawConnect(h.port);
    // 100 arguments of 1 KiB each, never finished: no single value is too large, the sum is.
    c.write('*101\r\n$3\r\nSET\r\n' + `$1024\r\n${'x'.repeat(1024)}\r\n`.repeat(100).slice(0, 70 * 1024));
    assert.match(await c.closed(), /^-ERR Protocol error: \d+ bytes of an incomplete command exceed limits\.maxQueryBufferBytes \(65536\); send smaller commands or raise the limit\r\n$/);
  } finally {
    await h.close();
  }
});

test('MULTI queue is bounded by maxQueuedCommands', async () => {
  const h = await serve({}, { limits: { maxQueuedCommands: 2 } });
  try {
    const c = await rawConnect(h.port);
    c.write(cmd('MULTI') + cmd('PING') + cmd('PING') + cmd('PING') + cmd('EXEC'));
    const got = await c.until((d) => countReplies(d) === 5);
    assert.ok(got.includes('-ERR too many commands queued in MULTI (limits.maxQueuedCommands = 2)'), got);
    assert.ok(got.endsWith('-EXECABORT Transaction discarded because of previous errors.\r\n'));
    c.end();
  } finally {
    await h.close();
  }
});

test('maxclients: the connection over the limit gets Redis\'s error and is closed', async () => {
  const h = await serve({}, { limits: { maxClients: 2 } });
  try {
    const a = await rawConnect(h.port);
    const b = await rawConnect(h.port);
    a.write(cmd('PING'));
    b.write(cmd('PING'));
    await a.until((d) => d === '+PONG\r\n');
    await b.until((d) => d === '+PONG\r\n');
    const c = await rawConnect(h.port);
    assert.equal(await c.closed(), '-ERR max number of clients reached\r\n');
    a.end();
    await a.closed();
    // A slot is free again once a client leaves (bounded retry: the server sees the close asynchronously).
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      const d = await rawConnect(h.port);
      d.write(cmd('PING'));
      ok = (await d.until((s) => s.length > 0 || false)).startsWith('+PONG');
      d.end();
      if (!ok) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(ok, 'a client could connect after another left');
    b.end();
  } finally {
    await h.close();
  }
});

test('CLIENT SETNAME/GETNAME/ID/INFO/LIST/SETINFO/KILL', async () => {
  const h = await serve();
  try {
    const a = await rawConnect(h.port);
    const b = await rawConnect(h.port);
    a.write(cmd('CLIENT', 'SETNAME', 'alpha') + cmd('CLIENT', 'GETNAME') + cmd('CLIENT', 'ID') + cmd('CLIENT', 'SETNAME', 'bad name') + cmd('CLIENT', 'SETINFO', 'LIB-NAME', 'ioredis') + cmd('CLIENT', 'SETINFO', 'nope', 'x') + cmd('CLIENT', 'NOPE'));
    const got = await a.until((d) => countReplies(d) === 7);
    const m = /\+OK\r\n\$5\r\nalpha\r\n:(\d+)\r\n-ERR Client names cannot contain spaces, newlines or special characters.\r\n\+OK\r\n-ERR Unrecognized option 'nope'\r\n-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n$/.exec(got);
    assert.ok(m, got);
    const idA = Number(m[1]);
    b.write(cmd('CLIENT', 'LIST') + cmd('CLIENT', 'INFO') + cmd('CLIENT', 'ID'));
    const list = await b.until((d) => countReplies(d) === 3);
    assert.match(list, new RegExp(`id=${idA} addr=127\\.0\\.0\\.1:\\d+ laddr=127\\.0\\.0\\.1:${h.port} .*name=alpha .*lib-name=ioredis`));
    const idB = Number(/:(\d+)\r\n$/.exec(list)![1]);
    // Kill by ADDR (old form), then by ID (new form), including SKIPME.
    const addrA = /id=\d+ addr=(\S+)/.exec(list.split('\n').find((l) => l.includes(`id=${idA} `))!)![1]!;
    b.write(cmd('CLIENT', 'KILL', '1.2.3.4:5') + cmd('CLIENT', 'KILL', addrA));
    await b.until((d) => d.endsWith('-ERR No such client\r\n+OK\r\n'));
    await a.closed();
    b.write(cmd('CLIENT', 'KILL', 'ID', String(idB)) + cmd('CLIENT', 'KILL', 'ID', '0') + cmd('CLIENT', 'KILL', 'ID', String(idB), 'SKIPME', 'no'));
    const end = await b.closed();
    assert.ok(end.endsWith(':0\r\n-ERR client-id should be greater than 0\r\n:1\r\n'), end);
  } finally {
    await h.close();
  }
});

test('INFO: ready-check fields, replication as primary and as secondary, keyspace; ROLE', async () => {
  const members = [
    { id: 'n1', kind: 'data' as const, peerAddr: '127.0.0.1:1', redisAddr: '127.0.0.1:7001' },
    { id: 'n2', kind: 'data' as const, peerAddr: '127.0.0.1:2', redisAddr: '127.0.0.1:7002' },
  ];
  const h = await serve({ members }, { closeClientsOnDemotion: false });
  try {
    h.node.secondaries = [{ id: 'n2', inDest: true, connection: 'connected', sentLsn: 3, ackedLsn: 3, lagUpdates: 0, lagMs: 1200, resyncRegions: 0, incarnation: 1 }];
    const c = await rawConnect(h.port);
    c.write(cmd('SET', 'a', '1') + cmd('INFO') + cmd('ROLE') + cmd('DBSIZE'));
    const got = await c.until((d) => countReplies(d) === 4);
    for (const line of ['role:master', 'loading:0', 'connected_slaves:1', 'slave0:ip=127.0.0.1,port=7002,state=online,offset=3,lag=1', 'db0:keys=1,expires=0,avg_ttl=0', 'connected_clients:1', '# Persistence'])
      assert.ok(got.includes(line + '\r\n'), `INFO lacks ${line}`);
    assert.ok(got.includes('*3\r\n$6\r\nmaster\r\n:1\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n7002\r\n$1\r\n3\r\n'), 'ROLE as primary');
    assert.ok(got.endsWith(':1\r\n'), 'DBSIZE');
    h.node.setRole('secondary', 'n2');
    c.write(cmd('INFO', 'replication') + cmd('ROLE') + cmd('SET', 'b', '2') + cmd('WAIT', '1', '0'));
    const got2 = (await c.until((d) => countReplies(d) === 8)).slice(got.length);
    for (const line of ['role:slave', 'master_host:127.0.0.1', 'master_port:7002', 'master_link_status:up'])
      assert.ok(got2.includes(line + '\r\n'), `INFO lacks ${line}: ${got2}`);
    assert.ok(!got2.includes('# Server'), 'only the requested section');
    assert.ok(got2.includes('*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:7002\r\n$9\r\nconnected\r\n:1\r\n'), 'ROLE as secondary');
    assert.ok(got2.includes("-READONLY You can't write against a read only replica.\r\n"), 'the node refuses writes on a secondary');
    assert.ok(got2.endsWith('-ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.\r\n'));
    c.end();
  } finally {
    await h.close();
  }
});

test('WAIT passes the connection\'s last lsn to waitReplicas', async () => {
  const h = await serve();
  try {
    const a = await rawConnect(h.port);
    const b = await rawConnect(h.port);
    a.write(cmd('SET', 'a', '1') + cmd('SET', 'a', '2'));
    await a.until((d) => countReplies(d) === 2);
    b.write(cmd('SET', 'b', '1') + cmd('WAIT', '0', '0') + cmd('WAIT', '1', '50') + cmd('WAIT', '1', '-1') + cmd('WAIT', 'x', '1'));
    assert.equal(
      await b.until((d) => countReplies(d) === 5),
      '+OK\r\n:0\r\n:0\r\n-ERR timeout is negative\r\n-ERR value is not an integer or out of range\r\n',
    );
    a.write(cmd('WAIT', '0', '10'));
    await a.until((d) => countReplies(d) === 3);
    assert.deepEqual(
      h.node.waits.map((w) => [w.lsn, w.numReplicas, w.timeoutMs]),
      [[3, 0, 0], [3, 1, 50], [2, 0, 10]],
      'b waits for its own write (lsn 3), a for its last (lsn 2)',
    );
    a.end();
    b.end();
  } finally {
    await h.close();
  }
});

test('COMMAND COUNT/INFO/DOCS and CONFIG GET with globs', async () => {
  const h = await serve();
  try {
    const c = await rawConnect(h.port);
    c.write(cmd('COMMAND', 'COUNT') + cmd('COMMAND', 'INFO', 'get', 'nosuch', 'client') + cmd('CONFIG', 'GET', 'append*', 'save', 'maxclients') + cmd('CONFIG', 'SET', 'save', ''));
    const got = await c.until((d) => countReplies(d) === 4);
    const count = Number(/^:(\d+)\r\n/.exec(got)![1]);
    assert.ok(count > 50, `COMMAND COUNT ${count} covers data and connection commands`);
    assert.ok(got.includes('*3\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n'), 'COMMAND INFO get');
    assert.ok(got.includes('$-1\r\n*10\r\n$6\r\nclient\r\n:-2\r\n'), 'unknown command → nil (Redis 7.0 answers a null bulk), then CLIENT with its subcommands');
    assert.ok(
      got.includes('*8\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n$4\r\nsave\r\n$0\r\n\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n'),
      got,
    );
    assert.ok(got.endsWith('+OK\r\n'), 'CONFIG SET save "" is what understudy does already');
    c.write(cmd('COMMAND', 'DOCS', 'set'));
    const docs = await c.until((d) => countReplies(d) === 5);
    assert.ok(docs.includes('$7\r\nsummary\r\n$29\r\nSet the string value of a key\r\n'), docs.slice(got.length));
    c.end();
  } finally {
    await h.close();
  }
});

test('when the node stops being primary every client connection is closed', async () => {
  const h = await serve();
  try {
    const a = await rawConnect(h.port);
    const b = await rawConnect(h.port);
    a.write(cmd('PING'));
    b.write(cmd('PING'));
    await a.until((d) => d === '+PONG\r\n');
    await b.until((d) => d === '+PONG\r\n');
    h.node.setRole('secondary', null);
    await a.closed();
    await b.closed();
    assert.equal(h.server.clientCount, 0);
    // New clients may connect (and read from the secondary); a secondary's own role changes
    // (secondary → candidate → secondary) do not disconnect its readers.
    const c = await rawConnect(h.port);
    c.write(cmd('PING'));
    await c.until((d) => d === '+PONG\r\n');
    h.node.setRole('candidate', null);
    h.node.setRole('secondary', 'n1');
    c.write(cmd('PING'));
    await c.until((d) => d === '+PONG\r\n+PONG\r\n');
    assert.equal(h.server.clientCount, 1);
    c.end();
  } finally {
    await h.close();
  }
  assert.equal(h.node.listenerCount('role'), 0, 'the server leaves no listener behind');
});

test('a long pipeline larger than the pending-reply bound is answered completely and in order', async () => {
  const h = await serve();
  try {
    const c = await rawConnect(h.port);
    const n = 20_000;
    let payload = '';
    for (let i = 0; i < n; i++) payload += cmd('INCR', 'big');
    c.write(payload);
    const got = await c.until((d) => countReplies(d) === n, `${n} replies`);
    let expected = '';
    for (let i = 1; i <= n; i++) expected += `:${i}\r\n`;
    assert.equal(got, expected);
    c.end();
  } finally {
    await h.close();
  }
});
