// A pop made for a blocked client whose connection closes before the pop's reply leaves (the
// node answers once the update is committed) must not lose what it took: the server puts the
// elements back where they came from. The node here holds back the replies of wake-up pops
// (the state changes at once, as a primary's does), so the client can go away in between.
import { test } from 'node:test';
import { RespServer } from '../../src/server/resp-server.ts';
import { waitFor } from '../integration/harness.ts';
import { SingleNodeHarness } from './single-node.ts';
import { cmd, rawConnect } from './raw-client.ts';

/** How long the node holds back a wake-up pop's reply: long enough for the client to close first. */
const HOLD_MS = 300;
const WAIT_MS = 5000;

/** Wake-up attempts carry timeout 0; the clients here block with timeout 30. */
const isWakeUp = (cmds: readonly Buffer[][]): boolean => cmds.some((c) => /^b/i.test(c[0]!.toString()) && c.some((a, i) => i > 0 && a.toString() === '0'));

async function scenario(block: string[], push: string[], read: string[], expect: string): Promise<void> {
  const node = new SingleNodeHarness({ delayMs: (cmds) => (isWakeUp(cmds) ? HOLD_MS : 0) });
  const server = new RespServer({ node, port: 0 });
  await server.listen();
  const waiter = await rawConnect(server.port);
  const other = await rawConnect(server.port);
  try {
    waiter.write(cmd(...block));
    await waitFor('the client to block', WAIT_MS, () => (node.batches.length >= 1 ? true : undefined));
    other.write(cmd(...push));
    await other.until((d) => d.length > 0, 'the push');
    // The wake-up pop has run (its reply is held back): the client goes away now.
    await waitFor('the wake-up pop', WAIT_MS, () => (node.batches.some(isWakeUp) ? true : undefined));
    waiter.socket.destroy();
    await waitFor(`${read.join(' ')} to show the elements back`, WAIT_MS, async () => {
      const c = await rawConnect(server.port);
      c.write(cmd(...read));
      const got = await c.until((d) => d.endsWith('\r\n') && d.length > 2);
      c.end();
      return got === expect ? got : undefined;
    });
  } finally {
    other.end();
    await server.close();
  }
}

test('a list pop whose client closed before its reply puts the elements back at the end they came from', async () => {
  await scenario(['BLPOP', 'q', '30'], ['RPUSH', 'q', 'a', 'b'], ['LRANGE', 'q', '0', '-1'], '*2\r\n$1\r\na\r\n$1\r\nb\r\n');
  await scenario(['BRPOP', 'q', '30'], ['RPUSH', 'q', 'a', 'b'], ['LRANGE', 'q', '0', '-1'], '*2\r\n$1\r\na\r\n$1\r\nb\r\n');
  await scenario(['BLMPOP', '30', '1', 'q', 'LEFT', 'COUNT', '2'], ['RPUSH', 'q', 'a', 'b', 'c'], ['LRANGE', 'q', '0', '-1'], '*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n');
  await scenario(['BLMPOP', '30', '1', 'q', 'RIGHT', 'COUNT', '2'], ['RPUSH', 'q', 'a', 'b', 'c'], ['LRANGE', 'q', '0', '-1'], '*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n');
});

test('a sorted-set pop whose client closed before its reply puts the members back with their scores', async () => {
  await scenario(['BZPOPMIN', 'z', '30'], ['ZADD', 'z', '1.5', 'a', '2', 'b'], ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'], '*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n');
  await scenario(['BZMPOP', '30', '1', 'z', 'MAX', 'COUNT', '2'], ['ZADD', 'z', '-0.25', 'a', '2', 'b'], ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'], '*4\r\n$1\r\na\r\n$5\r\n-0.25\r\n$1\r\nb\r\n$1\r\n2\r\n');
});
