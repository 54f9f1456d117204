// openStorage picks the implementation by name, as configuration names it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUnderstudyError } from '../../src/errors.ts';
import { LmdbStorage, MemoryStorage, openStorage } from '../../src/storage/index.ts';
import { closeP, put, update } from './storage-helpers.ts';

test('openStorage opens a memory store, or an LMDB store in the given directory', async () => {
  const mem = openStorage('memory');
  assert.ok(mem instanceof MemoryStorage);
  await closeP(mem);
  const dir = mkdtempSync(join(tmpdir(), 'understudy-open-storage-'));
  try {
    const lmdb = openStorage('lmdb', dir);
    assert.ok(lmdb instanceof LmdbStorage);
    lmdb.apply(update(1, [put('a', '1')]));
    await closeP(lmdb);
    const again = openStorage('lmdb', dir, { lmdb: { flushEachCommit: true } });
    assert.equal(again.appliedLsn, 1);
    await closeP(again);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('openStorage refuses an LMDB store without a directory', () => {
  assert.throws(() => openStorage('lmdb'), (e: unknown) => isUnderstudyError(e, 'CONFIG_INVALID'));
});
