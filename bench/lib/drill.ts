// The understudy failover drill: kill -9 of the primary under a steady write
// load; kill → first acknowledged write on the new primary, the new primary's
// failover report, and every acknowledged write read back afterwards.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { FailoverReport } from '../../src/runtime/node-api.ts';
import { lostWrites, type ProcessCluster, sleep, waitFor } from '../../test/integration/harness.ts';

export const FAILOVER_WORKERS = 4;
/** Load before each kill (ms) and after the first write on the new primary (ms). */
const FAILOVER_PRE_MS = 1000;
const FAILOVER_POST_MS = 500;
/** A write not answered within this long is abandoned (its outcome unknown, never counted as lost). */
const FAILOVER_WRITE_TIMEOUT_MS = 1000;
const FAILOVER_FIRST_WRITE_LIMIT_MS = 10_000;

export interface DrillResult {
  readonly killToFirstWriteMs: number;
  readonly report: FailoverReport | undefined;
  readonly acked: number;
  readonly unknown: number;
  readonly lost: number;
  readonly oldPrimary: string;
  readonly newPrimary: string;
}

export async function failoverDrill(cluster: ProcessCluster, rep: number): Promise<DrillResult> {
  const oldPrimary = await cluster.waitPrimary();
  const clients = new Map(
    cluster.specs.map((s) => [
      s.id,
      new Redis({ host: '127.0.0.1', port: s.redisPort, maxRetriesPerRequest: 0, enableOfflineQueue: false, commandTimeout: FAILOVER_WRITE_TIMEOUT_MS, retryStrategy: () => 50 }),
    ]),
  );
  for (const c of clients.values()) c.on('error', () => {});
  try {
    await waitFor('clients connected', 5000, () => ([...clients.values()].every((c) => c.status === 'ready') ? true : undefined));
    const acked = new Map<string, string>();
    let unknown = 0;
    let killAt = Infinity;
    let firstNewAt = Infinity;
    let stopAt = Infinity;
    const t0 = performance.now();
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; performance.now() < stopAt && performance.now() - t0 < FAILOVER_FIRST_WRITE_LIMIT_MS + 5000; i++) {
        const k = `fo${rep}:${w}:${i}`;
        const v = randomBytes(6).toString('hex');
        // Every node gets the write; only the primary can accept it (secondaries answer READONLY).
        const live = [...clients.entries()].filter(([id]) => cluster.isRunning(id));
        try {
          const from = await Promise.any(live.map(async ([id, c]) => ((await c.set(k, v)) === 'OK' ? id : Promise.reject(new Error('not OK')))));
          acked.set(k, v);
          const now = performance.now();
          if (now > killAt && from !== oldPrimary && firstNewAt === Infinity) {
            firstNewAt = now;
            stopAt = now + FAILOVER_POST_MS;
          }
        } catch {
          unknown++;
          await sleep(5);
        }
      }
    };
    const load = Promise.all(Array.from({ length: FAILOVER_WORKERS }, (_, w) => worker(w)));
    await sleep(FAILOVER_PRE_MS);
    killAt = performance.now();
    const killWall = Date.now();
    await cluster.kill(oldPrimary, 'SIGKILL');
    await load;
    const newPrimary = await cluster.waitPrimary(15_000, oldPrimary);
    const reports = await cluster.failovers(newPrimary);
    const report = reports.find((r) => r.newPrimary === newPrimary && r.at >= killWall - 1000);
    await cluster.start(oldPrimary);
    await cluster.converged();
    const reader = new Redis({ host: '127.0.0.1', port: cluster.spec(newPrimary).redisPort, maxRetriesPerRequest: 1, commandTimeout: 5000 });
    reader.on('error', () => {});
    let lost: string[];
    try {
      lost = await lostWrites(reader, acked);
    } finally {
      reader.disconnect();
    }
    return { killToFirstWriteMs: firstNewAt - killAt, report, acked: acked.size, unknown, lost: lost.length, oldPrimary, newPrimary };
  } finally {
    for (const c of clients.values()) c.disconnect();
  }
}
