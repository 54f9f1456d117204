// The real Disk on node:fs. Asynchronous callbacks run on libuv's thread pool,
// so a datasync never blocks the event loop.
import * as fs from 'node:fs';
import type { Disk, DiskFile, DoneCb, OpenMode, ResultCb } from '../ports/disk.ts';

class FsFile implements DiskFile {
  constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  writev(buffers: readonly Uint8Array[], cb: DoneCb): void {
    // Opened with O_APPEND: the kernel places every write at the end. Synchronous: a write to
    // the page cache takes microseconds, less than a round trip through the thread pool, and it
    // sits on every replicated write's path; the datasync, which waits for the disk, stays async.
    let want = 0;
    for (const b of buffers) want += b.length;
    let wrote: number;
    try {
      wrote = fs.writevSync(this.fd, buffers as Uint8Array[]);
    } catch (err) {
      return cb(err as Error);
    }
    // A regular file takes a short write only when the disk is full or the file too large.
    if (wrote !== want) return cb(Object.assign(new Error(`short write to ${this.path}: ${wrote} of ${want} bytes (is the disk full?)`), { code: 'ENOSPC' }));
    cb(null);
  }

  datasync(cb: DoneCb): void {
    fs.fdatasync(this.fd, (err) => cb(err));
  }

  read(position: number, length: number, cb: ResultCb<Uint8Array>): void {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    // A read may return fewer bytes than asked before end of file: loop.
    const step = (): void => {
      fs.read(this.fd, buf, done, length - done, position + done, (err, n) => {
        if (err) return cb(err);
        done += n;
        if (n === 0 || done === length) return cb(null, buf.subarray(0, done));
        step();
      });
    };
    if (length === 0) return process.nextTick(cb, null, buf.subarray(0, 0));
    step();
  }

  size(cb: ResultCb<number>): void {
    fs.fstat(this.fd, (err, st) => (err ? cb(err) : cb(null, st.size)));
  }

  truncate(length: number, cb: DoneCb): void {
    fs.ftruncate(this.fd, length, (err) => cb(err));
  }

  close(cb: DoneCb): void {
    fs.close(this.fd, (err) => cb(err));
  }
}

export class FsDisk implements Disk {
  mkdirp(dir: string, cb: DoneCb): void {
    fs.mkdir(dir, { recursive: true }, (err) => cb(err));
  }

  list(dir: string, cb: ResultCb<string[]>): void {
    fs.readdir(dir, (err, names) => (err ? cb(err) : cb(null, names.sort())));
  }

  open(path: string, mode: OpenMode, cb: ResultCb<DiskFile>): void {
    // 'a+': O_APPEND for writes, and reads allowed on the same handle.
    fs.open(path, mode === 'append' ? 'a+' : 'r', (err, fd) => (err ? cb(err) : cb(null, new FsFile(path, fd))));
  }

  rename(from: string, to: string, cb: DoneCb): void {
    fs.rename(from, to, (err) => cb(err));
  }

  unlink(path: string, cb: DoneCb): void {
    fs.unlink(path, (err) => cb(err));
  }

  fsyncDir(dir: string, cb: DoneCb): void {
    fs.open(dir, 'r', (err, fd) => {
      if (err) return cb(err);
      fs.fsync(fd, (syncErr) => fs.close(fd, (closeErr) => cb(syncErr ?? closeErr)));
    });
  }

  readFile(path: string, cb: ResultCb<Uint8Array | null>): void {
    fs.readFile(path, (err, data) => {
      if (err) return (err as NodeJS.ErrnoException).code === 'ENOENT' ? cb(null, null) : cb(err);
      cb(null, data);
    });
  }
}
