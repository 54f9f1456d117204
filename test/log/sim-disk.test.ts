// The simulated disk loses exactly what a real one may lose, and replays
// exactly from its seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimDisk } from '../../sim/sim-disk.ts';
import { Prng } from '../../src/lib/prng.ts';
import type { DiskFile } from '../../src/ports/disk.ts';
import { SimLoop } from './sim-loop.ts';

const DIR = '/data';

function setup(seed = 1): { loop: SimLoop; disk: SimDisk } {
  const loop = new SimLoop();
  const disk = new SimDisk(new Prng(seed), loop.schedule, { fsyncLatencyMs: 1 });
  disk.mkdirp(DIR, (e) => assert.equal(e, null));
  loop.run();
  return { loop, disk };
}

function openFile(loop: SimLoop, disk: SimDisk, path: string): DiskFile {
  let file: DiskFile | undefined;
  disk.open(path, 'append', (e, f) => {
    assert.equal(e, null);
    file = f;
  });
  loop.run();
  assert.ok(file);
  return file;
}

function contentOf(loop: SimLoop, disk: SimDisk, path: string): Uint8Array | null {
  let out: Uint8Array | null | undefined;
  disk.readFile(path, (e, b) => {
    assert.equal(e, null);
    out = b;
  });
  loop.run();
  assert.notEqual(out, undefined);
  return out ?? null;
}

test('a write is durable only after datasync completes; a crash loses the rest', () => {
  const { loop, disk } = setup();
  const f = openFile(loop, disk, `${DIR}/a`);
  disk.fsyncDir(DIR, () => {});
  f.writev([Uint8Array.of(1, 2, 3)], () => {});
  f.datasync(() => {});
  loop.run();
  f.writev([Uint8Array.of(4, 5)], () => {});
  let synced = false;
  f.datasync(() => (synced = true));
  disk.crash(); // before the second sync completed
  loop.run();
  assert.equal(synced, false, 'a crash drops in-flight completions');
  assert.deepEqual(contentOf(loop, disk, `${DIR}/a`), Uint8Array.of(1, 2, 3));
});

test('a created file vanishes in a crash unless its directory was fsynced', () => {
  const { loop, disk } = setup();
  const f = openFile(loop, disk, `${DIR}/b`);
  f.writev([Uint8Array.of(9)], () => {});
  f.datasync(() => {});
  loop.run();
  disk.crash();
  assert.equal(contentOf(loop, disk, `${DIR}/b`), null);
  const g = openFile(loop, disk, `${DIR}/c`);
  g.writev([Uint8Array.of(7)], () => {});
  g.datasync(() => {});
  disk.fsyncDir(DIR, () => {});
  loop.run();
  disk.crash();
  assert.deepEqual(contentOf(loop, disk, `${DIR}/c`), Uint8Array.of(7));
});

test('an unsynced rename is lost in a crash; a synced one survives', () => {
  const { loop, disk } = setup();
  const f = openFile(loop, disk, `${DIR}/x.tmp`);
  f.writev([Uint8Array.of(1)], () => {});
  f.datasync(() => {});
  disk.fsyncDir(DIR, () => {});
  loop.run();
  disk.rename(`${DIR}/x.tmp`, `${DIR}/x`, () => {});
  loop.run();
  disk.crash();
  assert.deepEqual(disk.names(DIR), ['x.tmp']);
  disk.rename(`${DIR}/x.tmp`, `${DIR}/x`, () => {});
  disk.fsyncDir(DIR, () => {});
  loop.run();
  disk.crash();
  assert.deepEqual(disk.names(DIR), ['x']);
});

test('a torn crash keeps a prefix of the unsynced bytes, never bytes that were not written', () => {
  let sawPartial = false;
  for (let seed = 1; seed <= 40; seed++) {
    const { loop, disk } = setup(seed);
    const f = openFile(loop, disk, `${DIR}/t`);
    disk.fsyncDir(DIR, () => {});
    f.writev([Uint8Array.of(1, 2)], () => {});
    f.datasync(() => {});
    loop.run();
    const tail = Uint8Array.from({ length: 50 }, (_, i) => 100 + i);
    f.writev([tail.subarray(0, 25)], () => {});
    f.writev([tail.subarray(25)], () => {});
    loop.run();
    disk.crash({ tear: true });
    const got = contentOf(loop, disk, `${DIR}/t`);
    assert.ok(got);
    assert.ok(got.length >= 2 && got.length <= 52);
    assert.deepEqual(got, Uint8Array.of(1, 2, ...tail).subarray(0, got.length));
    if (got.length > 2 && got.length < 52 && got.length !== 27) sawPartial = true;
  }
  assert.ok(sawPartial, 'some seed must tear a write in the middle');
});

test('flipByte corrupts the durable copy too', () => {
  const { loop, disk } = setup();
  const f = openFile(loop, disk, `${DIR}/f`);
  disk.fsyncDir(DIR, () => {});
  f.writev([Uint8Array.of(0, 0, 0)], () => {});
  f.datasync(() => {});
  loop.run();
  disk.flipByte(`${DIR}/f`, 1);
  disk.crash();
  assert.deepEqual(contentOf(loop, disk, `${DIR}/f`), Uint8Array.of(0, 0xff, 0));
});

test('same seed, same outcome', () => {
  const runOnce = (seed: number): string => {
    const { loop, disk } = setup(seed);
    const f = openFile(loop, disk, `${DIR}/d`);
    const order: string[] = [];
    for (let i = 0; i < 20; i++) {
      f.writev([Uint8Array.of(i, i, i, i)], () => order.push(`w${i}@${loop.nowMs.toFixed(4)}`));
      if (i % 3 === 0) f.datasync(() => order.push(`s${i}@${loop.nowMs.toFixed(4)}`));
    }
    disk.fsyncDir(DIR, () => order.push('dir'));
    loop.runUntil(() => order.length >= 15);
    disk.crash({ tear: true });
    loop.clear();
    return order.join(',') + '|' + Array.from(contentOf(loop, disk, `${DIR}/d`) ?? []).join('.');
  };
  assert.equal(runOnce(7), runOnce(7));
  assert.notEqual(runOnce(7), runOnce(8));
});
