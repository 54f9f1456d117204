// Overlay = base + pending ops must read exactly like a plain map with all the ops applied.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Overlay } from '../../src/core/kv/overlay.ts';
import type { CollectionType, Op } from '../../src/core/types.ts';
import type { KvView } from '../../src/core/kv/view.ts';
import { encodeListPosition, encodeScore, orderKeyOf } from '../../src/core/collections.ts';
import { REGION_COUNT, regionOfKey } from '../../src/core/regions.ts';
import { MapView } from './map-view.ts';

// Hash tags pin keys to a few regions, so regions hold several keys and pages matter.
const key = fc
  .tuple(fc.constantFrom('{a}', '{b}', '{c}', ''), fc.integer({ min: 0, max: 30 }))
  .map(([tag, n]) => Buffer.from(`${tag}k${n}`, 'latin1'));
// Few element names and types, so that elements are set, overwritten and removed often, and a
// key changes type now and then; scores include negatives so score order differs from byte order.
const elemOp: fc.Arbitrary<Op> = fc
  .tuple(key, fc.constantFrom<CollectionType>('hash', 'set', 'zset', 'list'), fc.integer({ min: 0, max: 12 }), fc.option(fc.integer({ min: -50, max: 50 }), { freq: 3 }))
  .map(([k, type, e, v]): Op => ({
    k: 'elem',
    key: k,
    type,
    elem: type === 'list' ? encodeListPosition(e - 6) : Buffer.from(`e${e}`),
    value: v === null ? null : type === 'zset' ? encodeScore(v / 4) : type === 'set' ? Buffer.alloc(0) : Buffer.from(String(v)),
  }));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(key, fc.integer({ min: 0, max: 99 }), fc.constantFrom(0, 5)).map(([k, v, e]) => ({ k: 'put', key: k, value: Buffer.from(String(v)), expireAtMs: e }) as Op) },
  { weight: 3, arbitrary: key.map((k) => ({ k: 'del', key: k }) as Op) },
  { weight: 1, arbitrary: fc.constant({ k: 'flush' } as Op) },
  { weight: 1, arbitrary: fc.tuple(key, fc.constantFrom(0, 7)).map(([k, e]) => ({ k: 'expire', key: k, expireAtMs: e }) as Op) },
  { weight: 12, arbitrary: elemOp },
);

/** Every element of key read in pages of `page`, in each order and direction, as text. */
function allElements(v: KvView, k: Buffer, page: number): string[] {
  const out: string[] = [];
  for (const by of ['elem', 'score'] as const) {
    for (const reverse of [false, true]) {
      let start: Buffer | undefined;
      for (let i = 0; i < 1000; i++) {
        const p = v.elements(k, start === undefined ? { by, reverse, limit: page } : { by, reverse, start, exclusive: true, limit: page });
        for (const el of p) out.push(`${by}${reverse ? '<' : '>'}${el.elem.toString('hex')}=${el.value.toString('hex')}`);
        if (p.length < page) break;
        start = orderKeyOf(by, p[p.length - 1]!.elem, p[p.length - 1]!.value);
      }
      // A range from an inclusive start in the middle.
      const mid = v.elements(k, { by, reverse, limit: 3 })[1];
      if (mid) out.push(...v.elements(k, { by, reverse, start: orderKeyOf(by, mid.elem, mid.value), limit: 3 }).map((el) => `from:${el.elem.toString('hex')}`));
    }
  }
  return out;
}

/** Reads of every touched key (header, each element, every range) equal between the two views. */
function sameReads(ov: KvView, expected: KvView, keys: Buffer[], page: number): void {
  for (const k of keys) {
    assert.deepEqual(ov.get(k), expected.get(k));
    for (let e = 0; e <= 12; e++) {
      for (const elem of [Buffer.from(`e${e}`), encodeListPosition(e - 6)]) assert.deepEqual(ov.getElement(k, elem), expected.getElement(k, elem));
    }
    assert.deepEqual(allElements(ov, k, page), allElements(expected, k, page));
  }
}

function regionsOf(keys: Buffer[]): number[] {
  return [...new Set(keys.map((k) => regionOfKey(k)))];
}

function allRegionEntries(v: { regionEntries: MapView['regionEntries'] }, region: number, page: number): string[] {
  const out: string[] = [];
  let after: Buffer | undefined;
  for (let i = 0; i < 1000; i++) {
    const p = v.regionEntries(region, after, page);
    for (const [k, e] of p) out.push(`${k.toString('latin1')}=${e.value.toString()}@${e.expireAtMs}`);
    if (p.length < page) return out;
    after = p[p.length - 1]![0];
  }
  assert.fail('regionEntries did not finish');
}

describe('Overlay', () => {
  test('a put or del records no read of the base; an element op or expire starts from it', () => {
    const base = new MapView();
    base.apply([{ k: 'put', key: Buffer.from('s'), value: Buffer.from('old'), expireAtMs: 0 }]);
    let reads = 0;
    const counting = Object.assign(Object.create(base) as MapView, {
      get: (key: Buffer) => {
        reads++;
        return base.get(key);
      },
    });
    const ov = new Overlay(counting);
    ov.applyOps([
      { k: 'put', key: Buffer.from('s'), value: Buffer.from('new'), expireAtMs: 0 },
      { k: 'del', key: Buffer.from('gone') },
    ]);
    assert.equal(reads, 0, 'a plain SET or DEL costs the primary no storage read');
    ov.applyOps([{ k: 'elem', key: Buffer.from('h'), type: 'hash', elem: Buffer.from('f'), value: Buffer.from('v') }]);
    assert.equal(reads, 1, 'an element op reads the key header it builds on');
    assert.equal(ov.get(Buffer.from('s'))!.value.toString(), 'new');
  });

  test('get, size and regionEntries equal those of base with the ops applied', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.array(op, { maxLength: 40 }), fc.integer({ min: 1, max: 5 }), (baseOps, pending, page) => {
        const base = new MapView();
        base.apply(baseOps);
        const expected = new MapView();
        expected.apply(baseOps);
        expected.apply(pending);
        const ov = new Overlay(base);
        // Applied in two steps to exercise incremental bookkeeping.
        ov.applyOps(pending.slice(0, pending.length >> 1));
        ov.applyOps(pending.slice(pending.length >> 1));
        assert.equal(ov.size(), expected.size());
        const touched = [...baseOps, ...pending].flatMap((o) => (o.k === 'flush' ? [] : [o.key]));
        sameReads(ov, expected, touched, page);
        for (const r of [...regionsOf(touched), 0]) {
          assert.deepEqual(allRegionEntries(ov, r, page), allRegionEntries(expected, r, page));
        }
        // Base itself is unchanged.
        const baseOnly = new MapView();
        baseOnly.apply(baseOps);
        assert.deepEqual(base.dump(), baseOnly.dump());
      }),
      { numRuns: 500 },
    );
  });

  test('reads stay right while the base catches up with some pending ops, and after their slots are forgotten', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.array(op, { maxLength: 30 }), fc.nat(), (baseOps, pending, cut) => {
        const base = new MapView();
        base.apply(baseOps);
        const ov = new Overlay(base);
        // Each pending op is its own update, lsn i + 1 (as the primary's pending state records them).
        pending.forEach((o, i) => ov.applyOps([o], i + 1));
        // The first `n` pending updates get committed into base (as the replication core does).
        const n = pending.length === 0 ? 0 : cut % pending.length;
        base.apply(pending.slice(0, n));
        const expected = new MapView();
        expected.apply(baseOps);
        expected.apply(pending);
        const touched = pending.flatMap((o) => (o.k === 'flush' ? [] : [o.key]));
        assert.equal(ov.size(), expected.size());
        sameReads(ov, expected, touched, 2);
        ov.forgetUpTo(n);
        assert.equal(ov.size(), expected.size());
        sameReads(ov, expected, touched, 2);
      }),
      { numRuns: 300 },
    );
  });

  test('clear shows the base again', () => {
    const base = new MapView();
    base.apply([{ k: 'put', key: Buffer.from('a'), value: Buffer.from('1'), expireAtMs: 0 }]);
    const ov = new Overlay(base);
    ov.applyOps([{ k: 'flush' }]);
    assert.equal(ov.size(), 0);
    assert.equal(ov.hidesBase, true);
    ov.clear();
    assert.equal(ov.size(), 1);
    assert.equal(ov.get(Buffer.from('a'))?.value.toString(), '1');
  });

  test('regionEntries over every region lists every key once', () => {
    const base = new MapView();
    const ops: Op[] = [];
    for (let i = 0; i < 200; i++) ops.push({ k: 'put', key: Buffer.from(`key:${i}`), value: Buffer.from('v'), expireAtMs: 0 });
    base.apply(ops.slice(0, 100));
    const ov = new Overlay(base);
    ov.applyOps(ops.slice(100));
    ov.applyOps([{ k: 'del', key: Buffer.from('key:0') }]);
    let total = 0;
    for (let r = 0; r < REGION_COUNT; r++) total += allRegionEntries(ov, r, 7).length;
    assert.equal(total, 199);
    assert.equal(ov.size(), 199);
  });
});
