// Prometheus metrics of one node, on a Registry of its own (not prom-client's
// global one) so that several nodes can live in one process — tests, the
// local demo cluster and programs embedding nodes all do that.
//
// Who calls what:
// - the runtime and the RESP server call the event methods (`command`,
//   `clientWrite`, `fsync`, `replicationRtt`, `respConnection…`);
// - the gauges are not pushed: `refreshFrom(status)` sets them from a
//   NodeStatus, and the admin app calls it on every scrape of /metrics;
// - failover counters come from `observeNode(node)`, which the admin app also
//   calls. Attaching the same node twice subscribes once, so no report counts twice.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FailoverReport, NodeHandle, NodeStatus, Role } from '../runtime/node-api.ts';

/** Every metric name starts with this, so dashboards can select ours. */
export const METRIC_PREFIX = 'understudy_';

const ROLES: readonly Role[] = ['primary', 'secondary', 'candidate', 'witness'];

/** Latency buckets (seconds): 50 µs to 5 s — a durable replicated write sits in the ms range. */
const LATENCY_BUCKETS_S = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** Updates per fsync: group commit makes batches from 1 to thousands. */
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384];

/**
 * A bounded histogram of recent write latencies for the dashboard's p99 chart:
 * log-spaced buckets so memory does not grow with the write rate, and `drain()`
 * hands back one interval's p99 and starts the next.
 */
export class LatencyWindow {
  /** Smallest latency told apart (seconds). */
  static readonly MIN_S = 0.00001;
  /** Each bucket is this much wider than the one before: ±6% error on a p99. */
  static readonly GROWTH = 1.12;
  /** 10 µs × 1.12^160 ≈ 7 000 s: everything a client can wait for fits. */
  static readonly BUCKETS = 160;
  private readonly counts = new Uint32Array(LatencyWindow.BUCKETS);
  private total = 0;

  record(seconds: number): void {
    const s = Math.max(seconds, LatencyWindow.MIN_S);
    const i = Math.min(
      LatencyWindow.BUCKETS - 1,
      Math.max(0, Math.ceil(Math.log(s / LatencyWindow.MIN_S) / Math.log(LatencyWindow.GROWTH))),
    );
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.total++;
  }

  /** The interval's count and p99 (upper bucket bound, seconds; null with no samples), then reset. */
  drain(): { count: number; p99S: number | null } {
    const count = this.total;
    let p99S: number | null = null;
    if (count > 0) {
      const rank = Math.ceil(count * 0.99);
      let seen = 0;
      for (let i = 0; i < LatencyWindow.BUCKETS; i++) {
        seen += this.counts[i] ?? 0;
        if (seen >= rank) {
          p99S = LatencyWindow.MIN_S * LatencyWindow.GROWTH ** i;
          break;
        }
      }
    }
    this.counts.fill(0);
    this.total = 0;
    return { count, p99S };
  }
}

export interface MetricsOptions {
  /** Node id, added as a `node` label to every metric (several nodes may share a scrape target). */
  readonly nodeId?: string;
  /** Collect default process metrics (CPU, memory, event loop lag). Default true. */
  readonly processMetrics?: boolean;
}

/** The metrics of one node. */
export class Metrics {
  readonly registry = new Registry();

  private readonly commandsTotal: Counter<'cmd'>;
  private readonly commandErrorsTotal: Counter<'cmd' | 'code'>;
  private readonly commandSeconds: Histogram;
  private readonly clientWriteSeconds: Histogram;
  private readonly fsyncSeconds: Histogram;
  private readonly replicationRttSeconds: Histogram;
  private readonly batchSize: Histogram;
  private readonly inFlightUpdates: Gauge;
  private readonly replicationLagUpdates: Gauge<'secondary'>;
  private readonly replicationLagSeconds: Gauge<'secondary'>;
  private readonly logBytes: Gauge;
  private readonly logSegments: Gauge;
  private readonly epochGauge: Gauge;
  private readonly roleGauge: Gauge<'role'>;
  private readonly failoversTotal: Counter;
  private readonly failoverSyncShippedTotal: Counter;
  private readonly regionsResyncedTotal: Counter;
  private readonly respConnections: Gauge;

  /** Plain running totals, read by the dashboard's rate chart without parsing the registry. */
  private commandCount = 0;
  private writeCount = 0;
  /** Recent client write latencies, drained once per dashboard sample. */
  readonly writeWindow = new LatencyWindow();
  private readonly observed = new Map<NodeHandle, { users: number; unsubscribe: () => void }>();

  constructor(opts: MetricsOptions = {}) {
    if (opts.nodeId !== undefined) this.registry.setDefaultLabels({ node: opts.nodeId });
    const r = [this.registry];
    const p = METRIC_PREFIX;
    this.commandsTotal = new Counter({ name: `${p}commands_total`, help: 'Client commands executed, by command name.', labelNames: ['cmd'], registers: r });
    this.commandErrorsTotal = new Counter({ name: `${p}command_errors_total`, help: 'Client commands answered with an error, by command and error code.', labelNames: ['cmd', 'code'], registers: r });
    this.commandSeconds = new Histogram({ name: `${p}command_seconds`, help: 'Time to answer one client command, any command (not broken down by name, to bound cardinality).', buckets: LATENCY_BUCKETS_S, registers: r });
    this.clientWriteSeconds = new Histogram({ name: `${p}client_write_seconds`, help: 'Time from receiving a write to replying (committed on every secondary in dest).', buckets: LATENCY_BUCKETS_S, registers: r });
    this.fsyncSeconds = new Histogram({ name: `${p}fsync_seconds`, help: 'Duration of one update-log fsync (one group-commit batch).', buckets: LATENCY_BUCKETS_S, registers: r });
    this.replicationRttSeconds = new Histogram({ name: `${p}replication_rtt_seconds`, help: 'Time from sending an update to a secondary to receiving its acknowledgement.', buckets: LATENCY_BUCKETS_S, registers: r });
    this.batchSize = new Histogram({ name: `${p}batch_size`, help: 'Updates made durable per fsync (group commit batch size).', buckets: BATCH_SIZE_BUCKETS, registers: r });
    this.inFlightUpdates = new Gauge({ name: `${p}in_flight_updates`, help: 'Updates sent but not yet acknowledged by every secondary in dest.', registers: r });
    this.replicationLagUpdates = new Gauge({ name: `${p}replication_lag_updates`, help: 'Updates a secondary has not acknowledged yet (seen from the primary).', labelNames: ['secondary'], registers: r });
    this.replicationLagSeconds = new Gauge({ name: `${p}replication_lag_seconds`, help: 'Age of the oldest update a secondary has not acknowledged (seen from the primary).', labelNames: ['secondary'], registers: r });
    this.logBytes = new Gauge({ name: `${p}log_bytes`, help: 'Bytes held by this node\'s update log.', registers: r });
    this.logSegments = new Gauge({ name: `${p}log_segments`, help: 'Segment files held by this node\'s update log.', registers: r });
    this.epochGauge = new Gauge({ name: `${p}epoch`, help: 'Current epoch (election term) of this node.', registers: r });
    this.roleGauge = new Gauge({ name: `${p}role`, help: '1 for the role this node has now, 0 for the others.', labelNames: ['role'], registers: r });
    this.failoversTotal = new Counter({ name: `${p}failovers_total`, help: 'Failovers this node has seen completed.', registers: r });
    this.failoverSyncShippedTotal = new Counter({ name: `${p}failoversync_updates_shipped_total`, help: 'Updates FailoverSync shipped to secondaries that lacked them.', registers: r });
    this.regionsResyncedTotal = new Counter({ name: `${p}regions_resynced_total`, help: 'Regions re-fetched from the primary after a divergent tail or a retention overflow.', registers: r });
    this.respConnections = new Gauge({ name: `${p}resp_connections`, help: 'Open Redis-protocol client connections.', registers: r });
    for (const role of ROLES) this.roleGauge.set({ role }, 0);
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: p });
  }

  /** One client command finished (any command, read or write); `errCode` when it answered an error. */
  command(cmd: string, durationS: number, errCode?: string): void {
    const c = cmd.toLowerCase();
    this.commandsTotal.inc({ cmd: c });
    this.commandCount++;
    if (errCode !== undefined) this.commandErrorsTotal.inc({ cmd: c, code: errCode });
    this.commandSeconds.observe(durationS);
  }

  /** One client write was answered after `seconds` (committed, or failed). */
  clientWrite(seconds: number): void {
    this.clientWriteSeconds.observe(seconds);
    this.writeWindow.record(seconds);
    this.writeCount++;
  }

  /** One fsync of the update log took `seconds` and made `batch` updates durable. */
  fsync(seconds: number, batch: number): void {
    this.fsyncSeconds.observe(seconds);
    this.batchSize.observe(batch);
  }

  /** An acknowledgement came back `seconds` after its update was sent. */
  replicationRtt(seconds: number): void {
    this.replicationRttSeconds.observe(seconds);
  }

  respConnectionOpened(): void {
    this.respConnections.inc();
  }

  respConnectionClosed(): void {
    this.respConnections.dec();
  }

  /** Sets the connection gauge from the RESP server's own count (sampled by the host). */
  respConnectionsNow(n: number): void {
    this.respConnections.set(n);
  }

  /** Counts one failover report (claims 5–6 work: updates shipped, regions resynced). */
  failover(report: FailoverReport): void {
    this.failoversTotal.inc();
    const shipped = sumValues(report.shippedTo);
    const resynced = sumValues(report.regionsResynced);
    if (shipped > 0) this.failoverSyncShippedTotal.inc(shipped);
    if (resynced > 0) this.regionsResyncedTotal.inc(resynced);
  }

  /**
   * Counts this node's failover reports until the returned function is called. Several callers
   * (the host, the admin app) may attach the same node: each report still counts once, and the
   * subscription ends when the last of them detaches.
   */
  observeNode(node: NodeHandle): () => void {
    let entry = this.observed.get(node);
    if (!entry) {
      const onFailover = (report: FailoverReport): void => this.failover(report);
      node.on('failover', onFailover);
      entry = { users: 0, unsubscribe: () => node.off('failover', onFailover) };
      this.observed.set(node, entry);
    }
    entry.users++;
    const e = entry;
    let detached = false;
    return () => {
      if (detached) return;
      detached = true;
      if (--e.users === 0) {
        e.unsubscribe();
        this.observed.delete(node);
      }
    };
  }

  /** Sets every gauge from a status snapshot. */
  refreshFrom(status: NodeStatus): void {
    this.inFlightUpdates.set(status.inFlight.length);
    // Reset first so a secondary that left the configuration stops being reported.
    this.replicationLagUpdates.reset();
    this.replicationLagSeconds.reset();
    for (const s of status.secondaries) {
      this.replicationLagUpdates.set({ secondary: s.id }, s.lagUpdates);
      this.replicationLagSeconds.set({ secondary: s.id }, s.lagMs / 1000);
    }
    this.logBytes.set(status.log.bytes);
    this.logSegments.set(status.log.segments);
    this.epochGauge.set(status.epoch);
    for (const role of ROLES) this.roleGauge.set({ role }, role === status.role ? 1 : 0);
  }

  /** Running totals of commands and client writes since start (for rates without a scrape). */
  totals(): { commands: number; writes: number } {
    return { commands: this.commandCount, writes: this.writeCount };
  }

  /** The Prometheus text exposition of every metric. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

function sumValues(rec: Readonly<Record<string, number>>): number {
  let n = 0;
  for (const v of Object.values(rec)) n += v;
  return n;
}
