// The in-memory and LMDB storage areas fed the same history must hold the
// same content and report the same digests: nodes compare digests across
// machines, and the simulator's store stands in for the production one.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { REGION_COUNT, regionOfKey } from '../../src/core/regions.ts';
import type { CollectionType, Entry, Op } from '../../src/core/types.ts';
import { LmdbStorage } from '../../src/storage/lmdb-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import type { StorageArea } from '../../src/storage/storage-area.ts';
import { ALL_ENTRIES_LIMIT, closeP, del, elemOp, flush, items, keysInRegion, plain, put, syncP, update } from './storage-helpers.ts';
import { encodeListPosition, encodeScore, scoreOrderKey, stringEntry } from '../../src/core/collections.ts';

const base = mkdtempSync(join(tmpdir(), 'understudy-cross-test-'));
after(() => rmSync(base, { recursive: true, force: true }));
let dirs = 0;
function freshLmdb(): LmdbStorage {
  return LmdbStorage.open(join(base, `store-${++dirs}`));
}

/** Property runs; each opens a fresh LMDB environment, so this bounds the test's time. */
const PROPERTY_RUNS = 60;
/** Most steps in one generated history. */
const MAX_STEPS = 30;

/** Keys that exercise byte order: prefixes, the empty key, 0x00 and 0xff bytes, hash tags sharing a slot. */
const KEY_ALPHABET: Buffer[] = [
  Buffer.alloc(0),
  Buffer.from('a'),
  Buffer.from('ab'),
  Buffer.from('abc'),
  Buffer.from('b'),
  Buffer.from([0x00]),
  Buffer.from([0x00, 0x00]),
  Buffer.from([0xff]),
  Buffer.from([0xff, 0x00]),
  Buffer.from('{user1}name'),
  Buffer.from('{user1}mail'),
  Buffer.from('{user1}'),
  ...keysInRegion(7, 4),
];

const keyArb = fc.oneof(fc.constantFrom(...KEY_ALPHABET), fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a)));
const valueArb = fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a));
const expiryArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER }));
/** Element names that exercise byte order (the empty element, prefixes, 0x00 / 0xff). */
const ELEM_ALPHABET: Buffer[] = [Buffer.alloc(0), Buffer.from('a'), Buffer.from('ab'), Buffer.from([0x00]), Buffer.from([0xff]), Buffer.from('f1'), Buffer.from('f2'), Buffer.from('10')];
const typeArb = fc.constantFrom<CollectionType>('hash', 'set', 'zset', 'list');
/** An element op's element and value as its type stores them (a score, a position, nothing for a set). */
const elemArb = fc.tuple(typeArb, fc.nat(ELEM_ALPHABET.length - 1), fc.option(fc.tuple(valueArb, fc.double({ noNaN: true })), { freq: 4 })).map(([type, i, v]) => ({
  type,
  elem: type === 'list' ? encodeListPosition(i - 3) : ELEM_ALPHABET[i]!,
  value: v === null ? null : type === 'zset' ? encodeScore(v[1]) : type === 'set' ? Buffer.alloc(0) : v[0],
}));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(keyArb, valueArb, expiryArb).map(([k, v, e]) => put(k, v, e)) },
  { weight: 3, arbitrary: keyArb.map((k) => del(k)) },
  { weight: 1, arbitrary: fc.constant(flush) },
  { weight: 1, arbitrary: fc.tuple(keyArb, expiryArb).map(([k, e]): Op => ({ k: 'expire', key: k, expireAtMs: e })) },
  { weight: 8, arbitrary: fc.tuple(keyArb, elemArb).map(([k, e]) => elemOp(k, e.type, e.elem, e.value)) },
  { weight: 1, arbitrary: fc.tuple(keyArb, fc.integer({ min: 60_000, max: 80_000 }), expiryArb).map(([k, n, e]) => put(k, Buffer.alloc(n, n % 251), e)) },
  // Range ops inline, across the inline limit (STRING_INLINE_MAX_BYTES) and in, across and past
  // the chunks (STRING_CHUNK_BYTES) beyond it, some of zeros.
  { weight: 5, arbitrary: fc.tuple(keyArb, fc.oneof(fc.nat(40), fc.nat(20_000), fc.integer({ min: 60_000, max: 90_000 })), fc.oneof(valueArb, fc.nat(9000).map((n) => Buffer.alloc(n, n % 3 === 0 ? 0 : 0x5a)))).map(([k, offset, v]): Op => ({ k: 'range', key: k, offset, value: v })) },
);

type Step =
  | { readonly t: 'apply'; readonly gap: number; readonly ops: Op[] }
  | {
      readonly t: 'install';
      readonly anchor: Buffer;
      readonly entries: Array<[Buffer, Buffer, number]>;
      readonly colls: Array<[Buffer, CollectionType, boolean, Array<[number, Buffer]>]>;
      readonly first: boolean;
    }
  | { readonly t: 'dirty'; readonly regions: number[]; readonly clean: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('apply' as const), gap: fc.integer({ min: 1, max: 3 }), ops: fc.array(opArb, { maxLength: 6 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('install' as const),
      anchor: keyArb,
      entries: fc.array(fc.tuple(keyArb, valueArb, expiryArb), { maxLength: 8 }),
      colls: fc.array(fc.tuple(keyArb, typeArb, fc.boolean(), fc.array(fc.tuple(fc.nat(ELEM_ALPHABET.length - 1), valueArb), { minLength: 1, maxLength: 4 })), { maxLength: 3 }),
      first: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('dirty' as const),
      regions: fc.array(fc.integer({ min: 0, max: REGION_COUNT - 1 }), { maxLength: 4 }),
      clean: fc.integer({ min: 0, max: REGION_COUNT - 1 }),
    }),
  },
);

function run(s: StorageArea, steps: readonly Step[]): void {
  let lsn = 0;
  for (const step of steps) {
    switch (step.t) {
      case 'apply':
        lsn += step.gap;
        s.apply(update(lsn, step.ops));
        break;
      case 'install': {
        const region = regionOfKey(step.anchor);
        // Keep the generated entries of the anchor's region, plus the anchor itself.
        const entries: Array<[Buffer, Entry]> = [[step.anchor, stringEntry(Buffer.from('anchor'), 0)]];
        for (const [k, v, e] of step.entries) if (regionOfKey(k) === region) entries.push([k, stringEntry(v, e)]);
        const chunk = items(entries);
        // A collection's header, then its elements (a region resync's item stream).
        for (const [k, type, big, els] of step.colls) {
          if (regionOfKey(k) !== region || entries.some(([e]) => e.equals(k))) continue;
          chunk.push({ t: 'key', key: k, entry: { type, value: Buffer.alloc(0), expireAtMs: 0, count: 0, big } });
          for (const [i, v] of els) {
            const elem = type === 'list' ? encodeListPosition(i) : ELEM_ALPHABET[i]!;
            chunk.push({ t: 'elem', key: k, elem, value: type === 'zset' ? encodeScore(v.length - 10) : type === 'set' ? Buffer.alloc(0) : v });
          }
        }
        s.installRegion(region, chunk, step.first);
        break;
      }
      case 'dirty':
        s.markDirty(step.regions);
        s.markClean(step.clean);
        break;
    }
  }
}


/** Compares everything a reader can observe of two storage areas. */
function assertSame(a: StorageArea, b: StorageArea, probeKeys: readonly Buffer[]): void {
  assert.equal(a.appliedLsn, b.appliedLsn);
  assert.equal(a.size(), b.size());
  assert.deepEqual(a.dirtyRegions(), b.dirtyRegions());
  for (let r = 0; r < REGION_COUNT; r++) {
    assert.deepEqual(plain(a.regionEntries(r, undefined, ALL_ENTRIES_LIMIT)), plain(b.regionEntries(r, undefined, ALL_ENTRIES_LIMIT)), `region ${r}`);
    assert.equal(a.regionDigest(r), b.regionDigest(r), `region ${r} digest`);
  }
  for (const k of probeKeys) {
    assert.deepEqual(a.get(k), b.get(k), `key ${k.toString('hex')}`);
    for (const by of ['elem', 'score'] as const) {
      for (const reverse of [false, true]) {
        const all = a.elements(k, { by, reverse, limit: ALL_ENTRIES_LIMIT });
        assert.deepEqual(all, b.elements(k, { by, reverse, limit: ALL_ENTRIES_LIMIT }), `elements of ${k.toString('hex')} by ${by}`);
        // A bounded range from an element in the middle, inclusive and exclusive.
        const mid = all[Math.floor(all.length / 2)];
        if (mid) {
          const start = by === 'score' ? scoreOrderKey(mid.value, mid.elem) : mid.elem;
          for (const exclusive of [false, true]) assert.deepEqual(a.elements(k, { by, reverse, start, exclusive, limit: 2 }), b.elements(k, { by, reverse, start, exclusive, limit: 2 }));
        }
        if (by === 'elem') for (const el of all) assert.deepEqual(a.getElement(k, el.elem), b.getElement(k, el.elem));
      }
    }
    const h = a.get(k);
    if (h !== undefined && h.type !== 'string') assert.equal(a.elements(k, { limit: ALL_ENTRIES_LIMIT }).length, h.count, 'count follows the elements');
  }
  assert.equal(a.digest(), b.digest());
}

describe('memory and LMDB storage areas agree', () => {
  test('the same updates give the same content and digests; different content gives different digests', async () => {
    const mem = new MemoryStorage();
    const lmdb = freshLmdb();
    try {
      const ops = KEY_ALPHABET.map((k, i) => put(k, `value-${i}`, i * 17));
      mem.apply(update(1, ops));
      lmdb.apply(update(1, ops));
      assertSame(mem, lmdb, KEY_ALPHABET);
      mem.apply(update(2, [put('a', 'only in memory')]));
      lmdb.apply(update(2, [put('a', 'only in lmdb')]));
      assert.notEqual(mem.digest(), lmdb.digest());
      assert.notEqual(mem.regionDigest(regionOfKey(Buffer.from('a'))), lmdb.regionDigest(regionOfKey(Buffer.from('a'))));
    } finally {
      await closeP(mem);
      await closeP(lmdb);
    }
  });

  test('property: random histories of updates, resyncs and dirty marks give equal reads and digests, also after a restart', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: MAX_STEPS }), async (steps) => {
        const mem = new MemoryStorage();
        const lmdb = freshLmdb();
        const probes = [...KEY_ALPHABET];
        for (const s of steps) {
          if (s.t === 'apply') for (const op of s.ops) if (op.k !== 'flush') probes.push(op.key);
          if (s.t === 'install') probes.push(s.anchor, ...s.entries.map(([k]) => k), ...s.colls.map(([k]) => k));
        }
        try {
          run(mem, steps);
          run(lmdb, steps);
          assertSame(mem, lmdb, probes);
          await syncP(mem);
          await syncP(lmdb);
          const memAfter = mem.crash();
          await closeP(lmdb);
          const lmdbAfter = LmdbStorage.open(lmdb.dir);
          try {
            assertSame(memAfter, lmdbAfter, probes);
          } finally {
            await closeP(lmdbAfter);
          }
        } finally {
          await closeP(lmdb).catch(() => undefined);
        }
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });
});
