// Replaces a small file so that after a crash it holds either the old or the
// new content, never a mix: the pointer file, the hard state and new segment
// headers are written this way.
import type { Disk, DoneCb } from '../ports/disk.ts';

/** Suffix of the temporary file; recovery removes leftovers with it. */
export const TEMP_SUFFIX = '.tmp';

export function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : path.slice(0, i);
}

/** write temp → datasync → close → rename over `path` → fsync the directory. */
export function writeFileAtomic(disk: Disk, path: string, bytes: Uint8Array, cb: DoneCb): void {
  const tmp = path + TEMP_SUFFIX;
  disk.open(tmp, 'append', (err, file) => {
    if (err || !file) return cb(err ?? new Error(`open ${tmp} failed`));
    const fail = (e: Error): void => file.close(() => cb(e));
    // A leftover temp file from an interrupted write may hold old bytes.
    file.truncate(0, (err) => {
      if (err) return fail(err);
      file.writev([bytes], (err) => {
        if (err) return fail(err);
        file.datasync((err) => {
          if (err) return fail(err);
          file.close((err) => {
            if (err) return cb(err);
            disk.rename(tmp, path, (err) => {
              if (err) return cb(err);
              disk.fsyncDir(dirOf(path), cb);
            });
          });
        });
      });
    });
  });
}
