// The LMDB storage area: the contract, on-disk checks, and a real crash test
// (a child process applying updates is killed with SIGKILL mid-flight).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { isUnderstudyError } from '../../src/errors.ts';
import { LmdbStorage } from '../../src/storage/lmdb-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import type { StorageArea } from '../../src/storage/storage-area.ts';
import { storageContract } from './storage-contract.ts';
import { closeP, entry, put, update } from './storage-helpers.ts';
import { workloadUpdate } from './fixtures/crash-workload.ts';

const base = mkdtempSync(join(tmpdir(), 'understudy-lmdb-test-'));
after(() => rmSync(base, { recursive: true, force: true }));
let dirs = 0;
function freshDir(): string {
  return join(base, `store-${++dirs}`);
}

function asLmdb(s: StorageArea): LmdbStorage {
  assert.ok(s instanceof LmdbStorage);
  return s;
}

for (const flushEachCommit of [false, true]) {
  storageContract(`lmdb (${flushEachCommit ? 'every commit flushed' : 'deferred commits'})`, {
    create: () => Promise.resolve(LmdbStorage.open(freshDir(), { flushEachCommit })),
    restart: async (s) => {
      const dir = asLmdb(s).dir;
      await closeP(s);
      return LmdbStorage.open(dir, { flushEachCommit });
    },
    dispose: async (s) => {
      await closeP(s).catch((e: unknown) => {
        if (!isUnderstudyError(e, 'STORAGE_CLOSED')) throw e;
      });
    },
    cleanup: () => Promise.resolve(),
  });
}

/** Reads the boot marker of a closed store directly. */
async function bootMarker(dir: string): Promise<unknown> {
  const raw = open({ path: dir });
  try {
    return raw.openDB<unknown, string>({ name: 'meta' }).get('openOnBoot');
  } finally {
    await raw.close();
  }
}

describe('LmdbStorage on disk', () => {
  test('applied updates survive a clean close and reopen even without sync', async () => {
    const dir = freshDir();
    const s = LmdbStorage.open(dir);
    s.apply(update(1, [put('a', '1', 9)]));
    s.apply(update(2, [put('b', '2')]));
    await closeP(s);
    const r = LmdbStorage.open(dir);
    assert.equal(r.appliedLsn, 2);
    assert.equal(r.size(), 2);
    assert.deepEqual(r.get(Buffer.from('a')), entry('1', 9));
    await closeP(r);
  });

  test('a store written in another on-disk format is refused with STORAGE_CORRUPT', async () => {
    const dir = freshDir();
    await closeP(LmdbStorage.open(dir));
    const raw = open({ path: dir });
    const meta = raw.openDB<unknown, string>({ name: 'meta' });
    meta.putSync('format', 99);
    await raw.close();
    assert.throws(() => LmdbStorage.open(dir), (e: unknown) => isUnderstudyError(e, 'STORAGE_CORRUPT') && /format 99/.test(e.message));
  });

  test('a format-2 store opens with its data and is marked format 3, so a build of format 2 refuses it by number', async () => {
    const dir = freshDir();
    const s = LmdbStorage.open(dir);
    s.apply(update(1, [put('a', '1', 9)]));
    await closeP(s);
    const raw = open({ path: dir });
    raw.openDB<unknown, string>({ name: 'meta' }).putSync('format', 2);
    await raw.close();
    const r = LmdbStorage.open(dir);
    assert.deepEqual(r.get(Buffer.from('a')), entry('1', 9));
    await closeP(r);
    const after = open({ path: dir });
    assert.equal(after.openDB<unknown, string>({ name: 'meta' }).get('format'), 3);
    await after.close();
  });

  test('a store of a newer format says it was written by a newer build', async () => {
    const dir = freshDir();
    await closeP(LmdbStorage.open(dir));
    const raw = open({ path: dir });
    raw.openDB<unknown, string>({ name: 'meta' }).putSync('format', 4);
    await raw.close();
    assert.throws(() => LmdbStorage.open(dir), (e: unknown) => isUnderstudyError(e, 'STORAGE_CORRUPT') && /format 4, expected 3 \(written by a newer build/.test(e.message));
  });

  test('a store left open by a machine that has since restarted is refused; a clean close clears the marker', async () => {
    const dir = freshDir();
    const s = LmdbStorage.open(dir, { bootId: 'boot-a' });
    s.apply(update(1, [put('a', '1')]));
    await closeP(s);
    assert.equal(await bootMarker(dir), undefined);
    // As a crash would leave it: the marker of the boot during which the store was open.
    const raw = open({ path: dir });
    raw.openDB<unknown, string>({ name: 'meta' }).putSync('openOnBoot', 'boot-a');
    await raw.close();
    assert.throws(
      () => LmdbStorage.open(dir, { bootId: 'boot-b' }),
      (e: unknown) => isUnderstudyError(e, 'STORAGE_CORRUPT') && /machine restarted/.test(e.message),
    );
    assert.throws(() => LmdbStorage.open(dir, { bootId: 'boot-b', flushEachCommit: true }), (e: unknown) => isUnderstudyError(e, 'STORAGE_CORRUPT'));
    // The same boot (a process crash only) opens fine: the page cache kept every commit.
    const same = LmdbStorage.open(dir, { bootId: 'boot-a' });
    assert.equal(same.appliedLsn, 1);
    await closeP(same);
  });

  test('close waits for a sync in flight, whose callback still runs', async () => {
    const s = LmdbStorage.open(freshDir());
    s.apply(update(1, [put('a', '1')]));
    const events: string[] = [];
    s.sync((err, lsn) => events.push(`sync ${String(err)} ${lsn}`));
    await new Promise<void>((resolve) =>
      s.close((err) => {
        events.push(`close ${String(err)}`);
        resolve();
      }),
    );
    assert.deepEqual(events, ['sync null 1', 'close null']);
  });
});

/** Kill rounds of the crash test, and how long after its first completed sync each child is killed. */
const KILL_AFTER_FIRST_SYNC_MS = [150, 600, 1_200];
/** Longest a child may take to start and complete its first sync. */
const CHILD_START_TIMEOUT_MS = 15_000;
const WRITER = new URL('./fixtures/lmdb-crash-writer.ts', import.meta.url).pathname;

interface ChildRun {
  startLsn: number;
  lastSyncedLsn: number;
  syncs: number;
}

/** Runs the writer on `dir`, kills it with SIGKILL `killAfterMs` after its first completed sync. */
function runAndKill(dir: string, killAfterMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { startLsn: -1, lastSyncedLsn: 0, syncs: 0 };
    let buffered = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const startTimer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer did not complete a sync within ${CHILD_START_TIMEOUT_MS} ms: ${stderr}`));
    }, CHILD_START_TIMEOUT_MS);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [word, n] = line.split(' ');
        if (word === 'start') run.startLsn = Number(n);
        if (word === 'synced') {
          run.lastSyncedLsn = Number(n);
          run.syncs++;
          if (killTimer === undefined) {
            clearTimeout(startTimer);
            killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
          }
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(startTimer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself (code ${code}, signal ${signal}): ${stderr}`));
      else resolve(run);
    });
  });
}

describe('LmdbStorage crash safety', () => {
  test('after SIGKILL the store reopens at an lsn whose updates are all present, at least the last synced one', async (t) => {
    const dir = freshDir();
    // The expected content, built by replaying the same deterministic workload on the in-memory store.
    const model = new MemoryStorage();
    const report: string[] = [];
    for (const killAfterMs of KILL_AFTER_FIRST_SYNC_MS) {
      const run = await runAndKill(dir, killAfterMs);
      // The writer was killed, so its boot marker is still there: after a machine restart the
      // store would be refused; on this boot (a process crash only) it opens.
      assert.throws(() => LmdbStorage.open(dir, { bootId: 'a-later-boot' }), (e: unknown) => isUnderstudyError(e, 'STORAGE_CORRUPT'));
      const s = LmdbStorage.open(dir);
      try {
        assert.ok(run.syncs > 0);
        assert.ok(s.appliedLsn >= run.lastSyncedLsn, `reopened at ${s.appliedLsn}, below the last synced lsn ${run.lastSyncedLsn}`);
        assert.ok(s.appliedLsn >= model.appliedLsn, 'a store never goes back before what an earlier run left');
        assert.equal(run.startLsn, model.appliedLsn, 'each run starts where the previous one was left');
        for (let lsn = model.appliedLsn + 1; lsn <= s.appliedLsn; lsn++) model.apply(workloadUpdate(lsn));
        assert.equal(s.size(), model.size());
        assert.equal(s.digest(), model.digest(), `content at lsn ${s.appliedLsn} differs from the workload's`);
        report.push(`killed ${killAfterMs} ms after first sync: last synced ${run.lastSyncedLsn}, reopened at ${s.appliedLsn}`);
      } finally {
        await closeP(s);
      }
    }
    assert.ok(model.appliedLsn > 0);
    for (const line of report) t.diagnostic(line);
  });
});
