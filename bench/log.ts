// Update log throughput against the ceiling of the disk it runs on.
//
// For 100-byte records at batch sizes 1, 16, 128 and 1024 it measures, in the
// same run and on the same file system:
// - log: `batch` appends of one record each, issued in one turn, then waiting
//   for all of them: group commit turns them into one writev + one datasync;
// - bare: fs.writev of the same framed bytes + fs.fdatasync, nothing else: the
//   most the log could ever do with one sync per batch.
// The two alternate batch by batch (see BUDGET_MS_PER_BATCH_SIZE).
// Prints a markdown table; the target is log ≥ 70% of bare at batch ≥ 128.
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsDisk } from '../src/host/fs-disk.ts';
import { UpdateLog } from '../src/log/update-log.ts';
import { RECORD_HEADER_BYTES } from '../src/log/record-frame.ts';

const PAYLOAD_BYTES = 100;
const BATCHES = [1, 16, 128, 1024] as const;
/**
 * Fsync latency on shared or virtual disks drifts by several times within a second, so
 * the two are interleaved batch by batch (one bare writev + fdatasync, then one log batch,
 * and so on) and the time spent in each is summed: drift then hits both alike.
 */
const BUDGET_MS_PER_BATCH_SIZE = 5_000;
/** Also stop after this many batches of each (bounds the bytes written on a very fast disk). */
const MAX_BATCHES = 100_000;
const WARMUP_BATCHES = 20;
const TARGET_RATIO = 0.7;

interface Totals {
  bareMs: number;
  logMs: number;
  batches: number;
  /** bare time / log time of each adjacent pair: its median shrugs off the disk's drift. */
  pairRatios: number[];
}

function bareBatch(fd: number, buf: Buffer, cb: (err: Error | null) => void): void {
  fs.writev(fd, [buf], (err) => (err ? cb(err) : fs.fdatasync(fd, cb)));
}

/** `batch` appends of one record each, issued in one turn: group commit makes them one batch. */
function logBatch(log: UpdateLog, batch: number, payload: Uint8Array, cb: (err: Error | null) => void): void {
  let pending = batch;
  let failed = false;
  for (let i = 0; i < batch; i++) {
    log.append([{ lsn: log.lastLsn + 1, epoch: 1, payload }], (err) => {
      if (failed) return;
      if (err) {
        failed = true;
        return cb(err);
      }
      if (--pending === 0) cb(null);
    });
  }
}

function measure(fd: number, log: UpdateLog, batch: number): Promise<Totals> {
  const buf = Buffer.alloc(batch * (RECORD_HEADER_BYTES + PAYLOAD_BYTES), 7);
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(7);
  const t: Totals = { bareMs: 0, logMs: 0, batches: 0, pairRatios: [] };
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let n = 0;
    const step = (): void => {
      if (n - WARMUP_BATCHES >= MAX_BATCHES || performance.now() - start >= BUDGET_MS_PER_BATCH_SIZE) return resolve(t);
      const warm = n >= WARMUP_BATCHES;
      // Which goes first alternates: a sync right after another one's may wait on the same journal.
      const bareFirst = n % 2 === 0;
      const runBare = (next: () => void): void => {
        const t0 = performance.now();
        bareBatch(fd, buf, (err) => {
          if (err) return reject(err);
          bareMs = performance.now() - t0;
          next();
        });
      };
      const runLog = (next: () => void): void => {
        const t0 = performance.now();
        logBatch(log, batch, payload, (err) => {
          if (err) return reject(err);
          logMs = performance.now() - t0;
          next();
        });
      };
      let bareMs = 0;
      let logMs = 0;
      const done = (): void => {
        if (warm) {
          t.bareMs += bareMs;
          t.logMs += logMs;
          t.pairRatios.push(bareMs / logMs);
          t.batches++;
        }
        n++;
        step();
      };
      if (bareFirst) runBare(() => runLog(done));
      else runLog(() => runBare(done));
    };
    step();
  });
}

function openLog(dir: string): Promise<UpdateLog> {
  return new Promise((resolve, reject) =>
    UpdateLog.open(new FsDisk(), dir, {}, (err, log) => (err || !log ? reject(err ?? new Error('no log')) : resolve(log))),
  );
}

function closeLog(log: UpdateLog): Promise<void> {
  return new Promise((resolve, reject) => log.close((e) => (e ? reject(e) : resolve())));
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'understudy-bench-log-'));
  const rows: string[] = [];
  let worstAtLargeBatch = Infinity;
  try {
    for (const batch of BATCHES) {
      const fd = fs.openSync(join(root, `bare-${batch}.dat`), 'a');
      const log = await openLog(join(root, `log-${batch}`));
      const t = await measure(fd, log, batch);
      await closeLog(log);
      fs.closeSync(fd);
      const logRate = ((t.batches * batch) / t.logMs) * 1000;
      const bareRate = ((t.batches * batch) / t.bareMs) * 1000;
      const sorted = [...t.pairRatios].sort((a, b) => a - b);
      const ratio = sorted[Math.floor(sorted.length / 2)] ?? 0;
      if (batch >= 128) worstAtLargeBatch = Math.min(worstAtLargeBatch, ratio);
      const mb = (rate: number): number => (rate * PAYLOAD_BYTES) / 1e6;
      rows.push(`| ${batch} | ${fmt(logRate)} | ${fmt(mb(logRate))} | ${fmt(bareRate)} | ${fmt(mb(bareRate))} | ${(ratio * 100).toFixed(0)}% |`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`Update log vs bare writev + fdatasync, ${PAYLOAD_BYTES}-byte records (${RECORD_HEADER_BYTES}-byte frame header), ${tmpdir()}, Node ${process.version}\n`);
  console.log('| batch | log appends/s | log MB/s | bare appends/s | bare MB/s | log / bare (median of pairs) |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
  const ok = worstAtLargeBatch >= TARGET_RATIO;
  console.log(`\ntarget: log ≥ ${TARGET_RATIO * 100}% of bare at batch ≥ 128: ${ok ? 'met' : 'NOT met'} (worst ${(worstAtLargeBatch * 100).toFixed(0)}%)`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
