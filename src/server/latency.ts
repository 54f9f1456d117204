// LATENCY LATEST | HISTORY | RESET | DOCTOR | HELP: Redis's latency monitor for the events
// this node has — "command" and "fast-command", a command (by its fast flag) that took at least
// latency-monitor-threshold ms (0 = off, as Redis's default). Each event keeps one sample per
// second (the largest), the last LATENCY_TS_LEN of them, and its all-time maximum, as Redis's
// latency.c does. GRAPH and HISTOGRAM are not served. In memory on each node only.
import { arr, bulk, err, int, type Reply } from '../core/reply.ts';
import type { Done } from './resp-connection.ts';
import type { SlowlogSettings } from './slowlog.ts';

/** Samples kept per event (Redis's LATENCY_TS_LEN). */
export const LATENCY_TS_LEN = 160;

export interface LatencySettings {
  /** Milliseconds; a command at least this slow is a latency event. 0 turns the monitor off. */
  latencyMonitorThresholdMs: number;
}

interface Sample {
  timeS: number;
  latencyMs: number;
}

interface Series {
  /** Oldest first, at most LATENCY_TS_LEN. */
  samples: Sample[];
  maxMs: number;
}

export class LatencyMonitor {
  private readonly events = new Map<string, Series>();

  constructor(private readonly settings: LatencySettings & SlowlogSettings) {}

  /** Redis's latencyAddSampleIfNeeded. */
  record(event: string, latencyMs: number): void {
    const threshold = this.settings.latencyMonitorThresholdMs;
    if (threshold === 0 || latencyMs < threshold) return;
    const now = Math.floor(Date.now() / 1000);
    let ts = this.events.get(event);
    if (!ts) this.events.set(event, (ts = { samples: [], maxMs: 0 }));
    if (latencyMs > ts.maxMs) ts.maxMs = latencyMs;
    const prev = ts.samples[ts.samples.length - 1];
    // One sample per second: the largest.
    if (prev && prev.timeS === now) {
      if (latencyMs > prev.latencyMs) prev.latencyMs = latencyMs;
      return;
    }
    ts.samples.push({ timeS: now, latencyMs });
    if (ts.samples.length > LATENCY_TS_LEN) ts.samples.shift();
  }

  latest(): Reply {
    return arr(
      [...this.events].map(([name, ts]) => {
        const last = ts.samples[ts.samples.length - 1]!;
        return arr([bulk(name), int(last.timeS), int(last.latencyMs), int(ts.maxMs)]);
      }),
    );
  }

  history(event: string): Reply {
    const ts = this.events.get(event);
    return arr((ts?.samples ?? []).map((s) => arr([int(s.timeS), int(s.latencyMs)])));
  }

  /** Resets the named events (all when none is named); answers how many there were. */
  reset(names: readonly string[]): number {
    if (names.length === 0) {
      const n = this.events.size;
      this.events.clear();
      return n;
    }
    let n = 0;
    for (const name of names) if (this.events.delete(name)) n++;
    return n;
  }

  /** Redis's createLatencyReport, for the events this node records. */
  doctor(): string {
    const { latencyMonitorThresholdMs: threshold, slowlogLogSlowerThanUs: slower, slowlogMaxLen: maxLen } = this.settings;
    if (this.events.size === 0 && threshold === 0)
      return 'I\'m sorry, Dave, I can\'t do that. Latency monitoring is disabled in this Redis instance. You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. If we weren\'t in a deep space mission I\'d suggest to take a look at https://redis.io/topics/latency-monitor.\n';
    let report = '';
    let n = 0;
    let slowlogEnable = false;
    let slowlogTune = false;
    let slowlogInspect = false;
    let largeObjects = false;
    let scheduler = false;
    for (const [name, ts] of this.events) {
      n++;
      if (n === 1) report += "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n";
      const s = stats(ts);
      report += `${n}. ${name}: ${s.samples} latency spikes (average ${s.avg}ms, mean deviation ${s.mad}ms, period ${(s.period / s.samples).toFixed(2)} sec). Worst all time event ${ts.maxMs}ms.`;
      if (name === 'command') {
        if (slower < 0 || maxLen === 0) slowlogEnable = true;
        else if (Math.trunc(slower / 1000) > threshold) slowlogTune = true;
        slowlogInspect = true;
        largeObjects = true;
      }
      if (name === 'fast-command') scheduler = true;
      report += '\n';
    }
    if (n === 0)
      return report + 'Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n';
    report += '\nI have a few advices for you:\n\n';
    if (slowlogEnable)
      report += `- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than ${threshold * 1000}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n`;
    if (slowlogTune)
      report += `- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than ${threshold * 1000}'.\n`;
    if (slowlogInspect)
      report += '- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n';
    if (scheduler)
      report +=
        '- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n' +
        '  1) Lower the system load.\n' +
        '  2) Use a computer / VM just for Redis if you are running other software in the same system.\n' +
        '  3) Check if you have a "noisy neighbour" problem.\n' +
        "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n" +
        '  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n';
    if (largeObjects)
      report +=
        '- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n';
    return report;
  }
}

/** Redis's analyzeLatencyForEvent: count, integer mean, mean absolute deviation, seconds covered. */
function stats(ts: Series): { samples: number; avg: number; mad: number; period: number } {
  const samples = ts.samples.length;
  let sum = 0;
  let oldest = Infinity;
  for (const s of ts.samples) {
    sum += s.latencyMs;
    oldest = Math.min(oldest, s.timeS);
  }
  const avg = Math.floor(sum / samples);
  const period = Math.max(1, Math.floor(Date.now() / 1000) - oldest);
  let dev = 0;
  for (const s of ts.samples) dev += Math.abs(avg - s.latencyMs);
  return { samples, avg, mad: Math.floor(dev / samples), period };
}

const LATENCY_HELP = [
  'LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DOCTOR',
  '    Return a human readable latency analysis report.',
  'HISTORY <event>',
  '    Return time-latency samples for the <event> class.',
  'LATEST',
  '    Return the latest latency samples for all events.',
  'RESET [<event> ...]',
  '    Reset latency data of one or more <event> classes.',
  '    (default: reset all data for all event classes)',
  'HELP',
  '    Prints this help.',
];

/** The LATENCY command over one node's monitor; arity per subcommand is checked by the command table. */
export function latencyCommand(mon: LatencyMonitor, argv: readonly Buffer[], done: Done): void {
  const sub = argv[1]!.toString('latin1').toLowerCase();
  switch (sub) {
    case 'help':
      return done(arr(LATENCY_HELP.map((s) => ({ t: 'simple', s }))));
    case 'latest':
      return done(mon.latest());
    case 'history':
      return done(mon.history(argv[2]!.toString('utf8')));
    case 'reset':
      return done(int(mon.reset(argv.slice(2).map((b) => b.toString('utf8')))));
    case 'doctor':
      return done({ t: 'verbatim', format: 'txt', s: mon.doctor() });
    default:
      return done(err(`ERR unknown subcommand '${argv[1]!.toString('utf8', 0, 128)}'. Try LATENCY HELP.`));
  }
}
