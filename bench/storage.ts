// Storage-area throughput: apply, apply with sync, point reads and a full
// digest, for the in-memory store and the LMDB store in both commit modes
// (deferred, the default, and flushEachCommit). Prints a table.
// Every phase stops at a time budget or a count cap, whichever comes first,
// so the whole run stays under 15 s.
//
// Usage: npx tsx bench/storage.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { regionsOfOps } from '../src/core/regions.ts';
import type { Op, Update } from '../src/core/types.ts';
import { LmdbStorage } from '../src/storage/lmdb-storage.ts';
import { MemoryStorage } from '../src/storage/memory-storage.ts';
import type { StorageArea } from '../src/storage/storage-area.ts';

/** Time budget of each timed phase. */
const PHASE_MS = 1_500;
/** Time budget of the read phase (reads are fast; a shorter phase keeps the run under 15 s). */
const READ_PHASE_MS = 500;
/** Count cap of each phase, in updates or reads. */
const PHASE_MAX_OPS = 2_000_000;
/** Puts per update, as a small client pipeline would produce. */
const PUTS_PER_UPDATE = 4;
const VALUE_BYTES = 100;
const KEY_SPACE = 100_000;
/** Updates between syncs in the apply + sync phase (a group commit of the log). */
const SYNC_EVERY_UPDATES = 100;
/** Updates between the memory store's syncs in the apply phase: keeps its crash-model undo log bounded. */
const MEMORY_SYNC_EVERY_UPDATES = 1_000;

function makeUpdate(lsn: number): Update {
  const ops: Op[] = [];
  for (let j = 0; j < PUTS_PER_UPDATE; j++) {
    const key = Buffer.from(`key:${(lsn * 7919 + j * 104_729) % KEY_SPACE}`);
    ops.push({ k: 'put', key, value: Buffer.alloc(VALUE_BYTES, lsn & 0xff), expireAtMs: 0 });
  }
  return { lsn, epoch: 1, dest: ['n2'], kind: 'data', ops, regions: regionsOfOps(ops) };
}

function syncP(s: StorageArea): Promise<void> {
  return new Promise((resolve, reject) => s.sync((err) => (err ? reject(err) : resolve())));
}

interface Row {
  readonly name: string;
  applyPerSec: number;
  applySyncPerSec: number;
  readsPerSec: number;
  digestMs: number;
  keys: number;
}

async function measure(name: string, s: StorageArea, syncDuringApply: boolean): Promise<Row> {
  const row: Row = { name, applyPerSec: 0, applySyncPerSec: 0, readsPerSec: 0, digestMs: 0, keys: 0 };
  let lsn = s.appliedLsn;

  let t0 = performance.now();
  let n = 0;
  while (n < PHASE_MAX_OPS && performance.now() - t0 < PHASE_MS) {
    s.apply(makeUpdate(++lsn));
    n++;
    if (syncDuringApply && n % MEMORY_SYNC_EVERY_UPDATES === 0) await syncP(s);
  }
  row.applyPerSec = n / ((performance.now() - t0) / 1000);
  await syncP(s);

  t0 = performance.now();
  n = 0;
  while (n < PHASE_MAX_OPS && performance.now() - t0 < PHASE_MS) {
    s.apply(makeUpdate(++lsn));
    n++;
    if (n % SYNC_EVERY_UPDATES === 0) await syncP(s);
  }
  await syncP(s);
  row.applySyncPerSec = n / ((performance.now() - t0) / 1000);

  t0 = performance.now();
  n = 0;
  let found = 0;
  while (n < PHASE_MAX_OPS && performance.now() - t0 < READ_PHASE_MS) {
    if (s.get(Buffer.from(`key:${(n * 7919) % KEY_SPACE}`)) !== undefined) found++;
    n++;
  }
  row.readsPerSec = n / ((performance.now() - t0) / 1000);
  if (found === 0) throw new Error('no key found: the read phase measured nothing');

  t0 = performance.now();
  s.digest();
  row.digestMs = performance.now() - t0;
  row.keys = s.size();
  return row;
}

function closeP(s: StorageArea): Promise<void> {
  return new Promise((resolve, reject) => s.close((err) => (err ? reject(err) : resolve())));
}

const dir = mkdtempSync(join(tmpdir(), 'understudy-bench-storage-'));
try {
  const rows: Row[] = [];
  const mem = new MemoryStorage();
  rows.push(await measure('memory', mem, true));
  await closeP(mem);
  const lmdb = LmdbStorage.open(join(dir, 'deferred'));
  rows.push(await measure('lmdb', lmdb, false));
  await closeP(lmdb);
  const flushing = LmdbStorage.open(join(dir, 'flush-each'), { flushEachCommit: true });
  rows.push(await measure('lmdb flush-each', flushing, false));
  await closeP(flushing);

  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  console.log(`updates of ${PUTS_PER_UPDATE} puts × ${VALUE_BYTES} B over ${fmt(KEY_SPACE)} keys; sync every ${SYNC_EVERY_UPDATES} updates in the second column`);
  console.log(['impl', 'apply upd/s', 'apply+sync upd/s', 'get/s', 'digest ms', 'keys'].map((h) => h.padStart(17)).join(''));
  for (const r of rows) {
    console.log([r.name, fmt(r.applyPerSec), fmt(r.applySyncPerSec), fmt(r.readsPerSec), r.digestMs.toFixed(1), fmt(r.keys)].map((c) => c.padStart(17)).join(''));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
