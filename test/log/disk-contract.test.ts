// One contract, two Disks: the real one on node:fs and the simulated one
// must behave alike for everything the log relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Disk, DiskFile } from '../../src/ports/disk.ts';
import { FsDisk } from '../../src/host/fs-disk.ts';
import { SimDisk } from '../../sim/sim-disk.ts';
import { Prng } from '../../src/lib/prng.ts';
import { writeFileAtomic } from '../../src/log/atomic-file.ts';
import { SimLoop } from './sim-loop.ts';

/** Turns a callback operation into a promise; the simulated loop is run until it completes. */
type Call = <T>(op: (cb: (err: Error | null, v?: T) => void) => void) => Promise<T | undefined>;

interface Subject {
  disk: Disk;
  dir: string;
  call: Call;
  cleanup(): void;
}

function fsSubject(): Subject {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-disk-'));
  return {
    disk: new FsDisk(),
    dir,
    call: (op) => new Promise((resolve, reject) => op((err, v) => (err ? reject(err) : resolve(v)))),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function simSubject(): Subject {
  const loop = new SimLoop();
  return {
    disk: new SimDisk(new Prng(5), loop.schedule),
    dir: '/sim/dir',
    call: <T>(op: (cb: (err: Error | null, v?: T) => void) => void) =>
      new Promise<T | undefined>((resolve, reject) => {
        op((err, v) => (err ? reject(err) : resolve(v)));
        loop.run();
      }),
    cleanup: () => {},
  };
}

for (const [name, make] of [
  ['FsDisk', fsSubject],
  ['SimDisk', simSubject],
] as const) {
  test(`${name}: append, sync, read, size, truncate, close`, async () => {
    const s = make();
    try {
      const { disk, call } = s;
      await call((cb) => disk.mkdirp(`${s.dir}/a/b`, cb));
      const path = `${s.dir}/a/b/f`;
      const f = (await call<DiskFile>((cb) => disk.open(path, 'append', cb)))!;
      await call((cb) => f.writev([Uint8Array.of(1, 2, 3), Uint8Array.of(4)], cb));
      await call((cb) => f.writev([Uint8Array.of(5, 6)], cb));
      await call((cb) => f.datasync(cb));
      assert.equal(await call<number>((cb) => f.size(cb)), 6);
      assert.deepEqual([...(await call<Uint8Array>((cb) => f.read(2, 3, cb)))!], [3, 4, 5]);
      assert.deepEqual([...(await call<Uint8Array>((cb) => f.read(4, 100, cb)))!], [5, 6], 'a read past the end returns what there is');
      await call((cb) => f.truncate(2, cb));
      await call((cb) => f.writev([Uint8Array.of(9)], cb));
      await call((cb) => f.datasync(cb));
      assert.deepEqual([...(await call<Uint8Array | null>((cb) => disk.readFile(path, cb)))!], [1, 2, 9], 'appends go to the new end after a truncate');
      await call((cb) => f.close(cb));
    } finally {
      s.cleanup();
    }
  });

  test(`${name}: list, rename, unlink, readFile of a missing file, atomic write`, async () => {
    const s = make();
    try {
      const { disk, call } = s;
      await call((cb) => disk.mkdirp(s.dir, cb));
      assert.equal(await call<Uint8Array | null>((cb) => disk.readFile(`${s.dir}/none`, cb)), null);
      await assert.rejects(call((cb) => disk.open(`${s.dir}/none`, 'read', cb)), /ENOENT/);
      await call((cb) => writeFileAtomic(disk, `${s.dir}/p`, Uint8Array.of(7, 7), cb));
      await call((cb) => writeFileAtomic(disk, `${s.dir}/p`, Uint8Array.of(8), cb));
      assert.deepEqual([...(await call<Uint8Array | null>((cb) => disk.readFile(`${s.dir}/p`, cb)))!], [8]);
      await call((cb) => disk.rename(`${s.dir}/p`, `${s.dir}/q`, cb));
      assert.deepEqual(await call<string[]>((cb) => disk.list(s.dir, cb)), ['q']);
      await call((cb) => disk.unlink(`${s.dir}/q`, cb));
      await call((cb) => disk.fsyncDir(s.dir, cb));
      assert.deepEqual(await call<string[]>((cb) => disk.list(s.dir, cb)), []);
      await assert.rejects(call((cb) => disk.unlink(`${s.dir}/q`, cb)), /ENOENT/);
    } finally {
      s.cleanup();
    }
  });
}
