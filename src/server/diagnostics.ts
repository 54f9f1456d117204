// What one RESP server sees of the commands it runs, for the commands that report on them:
// MONITOR's feed, SLOWLOG, LATENCY and OBJECT IDLETIME's access times, with the settings
// they share (Redis's CONFIG parameter names; a node takes them from its configuration's
// diagnostics section). All of it is this node's own, in memory, never replicated.
import { err, OK } from '../core/reply.ts';
import { DIAGNOSTICS_DEFAULTS } from '../config/schema.ts';
import { LLONG_MAX, parseI64 } from '../core/kv/numbers.ts';
import type { ConfigParam } from './config-command.ts';
import { KeyAccessTimes } from './key-access.ts';
import { LatencyMonitor, latencyCommand, type LatencySettings } from './latency.ts';
import { Monitors, redacted } from './monitor.ts';
import type { CommandTable } from './resp-command-table.ts';
import type { Connection, Handler } from './resp-connection.ts';
import { SlowLog, slowlogCommand, type SlowlogSettings } from './slowlog.ts';

export type DiagnosticsSettings = SlowlogSettings & LatencySettings;


/**
 * Commands whose time is mostly waiting for something else (a timeout, other clients, the
 * replicas): Redis leaves the blocked part out of a command's time; here they are left out of
 * SLOWLOG and LATENCY altogether, so that a long wait is not reported as a slow command.
 */
const WAITING_COMMANDS = new Set(['wait', 'monitor', 'subscribe', 'psubscribe', 'ssubscribe']);

export class Diagnostics {
  readonly settings: DiagnosticsSettings;
  readonly monitors: Monitors;
  readonly slowlog: SlowLog;
  readonly latency: LatencyMonitor;
  readonly access: KeyAccessTimes;
  /** CONFIG SET's values as given (they may exceed what a number holds exactly). */
  private readonly shown = new Map<keyof DiagnosticsSettings, string>();

  constructor(
    private readonly table: CommandTable,
    settings: Partial<DiagnosticsSettings> = {},
    /** Whether this node is the primary now (a secondary refuses writes before they run). */
    private readonly isPrimary: () => boolean = () => true,
  ) {
    this.settings = { ...DIAGNOSTICS_DEFAULTS, ...settings };
    this.monitors = new Monitors(table);
    this.slowlog = new SlowLog(this.settings);
    this.latency = new LatencyMonitor(this.settings);
    this.access = new KeyAccessTimes(table);
  }

  /** A command starts: MONITOR shows it. Fed in the order commands reach the node, which is the order they run in. */
  started(conn: Connection, argv: readonly Buffer[]): void {
    if (this.monitors.size === 0) return;
    // A write on a secondary gets -READONLY without running: Redis's replica does not show it either.
    if (this.table.hasFlag(argv, 'write') && !this.isPrimary()) return;
    this.monitors.feed(conn, argv);
  }

  /** A command ran for `durationUs`: SLOWLOG and LATENCY. */
  ran(conn: Connection, argv: readonly Buffer[], durationUs: number): void {
    // Most commands are neither: decided before anything is looked up.
    const { slowlogLogSlowerThanUs: slower, latencyMonitorThresholdMs: threshold } = this.settings;
    const latencyMs = Math.floor(durationUs / 1000);
    if (!(slower >= 0 && durationUs >= slower) && !(threshold > 0 && latencyMs >= threshold)) return;
    const name = argv[0]!.toString('latin1').toLowerCase();
    if (WAITING_COMMANDS.has(name) || this.table.hasFlag(argv, 'blocking')) return;
    this.slowlog.record(redacted(argv), durationUs, conn.addr, conn.name);
    this.latency.record(this.table.hasFlag(argv, 'fast') ? 'fast-command' : 'command', latencyMs);
  }

  /**
   * The settings as CONFIG parameters (Redis's names, ranges and errors). CONFIG SET changes the
   * running node until it restarts; the configuration file's diagnostics.* give the start values.
   */
  configParams(): ConfigParam[] {
    const param = (name: string, key: keyof DiagnosticsSettings, min: bigint, after?: () => void): ConfigParam => ({
      name,
      get: () => this.shown.get(key) ?? String(this.settings[key]),
      check: (v) => {
        const n = parseI64(Buffer.from(v));
        if (n === null) return "argument couldn't be parsed into an integer";
        if (n < min) return `argument must be between ${min} and ${LLONG_MAX} inclusive`;
        return () => {
          // Past 2^53 a threshold or a length is as good as infinite; CONFIG GET still shows what was set.
          this.settings[key] = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
          this.shown.set(key, String(n));
          after?.();
        };
      },
    });
    return [
      param('slowlog-log-slower-than', 'slowlogLogSlowerThanUs', -1n),
      param('slowlog-max-len', 'slowlogMaxLen', 0n, () => this.slowlog.trim(this.settings.slowlogMaxLen)),
      param('latency-monitor-threshold', 'latencyMonitorThresholdMs', 0n),
    ];
  }

  /** MONITOR, SLOWLOG and LATENCY. */
  handlers(): Map<string, Handler> {
    return new Map<string, Handler>([
      [
        'monitor',
        (c, _argv, done) => {
          if (c.inExec) return done(err("ERR MONITOR isn't allowed for DENY BLOCKING client"));
          // Redis answers a second MONITOR with nothing at all.
          if (c.monitoring) return done({ t: 'seq', outs: [] });
          this.monitors.add(c);
          done(OK);
        },
      ],
      ['slowlog', (_c, argv, done) => slowlogCommand(this.slowlog, argv, done)],
      ['latency', (_c, argv, done) => latencyCommand(this.latency, argv, done)],
    ]);
  }
}
