// startClientServers: the Redis port and the sentinel port of a data node,
// from its configuration (addresses, password, limits, master name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config/load.ts';
import { startClientServers } from '../../src/server/resp-node-servers.ts';
import { SingleNodeHarness } from './single-node.ts';
import { cmd, rawConnect } from './raw-client.ts';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('a data node serves Redis and Sentinel on its configured addresses with its password, limits and master name', async () => {
  const [redisPort, sentinelPort] = [await freePort(), await freePort()];
  const config = parseConfig({
    nodeId: 'n1',
    dataDir: '/tmp/understudy-n1',
    clusterSecret: '0123456789abcdef',
    masterName: 'shop',
    requirePass: 'pw-for-clients',
    limits: { maxClients: 3 },
    members: [
      { id: 'n1', peerAddr: '127.0.0.1:1', redisAddr: `127.0.0.1:${redisPort}`, sentinelAddr: `127.0.0.1:${sentinelPort}` },
      { id: 'w', kind: 'witness', peerAddr: '127.0.0.1:2' },
    ],
  });
  const node = new SingleNodeHarness({ members: config.members });
  const servers = await startClientServers(node, config);
  const client = new Redis({ sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name: 'shop', password: 'pw-for-clients', maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    assert.equal(servers.resp.port, redisPort);
    assert.equal(servers.sentinel?.port, sentinelPort);
    assert.equal(await client.set('a', 'b'), 'OK');
    assert.deepEqual(await client.config('GET', 'dir'), ['dir', '/tmp/understudy-n1']);
    const c = await rawConnect(redisPort);
    c.write(cmd('GET', 'a') + cmd('AUTH', 'pw-for-clients') + cmd('SENTINEL', 'get-master-addr-by-name', 'shop') + cmd('CONFIG', 'GET', 'maxclients'));
    assert.equal(
      await c.until((d) => d.endsWith('3\r\n')),
      `-NOAUTH Authentication required.\r\n+OK\r\n*2\r\n$9\r\n127.0.0.1\r\n$${String(redisPort).length}\r\n${redisPort}\r\n*2\r\n$10\r\nmaxclients\r\n$1\r\n3\r\n`,
    );
    c.end();
  } finally {
    client.disconnect();
    await servers.close();
  }
  await assert.rejects(startClientServers(node, { ...config, nodeId: 'w' }), /not a data member with a redisAddr; a witness serves no clients/);
});
