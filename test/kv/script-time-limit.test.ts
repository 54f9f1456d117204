// lua-time-limit: a script runs inside the node's event loop, so past the limit one that has not
// written is stopped (even from inside pcall), and one that has written runs to its end — its
// writes cannot be taken back. The engine reads a clock passed in; this one moves 10 ms per look.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execute } from '../../src/core/kv/executor.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { LuaEngine } from '../../src/scripting/lua-engine.ts';

function engineWithLimit(limitMs: number): LuaEngine {
  let now = 0;
  return new LuaEngine({ timeLimitMs: limitMs, clock: () => (now += 10) });
}

function run(engine: LuaEngine, storage: MemoryStorage, ...args: string[]): ReturnType<typeof execute> {
  return execute(args.map((a) => Buffer.from(a)), storage, 0, { scripting: engine });
}

test('a read-only script running past lua-time-limit is stopped with an error, even inside pcall', () => {
  const engine = engineWithLimit(100);
  const storage = new MemoryStorage();
  for (const body of ['local n = 0 while true do n = n + 1 end', 'while true do pcall(function() while true do end end) end']) {
    const r = run(engine, storage, 'eval', body, '0');
    assert.equal(r.reply.t, 'error');
    assert.match((r.reply as { msg: string }).msg, /^ERR Script killed: it ran past lua-time-limit without writing/);
    // Only the script cache op: nothing of the script's own.
    assert.deepEqual(r.ops.map((o) => o.k), ['script']);
  }
  // The engine is usable afterwards.
  assert.deepEqual(run(engine, storage, 'eval', 'return 7', '0').reply, { t: 'int', n: 7 });
});

test('a script that wrote runs to its end past lua-time-limit (Redis would answer UNKILLABLE to SCRIPT KILL)', () => {
  const engine = engineWithLimit(100);
  const storage = new MemoryStorage();
  const r = run(engine, storage, 'eval', "redis.call('set', KEYS[1], 'x') local n = 0 for i = 1, 3000000 do n = n + 1 end return n", '1', 'k');
  assert.deepEqual(r.reply, { t: 'int', n: 3000000 });
  assert.deepEqual(r.ops.map((o) => o.k), ['script', 'put']);
});

test('SCRIPT KILL finds no script running: a script never yields the event loop to another client', () => {
  const r = run(new LuaEngine(), new MemoryStorage(), 'script', 'kill');
  assert.deepEqual(r.reply, { t: 'error', msg: 'NOTBUSY No scripts in execution right now.' });
});
