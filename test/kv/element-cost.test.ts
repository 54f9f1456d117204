// Element-level replication: writing one field of a huge hash costs what it costs on a small
// one — one element op in the update, the same encoded bytes in the log and on the wire —
// whether the hash is read from a storage area or from the primary's pending state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeUpdate } from '../../src/codec/update-codec.ts';
import { executeBatch } from '../../src/core/kv/executor.ts';
import { PendingState } from '../../src/core/pending-state.ts';
import { regionsOfOps } from '../../src/core/regions.ts';
import type { Op, Update } from '../../src/core/types.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import type { StorageArea } from '../../src/storage/storage-area.ts';

const NOW = 1_700_000_000_000;
const BIG = 100_000;

function hashOf(fields: number): MemoryStorage {
  const s = new MemoryStorage();
  const ops: Op[] = [];
  for (let i = 0; i < fields; i++) ops.push({ k: 'elem', key: Buffer.from('h'), type: 'hash', elem: Buffer.from(`field:${i}`), value: Buffer.from(`value:${i}`) });
  s.apply({ lsn: 1, epoch: 1, dest: ['n2'], kind: 'data', ops, regions: regionsOfOps(ops) });
  return s;
}

/** The encoded update a command makes against `view`. */
function encodedFor(view: StorageArea | PendingState, cmd: string[]): { bytes: number; ops: Op[] } {
  const res = executeBatch([cmd.map((a) => Buffer.from(a))], view, NOW);
  const u: Update = { lsn: 2, epoch: 1, dest: ['n2', 'n3'], kind: 'data', ops: res.ops, regions: regionsOfOps(res.ops) };
  return { bytes: encodeUpdate(u).length, ops: res.ops };
}

test(`HSET, HDEL and HINCRBY on a ${BIG}-field hash replicate one field, as many bytes as on a 10-field hash`, () => {
  const big = hashOf(BIG);
  const small = hashOf(10);
  assert.equal(big.get(Buffer.from('h'))?.count, BIG);
  for (const cmd of [
    ['hset', 'h', 'field:5', 'new value'],
    ['hset', 'h', 'brand-new', 'x'],
    ['hdel', 'h', 'field:7'],
    ['hincrby', 'h', 'counter', '5'],
    ['hsetnx', 'h', 'another', 'y'],
  ]) {
    const onBig = encodedFor(big, cmd);
    const onSmall = encodedFor(small, cmd);
    assert.equal(onBig.ops.length, 1, `${cmd.join(' ')}: one element op`);
    assert.equal(onBig.ops[0]!.k, 'elem');
    assert.equal(onBig.bytes, onSmall.bytes, `${cmd.join(' ')}: same encoded size on ${BIG} and 10 fields`);
    assert.ok(onBig.bytes < 64, `${cmd.join(' ')}: ${onBig.bytes} bytes`);
  }
});

test('through the primary\'s pending state, a later HSET sees an earlier pending one and still replicates one field', () => {
  const big = hashOf(BIG);
  const pending = new PendingState(big);
  const first = executeBatch([['hset', 'h', 'f', '1'].map((a) => Buffer.from(a))], pending, NOW);
  pending.record(2, first.ops);
  const second = executeBatch([['hincrby', 'h', 'f', '41'].map((a) => Buffer.from(a))], pending, NOW);
  assert.deepEqual(second.replies, [{ t: 'int', n: 42 }]);
  assert.equal(second.ops.length, 1);
  assert.equal(pending.get(Buffer.from('h'))?.count, BIG + 1);
  const len = executeBatch([['hlen', 'h'].map((a) => Buffer.from(a))], pending, NOW);
  assert.deepEqual(len.replies, [{ t: 'int', n: BIG + 1 }]);
});
