// The node configuration: one zod schema that is both the validator and the
// source of the defaults documented in docs/configuration.md. Every object is
// strict, so an unknown (typo'd) key is an error rather than a silent no-op.
import { z } from 'zod';
import { DEFAULT_LIMITS, DEFAULT_TIMING } from '../core/config.ts';

/** host:port with a numeric port in 1..65535 (IPv6 hosts in brackets: [::1]:7001). */
const ADDR_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;
export const addrSchema = z.string().refine(
  (s) => {
    const m = ADDR_RE.exec(s);
    if (!m) return false;
    const port = Number(m[2]);
    return port >= 1 && port <= 65535;
  },
  { message: 'must be host:port with a port in 1..65535, e.g. "127.0.0.1:7001"' },
);

/** Node ids appear in log lines, metrics labels and file names, so keep them plain. */
export const nodeIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be 1–64 characters of letters, digits, "_" or "-", e.g. "n1"' });

export const memberSchema = z.strictObject({
  id: nodeIdSchema,
  /** A witness votes in elections but holds no data and serves no clients. */
  kind: z.enum(['data', 'witness']).default('data'),
  peerAddr: addrSchema,
  redisAddr: addrSchema.optional(),
  sentinelAddr: addrSchema.optional(),
  adminAddr: addrSchema.optional(),
});

/** The protocol's timings come from the core's one table (src/core/config.ts); the rest are the host's. */
export const TIMING_DEFAULTS = {
  ...DEFAULT_TIMING,
  connectTimeoutMs: 1000,
} as const;

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

export const timingSchema = z.strictObject({
  /** How often the primary sends heartbeats (and piggybacked ClearNotices). */
  heartbeatIntervalMs: ms(5, 10_000).default(TIMING_DEFAULTS.heartbeatIntervalMs),
  /** Silence after which a secondary stands for election. */
  electionTimeoutMs: ms(20, 60_000).default(TIMING_DEFAULTS.electionTimeoutMs),
  /** Extra random delay, up to this, per election round, so that candidates rarely split votes. */
  electionJitterMs: ms(0, 60_000).default(TIMING_DEFAULTS.electionJitterMs),
  /** The primary's read lease is electionTimeoutMs minus this margin (clock-drift allowance). */
  leaseMarginMs: ms(1, 60_000).default(TIMING_DEFAULTS.leaseMarginMs),
  /** A secondary in dest silent for this long is left out of later updates' dest (while a majority remains). */
  ackTimeoutMs: ms(10, 600_000).default(TIMING_DEFAULTS.ackTimeoutMs),
  /** How long a new primary waits for every member's log position before FailoverSync goes ahead with a majority. */
  syncWaitMs: ms(1, 60_000).default(TIMING_DEFAULTS.syncWaitMs),
  /** With no progress on a secondary for this long, the primary resends from its last acknowledged lsn. */
  resendAfterMs: ms(5, 600_000).default(TIMING_DEFAULTS.resendAfterMs),
  /** A client request not answered by then fails with -TIMEOUT (its outcome is unknown). */
  requestTimeoutMs: ms(10, 600_000).default(TIMING_DEFAULTS.requestTimeoutMs),
  /** Peer TCP connect attempts give up (and retry later) after this long. */
  connectTimeoutMs: ms(10, 600_000).default(TIMING_DEFAULTS.connectTimeoutMs),
});

const MiB = 1024 * 1024;
/** The protocol's limits come from the core's one table (src/core/config.ts); the rest are the host's. */
export const LIMITS_DEFAULTS = {
  maxClients: 10_000,
  maxValueBytes: DEFAULT_LIMITS.maxValueBytes,
  maxArgs: 1024 * 1024,
  maxInlineBytes: 64 * 1024,
  maxQueryBufferBytes: 256 * MiB,
  maxQueuedCommands: 10_000,
  maxFrameBytes: 64 * MiB,
  maxRetainedLogBytes: DEFAULT_LIMITS.maxRetainedBytes,
  maxRetainedUpdates: DEFAULT_LIMITS.maxRetainedUpdates,
  maxInFlightPerSecondary: DEFAULT_LIMITS.maxInFlightPerSecondary,
  maxUpdatesPerAppend: DEFAULT_LIMITS.maxUpdatesPerAppend,
  maxQueuedRequests: DEFAULT_LIMITS.maxQueuedRequests,
  regionChunkEntries: DEFAULT_LIMITS.regionChunkEntries,
  maxUpdateBytes: DEFAULT_LIMITS.maxUpdateBytes,
} as const;

export const limitsSchema = z.strictObject({
  /** Concurrent client connections per node (Redis: maxclients). */
  maxClients: z.number().int().min(1).max(1_000_000).default(LIMITS_DEFAULTS.maxClients),
  /** Largest bulk string a client may send (Redis: proto-max-bulk-len); an update holding it must fit one log record. */
  maxValueBytes: z.number().int().min(1024).max(16 * MiB).default(LIMITS_DEFAULTS.maxValueBytes),
  /** Most arguments in one command (array elements). */
  maxArgs: z.number().int().min(16).max(16 * MiB).default(LIMITS_DEFAULTS.maxArgs),
  /** Longest inline command line (Redis: 64 KiB). */
  maxInlineBytes: z.number().int().min(256).max(16 * MiB).default(LIMITS_DEFAULTS.maxInlineBytes),
  /** Bytes of one client's command not yet complete (Redis: client-query-buffer-limit); over it the client is disconnected. */
  maxQueryBufferBytes: z.number().int().min(MiB).max(4096 * MiB).default(LIMITS_DEFAULTS.maxQueryBufferBytes),
  /** Commands queued in one MULTI before EXEC. */
  maxQueuedCommands: z.number().int().min(1).max(1_000_000).default(LIMITS_DEFAULTS.maxQueuedCommands),
  /** Largest peer-to-peer frame (one update or a batch of them). */
  maxFrameBytes: z.number().int().min(64 * 1024).max(1024 * MiB).default(LIMITS_DEFAULTS.maxFrameBytes),
  /** Log bytes kept for a lagging secondary before it is marked for a region resync instead. */
  maxRetainedLogBytes: z.number().int().min(MiB).max(Number.MAX_SAFE_INTEGER).default(LIMITS_DEFAULTS.maxRetainedLogBytes),
  /** Updates kept for a lagging secondary before it is marked for a region resync instead. */
  maxRetainedUpdates: z.number().int().min(1000).max(Number.MAX_SAFE_INTEGER).default(LIMITS_DEFAULTS.maxRetainedUpdates),
  /** Updates sent to one secondary and not yet acknowledged (the pipelining window). */
  maxInFlightPerSecondary: z.number().int().min(1).max(1_000_000).default(LIMITS_DEFAULTS.maxInFlightPerSecondary),
  /** Updates packed into one append message. */
  maxUpdatesPerAppend: z.number().int().min(1).max(100_000).default(LIMITS_DEFAULTS.maxUpdatesPerAppend),
  /** Client requests waiting at the primary (not yet in an update) before new ones are refused. */
  maxQueuedRequests: z.number().int().min(1).max(10_000_000).default(LIMITS_DEFAULTS.maxQueuedRequests),
  /** Entries per chunk of a region resync. */
  regionChunkEntries: z.number().int().min(1).max(1_000_000).default(LIMITS_DEFAULTS.regionChunkEntries),
  /** Client writes arriving together are gathered into one update up to this many bytes; 1 = one update per write. */
  maxUpdateBytes: z.number().int().min(1).max(8 * MiB).default(LIMITS_DEFAULTS.maxUpdateBytes),
});

export const DIAGNOSTICS_DEFAULTS = {
  slowlogLogSlowerThanUs: 10_000,
  slowlogMaxLen: 128,
  latencyMonitorThresholdMs: 0,
} as const;

/** SLOWLOG and LATENCY settings of a node's Redis port (Redis's slowlog-log-slower-than, slowlog-max-len, latency-monitor-threshold). */
export const diagnosticsSchema = z.strictObject({
  /** A command at least this slow (µs) goes into SLOWLOG; -1 turns the log off, 0 logs every command. */
  slowlogLogSlowerThanUs: z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).default(DIAGNOSTICS_DEFAULTS.slowlogLogSlowerThanUs),
  /** SLOWLOG entries kept (the oldest go first). */
  slowlogMaxLen: z.number().int().min(0).max(1_000_000).default(DIAGNOSTICS_DEFAULTS.slowlogMaxLen),
  /** A command at least this slow (ms) is a LATENCY event; 0 turns the monitor off. */
  latencyMonitorThresholdMs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(DIAGNOSTICS_DEFAULTS.latencyMonitorThresholdMs),
});

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const configSchema = z.strictObject({
  /** This node's id; must be one of members. */
  nodeId: nodeIdSchema,
  /** Holds log/, storage/ and the hard-state file (see docs/configuration.md). */
  dataDir: z.string().min(1, { message: 'must be a non-empty path' }),
  members: z.array(memberSchema).min(1, { message: 'must list at least one member' }).max(64),
  /** Shared secret every peer proves on connect; keep it out of the config file in production (UNDERSTUDY_CLUSTER_SECRET). */
  clusterSecret: z.string().min(16, { message: 'must be at least 16 characters (generate one: openssl rand -hex 16)' }),
  /** Peers refuse connections from another cluster's nodes. */
  clusterName: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'must be 1–64 characters of letters, digits, ".", "_" or "-"' }).default('understudy'),
  /** The name Sentinel-aware clients ask for (SENTINEL get-master-addr-by-name <masterName>). */
  masterName: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'must be 1–64 characters of letters, digits, ".", "_" or "-"' }).default('understudy'),
  /**
   * Address every port of this node binds (e.g. "0.0.0.0" in a container), instead of the host of
   * its own member addresses. The member addresses stay what the other nodes and clients are told
   * (a DNS name, a service address); only the ports are taken from them. Unset = bind the host of
   * each member address.
   */
  listenHost: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.:_-]{1,253})$/, { message: 'must be an address or host name to bind, e.g. "0.0.0.0" or "[::]"' }).optional(),
  storage: z.enum(['lmdb', 'memory']).default('lmdb'),
  timing: timingSchema.default(TIMING_DEFAULTS),
  limits: limitsSchema.default(LIMITS_DEFAULTS),
  diagnostics: diagnosticsSchema.default(DIAGNOSTICS_DEFAULTS),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  /** Clients must AUTH with this password (Redis: requirepass). Unset = no auth. */
  requirePass: z.string().min(1).optional(),
  /** Bearer token for the admin API's guarded routes (switchover, /cluster internals). Unset = open admin API. */
  adminToken: z.string().min(16, { message: 'must be at least 16 characters (generate one: openssl rand -hex 16)' }).optional(),
  /** Demo mode: the admin API also offers the dashboard's demo actions. */
  demo: z.boolean().default(false),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type MemberConfig = z.infer<typeof memberSchema>;
export type TimingConfig = z.infer<typeof timingSchema>;
export type LimitsConfig = z.infer<typeof limitsSchema>;
