// What a running cluster costs in memory and disk: per node, the peak resident
// memory of its process (VmHWM from /proc, kept across restarts of the node)
// and the size of its update log (status().log.bytes, and the blocks its log
// directory holds), largest during a run and at its end.
//
// sustainedLoadResources() shows that the log stays bounded while every
// secondary is healthy: updates are cleared once all secondaries hold them,
// and clearing deletes whole segments, so a long write load keeps the log
// within a few segments however much it writes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { respLoad } from '../../src/bench/resp-load.ts';
import { SEGMENT_BYTES } from '../../src/log/log-limits.ts';
import { HTTP_TIMEOUT_MS, ProcessCluster, sleep } from '../../test/integration/harness.ts';
import { tempDirs } from './common.ts';

/** Sampling period of the ResourceSampler by default. */
export const DEFAULT_SAMPLE_MS = 250;
/** Length of the sustained write load. */
export const SUSTAINED_LOAD_MS = 20_000;
// The sustained load: large values, so that the clients write several segments' worth of log in
// the run (with 100-byte values 20 s of load would not fill one 64 MiB segment, and nothing
// would show that the log is cleared); a small keyspace, so the storage area stays small.
const SUSTAINED_CONNS = 16;
const SUSTAINED_PIPELINE = 16;
const SUSTAINED_VALUE_BYTES = 4096;
const SUSTAINED_KEYSPACE = 10_000;
/** After the load, how long to wait for every node to clear what it holds (the end figures are taken then). */
const SETTLE_TIMEOUT_MS = 10_000;
const SETTLE_POLL_MS = 100;
/** stop() waits this long at most for a sample in progress (one status request per node). */
const STOP_WAIT_MS = HTTP_TIMEOUT_MS + 1000;

const MiB = 1024 * 1024;

export interface NodeResources {
  /** Largest VmHWM (peak resident set) of the node's processes, MiB. */
  readonly peakRssMiB: number;
  /** Largest VmRSS seen by a sample, MiB. */
  readonly sampledRssMaxMiB: number;
  /**
   * Largest RssAnon seen by a sample, MiB: the process's own memory (heap, buffers), without the
   * pages of files it maps — LMDB maps its data file, so RSS also counts the data set's cached pages.
   */
  readonly sampledAnonMaxMiB: number;
  /** RssAnon at the last sample, MiB (what the process kept once the run was over). */
  readonly anonEndMiB: number;
  /** status().log.bytes: largest sampled, and at the last sample. */
  readonly logBytesMax: number;
  readonly logBytesEnd: number;
  readonly logSegmentsMax: number;
  /** Blocks allocated to the files of the node's log directory (what `du` would count). */
  readonly logDirBytesMax: number;
  readonly logDirBytesEnd: number;
  /** At the last sample: the log's first retained lsn and its last lsn. */
  readonly logStartEnd: number;
  readonly lastLsnEnd: number;
}

export interface ResourceSummary {
  readonly samples: number;
  readonly durationMs: number;
  readonly nodes: Readonly<Record<string, NodeResources>>;
  readonly peakRssMiBPerNode: Readonly<Record<string, number>>;
  readonly logBytesMax: Readonly<Record<string, number>>;
  readonly logBytesEnd: Readonly<Record<string, number>>;
}

interface Acc {
  peakRssKiB: number;
  rssKiB: number;
  anonKiB: number;
  anonEndKiB: number;
  logBytesMax: number;
  logBytesEnd: number;
  logSegmentsMax: number;
  logDirBytesMax: number;
  logDirBytesEnd: number;
  logStartEnd: number;
  lastLsnEnd: number;
}

/** VmHWM, VmRSS and RssAnon of a process, in KiB (null once it is gone). */
function procMemKiB(pid: number): { hwm: number; rss: number; anon: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
    return { hwm: kib('VmHWM'), rss: kib('VmRSS'), anon: kib('RssAnon') };
  } catch {
    return null;
  }
}

function dirAllocatedBytes(dir: string): number | null {
  try {
    let n = 0;
    for (const f of readdirSync(dir)) {
      try {
        n += statSync(join(dir, f)).blocks * 512;
      } catch {
        // Deleted between the listing and the stat (a cleared segment).
      }
    }
    return n;
  } catch {
    return null;
  }
}

/**
 * Samples every node of a cluster (the process the harness runs for it now, so a restarted node
 * is followed) every intervalMs until stop(). A sample that is still waiting for a node's status
 * when the next is due is not doubled.
 */
export class ResourceSampler {
  private readonly acc = new Map<string, Acc>();
  private readonly logDirs = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private inProgress: Promise<void> | null = null;
  private samples = 0;
  private startedAt = 0;

  constructor(private readonly cluster: ProcessCluster) {
    for (const s of cluster.specs) {
      // The node keeps its log in <dataDir>/log (src/host/start-node.ts); dataDir is in its configuration.
      const cfg = JSON.parse(readFileSync(s.configPath, 'utf8')) as { dataDir: string };
      this.logDirs.set(s.id, join(cfg.dataDir, 'log'));
      this.acc.set(s.id, { peakRssKiB: 0, rssKiB: 0, anonKiB: 0, anonEndKiB: 0, logBytesMax: 0, logBytesEnd: 0, logSegmentsMax: 0, logDirBytesMax: 0, logDirBytesEnd: 0, logStartEnd: 0, lastLsnEnd: 0 });
    }
  }

  start(intervalMs = DEFAULT_SAMPLE_MS): void {
    if (this.timer) return;
    this.startedAt = Date.now();
    this.timer = setInterval(() => {
      if (!this.inProgress) this.inProgress = this.sample().finally(() => (this.inProgress = null));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops sampling, takes one last sample (the "end" figures) and summarises. */
  async stop(): Promise<ResourceSummary> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.inProgress) await Promise.race([this.inProgress, sleep(STOP_WAIT_MS)]);
    await this.sample();
    const nodes: Record<string, NodeResources> = {};
    for (const [id, a] of this.acc) {
      nodes[id] = {
        peakRssMiB: a.peakRssKiB / 1024,
        sampledRssMaxMiB: a.rssKiB / 1024,
        sampledAnonMaxMiB: a.anonKiB / 1024,
        anonEndMiB: a.anonEndKiB / 1024,
        logBytesMax: a.logBytesMax,
        logBytesEnd: a.logBytesEnd,
        logSegmentsMax: a.logSegmentsMax,
        logDirBytesMax: a.logDirBytesMax,
        logDirBytesEnd: a.logDirBytesEnd,
        logStartEnd: a.logStartEnd,
        lastLsnEnd: a.lastLsnEnd,
      };
    }
    const per = (f: (n: NodeResources) => number): Record<string, number> => Object.fromEntries(Object.entries(nodes).map(([id, n]) => [id, f(n)]));
    return {
      samples: this.samples,
      durationMs: Date.now() - this.startedAt,
      nodes,
      peakRssMiBPerNode: per((n) => n.peakRssMiB),
      logBytesMax: per((n) => n.logBytesMax),
      logBytesEnd: per((n) => n.logBytesEnd),
    };
  }

  private async sample(): Promise<void> {
    this.samples++;
    await Promise.all(
      this.cluster.specs.map(async (s) => {
        const a = this.acc.get(s.id)!;
        if (this.cluster.isRunning(s.id)) {
          const m = procMemKiB(this.cluster.pidOf(s.id));
          if (m) {
            a.peakRssKiB = Math.max(a.peakRssKiB, m.hwm);
            a.rssKiB = Math.max(a.rssKiB, m.rss);
            a.anonKiB = Math.max(a.anonKiB, m.anon);
            a.anonEndKiB = m.anon;
          }
        }
        const du = dirAllocatedBytes(this.logDirs.get(s.id)!);
        if (du !== null) {
          a.logDirBytesMax = Math.max(a.logDirBytesMax, du);
          a.logDirBytesEnd = du;
        }
        const st = this.cluster.isRunning(s.id) ? await this.cluster.statusOrNull(s.id) : null;
        if (st) {
          a.logBytesMax = Math.max(a.logBytesMax, st.log.bytes);
          a.logBytesEnd = st.log.bytes;
          a.logSegmentsMax = Math.max(a.logSegmentsMax, st.log.segments);
          a.logStartEnd = st.log.start;
          a.lastLsnEnd = st.log.lastLsn;
        }
      }),
    );
  }
}

const mib = (b: number): string => (b / MiB).toFixed(1);

/** A markdown table of a summary: one row per node. */
export function resourceRows(s: ResourceSummary): string[] {
  const out = [
    '| node | peak RSS, MiB (VmHWM) | anonymous RSS, MiB (RssAnon): largest sampled / end | log, MiB: max / end (status) | log segments, max | log directory on disk, MiB: max / end | log start / last lsn at end |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [id, n] of Object.entries(s.nodes)) {
    out.push(
      `| ${id} | ${n.peakRssMiB.toFixed(0)} | ${n.sampledAnonMaxMiB.toFixed(0)} / ${n.anonEndMiB.toFixed(0)} | ${mib(n.logBytesMax)} / ${mib(n.logBytesEnd)} | ${n.logSegmentsMax} | ${mib(n.logDirBytesMax)} / ${mib(n.logDirBytesEnd)} | ` +
        `${n.logStartEnd.toLocaleString('en-US')} / ${n.lastLsnEnd.toLocaleString('en-US')} |`,
    );
  }
  return out;
}

export interface SustainedLoadOptions {
  readonly durationMs?: number;
  readonly log?: (s: string) => void;
}

/**
 * A fresh 3-node cluster under a sustained pipelined SET load of large values for durationMs,
 * sampled throughout; returns the benchmark section (markdown lines).
 */
export async function sustainedLoadResources(opts: SustainedLoadOptions = {}): Promise<string[]> {
  const log = opts.log ?? (() => {});
  const durationMs = opts.durationMs ?? SUSTAINED_LOAD_MS;
  const cluster = await ProcessCluster.create({ nodes: 3, storage: 'lmdb' });
  tempDirs.push(cluster.dir);
  const notes: string[] = [];
  try {
    await cluster.startAll();
    const primary = await cluster.waitPrimary();
    const epoch0 = (await cluster.status(primary)).epoch;
    const sampler = new ResourceSampler(cluster);
    sampler.start();
    log(`resources: ${durationMs / 1000} s of SET load (${SUSTAINED_CONNS} connections × ${SUSTAINED_PIPELINE} pipelined, ${SUSTAINED_VALUE_BYTES}-byte values) on ${primary}`);
    const r = await respLoad({
      port: cluster.spec(primary).redisPort,
      conns: SUSTAINED_CONNS,
      durationMs,
      op: 'set',
      pipeline: SUSTAINED_PIPELINE,
      valueBytes: SUSTAINED_VALUE_BYTES,
      keyspace: SUSTAINED_KEYSPACE,
    });
    if (r.errors) notes.push(`${r.errors} error replies during the load.`);
    if (r.stalled) notes.push(`${r.stalled} connection(s) ended with an operation unanswered.`);
    // The end figures: once every node has cleared all it holds (the clear notice rides on the
    // heartbeats), or after SETTLE_TIMEOUT_MS.
    const settleStart = Date.now();
    let settled = false;
    while (!settled && Date.now() - settleStart < SETTLE_TIMEOUT_MS) {
      const st = await Promise.all(cluster.specs.map((s) => cluster.statusOrNull(s.id)));
      settled = st.every((x) => x !== null && x.log.nextToClear > x.log.lastLsn);
      if (!settled) await sleep(SETTLE_POLL_MS);
    }
    if (!settled) notes.push(`some node still held uncleared updates ${SETTLE_TIMEOUT_MS / 1000} s after the load.`);
    const s = await sampler.stop();
    const epoch = (await cluster.status(await cluster.waitPrimary())).epoch;
    if (epoch !== epoch0) notes.push(`the primary changed during the run (epoch ${epoch0} → ${epoch}).`);
    const writtenBytes = r.ops * SUSTAINED_VALUE_BYTES;
    const maxLog = Math.max(...Object.values(s.logBytesMax));
    const maxSegs = Math.max(...Object.values(s.nodes).map((n) => n.logSegmentsMax));
    // Clearing happened on a node if its log no longer starts at its first update.
    const cleared = Object.values(s.nodes).every((n) => n.logStartEnd > 1);
    log(`resources: ${r.ops} SETs (${mib(writtenBytes)} MiB of values); largest log ${mib(maxLog)} MiB, ${maxSegs} segments; ${s.samples} samples`);
    return [
      `## Resources under a sustained write load (${durationMs / 1000} s, every secondary healthy)`,
      '',
      `3 nodes, LMDB. ${SUSTAINED_CONNS} connections × ${SUSTAINED_PIPELINE} pipelined SETs of ${SUSTAINED_VALUE_BYTES}-byte values over ${SUSTAINED_KEYSPACE.toLocaleString('en-US')} keys: ` +
        `${r.ops.toLocaleString('en-US')} SETs acknowledged (${Math.round(r.opsPerSec).toLocaleString('en-US')}/s), ${mib(writtenBytes)} MiB of values. ` +
        `Sampled every ${DEFAULT_SAMPLE_MS} ms (${s.samples} samples); "end" is taken once every node has cleared what it holds. Log segment size ${mib(SEGMENT_BYTES)} MiB.`,
      '',
      ...resourceRows(s),
      '',
      `The largest log on any node was ${mib(maxLog)} MiB (${maxSegs} segment${maxSegs > 1 ? 's' : ''} at most) while clients wrote ${mib(writtenBytes)} MiB of values; ` +
        (cleared ? `every node's log start moved past updates it no longer needed (whole segments deleted).` : `some node's log was never cleared during the run.`),
      ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
      '',
    ];
  } finally {
    await cluster.close();
  }
}
