// OBJECT IDLETIME's access times (src/server/key-access.ts) on a clock the test moves: which
// commands touch a key, CLIENT NO-TOUCH, the bound on tracked keys and the floor a forgotten key
// reports, and the rewrite that asks the node whether the key exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyAccessTimes } from '../../src/server/key-access.ts';
import { CommandTable } from '../../src/server/resp-command-table.ts';
import { DATA_COMMANDS } from '../../src/server/resp-data-commands.ts';
import { bulk, err, int } from '../../src/core/reply.ts';

const b = (...a: string[]): Buffer[] => a.map((s) => Buffer.from(s));
const table = new CommandTable(DATA_COMMANDS);

function clocked(maxKeys?: number): { times: KeyAccessTimes; at: (ms: number) => void } {
  let now = 1_000_000;
  const times = new KeyAccessTimes(table, maxKeys, () => now);
  return { times, at: (ms) => (now = 1_000_000 + ms) };
}

test('reads and writes touch the keys they name; OBJECT, TYPE, EXISTS and TTL do not', () => {
  const { times, at } = clocked();
  times.accessed([b('SET', 'a', '1'), b('MSET', 'b', '1', 'c', '2')], false);
  at(4_999);
  assert.equal(times.idleSeconds(Buffer.from('a')), 4);
  at(10_000);
  times.accessed([b('OBJECT', 'ENCODING', 'a'), b('TYPE', 'a'), b('EXISTS', 'a', 'b'), b('TTL', 'a'), b('PTTL', 'b')], false);
  assert.equal(times.idleSeconds(Buffer.from('a')), 10);
  times.accessed([b('GET', 'a'), b('MGET', 'c')], false);
  assert.equal(times.idleSeconds(Buffer.from('a')), 0);
  assert.equal(times.idleSeconds(Buffer.from('b')), 10);
  assert.equal(times.idleSeconds(Buffer.from('c')), 0);
  // A key never named since the start is as idle as the node is old.
  assert.equal(times.idleSeconds(Buffer.from('never')), 10);
});

test('a CLIENT NO-TOUCH client touches nothing but with TOUCH', () => {
  const { times, at } = clocked();
  at(7_000);
  times.accessed([b('GET', 'a'), b('SET', 'b', 'x')], true);
  assert.equal(times.idleSeconds(Buffer.from('a')), 7);
  assert.equal(times.idleSeconds(Buffer.from('b')), 7);
  times.accessed([b('TOUCH', 'a')], true);
  assert.equal(times.idleSeconds(Buffer.from('a')), 0);
});

test('beyond the bound the key tracked longest is forgotten and reports the newest forgotten access as a lower bound', () => {
  const { times, at } = clocked(2);
  times.accessed([b('GET', 'a')], false);
  at(1_000);
  times.accessed([b('GET', 'b')], false);
  at(2_000);
  times.accessed([b('GET', 'a')], false); // a keeps its place: first tracked
  at(3_000);
  times.accessed([b('GET', 'c')], false); // a goes, last accessed at 2 s
  assert.equal(times.size, 2);
  at(9_000);
  assert.equal(times.idleSeconds(Buffer.from('a')), 7);
  assert.equal(times.idleSeconds(Buffer.from('b')), 8);
  assert.equal(times.idleSeconds(Buffer.from('c')), 6);
  // A key never tracked is at least as idle as the newest forgotten access.
  assert.equal(times.idleSeconds(Buffer.from('never')), 7);
  times.accessed([b('GET', 'a')], false); // back, in place of b
  assert.equal(times.idleSeconds(Buffer.from('a')), 0);
  assert.equal(times.size, 2);
});

test('OBJECT IDLETIME goes to the node as EXISTS in its place; 0 becomes nil, 1 the idle time, an error stays', () => {
  const { times, at } = clocked();
  times.accessed([b('SET', 'k', 'v')], false);
  at(3_500);
  assert.equal(times.forNode([b('GET', 'k'), b('OBJECT', 'ENCODING', 'k')]), null);
  const cmds = [b('GET', 'k'), b('object', 'IdleTime', 'k'), b('OBJECT', 'IDLETIME', 'gone'), b('OBJECT', 'IDLETIME', 'x')];
  const r = times.forNode(cmds)!;
  assert.deepEqual(r.cmds.map((a) => a.map(String)), [['GET', 'k'], ['EXISTS', 'k'], ['EXISTS', 'gone'], ['EXISTS', 'x']]);
  const loading = err('LOADING the node is being refilled');
  assert.deepEqual(r.replies([bulk('v'), int(1), int(0), loading]), [bulk('v'), int(3), bulk(null), loading]);
});
