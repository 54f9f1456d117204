// Sorted sets on the element model: a write of one member of a huge zset replicates one element
// op (its final score), as many encoded bytes as on a small zset; a short range of a huge zset
// reads about as many elements as it returns (counted at the storage area), by rank from either
// end, by score and by lex bound, and ZRANK reads O(min(rank, count - rank)) elements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeUpdate } from '../../src/codec/update-codec.ts';
import { encodeScore } from '../../src/core/collections.ts';
import { executeBatch } from '../../src/core/kv/executor.ts';
import type { KvView } from '../../src/core/kv/view.ts';
import { regionsOfOps } from '../../src/core/regions.ts';
import type { Element, ElementRange, Entry, Op, Update } from '../../src/core/types.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';

const NOW = 1_700_000_000_000;
const BIG = 100_000;

/** A zset of n members m:000000… with score i (member order is score order). */
function zsetOf(n: number): MemoryStorage {
  const s = new MemoryStorage();
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) ops.push({ k: 'elem', key: Buffer.from('z'), type: 'zset', elem: Buffer.from(`m:${String(i).padStart(6, '0')}`), value: encodeScore(i) });
  s.apply({ lsn: 1, epoch: 1, dest: ['n2'], kind: 'data', ops, regions: regionsOfOps(ops) });
  return s;
}

/** A view that counts the elements the executor reads. */
class Counting implements KvView {
  read = 0;
  constructor(private readonly inner: MemoryStorage) {}
  get(key: Buffer): Entry | undefined {
    return this.inner.get(key);
  }
  getElement(key: Buffer, elem: Buffer): Buffer | undefined {
    this.read++;
    return this.inner.getElement(key, elem);
  }
  elements(key: Buffer, range: ElementRange): Element[] {
    const got = this.inner.elements(key, range);
    this.read += got.length;
    return got;
  }
  regionEntries(region: number, afterKey: Buffer | undefined, limit: number): Array<[Buffer, Entry]> {
    return this.inner.regionEntries(region, afterKey, limit);
  }
  size(): number {
    return this.inner.size();
  }
}

function run(view: KvView, cmd: string[]): { reply: unknown; ops: Op[]; bytes: number } {
  const res = executeBatch([cmd.map((a) => Buffer.from(a))], view, NOW);
  const u: Update = { lsn: 2, epoch: 1, dest: ['n2', 'n3'], kind: 'data', ops: res.ops, regions: regionsOfOps(res.ops) };
  return { reply: res.replies[0], ops: res.ops, bytes: encodeUpdate(u).length };
}

const big = zsetOf(BIG);
const small = zsetOf(10);

test(`ZADD, ZINCRBY and ZREM of one member of a ${BIG}-member zset replicate one element op, as many bytes as on a 10-member zset`, () => {
  assert.equal(big.get(Buffer.from('z'))?.count, BIG);
  for (const cmd of [
    ['zadd', 'z', '42.5', 'm:000005'],
    ['zadd', 'z', '1', 'brand-new'],
    ['zadd', 'z', 'gt', 'ch', '100', 'm:000003'],
    ['zincrby', 'z', '2', 'm:000007'],
    ['zrem', 'z', 'm:000001'],
    ['zpopmin', 'z'],
  ]) {
    const onBig = run(big, cmd);
    const onSmall = run(small, cmd);
    assert.equal(onBig.ops.length, 1, `${cmd.join(' ')}: one element op`);
    assert.equal(onBig.ops[0]!.k, 'elem');
    assert.equal(onBig.bytes, onSmall.bytes, `${cmd.join(' ')}: same encoded size on ${BIG} and 10 members`);
    assert.ok(onBig.bytes < 64, `${cmd.join(' ')}: ${onBig.bytes} bytes`);
  }
});

test(`short ranges of a ${BIG}-member zset read about as many elements as they return`, () => {
  const cases: Array<[string[], number]> = [
    [['zrange', 'z', '0', '9'], 10],
    [['zrange', 'z', '-10', '-1'], 10],
    [['zrange', 'z', '0', '9', 'rev', 'withscores'], 10],
    [['zrange', 'z', '5000', '+inf', 'byscore', 'limit', '0', '10'], 10],
    [['zrange', 'z', '(5000', '-inf', 'byscore', 'rev', 'limit', '0', '10'], 10],
    [['zrangebyscore', 'z', '50000', '50009.5'], 10],
    [['zrevrangebyscore', 'z', '(70010', '70000'], 10],
    [['zrangebylex', 'z', '[m:050000', '+', 'limit', '0', '10'], 10],
    [['zrevrangebylex', 'z', '(m:050000', '-', 'limit', '0', '10'], 10],
    [['zcount', 'z', '(100', '110'], 10],
    [['zpopmax', 'z', '10'], 10],
    [['zremrangebyrank', 'z', '-10', '-1'], 10],
  ];
  for (const [cmd, n] of cases) {
    const view = new Counting(big);
    const r = run(view, cmd) as { reply: { items?: unknown[]; n?: number } };
    const got = r.reply.items?.length ?? r.reply.n;
    assert.ok(got === n || got === 2 * n, `${cmd.join(' ')}: ${String(got)} results`);
    assert.ok(view.read <= 2 * n + 2, `${cmd.join(' ')} read ${view.read} elements`);
  }
});

test('ZRANK reads from the nearer end: O(min(rank, count - rank)) elements', () => {
  for (const [member, rank] of [['m:000003', 3], ['m:099990', 99_990], ['m:000000', 0], ['m:099999', 99_999]] as const) {
    const view = new Counting(big);
    assert.deepEqual(run(view, ['zrank', 'z', member]).reply, { t: 'int', n: rank });
    assert.ok(view.read <= 2 * 64, `zrank ${member} read ${view.read} elements`);
  }
  const mid = new Counting(big);
  assert.deepEqual(run(mid, ['zrevrank', 'z', 'm:050000']).reply, { t: 'int', n: BIG - 1 - 50_000 });
  assert.ok(mid.read <= 2 * 50_000 + 1024, `zrevrank of the middle read ${mid.read} elements`);
});
