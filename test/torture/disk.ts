// Data directories that can fill up: each node's data directory moved (before its first start)
// onto a small tmpfs of its own, the node's configured path left as a symlink to it. A full disk
// is a filler file taking every free byte (fallocate), healed by removing it. The mounts live
// outside the cluster's directory, so the harness's removal of that directory (also on Ctrl-C)
// removes only the symlinks; the mounts are unmounted here, lazily on the way out.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statfsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcessCluster } from '../integration/harness.ts';

/** Each node's tmpfs: room for a long run's data, and small enough to fill in a moment. */
export const DISK_SIZE_MB = 256;
const FILLER = 'torture-filler';

const liveMounts = new Set<string>();
process.once('exit', () => {
  for (const m of liveMounts) unmount(m);
});

/** Lazily: a node process killed a moment ago may still hold files open. */
function unmount(mount: string): void {
  try {
    execFileSync('umount', ['-l', mount], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    // Not mounted (any more).
  }
  liveMounts.delete(mount);
  rmSync(join(mount, '..'), { recursive: true, force: true });
}

export class TmpfsDisks {
  private constructor(private readonly mounts: Map<string, string>) {}

  /** Moves every node's data directory onto a tmpfs; call after create(), before any start. */
  static create(cluster: ProcessCluster): TmpfsDisks {
    const mounts = new Map<string, string>();
    const d = new TmpfsDisks(mounts);
    try {
      for (const s of cluster.specs) {
        const dataDir = (JSON.parse(readFileSync(s.configPath, 'utf8')) as { dataDir: string }).dataDir;
        const mount = join(mkdtempSync(join(tmpdir(), 'understudy-disk-')), s.id);
        mkdirSync(mount);
        execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK_SIZE_MB}m`, 'tmpfs', mount], { stdio: ['ignore', 'pipe', 'pipe'] });
        liveMounts.add(mount);
        mounts.set(s.id, mount);
        cpSync(dataDir, mount, { recursive: true });
        renameSync(dataDir, `${dataDir}.before-tmpfs`);
        symlinkSync(mount, dataDir);
      }
    } catch (e) {
      d.close();
      throw new Error(`cannot put data directories on tmpfs (needs root): ${(e as Error).message}`);
    }
    return d;
  }

  /** Takes every free byte of the node's disk. */
  fill(id: string): number {
    const mount = this.mounts.get(id)!;
    const st = statfsSync(mount);
    const free = st.bavail * st.bsize;
    execFileSync('fallocate', ['-l', String(free), join(mount, FILLER)], { stdio: ['ignore', 'pipe', 'pipe'] });
    return free;
  }

  free(id: string): void {
    rmSync(join(this.mounts.get(id)!, FILLER), { force: true });
  }

  /** Unmounts every disk. */
  close(): void {
    for (const m of this.mounts.values()) unmount(m);
    this.mounts.clear();
  }
}
