// INFO and ROLE in Redis's shapes, computed from the node's status. Clients
// depend on these exact fields: ioredis's ready check reads `role:` and
// `loading:`, Sentinel-aware clients and tools read the replication section.
import { arr, bulk, int, type Reply } from '../core/reply.ts';
import type { MemberInfo, NodeHandle, NodeStatus } from '../runtime/node-api.ts';
import type { CommandStats } from './command-stats.ts';

/**
 * The Redis version we answer as: clients enable features by it. Semantics and error texts follow
 * Redis 7.0 (checked byte for byte against redis-server 7.0 in test/server/redis-differential.test.ts);
 * CLIENT SETINFO from 7.2 is accepted too, since current clients send it.
 */
export const REDIS_COMPAT_VERSION = '7.0.15';
export const UNDERSTUDY_VERSION = '0.1.0';

export function splitAddr(addr: string | undefined): { host: string; port: number } | null {
  if (addr === undefined) return null;
  const i = addr.lastIndexOf(':');
  if (i <= 0) return null;
  const host = addr.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(addr.slice(i + 1));
  return Number.isInteger(port) ? { host, port } : null;
}

export function memberById(node: Pick<NodeHandle, 'members'>, id: string | null): MemberInfo | undefined {
  return id === null ? undefined : node.members.find((m) => m.id === id);
}

export interface InfoContext {
  readonly node: NodeHandle;
  readonly mode: 'data' | 'sentinel';
  readonly runId: string;
  readonly port: number;
  readonly startedAtMs: number;
  readonly connectedClients: number;
  readonly maxClients: number;
  readonly blockedClients: number;
  readonly connectionsReceived: number;
  readonly rejectedConnections: number;
  readonly commandsProcessed: number;
  /** Per-command and per-error counters (absent on servers that keep none). */
  readonly commandStats?: CommandStats;
  /** This port's pub/sub and tracking figures (INFO clients and stats). */
  readonly pubsub?: { readonly channels: number; readonly patterns: number; readonly shardChannels: number };
  readonly tracking?: { readonly clients: number; readonly keys: number; readonly items: number; readonly prefixes: number };
  /** Extra sections (the sentinel section on the sentinel port). */
  readonly extra?: Readonly<Record<string, () => string[]>>;
}

/** Redis 7.0's sections, in the order INFO prints them (genRedisInfoString); "modules" is asked for as module_list too. */
const SECTION_ORDER = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'commandstats', 'errorstats', 'latencystats', 'cluster', 'keyspace'];
/** What INFO and INFO default print (genInfoSectionDict's default_sections). */
const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'errorstats', 'cluster', 'keyspace'];

/** Redis's "%ld.%06ld" of a CPU time given in microseconds. */
function cpuSeconds(us: number): string {
  return `${Math.floor(us / 1e6)}.${String(Math.floor(us % 1e6)).padStart(6, '0')}`;
}

/** Redis's bytesToHuman. */
function humanBytes(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n}B` : `${v.toFixed(2)}${units[i]}`;
}

function isPrimaryLike(status: NodeStatus): boolean {
  return status.role === 'primary';
}

/** The INFO text for the requested sections (default, "all" and "everything" as in Redis). */
export function infoText(ctx: InfoContext, requested: readonly string[]): string {
  const lower = requested.map((s) => s.toLowerCase());
  const all = lower.includes('all') || lower.includes('everything');
  const wanted = new Set<string>();
  if (lower.length === 0) for (const n of DEFAULT_SECTIONS) wanted.add(n);
  for (const n of lower) {
    if (n === 'default') for (const d of DEFAULT_SECTIONS) wanted.add(d);
    else wanted.add(n === 'module_list' ? 'modules' : n);
  }
  const status = ctx.node.status(all || wanted.has('keyspace') ? { keyspace: true } : {});
  const sections: Record<string, () => string[]> = {
    server: () => {
      const upS = Math.floor((Date.now() - ctx.startedAtMs) / 1000);
      return [
        `redis_version:${REDIS_COMPAT_VERSION}`,
        `understudy_version:${UNDERSTUDY_VERSION}`,
        `redis_mode:${ctx.mode === 'sentinel' ? 'sentinel' : 'standalone'}`,
        `os:${process.platform} ${process.arch}`,
        'arch_bits:64',
        `process_id:${process.pid}`,
        `run_id:${ctx.runId}`,
        `tcp_port:${ctx.port}`,
        `uptime_in_seconds:${upS}`,
        `uptime_in_days:${Math.floor(upS / 86400)}`,
        `node_id:${status.id}`,
        `epoch:${status.epoch}`,
      ];
    },
    clients: () => [
      `connected_clients:${ctx.connectedClients}`,
      `maxclients:${ctx.maxClients}`,
      `blocked_clients:${ctx.blockedClients}`,
      `tracking_clients:${ctx.tracking?.clients ?? 0}`,
    ],
    persistence: () => [
      // Every write is in the update log before it is acknowledged, so the data set is never "loading".
      'loading:0',
      'async_loading:0',
      'rdb_changes_since_last_save:0',
      'rdb_bgsave_in_progress:0',
      'aof_enabled:1',
      'aof_rewrite_in_progress:0',
      `log_start_lsn:${status.log.start}`,
      `log_applied_lsn:${status.log.appliedLsn}`,
      `log_commit_lsn:${status.log.commitLsn}`,
      `log_last_lsn:${status.log.lastLsn}`,
      `log_durable_lsn:${status.log.durableLsn}`,
      `log_bytes:${status.log.bytes}`,
      `log_segments:${status.log.segments}`,
    ],
    memory: () => {
      const m = process.memoryUsage();
      return [
        `used_memory:${m.heapUsed + m.external}`,
        `used_memory_human:${humanBytes(m.heapUsed + m.external)}`,
        `used_memory_rss:${m.rss}`,
        `used_memory_rss_human:${humanBytes(m.rss)}`,
        'maxmemory:0',
        'maxmemory_human:0B',
        'maxmemory_policy:noeviction',
      ];
    },
    stats: () => [
      `total_connections_received:${ctx.connectionsReceived}`,
      `total_commands_processed:${ctx.commandsProcessed}`,
      `rejected_connections:${ctx.rejectedConnections}`,
      `pubsub_channels:${ctx.pubsub?.channels ?? 0}`,
      `pubsub_patterns:${ctx.pubsub?.patterns ?? 0}`,
      `pubsubshard_channels:${ctx.pubsub?.shardChannels ?? 0}`,
      `tracking_total_keys:${ctx.tracking?.keys ?? 0}`,
      `tracking_total_items:${ctx.tracking?.items ?? 0}`,
      `tracking_total_prefixes:${ctx.tracking?.prefixes ?? 0}`,
      `total_error_replies:${ctx.commandStats?.totalErrorReplies ?? 0}`,
    ],
    replication: () => replicationLines(ctx.node, status),
    cpu: () => {
      // Node reports no children's time separately from its own: the children lines stay 0, as for a Redis that forked none.
      const u = process.resourceUsage();
      return [`used_cpu_sys:${cpuSeconds(u.systemCPUTime)}`, `used_cpu_user:${cpuSeconds(u.userCPUTime)}`, 'used_cpu_sys_children:0.000000', 'used_cpu_user_children:0.000000'];
    },
    modules: () => [],
    commandstats: () => ctx.commandStats?.commandLines() ?? [],
    errorstats: () => ctx.commandStats?.errorLines() ?? [],
    // No per-command latency histograms are kept (latency-tracking is off): Redis then prints the header alone.
    latencystats: () => [],
    cluster: () => ['cluster_enabled:0'],
    keyspace: () => {
      const ks = status.keyspace;
      const expires = ks?.expires ?? 0;
      return status.keys > 0 || expires > 0 ? [`db0:keys=${status.keys},expires=${expires},avg_ttl=${ks?.avgTtlMs ?? 0}`] : [];
    },
  };
  const extra = ctx.extra ?? {};
  const parts: string[] = [];
  const title = (name: string): string => (name === 'cpu' ? 'CPU' : name[0]!.toUpperCase() + name.slice(1));
  for (const name of SECTION_ORDER) {
    if (!all && !wanted.has(name)) continue;
    parts.push([`# ${title(name)}`, ...sections[name]!()].join('\r\n'));
  }
  // Sections of this server's own (the sentinel section): with their name, default, all or everything.
  for (const [name, fn] of Object.entries(extra)) {
    if (all || wanted.has(name) || lower.length === 0 || lower.includes('default')) parts.push([`# ${title(name)}`, ...fn()].join('\r\n'));
  }
  return parts.join('\r\n\r\n') + (parts.length ? '\r\n' : '');
}

/** The replication section: role, the primary's address on a secondary, the secondaries on a primary. */
export function replicationLines(node: NodeHandle, status: NodeStatus): string[] {
  if (isPrimaryLike(status)) {
    const online = status.secondaries.filter((s) => s.connection === 'connected');
    const lines = ['role:master', `connected_slaves:${online.length}`];
    online.forEach((s, i) => {
      const a = splitAddr(memberById(node, s.id)?.redisAddr);
      lines.push(
        `slave${i}:ip=${a?.host ?? '?'},port=${a?.port ?? 0},state=online,offset=${s.ackedLsn},lag=${Math.floor(s.lagMs / 1000)}`,
      );
    });
    lines.push('master_failover_state:no-failover', `master_repl_offset:${status.log.lastLsn}`, `understudy_epoch:${status.epoch}`);
    return lines;
  }
  const primary = splitAddr(memberById(node, status.primaryId)?.redisAddr);
  return [
    'role:slave',
    `master_host:${primary?.host ?? ''}`,
    `master_port:${primary?.port ?? 0}`,
    `master_link_status:${status.primaryId !== null && status.role === 'secondary' ? 'up' : 'down'}`,
    'master_sync_in_progress:0',
    `slave_repl_offset:${status.log.lastLsn}`,
    'slave_read_only:1',
    'connected_slaves:0',
    `master_repl_offset:${status.log.lastLsn}`,
    `understudy_role:${status.role}`,
    `understudy_epoch:${status.epoch}`,
  ];
}

/** ROLE: ["master", offset, [[ip, port, offset]…]] or ["slave", ip, port, state, offset]. */
export function roleReply(node: NodeHandle): Reply {
  const status = node.status();
  if (isPrimaryLike(status)) {
    const replicas = status.secondaries
      .filter((s) => s.connection === 'connected')
      .map((s) => {
        const a = splitAddr(memberById(node, s.id)?.redisAddr);
        return arr([bulk(a?.host ?? '?'), bulk(String(a?.port ?? 0)), bulk(String(s.ackedLsn))]);
      });
    return arr([bulk('master'), int(status.log.lastLsn), arr(replicas)]);
  }
  const primary = splitAddr(memberById(node, status.primaryId)?.redisAddr);
  const linked = status.primaryId !== null && status.role === 'secondary';
  return arr([
    bulk('slave'),
    bulk(primary?.host ?? ''),
    int(primary?.port ?? 0),
    bulk(linked ? 'connected' : 'connect'),
    int(status.log.lastLsn),
  ]);
}
