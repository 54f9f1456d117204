// The node configuration: one zod schema that is both the validator and the
// source of the defaults documented in docs/configuration.md. Every object is
// strict, so an unknown (typo'd) key is an error rather than a silent no-op.
import { z } from 'zod';

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

export const TIMING_DEFAULTS = {
  heartbeatIntervalMs: 50,
  electionTimeoutMs: 300,
  leaseMarginMs: 50,
  ackTimeoutMs: 1000,
  writeTimeoutMs: 5000,
  connectTimeoutMs: 1000,
} as const;

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

export const timingSchema = z.strictObject({
  /** How often the primary sends heartbeats (and piggybacked ClearNotices). */
  heartbeatIntervalMs: ms(5, 10_000).default(TIMING_DEFAULTS.heartbeatIntervalMs),
  /** Silence after which a secondary starts an election (randomised up to 2× this). */
  electionTimeoutMs: ms(20, 60_000).default(TIMING_DEFAULTS.electionTimeoutMs),
  /** The primary's read lease is electionTimeoutMs minus this margin (clock-drift allowance). */
  leaseMarginMs: ms(1, 60_000).default(TIMING_DEFAULTS.leaseMarginMs),
  /** A secondary silent for this long is left out of later updates' dest. */
  ackTimeoutMs: ms(10, 600_000).default(TIMING_DEFAULTS.ackTimeoutMs),
  /** A client write not committed by then fails with -TIMEOUT (outcome unknown). */
  writeTimeoutMs: ms(10, 600_000).default(TIMING_DEFAULTS.writeTimeoutMs),
  /** Peer TCP connect attempts give up (and retry later) after this long. */
  connectTimeoutMs: ms(10, 600_000).default(TIMING_DEFAULTS.connectTimeoutMs),
});

const MiB = 1024 * 1024;
export const LIMITS_DEFAULTS = {
  maxClients: 10_000,
  maxValueBytes: 8 * MiB,
  maxArgs: 1024 * 1024,
  maxInlineBytes: 64 * 1024,
  maxFrameBytes: 64 * MiB,
  maxRetainedLogBytes: 1024 * MiB,
  maxQueuedCommands: 10_000,
  maxQueryBufferBytes: 256 * MiB,
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
  /** Largest peer-to-peer frame (one update or a batch of them). */
  maxFrameBytes: z.number().int().min(64 * 1024).max(1024 * MiB).default(LIMITS_DEFAULTS.maxFrameBytes),
  /** Log kept for a lagging secondary before it is marked for a region resync instead. */
  maxRetainedLogBytes: z.number().int().min(MiB).max(Number.MAX_SAFE_INTEGER).default(LIMITS_DEFAULTS.maxRetainedLogBytes),
  /** Commands queued in one MULTI before EXEC. */
  maxQueuedCommands: z.number().int().min(1).max(1_000_000).default(LIMITS_DEFAULTS.maxQueuedCommands),
  /** Bytes of one client's command not yet complete (Redis: client-query-buffer-limit); over it the client is disconnected. */
  maxQueryBufferBytes: z.number().int().min(MiB).max(4096 * MiB).default(LIMITS_DEFAULTS.maxQueryBufferBytes),
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
  storage: z.enum(['lmdb', 'memory']).default('lmdb'),
  timing: timingSchema.default(TIMING_DEFAULTS),
  limits: limitsSchema.default(LIMITS_DEFAULTS),
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
