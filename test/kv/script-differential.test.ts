// Differential tests of scripting: each script of commands runs on Debian's redis-server (7.0)
// and on our parser → executor (with the Lua engine) → writer over a storage area, and the raw
// reply bytes must match, in RESP2 and in RESP3. They cover the Lua ⇄ RESP conversions, the
// redis.* API, cjson, the error texts (script errors, compile errors, NOSCRIPT, read-only
// scripts, wrong numbers of keys) and the script cache (SCRIPT LOAD / EXISTS / FLUSH).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RespParser } from '../../src/resp/parser.ts';
import { encodeReply } from '../../src/resp/writer.ts';
import type { RespVersion } from '../../src/resp/writer.ts';
import { execute } from '../../src/core/kv/executor.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { LuaEngine } from '../../src/scripting/lua-engine.ts';
import { regionsOfOps } from '../../src/core/regions.ts';
import { encodeCommand, useRedisServer } from './redis-server.ts';
import { SCRIPT_CASES } from './script-cases.ts';
import { sha1Hex } from '../../src/lib/sha1.ts';

const redisClient = useRedisServer();

/** Our side: parser, executor with a Lua engine, writer; writes are applied to a storage area. */
class Ours {
  private readonly storage = new MemoryStorage();
  private readonly parser = new RespParser();
  private lsn = 0;
  constructor(
    private readonly engine: LuaEngine,
    private readonly version: RespVersion,
    private readonly options: { readonly replica?: boolean } = {},
  ) {}

  run(args: readonly string[]): Buffer {
    const { commands, error } = this.parser.feed(encodeCommand(args));
    assert.equal(error, null);
    const r = execute(commands[0]!, this.storage, Date.now(), { scripting: this.engine, replica: this.options.replica });
    if (r.ops.length > 0) this.storage.apply({ lsn: ++this.lsn, epoch: 1, dest: [], kind: 'data', ops: r.ops, regions: regionsOfOps(r.ops) });
    return encodeReply(r.reply, this.version);
  }
}

describe('differential: scripts match redis-server byte for byte', () => {
  // One engine for every case, as a node has one Lua state: a case must not see another's globals.
  const engine = new LuaEngine();
  for (const version of [2, 3] as const) {
    for (const k of SCRIPT_CASES) {
      test(`${k.name} (RESP${version})`, async () => {
        const c = redisClient();
        assert.equal((await c.command(['HELLO', String(version)]))[0], version === 3 ? 0x25 : 0x2a);
        assert.equal((await c.command(['FLUSHALL'])).toString(), '+OK\r\n');
        assert.equal((await c.command(['SCRIPT', 'FLUSH'])).toString(), '+OK\r\n');
        const ours = new Ours(engine, version);
        for (let i = 0; i < k.commands.length; i++) {
          const args = k.commands[i]!;
          const theirs = (await c.command(args)).toString('latin1');
          const mine = ours.run(args).toString('latin1');
          assert.equal(mine, theirs, `${k.name} #${i} ${JSON.stringify(args)} (RESP${version})`);
        }
      });
    }
  }
});

test('a script on a secondary reads, and its writes get the READONLY error a Redis replica gives', () => {
  // The texts of a Redis 7.0 replica (checked by hand against one: a replica needs a primary).
  const ours = new Ours(new LuaEngine(), 2, { replica: true });
  const write = "return redis.call('set', KEYS[1], 'v')";
  assert.equal(ours.run(['eval', "return redis.call('get', KEYS[1])", '1', 'k']).toString(), '$-1\r\n');
  assert.equal(ours.run(['eval', write, '1', 'k']).toString(), `-READONLY You can't write against a read only replica. script: ${sha1Hex(Buffer.from(write))}, on @user_script:1.\r\n`);
  assert.equal(ours.run(['eval', "return redis.pcall('incr', KEYS[1])['err']", '1', 'k']).toString(), "$53\r\nREADONLY You can't write against a read only replica.\r\n");
  assert.equal(ours.run(['eval_ro', write, '1', 'k']).toString(), `-ERR Write commands are not allowed from read-only scripts. script: ${sha1Hex(Buffer.from(write))}, on @user_script:1.\r\n`);
  // Nothing was cached or written: a secondary logs nothing.
  assert.equal(ours.run(['script', 'exists', sha1Hex(Buffer.from(write))]).toString(), '*1\r\n:0\r\n');
});

test('writes inside a script carry the keyspace events Redis publishes for them, naming ops of the script\'s update', () => {
  const storage = new MemoryStorage();
  const body = "redis.call('incr', KEYS[1]) redis.call('rpush', KEYS[2], 'a') redis.call('lpop', KEYS[2]) return 1";
  const r = execute(['eval', body, '2', 'n', 'l'].map((s) => Buffer.from(s)), storage, Date.now(), { scripting: new LuaEngine() });
  assert.deepEqual(r.ops.map((o) => o.k), ['script', 'put', 'elem', 'del']);
  // incrby on n (op 1), rpush on l (op 2), then lpop and del of the emptied list (op 3).
  assert.deepEqual(
    r.keyEvents.map((e) => [e.event, r.ops[e.op]!.k === 'script' ? 'script' : (r.ops[e.op] as { key: Buffer }).key.toString()]),
    [['incrby', 'n'], ['rpush', 'l'], ['lpop', 'l'], ['del', 'l']],
  );
});
