// The StorageArea contract: one suite, run against every implementation
// (memory-storage.test.ts, lmdb-storage.test.ts), so the simulator's store and
// the production store cannot drift apart in behaviour.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { REGION_COUNT, regionOfKey } from '../../src/core/regions.ts';
import { isUnderstudyError } from '../../src/errors.ts';
import { MAX_KEY_BYTES } from '../../src/storage/update-checks.ts';
import {
  decodeListPosition,
  decodeScore,
  encodeListPosition,
  encodeScore,
  MAX_ELEMENT_KEY_BYTES,
  scoreBound,
  scoreOrderKey,
  stringEntry,
} from '../../src/core/collections.ts';
import { readRegionChunk, type RegionCursor } from '../../src/core/region-content.ts';
import type { ElementRange } from '../../src/core/types.ts';
import type { StorageArea } from '../../src/storage/storage-area.ts';
import {
  ALL_ENTRIES_LIMIT,
  closeP,
  del,
  elemOp,
  entry,
  flush,
  items,
  keysInRegion,
  plain,
  put,
  syncP,
  taggedKey,
  update,
} from './storage-helpers.ts';

export interface StorageHarness {
  /** A fresh, empty storage area. */
  create(): Promise<StorageArea>;
  /** A restart that keeps what sync() made durable: memory syncs then crashes, LMDB closes and reopens. */
  restart(s: StorageArea): Promise<StorageArea>;
  /** Closes the storage area if its implementation needs it, then forgets it. */
  dispose(s: StorageArea): Promise<void>;
  /** Releases everything create() made (temporary directories). */
  cleanup(): Promise<void>;
}

export function storageContract(name: string, h: StorageHarness): void {
  describe(`StorageArea contract: ${name}`, () => {
    after(() => h.cleanup());

    /** Runs `body` on a fresh store and disposes of whatever store it ends with. */
    async function withStore(body: (s: StorageArea) => Promise<StorageArea | void> | StorageArea | void): Promise<void> {
      let s = await h.create();
      try {
        const last = await body(s);
        if (last) s = last;
      } finally {
        await h.dispose(s).catch(() => undefined);
      }
    }

    test('a new storage area is empty at lsn 0', () =>
      withStore((s) => {
        assert.equal(s.appliedLsn, 0);
        assert.equal(s.durableLsn, 0);
        assert.equal(s.size(), 0);
        assert.deepEqual(s.dirtyRegions(), []);
        assert.equal(s.get(Buffer.from('a')), undefined);
        for (let r = 0; r < REGION_COUNT; r++) assert.deepEqual(s.regionEntries(r, undefined, ALL_ENTRIES_LIMIT), []);
      }));

    test('apply puts, deletes and flushes, with expiry, and sets appliedLsn', () =>
      withStore((s) => {
        s.apply(update(1, [put('a', '1'), put('b', '2', 1_700_000_000_123), put('c', '')]));
        assert.equal(s.appliedLsn, 1);
        assert.equal(s.size(), 3);
        assert.deepEqual(s.get(Buffer.from('a')), entry('1'));
        assert.deepEqual(s.get(Buffer.from('b')), entry('2', 1_700_000_000_123));
        assert.deepEqual(s.get(Buffer.from('c')), entry(''));
        s.apply(update(2, [put('a', 'one', 2 ** 52), del('b'), del('missing')]));
        assert.equal(s.appliedLsn, 2);
        assert.equal(s.size(), 2);
        assert.deepEqual(s.get(Buffer.from('a')), entry('one', 2 ** 52));
        assert.equal(s.get(Buffer.from('b')), undefined);
        s.apply(update(3, [flush, put('z', 'after flush')]));
        assert.equal(s.size(), 1);
        assert.equal(s.get(Buffer.from('a')), undefined);
        assert.deepEqual(s.get(Buffer.from('z')), entry('after flush'));
        assert.equal(s.appliedLsn, 3);
      }));

    test('the store keeps its own copy of keys and values it is given', () =>
      withStore((s) => {
        const key = Buffer.from('key');
        const value = Buffer.from('value');
        const [rk] = keysInRegion(12, 1);
        const resyncValue = Buffer.from('resync');
        s.apply(update(1, [{ k: 'put', key, value, expireAtMs: 0 }]));
        s.installRegion(12, items([[rk!, stringEntry(resyncValue, 0)]]), true);
        const digest = s.digest();
        value.fill(0x21);
        key.fill(0x21);
        resyncValue.fill(0x21);
        assert.deepEqual(s.get(Buffer.from('key')), entry('value'));
        assert.deepEqual(s.get(rk!), entry('resync'));
        assert.equal(s.digest(), digest);
      }));

    test('expired entries are still returned: callers decide what expiry means', () =>
      withStore((s) => {
        s.apply(update(1, [put('old', 'v', 1)]));
        assert.deepEqual(s.get(Buffer.from('old')), entry('v', 1));
        assert.equal(s.size(), 1);
      }));

    test('binary keys and values round-trip, including the empty key and every byte value', () =>
      withStore((s) => {
        const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        s.apply(update(1, [put(Buffer.alloc(0), allBytes), put(allBytes, Buffer.alloc(0)), put(Buffer.alloc(MAX_KEY_BYTES, 0xff), 'max')]));
        assert.deepEqual(s.get(Buffer.alloc(0)), stringEntry(allBytes, 0));
        assert.deepEqual(s.get(allBytes), stringEntry(Buffer.alloc(0), 0));
        assert.deepEqual(s.get(Buffer.alloc(MAX_KEY_BYTES, 0xff)), entry('max'));
        assert.equal(s.size(), 3);
      }));

    test('updates with gaps and updates with no ops advance appliedLsn', () =>
      withStore((s) => {
        s.apply(update(5, [put('a', '1')]));
        s.apply(update(9, []));
        assert.equal(s.appliedLsn, 9);
        s.apply(update(100, [put('b', '2')]));
        assert.equal(s.appliedLsn, 100);
        assert.equal(s.size(), 2);
      }));

    test('an update whose lsn does not increase is refused with STORAGE_OUT_OF_ORDER and changes nothing', () =>
      withStore((s) => {
        s.apply(update(5, [put('a', '1')]));
        const before = s.digest();
        for (const lsn of [5, 4, 1]) {
          assert.throws(
            () => s.apply(update(lsn, [put('a', 'changed'), put('new', 'x')])),
            (e: unknown) => isUnderstudyError(e, 'STORAGE_OUT_OF_ORDER') && /lsn/.test(e.message),
          );
        }
        assert.equal(s.appliedLsn, 5);
        assert.equal(s.digest(), before);
        assert.equal(s.size(), 1);
        assert.deepEqual(s.get(Buffer.from('a')), entry('1'));
      }));

    test('an update with one bad op is refused whole: no op applied, appliedLsn unchanged', () =>
      withStore((s) => {
        s.apply(update(1, [put('a', '1')]));
        const before = s.digest();
        assert.throws(
          () => s.apply(update(2, [put('a', '2'), del('a'), put(Buffer.alloc(MAX_KEY_BYTES + 1), 'too long')])),
          (e: unknown) => isUnderstudyError(e, 'STORAGE_KEY_TOO_LARGE'),
        );
        assert.equal(s.appliedLsn, 1);
        assert.equal(s.digest(), before);
        assert.deepEqual(s.get(Buffer.from('a')), entry('1'));
        s.apply(update(2, [put('a', '2')]));
        assert.deepEqual(s.get(Buffer.from('a')), entry('2'));
      }));

    test('regionEntries returns one region in key byte order, pages with afterKey and limit', () =>
      withStore((s) => {
        const region = 17;
        const keys = [
          taggedKey(region, Buffer.alloc(0), Buffer.alloc(0)),
          taggedKey(region, Buffer.from([0x00]), Buffer.alloc(0)),
          taggedKey(region, Buffer.from([0xff]), Buffer.alloc(0)),
          taggedKey(region, Buffer.from([0x7f, 0x80]), Buffer.alloc(0)),
          taggedKey(region, Buffer.from('a'), Buffer.alloc(0)),
          taggedKey(region, Buffer.from('ab'), Buffer.alloc(0)),
          taggedKey(region, Buffer.from('a'), Buffer.from([0x00])),
          ...keysInRegion(region, 13),
        ];
        const others = [...keysInRegion(region - 1, 5), ...keysInRegion(region + 1, 5)];
        // Insert in an order unrelated to byte order, over several updates.
        const shuffled = [...keys].reverse();
        let lsn = 0;
        for (let i = 0; i < shuffled.length; i += 4) {
          s.apply(update(++lsn, shuffled.slice(i, i + 4).map((k) => put(k, `v-${k.toString('hex')}`, i))));
        }
        s.apply(update(++lsn, others.map((k) => put(k, 'other'))));
        const sorted = [...keys].sort(Buffer.compare);
        const all = s.regionEntries(region, undefined, ALL_ENTRIES_LIMIT);
        assert.deepEqual(
          all.map(([k]) => k.toString('hex')),
          sorted.map((k) => k.toString('hex')),
        );
        for (const [k, e] of all) assert.equal(e.value.toString(), `v-${k.toString('hex')}`);
        // Paging by 3 visits every key once, in order.
        const paged: Buffer[] = [];
        let afterKey: Buffer | undefined;
        for (let page = 0; page <= keys.length; page++) {
          const chunk = s.regionEntries(region, afterKey, 3);
          assert.ok(chunk.length <= 3);
          if (chunk.length === 0) break;
          paged.push(...chunk.map(([k]) => k));
          afterKey = chunk[chunk.length - 1]![0];
        }
        assert.deepEqual(paged, sorted);
        // afterKey need not be stored: the page starts at the next stored key.
        const mid = sorted[5]!;
        const notStored = Buffer.concat([mid, Buffer.from([0x00])]);
        assert.deepEqual(s.regionEntries(region, notStored, 2).map(([k]) => k), sorted.slice(6, 8));
        assert.deepEqual(s.regionEntries(region, mid, 1).map(([k]) => k), sorted.slice(6, 7));
        assert.deepEqual(s.regionEntries(region, sorted[sorted.length - 1], 10), []);
        assert.deepEqual(s.regionEntries(region, undefined, 0), []);
        assert.equal(s.regionEntries(region - 1, undefined, ALL_ENTRIES_LIMIT).length, 5);
        // Deleting keys removes them from the listing.
        s.apply(update(lsn + 1, [del(sorted[0]!), del(sorted[3]!)]));
        assert.deepEqual(
          s.regionEntries(region, undefined, ALL_ENTRIES_LIMIT).map(([k]) => k),
          sorted.filter((_, i) => i !== 0 && i !== 3),
        );
      }));

    test('regionEntries pages past a key of the maximum length', () =>
      withStore((s) => {
        const region = regionOfKey(Buffer.alloc(MAX_KEY_BYTES, 0x61));
        const longest = Buffer.alloc(MAX_KEY_BYTES, 0x61);
        // '{' sorts after 'a', so this key comes right after the longest one.
        const next = taggedKey(region, Buffer.alloc(0), Buffer.alloc(0));
        assert.ok(Buffer.compare(longest, next) < 0);
        s.apply(update(1, [put(longest, 'long'), put(next, 'next')]));
        assert.deepEqual(s.regionEntries(region, undefined, 1).map(([k]) => k), [longest]);
        assert.deepEqual(s.regionEntries(region, longest, 10).map(([k]) => k), [next]);
        assert.deepEqual(s.regionEntries(region, Buffer.alloc(MAX_KEY_BYTES, 0x62), 10).map(([k]) => k), [next]);
        // An afterKey longer than any storable key still pages correctly.
        const overLong = Buffer.alloc(MAX_KEY_BYTES + 5, 0x61);
        assert.deepEqual(s.regionEntries(region, overLong, 10).map(([k]) => k), [next]);
        assert.deepEqual(s.regionEntries(region, Buffer.concat([Buffer.alloc(MAX_KEY_BYTES - 1, 0x61), Buffer.from('b')]), 10).map(([k]) => k), [next]);
        assert.deepEqual(s.regionEntries(region, Buffer.alloc(MAX_KEY_BYTES - 1, 0x61), 10).map(([k]) => k), [longest, next]);
        // Looking up a key longer than any storable key finds nothing.
        assert.equal(s.get(overLong), undefined);
      }));

    test('regionEntries covers the last region too', () =>
      withStore((s) => {
        const last = REGION_COUNT - 1;
        const keys = keysInRegion(last, 4);
        s.apply(update(1, keys.map((k) => put(k, 'v'))));
        assert.deepEqual(s.regionEntries(last, undefined, ALL_ENTRIES_LIMIT).map(([k]) => k), [...keys].sort(Buffer.compare));
      }));

    test('installRegion: the first chunk replaces the region, later chunks add, other regions and appliedLsn untouched', () =>
      withStore((s) => {
        const region = 40;
        const [a, b, c, d, e] = keysInRegion(region, 5);
        const outside = keysInRegion(41, 2);
        s.apply(update(7, [put(a!, 'old-a'), put(b!, 'old-b'), ...outside.map((k) => put(k, 'outside'))]));
        const outsideDigest = s.regionDigest(41);
        s.installRegion(region, items([[b!, entry('new-b', 99)], [c!, entry('new-c')]]), true);
        assert.equal(s.get(a!), undefined);
        assert.deepEqual(s.get(b!), entry('new-b', 99));
        assert.equal(s.size(), 4);
        s.installRegion(region, items([[d!, entry('new-d')], [e!, entry('new-e')]]), false);
        assert.deepEqual(plain(s.regionEntries(region, undefined, ALL_ENTRIES_LIMIT)), plain(
          [
            [b!, entry('new-b', 99)],
            [c!, entry('new-c')],
            [d!, entry('new-d')],
            [e!, entry('new-e')],
          ].sort((x, y) => Buffer.compare(x[0] as Buffer, y[0] as Buffer)) as Array<[Buffer, ReturnType<typeof entry>]>,
        ));
        assert.equal(s.size(), 6);
        assert.equal(s.regionDigest(41), outsideDigest);
        assert.equal(s.appliedLsn, 7);
        // An empty first chunk empties the region.
        s.installRegion(region, [], true);
        assert.deepEqual(s.regionEntries(region, undefined, ALL_ENTRIES_LIMIT), []);
        assert.equal(s.size(), 2);
      }));

    test('installRegion refuses a key of another region', () =>
      withStore((s) => {
        const [k] = keysInRegion(3, 1);
        assert.throws(() => s.installRegion(4, items([[k!, entry('x')]]), true), /belongs to region 3/);
        assert.equal(s.size(), 0);
      }));

    test('setAppliedLsn moves appliedLsn back or forward; later applies must exceed it', () =>
      withStore((s) => {
        s.apply(update(10, [put('a', '1')]));
        s.setAppliedLsn(6);
        assert.equal(s.appliedLsn, 6);
        assert.ok(s.durableLsn <= 6);
        s.apply(update(7, [put('a', '2')]));
        assert.equal(s.appliedLsn, 7);
        s.setAppliedLsn(20);
        assert.throws(() => s.apply(update(15, [])), (e: unknown) => isUnderstudyError(e, 'STORAGE_OUT_OF_ORDER'));
        s.apply(update(21, []));
        assert.equal(s.appliedLsn, 21);
      }));

    test('sync reports the applied lsn as durable', () =>
      withStore(async (s) => {
        s.apply(update(3, [put('a', '1')]));
        assert.equal(await syncP(s), 3);
        assert.equal(s.durableLsn, 3);
        s.apply(update(4, [put('a', '2')]));
        assert.equal(s.durableLsn, 3);
        const [first, second] = await Promise.all([syncP(s), syncP(s)]);
        assert.equal(first, 4);
        assert.equal(second, 4);
        assert.equal(s.durableLsn, 4);
      }));

    test('a sync in flight when appliedLsn moves back reports no more than the new appliedLsn', () =>
      withStore(async (s) => {
        s.apply(update(10, [put('a', '1')]));
        await syncP(s);
        s.apply(update(11, [put('a', '2')]));
        const inFlight = syncP(s);
        // A divergent tail from lsn 5 on is truncated, and another history's updates follow.
        s.setAppliedLsn(4);
        assert.equal(s.durableLsn, 4);
        for (let lsn = 5; lsn <= 12; lsn++) s.apply(update(lsn, [put('a', `new ${lsn}`)]));
        assert.equal(await inFlight, 4);
        assert.equal(s.durableLsn, 4);
        assert.equal(await syncP(s), 12);
      }));

    /** Elements of key as [elem, value] text pairs, in the range's order. */
    function els(s: StorageArea, key: string, range: Partial<ElementRange> = {}): Array<[string, string]> {
      return s.elements(Buffer.from(key), { limit: ALL_ENTRIES_LIMIT, ...range }).map((e) => [e.elem.toString('latin1'), e.value.toString('latin1')]);
    }

    test('element ops: a collection is created by its first element, counted, and removed with its last', () =>
      withStore((s) => {
        s.apply(update(1, [elemOp('h', 'hash', 'f1', 'v1'), elemOp('h', 'hash', 'f2', 'v2'), elemOp('h', 'hash', 'f1', 'v1b')]));
        assert.deepEqual(s.get(Buffer.from('h')), { type: 'hash', value: Buffer.alloc(0), expireAtMs: 0, count: 2, big: false });
        assert.equal(s.size(), 1);
        assert.equal(s.getElement(Buffer.from('h'), Buffer.from('f1'))?.toString(), 'v1b');
        assert.equal(s.getElement(Buffer.from('h'), Buffer.from('nope')), undefined);
        assert.deepEqual(els(s, 'h'), [['f1', 'v1b'], ['f2', 'v2']]);
        // Removing what is not there, or from a key of another type, changes nothing.
        s.apply(update(2, [elemOp('h', 'hash', 'missing', null), elemOp('h', 'set', 'f1', null), elemOp('nokey', 'hash', 'f', null)]));
        assert.equal(s.get(Buffer.from('h'))?.count, 2);
        assert.equal(s.size(), 1);
        s.apply(update(3, [elemOp('h', 'hash', 'f1', null)]));
        assert.equal(s.get(Buffer.from('h'))?.count, 1);
        s.apply(update(4, [elemOp('h', 'hash', 'f2', null)]));
        assert.equal(s.get(Buffer.from('h')), undefined);
        assert.equal(s.size(), 0);
        assert.deepEqual(els(s, 'h'), []);
      }));

    test('element ops: another type is replaced whole; put, del and flush drop every element; expire keeps them', () =>
      withStore((s) => {
        s.apply(update(1, [put('k', 'str', 99), elemOp('k', 'set', 'm1', ''), elemOp('k', 'set', 'm2', '')]));
        assert.deepEqual(s.get(Buffer.from('k')), { type: 'set', value: Buffer.alloc(0), expireAtMs: 0, count: 2, big: true });
        s.apply(update(2, [elemOp('k', 'hash', 'f', 'v')]));
        assert.deepEqual(els(s, 'k'), [['f', 'v']]);
        assert.equal(s.getElement(Buffer.from('k'), Buffer.from('m1')), undefined);
        s.apply(update(3, [{ k: 'expire', key: Buffer.from('k'), expireAtMs: 1234 }, { k: 'expire', key: Buffer.from('absent'), expireAtMs: 5 }]));
        assert.equal(s.get(Buffer.from('k'))?.expireAtMs, 1234);
        assert.equal(s.get(Buffer.from('absent')), undefined);
        assert.deepEqual(els(s, 'k'), [['f', 'v']]);
        s.apply(update(4, [put('k', 'back to a string')]));
        assert.deepEqual(s.get(Buffer.from('k')), entry('back to a string'));
        assert.deepEqual(els(s, 'k'), []);
        s.apply(update(5, [elemOp('k', 'hash', 'g', 'w'), elemOp('j', 'zset', 'm', encodeScore(1))]));
        s.apply(update(6, [del('k')]));
        assert.deepEqual(els(s, 'k'), []);
        assert.equal(s.size(), 1);
        s.apply(update(7, [flush]));
        assert.deepEqual(els(s, 'j'), []);
        assert.deepEqual(els(s, 'j', { by: 'score' }), []);
        assert.equal(s.size(), 0);
      }));

    test('score-ordered ranges of a large sorted set: ties by member, -0 as 0, moves, start bounds and pages both ways', () =>
      withStore((s) => {
        // Scores with many ties, both signs, -0 and infinities; 3000 members in an order unrelated to member order.
        const scoreOf = (i: number): number => (i % 17 === 0 ? -0 : i % 101 === 0 ? Infinity : i % 103 === 0 ? -Infinity : ((i * 7919) % 211) - 105 + (i % 3) / 4);
        const n = 3000;
        const current = new Map<string, number>();
        const ops = [];
        for (let i = 0; i < n; i++) {
          const m = `k${(i * 2654435761) % 100003}`;
          current.set(m, scoreOf(i));
          ops.push(elemOp('z', 'zset', m, encodeScore(scoreOf(i))));
        }
        s.apply(update(1, ops));
        // A tenth of the members move to new scores, another tenth go.
        const moves = [];
        let j = 0;
        for (const m of [...current.keys()]) {
          if (j % 10 === 0) {
            current.set(m, j / 3 - 200);
            moves.push(elemOp('z', 'zset', m, encodeScore(j / 3 - 200)));
          } else if (j % 10 === 1) {
            current.delete(m);
            moves.push(elemOp('z', 'zset', m, null));
          }
          j++;
        }
        s.apply(update(2, moves));
        const expected = [...current.entries()].sort((x, y) => x[1] - y[1] || Buffer.compare(Buffer.from(x[0]), Buffer.from(y[0]))).map(([m, sc]) => `${m}:${sc === 0 ? 0 : sc}`);
        const show = (e: { elem: Buffer; value: Buffer }): string => `${e.elem.toString()}:${decodeScore(e.value) === 0 ? 0 : decodeScore(e.value)}`;
        assert.equal(s.get(Buffer.from('z'))?.count, current.size);
        // Paged forward from each page's last order key, and backward.
        const forward: string[] = [];
        let start: Buffer | undefined;
        for (;;) {
          const page = s.elements(Buffer.from('z'), start === undefined ? { by: 'score', limit: 97 } : { by: 'score', start, exclusive: true, limit: 97 });
          forward.push(...page.map(show));
          if (page.length < 97) break;
          const last = page[page.length - 1]!;
          start = scoreOrderKey(last.value, last.elem);
        }
        assert.deepEqual(forward, expected);
        const backward = s.elements(Buffer.from('z'), { by: 'score', reverse: true, limit: ALL_ENTRIES_LIMIT }).map(show);
        assert.deepEqual(backward, [...expected].reverse());
        // From a score bound: the first member at or above 0 (-0 included), and the last below it.
        const firstAtZero = expected.findIndex((e) => Number(e.slice(e.lastIndexOf(':') + 1)) >= 0);
        assert.deepEqual(s.elements(Buffer.from('z'), { by: 'score', start: scoreBound(0), limit: 5 }).map(show), expected.slice(firstAtZero, firstAtZero + 5));
        assert.deepEqual(s.elements(Buffer.from('z'), { by: 'score', start: scoreBound(-0), limit: 5 }).map(show), expected.slice(firstAtZero, firstAtZero + 5));
        assert.deepEqual(
          s.elements(Buffer.from('z'), { by: 'score', start: scoreBound(0), exclusive: true, reverse: true, limit: 5 }).map(show),
          expected.slice(firstAtZero - 5, firstAtZero).reverse(),
        );
      }));

    test('element ranges: element order, score order for a sorted set, list positions, start, exclusive, reverse, limit', () =>
      withStore((s) => {
        const scores: Array<[string, number]> = [['a', 3], ['b', -1.5], ['c', 3], ['d', -Infinity], ['e', Infinity], ['f', 0]];
        s.apply(update(1, scores.map(([m, sc]) => elemOp('z', 'zset', m, encodeScore(sc)))));
        const byScore = (r: Partial<ElementRange> = {}): string[] => s.elements(Buffer.from('z'), { by: 'score', limit: ALL_ENTRIES_LIMIT, ...r }).map((e) => `${e.elem.toString()}:${decodeScore(e.value)}`);
        assert.deepEqual(byScore(), ['d:-Infinity', 'b:-1.5', 'f:0', 'a:3', 'c:3', 'e:Infinity']);
        assert.deepEqual(byScore({ reverse: true, limit: 2 }), ['e:Infinity', 'c:3']);
        assert.deepEqual(byScore({ start: scoreBound(0) }), ['f:0', 'a:3', 'c:3', 'e:Infinity']);
        assert.deepEqual(byScore({ start: scoreOrderKey(encodeScore(3), Buffer.from('a')), exclusive: true }), ['c:3', 'e:Infinity']);
        assert.deepEqual(byScore({ start: scoreBound(3), reverse: true }), ['f:0', 'b:-1.5', 'd:-Infinity']);
        // A new score moves the member in score order.
        s.apply(update(2, [elemOp('z', 'zset', 'd', encodeScore(10)), elemOp('z', 'zset', 'b', null)]));
        assert.deepEqual(byScore(), ['f:0', 'a:3', 'c:3', 'd:10', 'e:Infinity']);
        assert.deepEqual(els(s, 'z').map(([m]) => m), ['a', 'c', 'd', 'e', 'f']);
        assert.equal(s.get(Buffer.from('z'))?.count, 5);
        // A list's positions keep list order, negative ones first.
        s.apply(update(3, [-2, 5, -1, 0, 1].map((p) => elemOp('l', 'list', encodeListPosition(p), `at${p}`))));
        assert.deepEqual(
          s.elements(Buffer.from('l'), { limit: 10 }).map((e) => `${decodeListPosition(e.elem)}=${e.value.toString()}`),
          ['-2=at-2', '-1=at-1', '0=at0', '1=at1', '5=at5'],
        );
        assert.deepEqual(s.elements(Buffer.from('l'), { reverse: true, limit: 2 }).map((e) => decodeListPosition(e.elem)), [5, 1]);
        assert.deepEqual(s.elements(Buffer.from('l'), { start: encodeListPosition(0), limit: 2 }).map((e) => decodeListPosition(e.elem)), [0, 1]);
        assert.deepEqual(s.elements(Buffer.from('l'), { start: encodeListPosition(0), exclusive: true, reverse: true, limit: 5 }).map((e) => decodeListPosition(e.elem)), [-1, -2]);
        assert.equal(s.getElement(Buffer.from('l'), encodeListPosition(5))?.toString(), 'at5');
        // Keys sharing a prefix keep their elements apart.
        s.apply(update(4, [elemOp('ab', 'hash', 'x', '1'), elemOp('a', 'hash', 'bx', '2'), elemOp('a', 'hash', 'y', '3')]));
        assert.deepEqual(els(s, 'a'), [['bx', '2'], ['y', '3']]);
        assert.deepEqual(els(s, 'a', { start: Buffer.from('c') }), [['y', '3']]);
        assert.deepEqual(els(s, 'ab'), [['x', '1']]);
        assert.deepEqual(els(s, 'ab', { limit: 0 }), []);
      }));

    test('the encoding flag: a hash turns big past 512 fields or a 64-byte value and stays big; a set at its first non-integer', () =>
      withStore((s) => {
        s.apply(update(1, Array.from({ length: 512 }, (_, i) => elemOp('h', 'hash', `f${i}`, 'v'))));
        assert.equal(s.get(Buffer.from('h'))?.big, false);
        s.apply(update(2, [elemOp('h', 'hash', 'f512', 'v')]));
        assert.equal(s.get(Buffer.from('h'))?.big, true);
        s.apply(update(3, Array.from({ length: 504 }, (_, i) => elemOp('h', 'hash', `f${i}`, null))));
        assert.deepEqual(s.get(Buffer.from('h'))?.count, 9);
        assert.equal(s.get(Buffer.from('h'))?.big, true);
        s.apply(update(4, [elemOp('g', 'hash', 'f', 'x'.repeat(65)), elemOp('n', 'set', '12', ''), elemOp('n', 'set', '-7', '')]));
        assert.equal(s.get(Buffer.from('g'))?.big, true);
        assert.equal(s.get(Buffer.from('n'))?.big, false);
        s.apply(update(5, [elemOp('n', 'set', 'x', ''), elemOp('n', 'set', 'x', null)]));
        assert.equal(s.get(Buffer.from('n'))?.big, true);
      }));

    test('an element too long for the storage layout refuses the whole update', () =>
      withStore((s) => {
        s.apply(update(1, [put('a', '1')]));
        const before = s.digest();
        assert.throws(
          () => s.apply(update(2, [put('a', '2'), elemOp('h', 'hash', Buffer.alloc(MAX_ELEMENT_KEY_BYTES), 'v')])),
          (e: unknown) => isUnderstudyError(e, 'STORAGE_KEY_TOO_LARGE'),
        );
        assert.equal(s.digest(), before);
        s.apply(update(2, [elemOp('h', 'hash', Buffer.alloc(MAX_ELEMENT_KEY_BYTES - 1), 'v')]));
        assert.equal(s.get(Buffer.from('h'))?.count, 1);
      }));

    test('a region streamed in small chunks of items (headers, then elements) installs equal content elsewhere', () =>
      withStore(async (s) => {
        const region = 9;
        const [k1, k2, k3, k4] = keysInRegion(region, 4);
        s.apply(update(1, [put(k1!, 'string', 77), ...Array.from({ length: 25 }, (_, i) => elemOp(k2!, 'hash', `f${i}`, `v${i}`))]));
        s.apply(update(2, [{ k: 'expire', key: k2!, expireAtMs: 5000 }, ...Array.from({ length: 7 }, (_, i) => elemOp(k3!, 'zset', `m${i}`, encodeScore(7 - i))), elemOp(k4!, 'set', 'only', '')]));
        const other = await h.create();
        try {
          other.apply(update(1, [put(keysInRegion(region, 5, 'z')[4]!, 'stale')]));
          let after: RegionCursor | undefined;
          let first = true;
          for (let i = 0; i < 100; i++) {
            const chunk = readRegionChunk(s, region, after, 4);
            assert.ok(chunk.items.length <= 4);
            other.installRegion(region, chunk.items, first);
            first = false;
            if (chunk.next === null) break;
            after = chunk.next;
          }
          assert.equal(other.regionDigest(region), s.regionDigest(region));
          assert.deepEqual(other.get(k2!), s.get(k2!));
          assert.deepEqual(other.elements(k3!, { by: 'score', limit: 100 }), s.elements(k3!, { by: 'score', limit: 100 }));
          assert.equal(other.size(), 4);
        } finally {
          await h.dispose(other);
        }
      }));

    test('collections survive a restart after sync', () =>
      withStore(async (s) => {
        s.apply(update(1, [elemOp('h', 'hash', 'f', 'v'), elemOp('z', 'zset', 'm', encodeScore(2.5)), { k: 'expire', key: Buffer.from('h'), expireAtMs: 42 }]));
        const digest = s.digest();
        await syncP(s);
        const r = await h.restart(s);
        assert.equal(r.digest(), digest);
        assert.deepEqual(r.get(Buffer.from('h')), { type: 'hash', value: Buffer.alloc(0), expireAtMs: 42, count: 1, big: false });
        assert.equal(decodeScore(r.elements(Buffer.from('z'), { by: 'score', limit: 1 })[0]!.value), 2.5);
        return r;
      }));

    test('content, appliedLsn and dirty marks survive a restart after sync', () =>
      withStore(async (s) => {
        s.apply(update(1, [put('a', '1', 5), put('b', '2')]));
        s.apply(update(4, [del('b'), put('c', '3')]));
        s.markDirty([3, 5, 7]);
        s.markDirty([5]);
        s.markClean(5);
        s.markClean(9);
        assert.deepEqual(s.dirtyRegions(), [3, 7]);
        const digest = s.digest();
        await syncP(s);
        const r = await h.restart(s);
        assert.equal(r.appliedLsn, 4);
        assert.equal(r.durableLsn, 4);
        assert.equal(r.size(), 2);
        assert.deepEqual(r.get(Buffer.from('a')), entry('1', 5));
        assert.equal(r.get(Buffer.from('b')), undefined);
        assert.deepEqual(r.dirtyRegions(), [3, 7]);
        assert.equal(r.digest(), digest);
        r.markClean(3);
        r.apply(update(5, [put('d', '4')]));
        await syncP(r);
        const r2 = await h.restart(r);
        assert.deepEqual(r2.dirtyRegions(), [7]);
        assert.equal(r2.appliedLsn, 5);
        assert.equal(r2.size(), 3);
        return r2;
      }));

    test('a lowered appliedLsn survives a restart after sync', () =>
      withStore(async (s) => {
        s.apply(update(10, [put('a', '1')]));
        s.setAppliedLsn(4);
        await syncP(s);
        const r = await h.restart(s);
        assert.equal(r.appliedLsn, 4);
        return r;
      }));

    test('digests are equal for equal content, whatever the history', async () => {
      const one = await h.create();
      const two = await h.create();
      try {
        const keys = [...keysInRegion(2, 3), ...keysInRegion(50, 3)];
        one.apply(update(1, keys.map((k, i) => put(k, `v${i}`, i * 1000))));
        two.apply(update(3, [put(keys[0]!, 'junk'), put('gone', 'x'), ...keys.slice(3).map((k, i) => put(k, `v${i + 3}`, (i + 3) * 1000))]));
        two.apply(update(8, [flush, ...[...keys].reverse().map((k) => put(k, `v${keys.indexOf(k)}`, keys.indexOf(k) * 1000))]));
        assert.equal(one.digest(), two.digest());
        for (let r = 0; r < REGION_COUNT; r++) assert.equal(one.regionDigest(r), two.regionDigest(r));
        assert.match(one.digest(), /^[0-9a-f]{64}$/);
      } finally {
        await h.dispose(one);
        await h.dispose(two);
      }
    });

    test('digests differ when a key, a value or an expiry differs, and only in the touched region', () =>
      withStore((s) => {
        const [k] = keysInRegion(9, 1);
        s.apply(update(1, [put(k!, 'v', 0)]));
        const base = { all: s.digest(), region: s.regionDigest(9), other: s.regionDigest(10) };
        const seen = new Set([base.all]);
        const variants: Array<Parameters<typeof update>[1]> = [
          [put(k!, 'w', 0)],
          [put(k!, 'v', 1)],
          [put(k!, 'v', 0), put(keysInRegion(9, 2)[1]!, '')],
          [del(k!)],
        ];
        let lsn = 1;
        for (const ops of variants) {
          s.apply(update(++lsn, [flush, put(k!, 'v', 0)]));
          assert.equal(s.digest(), base.all, 'restored content gives the original digest');
          s.apply(update(++lsn, ops));
          const d = s.digest();
          assert.ok(!seen.has(d), `digest repeated for ${JSON.stringify(ops.map((o) => o.k))}`);
          seen.add(d);
          assert.notEqual(s.regionDigest(9), base.region);
          assert.equal(s.regionDigest(10), base.other);
        }
        assert.equal(regionOfKey(k!), 9);
      }));

    test('a closed storage area refuses further calls with STORAGE_CLOSED', async () => {
      const s = await h.create();
      s.apply(update(1, [put('a', '1')]));
      await closeP(s);
      assert.throws(() => s.get(Buffer.from('a')), (e: unknown) => isUnderstudyError(e, 'STORAGE_CLOSED'));
      assert.throws(() => s.apply(update(2, [])), (e: unknown) => isUnderstudyError(e, 'STORAGE_CLOSED'));
    });
  });
}
