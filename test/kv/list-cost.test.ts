// Lists on the element model: a push, pop, LSET or LINSERT on a huge list replicates what it
// does on a small one (one element op per element touched, the same encoded bytes), reads by
// index touch about the elements they return, and LINSERT between two neighbours with no
// position left between them renumbers a small window deterministically, as ordinary element ops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeUpdate } from '../../src/codec/update-codec.ts';
import { decodeListPosition, encodeListPosition, LIST_POSITION_MIN, LIST_POSITION_STEP } from '../../src/core/collections.ts';
import { executeBatch } from '../../src/core/kv/executor.ts';
import { E_LIST_POSITIONS, RENUMBER_WINDOW } from '../../src/core/kv/list-positions.ts';
import { regionsOfOps } from '../../src/core/regions.ts';
import type { Reply } from '../../src/core/reply.ts';
import type { StateReader } from '../../src/core/state-reader.ts';
import type { Element, ElementRange, Op, Update } from '../../src/core/types.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';

const NOW = 1_700_000_000_000;
const BIG = 100_000;
const KEY = Buffer.from('l');

/** A storage area holding list `l` with elements at `positions` (values v<i>). */
function listAt(positions: readonly number[]): MemoryStorage {
  const s = new MemoryStorage();
  const ops: Op[] = positions.map((p, i) => ({ k: 'elem', key: KEY, type: 'list', elem: encodeListPosition(p), value: Buffer.from(`v${i}`) }));
  s.apply({ lsn: 1, epoch: 1, dest: ['n2'], kind: 'data', ops, regions: regionsOfOps(ops) });
  return s;
}

const pushed = (n: number): MemoryStorage => listAt(Array.from({ length: n }, (_, i) => i * LIST_POSITION_STEP));

/** A StateReader that counts the elements its range reads return. */
class Counting implements StateReader {
  read = 0;
  constructor(private readonly inner: StateReader) {}
  get = (key: Buffer) => this.inner.get(key);
  getElement = (key: Buffer, elem: Buffer) => this.inner.getElement(key, elem);
  elements(key: Buffer, range: ElementRange): Element[] {
    const r = this.inner.elements(key, range);
    this.read += r.length;
    return r;
  }
  regionEntries = (region: number, after: Buffer | undefined, limit: number) => this.inner.regionEntries(region, after, limit);
  size = () => this.inner.size();
}

function run(view: StateReader, cmd: string[]): { reply: Reply; ops: Op[]; bytes: number } {
  const res = executeBatch([cmd.map((a) => Buffer.from(a))], view, NOW);
  const u: Update = { lsn: 2, epoch: 1, dest: ['n2', 'n3'], kind: 'data', ops: res.ops, regions: regionsOfOps(res.ops) };
  return { reply: res.replies[0]!, ops: res.ops, bytes: encodeUpdate(u).length };
}

test(`pushes, pops, LSET and LINSERT on a ${BIG}-element list replicate one element op, as many bytes as on a 10-element list`, () => {
  const big = pushed(BIG);
  const small = pushed(10);
  for (const cmd of [
    ['lpush', 'l', 'new'],
    ['rpush', 'l', 'new'],
    ['lpushx', 'l', 'new'],
    ['rpushx', 'l', 'new'],
    ['lpop', 'l'],
    ['rpop', 'l'],
    ['lset', 'l', '0', 'new'],
    ['lset', 'l', '-1', 'new'],
    ['linsert', 'l', 'before', 'v1', 'new'],
    ['lmove', 'l', 'l', 'left', 'right'],
  ]) {
    const onBig = run(big, cmd);
    const onSmall = run(small, cmd);
    assert.equal(onBig.reply.t === 'error', false, `${cmd.join(' ')}: ${JSON.stringify(onBig.reply)}`);
    const elemOps = cmd[0] === 'lmove' ? 2 : 1;
    assert.equal(onBig.ops.length, elemOps, `${cmd.join(' ')}: ${elemOps} element op(s)`);
    assert.ok(onBig.ops.every((o) => o.k === 'elem'));
    assert.equal(onBig.bytes, onSmall.bytes, `${cmd.join(' ')}: same encoded size on ${BIG} and 10 elements`);
    assert.ok(onBig.bytes < 80, `${cmd.join(' ')}: ${onBig.bytes} bytes`);
  }
});

test('LRANGE and LINDEX near either end of a huge list read about the elements they return', () => {
  const view = new Counting(pushed(BIG));
  for (const [cmd, expect] of [
    [['lrange', 'l', '0', '9'], 10],
    [['lrange', 'l', '-10', '-1'], 10],
    [['lindex', 'l', '-1'], 1],
    [['lindex', 'l', '3'], 4],
    [['lpop', 'l', '5'], 5],
    [['llen', 'l'], 0],
  ] as const) {
    view.read = 0;
    const r = run(view, [...cmd]);
    assert.notEqual(r.reply.t, 'error');
    // One more element than returned at most: each end's element is read to find a position.
    assert.ok(view.read <= expect + 2, `${cmd.join(' ')} read ${view.read} elements`);
  }
  view.read = 0;
  const r = run(view, ['lrange', 'l', '0', '9']);
  assert.deepEqual(r.reply, { t: 'array', items: Array.from({ length: 10 }, (_, i) => ({ t: 'bulk', b: Buffer.from(`v${i}`) })) });
});

/** The list's values and positions in order, checking the header's count. */
function contents(s: MemoryStorage): { values: string[]; positions: number[] } {
  const els = s.elements(KEY, { limit: 1 << 20 });
  assert.equal(s.get(KEY)?.count ?? 0, els.length);
  return { values: els.map((e) => e.value.toString()), positions: els.map((e) => decodeListPosition(e.elem)) };
}

test('LINSERT between neighbours with no free position renumbers a window of neighbours (deterministic element ops) and keeps the order', () => {
  // 1000 pushed elements; 200 inserts at 7 places use up the gaps there again and again.
  const s = pushed(1000);
  const model = Array.from({ length: 1000 }, (_, i) => `v${i}`);
  let lsn = 2;
  const apply = (ops: Op[]): void => s.apply({ lsn: lsn++, epoch: 1, dest: ['n2'], kind: 'data', ops, regions: regionsOfOps(ops) });
  let renumbered = 0;
  for (let i = 0; i < 200; i++) {
    const pivot = `v${500 + (i % 7)}`;
    const cmd = ['linsert', 'l', i % 2 === 0 ? 'after' : 'before', pivot, `n${i}`];
    const first = run(s, cmd);
    // The same command on the same state makes the same ops: a secondary never decides.
    assert.deepEqual(run(s, cmd).ops, first.ops);
    assert.deepEqual(first.reply, { t: 'int', n: model.length + 1 });
    const at = model.indexOf(pivot) + (i % 2 === 0 ? 1 : 0);
    model.splice(at, 0, `n${i}`);
    if (first.ops.length > 1) renumbered++;
    // Each move is a set at the new place and a removal of the old one, inside a bounded window.
    assert.ok(first.ops.length <= 1 + 2 * 4 * RENUMBER_WINDOW, `${first.ops.length} ops`);
    apply(first.ops);
    const { values, positions } = contents(s);
    assert.deepEqual(values, model);
    for (let j = 1; j < positions.length; j++) assert.ok(positions[j - 1]! < positions[j]!);
  }
  assert.ok(renumbered > 0, 'some insert found no free position');
  assert.ok(renumbered < 100, `${renumbered} of 200 inserts renumbered`);
});

test('a window reaching an end of the list spreads into the free positions beyond it; a one-element window works too', () => {
  for (const positions of [[0, 1], [5], [0, 1, 2, 3], Array.from({ length: 100 }, (_, i) => i)]) {
    const s = listAt(positions);
    const r = run(s, ['linsert', 'l', 'after', 'v0', 'x']);
    assert.equal(r.reply.t, 'int');
    s.apply({ lsn: 2, epoch: 1, dest: ['n2'], kind: 'data', ops: r.ops, regions: regionsOfOps(r.ops) });
    const model = positions.map((_, i) => `v${i}`);
    model.splice(1, 0, 'x');
    assert.deepEqual(contents(s).values, model);
  }
});

test('a push past the end of the position range is refused with its error and changes nothing', () => {
  const s = listAt([LIST_POSITION_MIN, LIST_POSITION_MIN + 2]);
  const r = run(s, ['lpush', 'l', 'x']);
  assert.deepEqual(r.reply, { t: 'error', msg: E_LIST_POSITIONS });
  assert.equal(r.ops.length, 0);
  // The other end still has room, and smaller steps are taken near the end of the range.
  assert.deepEqual(run(s, ['rpush', 'l', 'x']).reply, { t: 'int', n: 3 });
  const near = listAt([LIST_POSITION_MIN + 3]);
  const two = run(near, ['lpush', 'l', 'a', 'b', 'c']);
  assert.deepEqual(two.reply, { t: 'int', n: 4 });
  assert.deepEqual(two.ops.map((o) => (o.k === 'elem' ? decodeListPosition(o.elem) : NaN)), [LIST_POSITION_MIN + 2, LIST_POSITION_MIN + 1, LIST_POSITION_MIN]);
});

test('LTRIM keeping a few elements of a large list rebuilds it from what it keeps, with its expiry', () => {
  const s = pushed(5000);
  s.apply({ lsn: 2, epoch: 1, dest: ['n2'], kind: 'data', ops: [{ k: 'expire', key: KEY, expireAtMs: NOW + 100_000 }], regions: regionsOfOps([{ k: 'expire', key: KEY, expireAtMs: 0 }]) });
  const r = run(s, ['ltrim', 'l', '100', '102']);
  assert.ok(r.ops.length <= 5, `${r.ops.length} ops`);
  s.apply({ lsn: 3, epoch: 1, dest: ['n2'], kind: 'data', ops: r.ops, regions: regionsOfOps(r.ops) });
  assert.deepEqual(contents(s).values, ['v100', 'v101', 'v102']);
  assert.equal(s.get(KEY)?.expireAtMs, NOW + 100_000);
});
