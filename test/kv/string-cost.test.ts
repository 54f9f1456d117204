// Partial string writes replicate what they change: a SETBIT on a 512 MiB bitmap is an update of
// a few bytes (one range op of one byte), and so are APPEND, SETRANGE, BITFIELD and a PFADD or
// PFCOUNT on a dense HyperLogLog — counted in encoded update bytes, as the log and the wire carry
// them. Applied to LMDB, such a write stores a chunk, not the value.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeUpdate } from '../../src/codec/update-codec.ts';
import { executeBatch, MAX_VALUE_BYTES } from '../../src/core/kv/executor.ts';
import { regionsOfOps } from '../../src/core/regions.ts';
import type { Op, Update } from '../../src/core/types.ts';
import type { KvView } from '../../src/core/kv/view.ts';
import { LmdbStorage, STRING_CHUNK_BYTES } from '../../src/storage/lmdb-storage.ts';
import { MapView } from './map-view.ts';

const NOW = 1_700_000_000_000;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

const dir = mkdtempSync(join(tmpdir(), 'understudy-string-cost-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The encoded update a command makes against `view`, with its reply. */
function encodedFor(view: KvView, cmd: string[]): { bytes: number; ops: Op[]; reply: unknown } {
  const res = executeBatch([cmd.map(b)], view, NOW);
  const u: Update = { lsn: 2, epoch: 1, dest: ['n2', 'n3'], kind: 'data', ops: res.ops, regions: regionsOfOps(res.ops) };
  return { bytes: encodeUpdate(u).length, ops: res.ops, reply: res.replies[0] };
}

test('SETBIT, BITFIELD, SETRANGE and APPEND on a 512 MiB string replicate the bytes they change', () => {
  const view = new MapView();
  // Buffer.alloc's zero pages are not touched, so this costs no real memory. (16 bytes short
  // of the limit, so that APPEND may still grow it.)
  const size = MAX_VALUE_BYTES - 16;
  view.apply([{ k: 'put', key: b('bm'), value: Buffer.alloc(size), expireAtMs: 0 }]);
  const small = new MapView();
  small.apply([{ k: 'put', key: b('bm'), value: Buffer.alloc(8), expireAtMs: 0 }]);
  for (const cmd of [
    ['setbit', 'bm', String(size * 8 - 1), '1'],
    ['setbit', 'bm', '12345678', '1'],
    ['bitfield', 'bm', 'set', 'u8', '#1000', '200', 'incrby', 'i5', '100', '3'],
    ['setrange', 'bm', '400000000', 'hello'],
    ['append', 'bm', 'tail'],
  ]) {
    const r = encodedFor(view, cmd);
    assert.ok(r.ops.length >= 1 && r.ops.every((o) => o.k === 'range'), `${cmd[0]}: range ops only`);
    assert.ok(r.bytes < 48, `${cmd.join(' ')}: ${r.bytes} encoded bytes`);
    view.apply(r.ops);
  }
  // The same SETBIT costs the same on an 8-byte string (offset bytes aside).
  assert.equal(encodedFor(view, ['setbit', 'bm', '3', '1']).bytes, encodedFor(small, ['setbit', 'bm', '3', '1']).bytes);
  assert.equal(view.get(b('bm'))!.value.length, size + 4);
  assert.equal(view.get(b('bm'))!.value[size - 1], 1);
  assert.equal(view.get(b('bm'))!.value.toString('latin1', 400000000, 400000005), 'hello');
});

test('PFADD and PFCOUNT on a dense HyperLogLog replicate a few bytes, not its 12 KiB', () => {
  const view = new MapView();
  const els = Array.from({ length: 5000 }, (_, i) => `e${i}`);
  view.apply(encodedFor(view, ['pfadd', 'h', ...els]).ops);
  assert.equal(view.get(b('h'))!.value.length, 12304, 'dense');
  const count = encodedFor(view, ['pfcount', 'h']);
  assert.ok(count.bytes < 48, `PFCOUNT storing its cache: ${count.bytes} bytes`);
  view.apply(count.ops);
  for (let i = 0; i < 20; i++) {
    const add = encodedFor(view, ['pfadd', 'h', `new-${i}`]);
    if (add.ops.length === 0) continue; // the element raised no register
    assert.ok(add.bytes < 64, `PFADD of one element: ${add.bytes} bytes`);
    view.apply(add.ops);
  }
});

test('on LMDB, a bitmap set at its last bit stores one chunk, and a further SETBIT rewrites one chunk', () => {
  const s = LmdbStorage.open(join(dir, 'lmdb'));
  let lsn = 0;
  const apply = (cmd: string[]): void => {
    const res = executeBatch([cmd.map(b)], s, NOW);
    s.apply({ lsn: ++lsn, epoch: 1, dest: [], kind: 'data', ops: res.ops, regions: regionsOfOps(res.ops) });
  };
  apply(['setbit', 'bm', String(MAX_VALUE_BYTES * 8 - 1), '1']);
  for (let i = 0; i < 50; i++) apply(['setbit', 'bm', String(i * 10_000_000), '1']);
  const file = statSync(join(dir, 'lmdb', 'data.mdb')).size;
  // 51 chunks of STRING_CHUNK_BYTES and the trees: far below the value's 512 MiB.
  assert.ok(file < 64 * 51 * STRING_CHUNK_BYTES, `data.mdb is ${file} bytes`);
  const e = s.get(b('bm'))!;
  assert.equal(e.value.length, MAX_VALUE_BYTES);
  assert.equal(e.value[MAX_VALUE_BYTES - 1], 1);
  assert.equal(e.value[(10 * 10_000_000) >> 3], 0x80);
  assert.deepEqual(executeBatch([['bitcount', 'bm'].map(b)], s, NOW).replies, [{ t: 'int', n: 51 }]);
  return new Promise<void>((resolve, reject) => s.close((err) => (err ? reject(err) : resolve())));
});
