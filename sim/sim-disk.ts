// A simulated Disk: deterministic from a seed, its completions delivered
// through the simulator's scheduler, and a crash model that loses exactly
// what a real disk may lose. Every file keeps its durable bytes (as of its
// last completed datasync) and the writes issued since; every directory keeps
// its durable entries (as of its last completed fsyncDir) and the creations,
// renames and unlinks since.
import type { Disk, DiskFile, DoneCb, OpenMode, ResultCb } from '../src/ports/disk.ts';
import type { Prng } from '../src/lib/prng.ts';
import { assert } from '../src/lib/assert.ts';

/** Runs fn after delayMs of simulated time. */
export type Scheduler = (delayMs: number, fn: () => void) => void;

export interface SimDiskOptions {
  /** Latency of datasync and fsyncDir (ms). */
  readonly fsyncLatencyMs?: number;
  /** Latency of every other operation (ms). */
  readonly opLatencyMs?: number;
  /** Each latency is multiplied by a factor drawn from [1, 1 + jitter]. */
  readonly jitter?: number;
}

export interface CrashOptions {
  /**
   * false: every unsynced write, truncation and directory change is lost.
   * true: a random prefix of them survives, the last kept write cut at a random
   * byte (a torn write), as when the disk had written part of its queue.
   */
  readonly tear?: boolean;
}

type FileOp = { readonly k: 'append'; readonly bytes: Uint8Array } | { readonly k: 'truncate'; readonly length: number };
type DirOp = { readonly k: 'link'; readonly name: string; readonly inode: Inode } | { readonly k: 'unlink'; readonly name: string };

/** A growable byte array. */
class Bytes {
  buf = new Uint8Array(64);
  len = 0;
  append(b: Uint8Array): void {
    if (this.len + b.length > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + b.length));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  truncate(length: number): void {
    if (length < this.len) this.len = length;
    else if (length > this.len) this.append(new Uint8Array(length - this.len));
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
  clone(): Bytes {
    const c = new Bytes();
    c.append(this.view());
    return c;
  }
}

class Inode {
  content = new Bytes();
  durable = new Bytes();
  pending: FileOp[] = [];
  apply(op: FileOp, to: Bytes): void {
    if (op.k === 'append') to.append(op.bytes);
    else to.truncate(op.length);
  }
}

class Dir {
  entries = new Map<string, Inode>();
  durable = new Map<string, Inode>();
  pending: DirOp[] = [];
}

function splitPath(path: string): [string, string] {
  const i = path.lastIndexOf('/');
  assert(i > 0, `SimDisk needs absolute paths below /: ${path}`);
  return [path.slice(0, i), path.slice(i + 1)];
}

function enoent(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, ${path}`), { code: 'ENOENT' });
}

class SimFile implements DiskFile {
  private closed = false;
  constructor(
    private readonly disk: SimDisk,
    readonly path: string,
    private readonly inode: Inode,
    private readonly mode: OpenMode,
    private readonly gen: number,
  ) {}

  private check(): void {
    assert(!this.closed, `SimDisk: ${this.path} used after close`);
  }

  writev(buffers: readonly Uint8Array[], cb: DoneCb): void {
    this.check();
    assert(this.mode === 'append', `SimDisk: writev on ${this.path} opened for read`);
    if (!this.disk.alive(this.gen)) return;
    this.disk.stats.writes++;
    for (const b of buffers) {
      const op: FileOp = { k: 'append', bytes: Uint8Array.from(b) };
      this.inode.apply(op, this.inode.content);
      this.inode.pending.push(op);
    }
    this.disk.complete(this.gen, false, () => cb(null));
  }

  datasync(cb: DoneCb): void {
    this.check();
    if (!this.disk.alive(this.gen)) return;
    this.disk.stats.datasyncs++;
    // Covers what was issued before the call; becomes durable only if the sync completes.
    const covered = this.inode.pending.length;
    this.disk.complete(this.gen, true, () => {
      const ops = this.inode.pending.splice(0, covered);
      for (const op of ops) this.inode.apply(op, this.inode.durable);
      cb(null);
    });
  }

  read(position: number, length: number, cb: ResultCb<Uint8Array>): void {
    this.check();
    if (!this.disk.alive(this.gen)) return;
    const v = this.inode.content.view();
    const out = v.slice(Math.min(position, v.length), Math.min(position + length, v.length));
    this.disk.complete(this.gen, false, () => cb(null, out));
  }

  size(cb: ResultCb<number>): void {
    this.check();
    if (!this.disk.alive(this.gen)) return;
    const n = this.inode.content.len;
    this.disk.complete(this.gen, false, () => cb(null, n));
  }

  truncate(length: number, cb: DoneCb): void {
    this.check();
    if (!this.disk.alive(this.gen)) return;
    const op: FileOp = { k: 'truncate', length };
    this.inode.apply(op, this.inode.content);
    this.inode.pending.push(op);
    this.disk.complete(this.gen, false, () => cb(null));
  }

  close(cb: DoneCb): void {
    this.check();
    this.closed = true;
    if (!this.disk.alive(this.gen)) return;
    this.disk.complete(this.gen, false, () => cb(null));
  }
}

export class SimDisk implements Disk {
  private readonly dirs = new Map<string, Dir>();
  /** Bumped by crash(): completions and handles of an older generation are dead. */
  private gen = 0;
  private readonly fsyncLatencyMs: number;
  private readonly opLatencyMs: number;
  private readonly jitter: number;
  /** Counters for tests and metrics. */
  readonly stats = { datasyncs: 0, fsyncDirs: 0, writes: 0, crashes: 0 };

  constructor(
    private readonly prng: Prng,
    private readonly schedule: Scheduler,
    opts: SimDiskOptions = {},
  ) {
    this.fsyncLatencyMs = opts.fsyncLatencyMs ?? 2;
    this.opLatencyMs = opts.opLatencyMs ?? 0.05;
    this.jitter = opts.jitter ?? 0.5;
  }

  /** @internal */
  alive(gen: number): boolean {
    return gen === this.gen;
  }

  /** @internal Delivers fn after a latency, unless a crash happens first. */
  complete(gen: number, sync: boolean, fn: () => void): void {
    const base = sync ? this.fsyncLatencyMs : this.opLatencyMs;
    const delay = base * (1 + this.prng.float() * this.jitter);
    this.schedule(delay, () => {
      if (gen === this.gen) fn();
    });
  }

  private dir(path: string): Dir | undefined {
    return this.dirs.get(path);
  }

  private lookup(path: string): Inode | undefined {
    const [d, name] = splitPath(path);
    return this.dir(d)?.entries.get(name);
  }

  private dirOp(dirPath: string, op: DirOp): void {
    const d = this.dirs.get(dirPath);
    assert(d, `SimDisk: no directory ${dirPath}`);
    if (op.k === 'link') d.entries.set(op.name, op.inode);
    else d.entries.delete(op.name);
    d.pending.push(op);
  }

  private done(cb: DoneCb, err: Error | null = null): void {
    this.complete(this.gen, false, () => cb(err));
  }

  mkdirp(dir: string, cb: DoneCb): void {
    let p = dir;
    while (p.length > 1 && !this.dirs.has(p)) {
      this.dirs.set(p, new Dir());
      p = p.slice(0, Math.max(1, p.lastIndexOf('/')));
    }
    this.done(cb);
  }

  list(dir: string, cb: ResultCb<string[]>): void {
    const d = this.dir(dir);
    const names = d ? [...d.entries.keys()].sort() : null;
    this.complete(this.gen, false, () => (names ? cb(null, names) : cb(enoent(dir))));
  }

  open(path: string, mode: OpenMode, cb: ResultCb<DiskFile>): void {
    const [dirPath, name] = splitPath(path);
    const d = this.dir(dirPath);
    let inode = d?.entries.get(name);
    if (!d || (!inode && mode === 'read')) return this.complete(this.gen, false, () => cb(enoent(path)));
    if (!inode) {
      inode = new Inode();
      this.dirOp(dirPath, { k: 'link', name, inode });
    }
    const file = new SimFile(this, path, inode, mode, this.gen);
    this.complete(this.gen, false, () => cb(null, file));
  }

  rename(from: string, to: string, cb: DoneCb): void {
    const [fromDir, fromName] = splitPath(from);
    const [toDir, toName] = splitPath(to);
    assert(fromDir === toDir, `SimDisk: rename across directories ${from} → ${to}`);
    const inode = this.lookup(from);
    if (!inode) return this.done(cb, enoent(from));
    this.dirOp(fromDir, { k: 'unlink', name: fromName });
    this.dirOp(toDir, { k: 'link', name: toName, inode });
    this.done(cb);
  }

  unlink(path: string, cb: DoneCb): void {
    const [dirPath, name] = splitPath(path);
    if (!this.lookup(path)) return this.done(cb, enoent(path));
    this.dirOp(dirPath, { k: 'unlink', name });
    this.done(cb);
  }

  fsyncDir(dir: string, cb: DoneCb): void {
    const d = this.dir(dir);
    if (!d) return this.done(cb, enoent(dir));
    this.stats.fsyncDirs++;
    const covered = d.pending.length;
    this.complete(this.gen, true, () => {
      for (const op of d.pending.splice(0, covered)) {
        if (op.k === 'link') d.durable.set(op.name, op.inode);
        else d.durable.delete(op.name);
      }
      cb(null);
    });
  }

  readFile(path: string, cb: ResultCb<Uint8Array | null>): void {
    const inode = this.lookup(path);
    const bytes = inode ? inode.content.view().slice() : null;
    this.complete(this.gen, false, () => cb(null, bytes));
  }

  // ---- fault injection and inspection (simulator and tests only) ----

  /**
   * The machine loses power: every in-flight completion is dropped, every open
   * handle is dead, and what was not made durable is lost (or, with `tear`,
   * partly kept, see CrashOptions).
   */
  crash(opts: CrashOptions = {}): void {
    this.gen++;
    this.stats.crashes++;
    const tear = opts.tear ?? false;
    const seen = new Set<Inode>();
    for (const d of this.dirs.values()) {
      const entries = new Map(d.durable);
      if (tear) {
        const keep = this.prng.int(0, d.pending.length);
        for (const op of d.pending.slice(0, keep)) {
          if (op.k === 'link') entries.set(op.name, op.inode);
          else entries.delete(op.name);
        }
      }
      d.entries = entries;
      d.durable = new Map(entries);
      d.pending = [];
      for (const inode of entries.values()) {
        if (seen.has(inode)) continue;
        seen.add(inode);
        this.crashInode(inode, tear);
      }
    }
  }

  private crashInode(inode: Inode, tear: boolean): void {
    const content = inode.durable.clone();
    if (tear && inode.pending.length > 0) {
      const keep = this.prng.int(0, inode.pending.length);
      for (let i = 0; i < keep; i++) {
        const op = inode.pending[i]!;
        if (i === keep - 1 && op.k === 'append') {
          // The last kept write is torn: only a prefix reached the platter.
          content.append(op.bytes.subarray(0, this.prng.int(0, op.bytes.length)));
        } else inode.apply(op, content);
      }
    }
    inode.content = content;
    inode.durable = content.clone();
    inode.pending = [];
  }

  /** Corrupts one byte of a file, as it is now and as it is on disk. */
  flipByte(path: string, offset: number): void {
    const inode = this.lookup(path);
    assert(inode, `flipByte: no file ${path}`);
    assert(offset >= 0 && offset < inode.content.len, `flipByte: offset ${offset} outside ${path}`);
    inode.content.buf[offset] = inode.content.buf[offset]! ^ 0xff;
    if (offset < inode.durable.len) inode.durable.buf[offset] = inode.durable.buf[offset]! ^ 0xff;
  }

  /** Cuts a file to `length` bytes, durably (a lost tail, for tests). */
  chop(path: string, length: number): void {
    const inode = this.lookup(path);
    assert(inode, `chop: no file ${path}`);
    inode.content.truncate(length);
    inode.durable.truncate(Math.min(length, inode.durable.len));
  }

  /** Replaces a file's content, durably (for tests of bad input). */
  overwrite(path: string, bytes: Uint8Array): void {
    const inode = this.lookup(path);
    assert(inode, `overwrite: no file ${path}`);
    inode.content = new Bytes();
    inode.content.append(bytes);
    inode.durable = inode.content.clone();
    inode.pending = [];
  }

  /** Removes a file durably (for tests of a lost segment). */
  remove(path: string): void {
    const [dirPath, name] = splitPath(path);
    const d = this.dir(dirPath);
    assert(d !== undefined && d.entries.has(name), `remove: no file ${path}`);
    d.entries.delete(name);
    d.durable.delete(name);
  }

  /** Current names in a directory, synchronously (for tests). */
  names(dir: string): string[] {
    return [...(this.dir(dir)?.entries.keys() ?? [])].sort();
  }

  /** Current size of a file, synchronously (for tests). */
  sizeOf(path: string): number {
    const inode = this.lookup(path);
    assert(inode, `sizeOf: no file ${path}`);
    return inode.content.len;
  }
}
