// Overlay = base + pending ops must read exactly like a plain map with all the ops applied.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Overlay } from '../../src/core/kv/overlay.ts';
import type { Op } from '../../src/core/types.ts';
import { REGION_COUNT, regionOfKey } from '../../src/core/regions.ts';
import { MapView } from './map-view.ts';

// Hash tags pin keys to a few regions, so regions hold several keys and pages matter.
const key = fc
  .tuple(fc.constantFrom('{a}', '{b}', '{c}', ''), fc.integer({ min: 0, max: 30 }))
  .map(([tag, n]) => Buffer.from(`${tag}k${n}`, 'latin1'));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(key, fc.integer({ min: 0, max: 99 }), fc.constantFrom(0, 5)).map(([k, v, e]) => ({ k: 'put', key: k, value: Buffer.from(String(v)), expireAtMs: e }) as Op) },
  { weight: 3, arbitrary: key.map((k) => ({ k: 'del', key: k }) as Op) },
  { weight: 1, arbitrary: fc.constant({ k: 'flush' } as Op) },
);

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
        for (const k of touched) assert.deepEqual(ov.get(k), expected.get(k));
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

  test('rebase keeps size right after the base catches up with some pending ops', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.array(op, { maxLength: 30 }), fc.nat(), (baseOps, pending, cut) => {
        const base = new MapView();
        base.apply(baseOps);
        const ov = new Overlay(base);
        ov.applyOps(pending);
        // The first `n` pending ops get committed into base (as the replication core does).
        const n = pending.length === 0 ? 0 : cut % pending.length;
        base.apply(pending.slice(0, n));
        ov.rebase();
        const expected = new MapView();
        expected.apply(baseOps);
        expected.apply(pending);
        assert.equal(ov.size(), expected.size());
        for (const o of pending) if (o.k !== 'flush') assert.deepEqual(ov.get(o.key), expected.get(o.key));
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
