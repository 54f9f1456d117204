// A small rolling window of throughput and p99 write latency that the server
// keeps, so that a dashboard opened now shows the last minutes at once instead
// of an empty chart that fills up while you watch. One sample per interval:
// commands/s and writes/s from the Metrics totals, updates/s from the lsn
// advance (commit lsn on a primary, applied lsn elsewhere), and the p99 of the
// client writes answered in the interval.
import type { NodeHandle } from '../../runtime/node-api.ts';
import type { Metrics } from '../metrics.ts';

/** One sample per second: fine enough for a chart, cheap enough to keep always. */
export const SERIES_INTERVAL_MS = 1000;
/** Five minutes of samples. */
export const SERIES_MAX_SAMPLES = 300;

export interface SeriesSample {
  readonly t: number;
  readonly commandsPerS: number;
  readonly writesPerS: number;
  readonly updatesPerS: number;
  readonly p99WriteMs: number | null;
}

export class Series {
  private readonly samples: SeriesSample[] = [];
  private last: { t: number; commands: number; writes: number; lsn: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(s: SeriesSample) => void>();

  constructor(
    private readonly node: NodeHandle,
    private readonly metrics: Metrics,
    private readonly onError: (e: unknown) => void,
    private readonly maxSamples = SERIES_MAX_SAMPLES,
  ) {}

  start(intervalMs = SERIES_INTERVAL_MS): void {
    if (this.timer) return;
    this.safeSample();
    this.timer = setInterval(() => this.safeSample(), intervalMs);
    this.timer.unref(); // the sampler alone must not keep a process alive
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  /** A status that cannot be read skips one sample; the chart shows a gap, the node keeps running. */
  private safeSample(): void {
    try {
      this.sample(Date.now());
    } catch (e) {
      this.onError(e);
    }
  }

  /** Takes one sample now (the timer calls this; tests call it to step time). */
  sample(now: number): SeriesSample | null {
    const totals = this.metrics.totals();
    const st = this.node.status();
    const lsn = st.role === 'primary' ? st.log.commitLsn : st.log.appliedLsn;
    const window = this.metrics.writeWindow.drain();
    const prev = this.last;
    this.last = { t: now, commands: totals.commands, writes: totals.writes, lsn };
    if (prev === null || now <= prev.t) return null; // first call only sets the baseline
    const dt = (now - prev.t) / 1000;
    const s: SeriesSample = {
      t: now,
      commandsPerS: round((totals.commands - prev.commands) / dt),
      writesPerS: round((totals.writes - prev.writes) / dt),
      // An lsn can move back when a divergent tail is truncated; a rate is never negative.
      updatesPerS: round(Math.max(0, lsn - prev.lsn) / dt),
      p99WriteMs: window.p99S === null ? null : round(window.p99S * 1000),
    };
    this.samples.push(s);
    if (this.samples.length > this.maxSamples) this.samples.splice(0, this.samples.length - this.maxSamples);
    for (const l of this.listeners) l(s);
    return s;
  }

  /** Oldest first. */
  list(): readonly SeriesSample[] {
    return this.samples;
  }

  onSample(l: (s: SeriesSample) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
