// A failed write or datasync stops the log: every append waiting on it and
// every later one fails with LOG_IO (a failed fsync cannot be retried safely:
// the kernel may have dropped the dirty pages). Reopening recovers a prefix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimDisk } from '../../sim/sim-disk.ts';
import { Prng } from '../../src/lib/prng.ts';
import { isUnderstudyError } from '../../src/errors.ts';
import type { Disk, DiskFile, DoneCb, OpenMode, ResultCb } from '../../src/ports/disk.ts';
import { UpdateLog } from '../../src/log/update-log.ts';
import { SimLoop } from './sim-loop.ts';

/** Passes everything through to a SimDisk, except that datasyncs fail once armed. */
class FailingDisk implements Disk {
  failSyncs = false;
  constructor(private readonly inner: SimDisk) {}
  mkdirp(dir: string, cb: DoneCb): void {
    this.inner.mkdirp(dir, cb);
  }
  list(dir: string, cb: ResultCb<string[]>): void {
    this.inner.list(dir, cb);
  }
  open(path: string, mode: OpenMode, cb: ResultCb<DiskFile>): void {
    this.inner.open(path, mode, (err, f) => {
      if (err || !f) return cb(err);
      const outer = this;
      cb(null, {
        path: f.path,
        writev: (b, c) => f.writev(b, c),
        // A failed sync syncs nothing (size() only provides an asynchronous completion).
        datasync: (c) => (outer.failSyncs ? f.size(() => c(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))) : f.datasync(c)),
        read: (p, l, c) => f.read(p, l, c),
        size: (c) => f.size(c),
        truncate: (l, c) => f.truncate(l, c),
        close: (c) => f.close(c),
      });
    });
  }
  rename(from: string, to: string, cb: DoneCb): void {
    this.inner.rename(from, to, cb);
  }
  unlink(path: string, cb: DoneCb): void {
    this.inner.unlink(path, cb);
  }
  fsyncDir(dir: string, cb: DoneCb): void {
    this.inner.fsyncDir(dir, cb);
  }
  readFile(path: string, cb: ResultCb<Uint8Array | null>): void {
    this.inner.readFile(path, cb);
  }
}

test('a failed datasync fails the waiting and later appends with LOG_IO; reopening recovers', () => {
  const loop = new SimLoop();
  const sim = new SimDisk(new Prng(9), loop.schedule);
  const disk = new FailingDisk(sim);
  let log: UpdateLog | undefined;
  UpdateLog.open(disk, '/n/log', { defer: loop.defer }, (err, l) => {
    assert.equal(err, null);
    log = l;
  });
  loop.run();
  assert.ok(log);
  const results: Array<Error | null> = [];
  for (let lsn = 1; lsn <= 5; lsn++) log.append([{ lsn, epoch: 1, payload: Uint8Array.of(lsn) }], (e) => results.push(e));
  loop.run();
  assert.equal(results.length, 5);
  assert.equal(results.filter((e) => e !== null).length, 0);
  disk.failSyncs = true;
  for (let lsn = 6; lsn <= 8; lsn++) log.append([{ lsn, epoch: 1, payload: Uint8Array.of(lsn) }], (e) => results.push(e));
  loop.run();
  assert.equal(results.length, 8);
  for (const e of results.slice(5)) assert.ok(isUnderstudyError(e, 'LOG_IO'), String(e));
  assert.match(String(results[5]?.message), /datasync .*EIO/);
  let later: Error | null | undefined;
  log.append([{ lsn: 9, epoch: 1, payload: Uint8Array.of(9) }], (e) => (later = e));
  loop.run();
  assert.ok(isUnderstudyError(later, 'LOG_IO'), 'the log stays failed');
  assert.equal(log.durableLsn, 5);

  disk.failSyncs = false;
  sim.crash();
  loop.clear();
  let reopened: UpdateLog | undefined;
  UpdateLog.open(disk, '/n/log', { defer: loop.defer }, (err, l) => {
    assert.equal(err, null);
    reopened = l;
  });
  loop.run();
  assert.equal(reopened?.lastLsn, 5);
});
