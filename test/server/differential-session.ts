// Multi-connection differential sessions: the same steps go to redis-server and
// to our server over raw sockets, and every connection's bytes must be equal.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { RedisServer } from '../kv/redis-server.ts';
import { RespServer } from '../../src/server/resp-server.ts';
import { SingleNodeHarness } from './single-node.ts';
import { cmd as c, rawConnect, type RawConn } from './raw-client.ts';

/** One step: connection `on` sends `send`; the step ends when its PING marker is answered. */
export type Step = readonly [on: number, send: string];

/**
 * Runs the steps over `conns` connections, each step followed by a marker PING (answered in
 * the subscribed context too) so the next starts after its replies; returns every connection's bytes.
 */
export async function session(port: number, conns: number, steps: readonly Step[]): Promise<string[]> {
  const cs: RawConn[] = [];
  for (let i = 0; i < conns; i++) cs.push(await rawConnect(port));
  let n = 0;
  for (const [on, send] of steps) {
    const mark = `mark-${++n}`;
    cs[on]!.write(Buffer.from(send + c('PING', mark), 'latin1'));
    await cs[on]!.until((d) => d.includes(`${mark}\r\n`), mark);
  }
  // A last marker on every connection: every message pushed to it has arrived.
  for (const x of cs) {
    const mark = `mark-${++n}`;
    x.write(c('PING', mark));
    await x.until((d) => d.includes(`${mark}\r\n`), mark);
  }
  // HELLO's map names the server (id, version): compare everything but that reply.
  const out = cs.map((x) => x.received().toString('latin1').replace(/%7\r\n\$6\r\nserver\r\n[\s\S]*?\$7\r\nmodules\r\n\*0\r\n/g, '<hello>'));
  for (const x of cs) x.end();
  return out;
}

/** Runs the same steps against redis-server and our server; every connection's bytes must be equal. */
export async function sameSession(redisPort: number, ourPort: number, name: string, conns: number, steps: readonly Step[]): Promise<void> {
  const theirs = await session(redisPort, conns, steps);
  const mine = await session(ourPort, conns, steps);
  for (let i = 0; i < conns; i++) assert.equal(mine[i], theirs[i], `${name}: connection ${i} differs from redis-server's`);
}


/**
 * A redis-server and our data port (over the single-node harness) for one test file: started
 * before its tests, stopped after; `same` compares a session's bytes on both.
 */
export function serversUnderTest(): {
  redis(): RedisServer;
  ours(): RespServer;
  same(name: string, conns: number, steps: readonly Step[]): Promise<void>;
} {
  let redis: RedisServer | undefined;
  let ours: RespServer | undefined;
  before(async () => {
    redis = await RedisServer.start();
    ours = new RespServer({ node: new SingleNodeHarness(), port: 0 });
    await ours.listen();
  });
  after(async () => {
    redis?.stop();
    await ours?.close();
  });
  return {
    redis: () => redis!,
    ours: () => ours!,
    same: (name, conns, steps) => sameSession(redis!.port, ours!.port, name, conns, steps),
  };
}
