// Sentinel-compatible discovery over real TCP: SENTINEL commands on the
// sentinel port and on the main port, +switch-master on a primary change, and
// ioredis in Sentinel mode finding the primary (and finding it again after a
// change). Nodes are single-node test harnesses (test/server/single-node.ts)
// whose role and known primary the test sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import type { MemberInfo } from '../../src/runtime/node-api.ts';
import { RespServer } from '../../src/server/resp-server.ts';
import { SentinelService, startSentinelServer, type SentinelServer } from '../../src/server/sentinel.ts';
import { SingleNodeHarness } from './single-node.ts';
import { cmd, rawConnect } from './raw-client.ts';

interface Rig {
  nodes: SingleNodeHarness[];
  servers: RespServer[];
  sentinels: SentinelServer[];
  close(): Promise<void>;
}

/** Two harness nodes, each with a main port and a sentinel port; n1 starts as primary. */
async function rig(): Promise<Rig> {
  const nodes = [new SingleNodeHarness({ id: 'n1' }), new SingleNodeHarness({ id: 'n2' })];
  nodes[1]!.setRole('secondary', 'n1', 1);
  const services = nodes.map((node) => new SentinelService({ node, masterName: 'understudy', pollIntervalMs: 20 }));
  const servers = nodes.map((node, i) => new RespServer({ node, port: 0, extraHandlers: services[i]!.handlers('data') }));
  const ports = await Promise.all(servers.map((s) => s.listen().then((a) => a.port)));
  const sentinels = await Promise.all(nodes.map((node, i) => startSentinelServer({ node, port: 0, masterName: 'understudy' }, services[i])));
  const members: MemberInfo[] = nodes.map((n, i) => ({ id: n.id, kind: 'data', peerAddr: `127.0.0.1:${10 + i}`, redisAddr: `127.0.0.1:${ports[i]}` }));
  const sentinelAddrs = Object.fromEntries(nodes.map((n, i) => [n.id, `127.0.0.1:${sentinels[i]!.port}`]));
  for (const n of nodes) n.members = members;
  for (const s of services) s.setSentinelAddrs(sentinelAddrs);
  return {
    nodes,
    servers,
    sentinels,
    async close() {
      for (const s of sentinels) await s.close();
      for (const s of servers) await s.close();
    },
  };
}

function redisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('redis-cli did not finish in 10 s'));
    }, 10_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

test('SENTINEL commands on the sentinel port and on the main port', async () => {
  const r = await rig();
  try {
    const [s1, s2] = r.sentinels;
    const main1 = r.servers[0]!.port;
    const mainAddr = r.nodes[0]!.members[0]!.redisAddr!;
    assert.equal((await redisCli(['-p', String(s1!.port), 'SENTINEL', 'get-master-addr-by-name', 'understudy'])).trim(), mainAddr.replace(':', '\n'));
    // A secondary's sentinel port answers too, and the main port knows the SENTINEL command.
    assert.equal((await redisCli(['-p', String(s2!.port), 'SENTINEL', 'get-master-addr-by-name', 'understudy'])).trim(), mainAddr.replace(':', '\n'));
    assert.equal((await redisCli(['-p', String(main1), 'SENTINEL', 'get-master-addr-by-name', 'understudy'])).trim(), mainAddr.replace(':', '\n'));
    const c = await rawConnect(s1!.port);
    c.write(
      cmd('SENTINEL', 'get-master-addr-by-name', 'other') +
        cmd('SENTINEL', 'replicas', 'understudy') +
        cmd('SENTINEL', 'sentinels', 'understudy') +
        cmd('SENTINEL', 'master', 'nope') +
        cmd('SENTINEL', 'bogus') +
        cmd('GET', 'k') +
        cmd('ROLE') +
        cmd('PING'),
    );
    const got = await c.until((d) => d.endsWith('+PONG\r\n'), 'sentinel replies');
    assert.ok(got.startsWith('*-1\r\n'), 'unknown master name → nil');
    const replicaPort = r.nodes[0]!.members[1]!.redisAddr!.split(':')[1]!;
    assert.ok(got.includes(`$4\r\nport\r\n$${replicaPort.length}\r\n${replicaPort}\r\n$5\r\nrunid\r\n$2\r\nn2\r\n$5\r\nflags\r\n$5\r\nslave\r\n`), got);
    assert.ok(got.includes(`$4\r\nname\r\n$2\r\nn2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$${String(s2!.port).length}\r\n${s2!.port}\r\n`), 'the other sentinel is listed');
    assert.ok(!got.includes(`\r\n${s1!.port}\r\n`), 'a sentinel does not list itself');
    assert.ok(got.includes('-ERR No such master with that name\r\n'));
    assert.ok(got.includes("-ERR unknown subcommand 'bogus'. Try SENTINEL HELP.\r\n"));
    assert.ok(got.includes("-ERR unknown command 'GET', with args beginning with: 'k' \r\n"), 'no data commands on the sentinel port');
    assert.ok(got.includes('*2\r\n$8\r\nsentinel\r\n*1\r\n$10\r\nunderstudy\r\n'), 'ROLE of a sentinel');
    // SENTINEL FAILOVER goes to the node's switchover (the harness has no secondary to promote).
    c.write(cmd('SENTINEL', 'failover', 'understudy') + cmd('SENTINEL', 'failover', 'other') + cmd('SENTINEL', 'myid'));
    await c.until((d) => d.endsWith('$2\r\nn1\r\n'), 'failover replies');
    assert.ok(
      c.received().toString().endsWith(
        '-NOGOODSLAVE No suitable replica to promote (a single-node harness has no secondary to switch over to)\r\n-ERR No such master with that name\r\n$2\r\nn1\r\n',
      ),
    );
    c.write(cmd('INFO', 'sentinel') + cmd('SENTINEL', 'masters'));
    const info = await c.until((d) => d.includes('parallel-syncs'));
    assert.match(info, new RegExp(`master0:name=understudy,status=ok,address=${mainAddr.replace(/\./g, '\\.')},slaves=1,sentinels=2`));
    c.end();
  } finally {
    await r.close();
  }
});

test('+switch-master is published to subscribers (SUBSCRIBE and PSUBSCRIBE, RESP2 and RESP3) when the primary changes', async () => {
  const r = await rig();
  try {
    const port = r.sentinels[1]!.port; // the sentinel of the node that is NOT changing role itself
    const a = await rawConnect(port);
    const b = await rawConnect(port);
    a.write(cmd('SUBSCRIBE', '+switch-master') + cmd('ECHO', 'x') + cmd('GET', 'x') + cmd('PING'));
    await a.until((d) => d.endsWith('*2\r\n$4\r\npong\r\n$0\r\n\r\n'), 'subscribed, restricted, ping');
    assert.ok(a.received().toString().startsWith('*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n'));
    assert.ok(a.received().toString().includes("-ERR Can't execute 'echo': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"));
    // As in Redis, an unknown command is reported as such before the subscribed context is checked.
    assert.ok(a.received().toString().includes("-ERR unknown command 'GET', with args beginning with: 'x' \r\n"));
    b.write(cmd('HELLO', '3') + cmd('PSUBSCRIBE', '+switch-*'));
    await b.until((d) => d.includes('>3\r\n$10\r\npsubscribe\r\n$9\r\n+switch-*\r\n:1\r\n'), 'RESP3 push');
    const before = [a.received().length, b.received().length] as const;
    const [p1, p2] = r.nodes[0]!.members.map((m) => m.redisAddr!.split(':')[1]!);
    // n2 learns that n2 itself is now primary (n1 died).
    r.nodes[1]!.setRole('primary', 'n2');
    const msg = `understudy 127.0.0.1 ${p1} 127.0.0.1 ${p2}`;
    const gotA = (await a.until((d) => d.length > before[0] + 10, 'message')).slice(before[0]);
    assert.equal(gotA, `*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n$${msg.length}\r\n${msg}\r\n`);
    const gotB = (await b.until((d) => d.length > before[1] + 10, 'pmessage')).slice(before[1]);
    assert.equal(gotB, `>4\r\n$8\r\npmessage\r\n$9\r\n+switch-*\r\n$14\r\n+switch-master\r\n$${msg.length}\r\n${msg}\r\n`);
    a.write(cmd('UNSUBSCRIBE') + cmd('GET', 'x'));
    await a.until((d) => d.endsWith("-ERR unknown command 'GET', with args beginning with: 'x' \r\n"), 'unsubscribed');
    a.end();
    b.end();
  } finally {
    await r.close();
  }
});

test('ioredis in Sentinel mode finds the primary through the sentinel port, and finds the new one after a change', async () => {
  const r = await rig();
  const sentinels = r.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
  const client = new Redis({ sentinels, name: 'understudy', maxRetriesPerRequest: 20, sentinelRetryStrategy: () => 50, retryStrategy: () => 50 });
  client.on('error', () => undefined);
  try {
    assert.equal(await client.set('k', 'one'), 'OK');
    assert.equal(r.nodes[0]!.view.get(Buffer.from('k'))?.value.toString(), 'one', 'the write went to n1, the primary');
    // Failover: n1 steps down (its clients are closed), n2 becomes primary; both nodes learn it.
    r.nodes[0]!.setRole('secondary', 'n2');
    r.nodes[1]!.setRole('primary', 'n2');
    // Bounded: ioredis retries every 50 ms; the next writes must land on n2.
    let landed = false;
    for (let i = 0; i < 100 && !landed; i++) {
      const res = await client.set('k', 'two').catch((e: Error) => e.message);
      landed = res === 'OK' && r.nodes[1]!.view.get(Buffer.from('k'))?.value.toString() === 'two';
      if (!landed) await new Promise((res2) => setTimeout(res2, 50));
    }
    assert.ok(landed, 'ioredis rediscovered the primary and wrote to n2');
    assert.equal(r.nodes[0]!.view.get(Buffer.from('k'))?.value.toString(), 'one', 'nothing was written to the old primary after it stepped down');
  } finally {
    client.disconnect();
    await r.close();
  }
});
