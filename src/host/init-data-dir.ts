// Bootstrapping a new cluster's members: `understudy init` (and `cluster up` over a data
// directory where no member has anything yet) writes each member's first hard state.
//
// Why: a node that starts with no hard state cannot tell a new disk from a wiped one, so it
// assumes the worst (src/core/disk-loss.ts): it may have acknowledged updates and voted before,
// so it asks the other voters where they stand and neither stands nor serves reads until they
// answer. That is right for a member whose disk was lost, and needless for the members of a
// cluster that has never run: there every member starts empty, nobody acknowledged anything,
// and waiting for every other voter's answer made the first election need all of them up.
// The operator (or `cluster up`, which sees every member's directory) says which case it is,
// once, as etcd's initial-cluster-state=new and PostgreSQL's initdb do. init refuses a
// directory that holds anything, so it cannot be used to make a wiped member forget.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UnderstudyError } from '../errors.ts';
import { HARD_STATE_FILE_NAME, HardStateFile, INITIAL_HARD_STATE } from '../log/hard-state.ts';
import { FsDisk } from './fs-disk.ts';

/** Whether `dir` holds nothing of a node (absent, or an empty directory). */
export function dataDirEmpty(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

/**
 * Makes `dir` the data directory of a member of a new cluster: a node started on it votes and
 * stands at once. Throws DATA_DIR_NOT_EMPTY if the directory holds anything.
 */
export async function initDataDir(dir: string): Promise<void> {
  if (!dataDirEmpty(dir))
    throw new UnderstudyError(
      'DATA_DIR_NOT_EMPTY',
      `${dir} is not empty: init is only for the members of a new cluster, before their first start. ` +
        'A member whose data directory was emptied must be started as it is (it is refilled from the others); ' +
        'to create a new cluster here, remove the directory first',
      { dir },
    );
  const disk = new FsDisk();
  await new Promise<void>((resolve, reject) => disk.mkdirp(dir, (err) => (err ? reject(err) : resolve())));
  const file = await new Promise<HardStateFile>((resolve, reject) =>
    HardStateFile.load(disk, join(dir, HARD_STATE_FILE_NAME), (err, f) => (err || !f ? reject(err ?? new Error('no hard state')) : resolve(f))),
  );
  await new Promise<void>((resolve, reject) => file.save(INITIAL_HARD_STATE, (err) => (err ? reject(err) : resolve())));
}
