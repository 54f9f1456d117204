// The script cache is data like the keys: a `script` op goes through the update codec, both
// storage areas apply it atomically with its update, a FLUSHALL leaves it, a crash keeps only
// what a sync made durable, and region resync carries a region's scripts (streamed before its
// keys, across as many chunks as it takes) so a node refilled that way knows every sha.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha1Hex } from '../../src/lib/sha1.ts';
import { REGION_COUNT, regionOfKey, regionsOfOps } from '../../src/core/regions.ts';
import type { Op } from '../../src/core/types.ts';
import { decodeRegionItems, decodeUpdate, encodeRegionItems, encodeUpdate } from '../../src/codec/update-codec.ts';
import { readRegionChunk, type RegionCursor } from '../../src/core/region-content.ts';
import { LmdbStorage } from '../../src/storage/lmdb-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import type { StorageArea } from '../../src/storage/storage-area.ts';
import { closeP, flush, put, syncP, update } from './storage-helpers.ts';

const base = mkdtempSync(join(tmpdir(), 'understudy-script-cache-test-'));
after(() => rmSync(base, { recursive: true, force: true }));
let dirs = 0;

function script(body: string): Op {
  return { k: 'script', key: Buffer.from(sha1Hex(Buffer.from(body))), value: Buffer.from(body) };
}
function forget(body: string): Op {
  return { k: 'script', key: Buffer.from(sha1Hex(Buffer.from(body))), value: null };
}
function shaOf(body: string): Buffer {
  return Buffer.from(sha1Hex(Buffer.from(body)));
}

/** Bodies whose shas fall in one region, so that a region holds several scripts. */
function bodiesInOneRegion(n: number): { region: number; bodies: string[] } {
  const region = regionOfKey(shaOf('return 0'));
  const bodies: string[] = [];
  for (let i = 0; bodies.length < n; i++) if (regionOfKey(shaOf(`return ${i}`)) === region) bodies.push(`return ${i}`);
  return { region, bodies };
}

const stores: Array<[string, () => StorageArea]> = [
  ['memory', () => new MemoryStorage()],
  ['lmdb', () => LmdbStorage.open(join(base, `store-${++dirs}`))],
];

test('script ops and script region items survive the codecs unchanged', () => {
  const ops: Op[] = [script('return 1'), forget('return 2'), put('k', 'v')];
  const u = update(7, ops);
  assert.deepEqual(decodeUpdate(encodeUpdate(u)), u);
  const items = [{ t: 'script' as const, key: shaOf('return 1'), value: Buffer.from('return 1') }];
  assert.deepEqual(decodeRegionItems(encodeRegionItems(items)), items);
  assert.deepEqual(regionsOfOps([script('return 1')]), [regionOfKey(shaOf('return 1'))]);
});

for (const [name, open] of stores) {
  describe(`${name} storage area: the script cache`, () => {
    test('applies, forgets, survives a FLUSHALL, and counts in the region digest', async () => {
      const s = open();
      const before = s.digest();
      s.apply(update(1, [script('return 1'), script('return 2'), put('k', 'v')]));
      assert.equal(s.getScript(shaOf('return 1'))?.toString(), 'return 1');
      assert.notEqual(s.digest(), before);
      s.apply(update(2, [flush]));
      assert.equal(s.size(), 0);
      assert.equal(s.getScript(shaOf('return 2'))?.toString(), 'return 2', 'FLUSHALL leaves the script cache, as in Redis');
      s.apply(update(3, [forget('return 1'), forget('return 2')]));
      assert.equal(s.getScript(shaOf('return 1')), undefined);
      assert.equal(s.digest(), before);
      await closeP(s);
    });

    test('region resync streams a region\'s scripts before its keys, a chunk at a time, and installs them', async () => {
      const { region, bodies } = bodiesInOneRegion(5);
      const src = open();
      src.apply(update(1, bodies.map(script)));
      const dst = open();
      dst.apply(update(1, [script(bodies[0]!)])); // replaced by the install
      let after: RegionCursor | undefined;
      let first = true;
      let chunks = 0;
      for (;;) {
        const c = readRegionChunk(src, region, after, 2);
        dst.installRegion(region, decodeRegionItems(encodeRegionItems(c.items)), first);
        first = false;
        chunks++;
        if (c.next === null) break;
        after = c.next;
      }
      assert.ok(chunks >= 3, `five scripts in chunks of two took ${chunks} chunks`);
      for (const b of bodies) assert.equal(dst.getScript(shaOf(b))?.toString(), b);
      assert.equal(dst.regionDigest(region), src.regionDigest(region));
      for (let r = 0; r < REGION_COUNT; r++) assert.equal(dst.regionScripts(r, undefined, 100).length, r === region ? 5 : 0);
      await closeP(src);
      await closeP(dst);
    });
  });
}

test('a crash of the in-memory storage area keeps the scripts a sync made durable, and only those', async () => {
  const s = new MemoryStorage();
  s.apply(update(1, [script('return 1')]));
  await syncP(s);
  s.apply(update(2, [script('return 2'), forget('return 1')]));
  const after = s.crash();
  assert.equal(after.getScript(shaOf('return 1'))?.toString(), 'return 1');
  assert.equal(after.getScript(shaOf('return 2')), undefined);
});

test('the LMDB storage area keeps its scripts across a reopen', async () => {
  const dir = join(base, `store-${++dirs}`);
  const s = LmdbStorage.open(dir);
  s.apply(update(1, [script('return 1')]));
  await syncP(s);
  await closeP(s);
  const again = LmdbStorage.open(dir);
  assert.equal(again.getScript(shaOf('return 1'))?.toString(), 'return 1');
  await closeP(again);
});
