// Disk port: the few file-system primitives the UpdateLog and the small state
// files need, in completion-callback style so that the simulator can decide
// when (and whether, across a crash) each completion happens. The real one is
// src/host/fs-disk.ts; the simulated one is sim/sim-disk.ts.
//
// Durability contract (what a crash may lose):
// - bytes written to a file are durable only after a `datasync` on it completes;
// - a file's creation, rename or unlink is durable only after `fsyncDir` on its
//   directory completes;
// - directories made by `mkdirp` are durable at once (a simplification both
//   implementations share; the log creates its directory once).

/** Completion of an operation without a result. */
export type DoneCb = (err: Error | null) => void;
/** Completion of an operation with a result; `value` is set exactly when `err` is null. */
export type ResultCb<T> = (err: Error | null, value?: T) => void;

/** `append`: create if missing, every write goes to the end. `read`: must exist. */
export type OpenMode = 'append' | 'read';

/** An open file. Operations on one file may be issued while others are in flight; they apply in issue order. */
export interface DiskFile {
  readonly path: string;
  /** Appends the buffers, in order, at the end of the file (files opened for append only). */
  writev(buffers: readonly Uint8Array[], cb: DoneCb): void;
  /** Makes every write and truncation issued before this call durable. */
  datasync(cb: DoneCb): void;
  /** Reads up to `length` bytes at `position`; fewer at end of file. */
  read(position: number, length: number, cb: ResultCb<Uint8Array>): void;
  /** Current size in bytes (including writes not yet durable). */
  size(cb: ResultCb<number>): void;
  /** Cuts the file to `length` bytes (durable after datasync). */
  truncate(length: number, cb: DoneCb): void;
  close(cb: DoneCb): void;
}

export interface Disk {
  /** Creates `dir` and its missing parents. */
  mkdirp(dir: string, cb: DoneCb): void;
  /** Names (not paths) of the entries of `dir`, sorted. */
  list(dir: string, cb: ResultCb<string[]>): void;
  open(path: string, mode: OpenMode, cb: ResultCb<DiskFile>): void;
  /** Atomically replaces `to` with `from` (same directory). Durable after fsyncDir. */
  rename(from: string, to: string, cb: DoneCb): void;
  /** Removes a file. Durable after fsyncDir. */
  unlink(path: string, cb: DoneCb): void;
  /** Makes creations, renames and unlinks in `dir` durable. */
  fsyncDir(dir: string, cb: DoneCb): void;
  /** The whole content of a file, or null if it does not exist. */
  readFile(path: string, cb: ResultCb<Uint8Array | null>): void;
}
