// CONFIG against redis-server 7.0: errors for unknown, immutable, duplicate and
// malformed parameters, atomic multi-parameter SET, the notify-keyspace-events
// spelling, RESETSTAT, REWRITE without a config file and HELP, in RESP2 and
// RESP3. Values that legitimately differ (save's default, port, dir…) are left
// out; what understudy refuses to change is tested on its own below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd as c, rawConnect } from './raw-client.ts';
import { type Step, serversUnderTest, session } from './differential-session.ts';

const servers = serversUnderTest();

const same = (name: string, steps: readonly Step[]): Promise<void> => servers.same(name, 1, steps);

test('CONFIG SET and GET errors match redis-server', async () => {
  await same('errors', [
    [
      0,
      c('CONFIG', 'SET', 'foo', 'bar') +
        c('CONFIG', 'SET', 'daemonize', 'yes') +
        c('CONFIG', 'SET', 'databases', '3') +
        c('CONFIG', 'SET', 'cluster-enabled', 'yes') +
        c('CONFIG', 'SET', 'maxmemory', 'abc') +
        c('CONFIG', 'SET', 'maxmemory', '1', 'maxmemory', '2') +
        c('CONFIG', 'SET', 'maxmemory', '1', 'MAXMEMORY', '2') +
        c('CONFIG', 'SET', 'timeout', '1', 'nope', '2') +
        c('CONFIG', 'SET', 'a') +
        c('CONFIG', 'SET', 'timeout', '1', 'foo') +
        c('CONFIG', 'SET', 'timeout', '-1') +
        c('CONFIG', 'SET', 'timeout', 'x') +
        c('CONFIG', 'SET', 'timeout', '2147483648') +
        c('CONFIG', 'SET', 'maxclients', 'x') +
        c('CONFIG', 'SET', 'appendonly', 'maybe') +
        c('CONFIG', 'SET', 'appendfsync', 'sometimes') +
        c('CONFIG', 'SET', 'maxmemory-policy', 'nope') +
        c('CONFIG', 'SET', 'notify-keyspace-events', 'Q') +
        c('CONFIG', 'GET') +
        c('CONFIG', 'GET', 'no-such-*') +
        c('CONFIG', 'RESETSTAT', 'x') +
        c('CONFIG', 'REWRITE', 'x') +
        c('CONFIG', 'NOPE') +
        c('CONFIG'),
    ],
  ]);
});

test('CONFIG SET is atomic and notify-keyspace-events reads back in Redis’s spelling', async () => {
  const flags = ['KEA', 'AKE', 'Kx', 'Eg$', 'El', 'KEshz', 'Kgx$lshzetd', 'g', '', 'KA', 'AAKK', 'E'];
  let script = '';
  for (const f of flags) script += c('CONFIG', 'SET', 'notify-keyspace-events', f) + c('CONFIG', 'GET', 'notify-keyspace-events');
  await same('flags', [[0, script]]);
  await same('atomic', [
    [
      0,
      c('CONFIG', 'SET', 'timeout', '7', 'maxmemory', 'abc') +
        c('CONFIG', 'GET', 'timeout') +
        c('CONFIG', 'SET', 'timeout', '7', 'notify-keyspace-events', 'Kl') +
        c('CONFIG', 'GET', 'timeout') +
        c('CONFIG', 'GET', 'notify-keyspace-events') +
        c('CONFIG', 'SET', 'TIMEOUT', '0', 'Notify-Keyspace-Events', '') +
        c('CONFIG', 'GET', 'TIME*') +
        c('CONFIG', 'GET', 'maxmemory') +
        c('CONFIG', 'GET', 'maxmemory-policy') +
        c('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction') +
        c('CONFIG', 'GET', 'cluster-enabled'),
    ],
  ]);
  await same('resp3', [[0, c('HELLO', '3') + c('CONFIG', 'GET', 'timeout') + c('CONFIG', 'GET', 'notify-keyspace-events') + c('CONFIG', 'GET', 'nothing')]]);
});

test('CONFIG RESETSTAT, REWRITE and HELP match redis-server', async () => {
  await same('others', [[0, c('CONFIG', 'RESETSTAT') + c('CONFIG', 'REWRITE') + c('CONFIG', 'HELP') + c('config', 'help')]]);
});

test('CONFIG GET takes several patterns and answers each parameter once (Redis 7)', async () => {
  const [theirs, mine] = [await session(servers.redis().port, 1, [[0, c('CONFIG', 'GET', 'timeout', 'maxmemory*', 'max*', 'timeout', '*read-only')]]), await session(servers.ours().port, 1, [[0, c('CONFIG', 'GET', 'timeout', 'maxmemory*', 'max*', 'timeout', '*read-only')]])];
  // Redis orders the matches by its hash table: compare the name/value pairs as a set.
  const pairs = (s: string, keep: (n: string) => boolean): string[] => {
    const parts = s.split('\r\n').filter((l) => !/^[*$%]/.test(l) && l !== '' && !l.startsWith('mark-'));
    const out: string[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) if (keep(parts[i]!)) out.push(`${parts[i]}=${parts[i + 1]}`);
    return out.sort();
  };
  // Redis answers more max* parameters than understudy has; those understudy has must agree.
  const ourNames = new Set(pairs(mine[0]!, () => true).map((p) => p.split('=')[0]!));
  assert.deepEqual([...ourNames].sort(), ['maxclients', 'maxmemory', 'maxmemory-policy', 'replica-read-only', 'slave-read-only', 'timeout']);
  assert.deepEqual(pairs(mine[0]!, () => true), pairs(theirs[0]!, (n) => ourNames.has(n)).map((p) => (p.startsWith('maxclients=') ? p.replace(/=.*/, '=10000') : p)));
});

test('CONFIG SET timeout closes idle clients (not subscribers); maxclients refuses clients past it; understudy-fixed values are refused with the reason', async () => {
  const first = await rawConnect(servers.ours().port);
  const idle = await rawConnect(servers.ours().port);
  const subscriber = await rawConnect(servers.ours().port);
  subscriber.write(c('SUBSCRIBE', 'keep'));
  await subscriber.until((d) => d.includes(':1\r\n'));
  first.write(c('CONFIG', 'SET', 'timeout', '1'));
  await first.until((d) => d === '+OK\r\n');
  await idle.closed(); // bounded by the raw client's wait
  await first.closed(); // idle too, once it had its answer
  subscriber.write(c('PING'));
  await subscriber.until((d) => d.endsWith('*2\r\n$4\r\npong\r\n$0\r\n\r\n'), 'the subscriber is still connected');
  const admin = await rawConnect(servers.ours().port);
  admin.write(c('CONFIG', 'SET', 'timeout', '0') + c('CONFIG', 'SET', 'maxclients', '3'));
  await admin.until((d) => d.endsWith('+OK\r\n+OK\r\n'));
  const third = await rawConnect(servers.ours().port); // admin, subscriber, third
  const fourth = await rawConnect(servers.ours().port);
  assert.equal(await fourth.closed(), '-ERR max number of clients reached\r\n');
  third.end();
  const fixed = [
    ['maxmemory', '100mb', "understudy supports only '0' here: keys are never evicted"],
    ['appendonly', 'no', "understudy supports only 'yes' here: every write is logged and fsynced on every node"],
    ['save', '3600 1', "understudy supports only '' here: there are no snapshots; every write is in the fsynced update log of every node before its reply"],
  ] as const;
  let script = '';
  let want = '+OK\r\n';
  for (const [name, value, why] of fixed) {
    script += c('CONFIG', 'SET', name, value);
    want += `-ERR CONFIG SET failed (possibly related to argument '${name}') - ${why}\r\n`;
  }
  admin.write(c('CONFIG', 'SET', 'maxclients', '10000') + script + c('CONFIG', 'SET', 'notify-keyspace-events', 'Km'));
  want += "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - understudy does not publish key-miss (m) events; leave that class out\r\n";
  const got = await admin.until((d) => d.endsWith('leave that class out\r\n'));
  assert.ok(got.endsWith(want), got);
  admin.end();
  subscriber.end();
});
