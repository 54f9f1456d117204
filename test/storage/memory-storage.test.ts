// The in-memory storage area: the contract, plus its crash model (what the
// simulator relies on to lose exactly what a real crash would lose).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isUnderstudyError } from '../../src/errors.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import type { StorageArea } from '../../src/storage/storage-area.ts';
import { storageContract } from './storage-contract.ts';
import { closeP, del, entry, flush, items, keysInRegion, put, syncP, update } from './storage-helpers.ts';

function asMemory(s: StorageArea): MemoryStorage {
  assert.ok(s instanceof MemoryStorage);
  return s;
}

storageContract('memory', {
  create: () => Promise.resolve(new MemoryStorage()),
  restart: async (s) => {
    await syncP(s);
    return asMemory(s).crash();
  },
  dispose: async (s) => {
    await closeP(s).catch((e: unknown) => {
      if (!isUnderstudyError(e, 'STORAGE_CLOSED')) throw e;
    });
  },
  cleanup: () => Promise.resolve(),
});

/** A deterministic scheduler as the simulator has: completions wait until the test runs them. */
function manualScheduler(): { schedule: (fn: () => void) => void; runAll: () => number } {
  const queue: Array<() => void> = [];
  return {
    schedule: (fn) => queue.push(fn),
    runAll: () => {
      const fns = queue.splice(0);
      for (const fn of fns) fn();
      return fns.length;
    },
  };
}

describe('MemoryStorage crash model', () => {
  test('crash() keeps what a completed sync covered and loses the rest', () => {
    const q = manualScheduler();
    const s = new MemoryStorage({ scheduler: q.schedule });
    s.apply(update(1, [put('a', '1'), put('b', '2', 77)]));
    const synced: number[] = [];
    s.sync((err, lsn) => {
      assert.equal(err, null);
      synced.push(lsn);
    });
    assert.equal(q.runAll(), 1);
    assert.deepEqual(synced, [1]);
    assert.equal(s.durableLsn, 1);
    const durableDigest = s.digest();
    s.apply(update(2, [put('a', 'changed'), del('b'), put('c', '3')]));
    s.apply(update(3, [flush, put('d', '4')]));
    s.installRegion(5, items([[keysInRegion(5, 1)[0]!, entry('installed')]]), true);
    s.setAppliedLsn(2);
    assert.ok(s.unsyncedChanges > 0);
    const r = s.crash();
    assert.equal(r.appliedLsn, 1);
    assert.equal(r.durableLsn, 1);
    assert.equal(r.size(), 2);
    assert.deepEqual(r.get(Buffer.from('a')), entry('1'));
    assert.deepEqual(r.get(Buffer.from('b')), entry('2', 77));
    assert.equal(r.get(Buffer.from('c')), undefined);
    assert.equal(r.get(Buffer.from('d')), undefined);
    assert.equal(r.digest(), durableDigest);
    assert.equal(r.unsyncedChanges, 0);
  });

  test('a sync still in flight at the crash makes nothing durable, and its callback never runs', () => {
    const q = manualScheduler();
    const s = new MemoryStorage({ scheduler: q.schedule });
    s.apply(update(1, [put('a', '1')]));
    let called = false;
    s.sync(() => {
      called = true;
    });
    const r = s.crash();
    assert.equal(q.runAll(), 1);
    assert.equal(called, false);
    assert.equal(r.appliedLsn, 0);
    assert.equal(r.size(), 0);
    assert.throws(() => s.get(Buffer.from('a')), (e: unknown) => isUnderstudyError(e, 'STORAGE_CLOSED'));
  });

  test('a sync covers the state when it was called, not when it completes', () => {
    const q = manualScheduler();
    const s = new MemoryStorage({ scheduler: q.schedule });
    s.apply(update(1, [put('a', '1')]));
    s.sync(() => undefined);
    s.apply(update(2, [put('a', '2')]));
    assert.equal(q.runAll(), 1);
    assert.equal(s.durableLsn, 1);
    const r = s.crash();
    assert.equal(r.appliedLsn, 1);
    assert.deepEqual(r.get(Buffer.from('a')), entry('1'));
  });

  test('dirty-region marks are durable only after a sync', () => {
    const q = manualScheduler();
    const s = new MemoryStorage({ scheduler: q.schedule });
    s.markDirty([1, 2]);
    s.sync(() => undefined);
    q.runAll();
    s.markDirty([3]);
    s.markClean(1);
    assert.deepEqual(s.dirtyRegions(), [2, 3]);
    const r = s.crash();
    assert.deepEqual(r.dirtyRegions(), [1, 2]);
  });

  test('a crash after many syncs and flushes restores exactly the last synced state', () => {
    const q = manualScheduler();
    let s = new MemoryStorage({ scheduler: q.schedule });
    /** The updates the surviving state is made of: cut back to the durable lsn at every crash. */
    let history: Array<ReturnType<typeof update>> = [];
    let lsn = 0;
    let crashes = 0;
    const ROUNDS = 40;
    for (let round = 0; round < ROUNDS; round++) {
      const ops = [put(`k${round % 7}`, `v${round}`, round), ...(round % 5 === 4 ? [flush] : []), del(`k${(round * 3) % 7}`)];
      const u = update(++lsn, ops);
      s.apply(u);
      history.push(u);
      if (round % 3 === 0) {
        s.sync(() => undefined);
        q.runAll();
      }
      if (round % 4 === 3) {
        const durable = s.durableLsn;
        s = s.crash();
        crashes++;
        history = history.filter((h) => h.lsn <= durable);
        lsn = durable;
        const replay = new MemoryStorage({ scheduler: q.schedule });
        for (const h of history) replay.apply(h);
        assert.equal(s.appliedLsn, durable);
        assert.equal(replay.appliedLsn, s.appliedLsn);
        assert.equal(s.digest(), replay.digest());
        assert.equal(s.size(), replay.size());
      }
    }
    assert.equal(crashes, ROUNDS / 4);
  });

  test('completions go through the injected scheduler only', () => {
    const q = manualScheduler();
    const s = new MemoryStorage({ scheduler: q.schedule });
    let synced = false;
    let closed = false;
    s.sync(() => {
      synced = true;
    });
    s.close(() => {
      closed = true;
    });
    assert.equal(synced, false);
    assert.equal(closed, false);
    assert.equal(q.runAll(), 2);
    assert.equal(synced, true);
    assert.equal(closed, true);
  });
});
