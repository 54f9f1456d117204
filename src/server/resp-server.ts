// The Redis-protocol TCP server of one node, over a NodeHandle. It owns the
// listener, the client registry (maxclients, CLIENT LIST/KILL), WATCH
// bookkeeping, and the reaction to demotion: when the node stops being the
// primary every client connection is closed, so that Sentinel-aware clients
// ask again where the primary is.
//
// The same server runs in 'sentinel' mode on the sentinel port (see
// src/server/sentinel.ts): there only discovery, pub/sub and connection
// commands are served.
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Epoch, Update } from '../core/types.ts';
import { publishKeyEvents } from './keyspace-events.ts';
import { TrackingTable } from './tracking.ts';
import type { NodeHandle, Role } from '../runtime/node-api.ts';
import { CommandTable, type CommandSpec } from './resp-command-table.ts';
import { DATA_COMMANDS } from './resp-data-commands.ts';
import { CommandStats } from './command-stats.ts';
import { connectionHandlers, type HandlerHost } from './resp-commands.ts';
import { BlockingRegistry } from './blocking.ts';
import type { Clock } from '../ports/clock.ts';
import { performance } from 'node:perf_hooks';
import { Connection, type Handler, type ServerContext } from './resp-connection.ts';
import type { InfoContext } from './resp-info.ts';
import { RESP_LIMITS_DEFAULTS, type RespLimits } from './resp-limits.ts';
import { PubSubRegistry } from './pubsub.ts';
import type { ConfigOptions, ServerSettings } from './config-command.ts';
import { ClientPause } from './client-pause.ts';
import { Diagnostics, type DiagnosticsSettings } from './diagnostics.ts';

export interface RespServerOptions {
  readonly node: NodeHandle;
  /** Listen address; default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** 'data' (the node's Redis port) or 'sentinel' (discovery only). Default 'data'. */
  readonly mode?: 'data' | 'sentinel';
  /** Clients must AUTH with this (Redis: requirepass). */
  readonly requirePass?: string;
  readonly limits?: Partial<RespLimits>;
  /** The data commands of the executor (for COMMAND, MULTI's queue-time checks and WATCH); default: src/core/kv's table. */
  readonly dataCommands?: readonly CommandSpec[];
  /** Extra connection-level handlers: the SENTINEL command and pub/sub (src/server/sentinel.ts). */
  readonly extraHandlers?: ReadonlyMap<string, Handler>;
  /** Extra INFO sections (name → lines). */
  readonly infoSections?: Readonly<Record<string, () => string[]>>;
  /** CONFIG GET values beyond the built-in ones (Redis parameter names, read-only). */
  readonly configParams?: Readonly<Record<string, string>>;
  /** Close every client when the node stops being primary. Default: true in data mode. */
  readonly closeClientsOnDemotion?: boolean;
  /** SLOWLOG and LATENCY thresholds (Redis's defaults when left out). */
  readonly diagnostics?: Partial<DiagnosticsSettings>;
  readonly logger?: Logger;
}

/** Redis's maxclients refusal, sent before closing a connection over the limit. */
/** How often clients idle past CONFIG SET timeout are looked for. */
export const IDLE_CHECK_INTERVAL_MS = 1000;

export const MAX_CLIENTS_ERROR = '-ERR max number of clients reached\r\n';

export class RespServer {
  readonly mode: 'data' | 'sentinel';
  readonly node: NodeHandle;
  readonly limits: RespLimits;
  readonly runId = randomBytes(20).toString('hex');
  readonly startedAtMs = Date.now();
  /** Subscriptions of this port's clients: on the data port fed by PUBLISH at any node of the cluster. */
  readonly pubsub: PubSubRegistry;
  /** CLIENT TRACKING: who read what, invalidated as updates are applied here. */
  readonly tracking: TrackingTable;
  private readonly server: Server;
  private readonly conns = new Set<Connection>();
  /** key (latin1) → connections WATCHing it. */
  private readonly watchers = new Map<string, Set<Connection>>();
  private readonly stats = { commandsProcessed: 0, connectionsReceived: 0, rejectedConnections: 0 };
  private readonly ctx: ServerContext;
  private readonly blocking: BlockingRegistry | undefined;
  /** MONITOR, SLOWLOG, LATENCY and key access times of this server's clients. */
  readonly diagnostics: Diagnostics;
  private readonly pause = new ClientPause();
  /** INFO commandstats / errorstats (this server's commands only). */
  readonly commandStats = new CommandStats();
  private readonly onRole: (role: Role, epoch: Epoch) => void;
  private readonly onPeerPublish: (shard: boolean, channel: Buffer, message: Buffer) => void;
  private readonly onApplied: (u: Update) => void;
  private readonly onReplaced: () => void;
  private listeningPort = 0;
  /** What CONFIG SET changes at run time (until the node restarts). */
  readonly settings: ServerSettings;
  private readonly idleTimer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: RespServerOptions) {
    this.mode = opts.mode ?? 'data';
    this.node = opts.node;
    this.limits = { ...RESP_LIMITS_DEFAULTS, ...opts.limits };
    this.settings = { notifyKeyspaceEvents: 0, timeoutSec: 0, maxClients: this.limits.maxClients };
    // Redis checks idle clients from its cron; once a second is its granularity too (timeout is in seconds).
    this.idleTimer = setInterval(() => this.closeIdleClients(), IDLE_CHECK_INTERVAL_MS);
    this.idleTimer.unref();
    const dataCommands = opts.dataCommands ?? DATA_COMMANDS;
    const table = new CommandTable(dataCommands);
    const dbsizeOnNode = dataCommands.some((s) => s.name === 'dbsize');
    this.blocking = this.mode === 'data' ? new BlockingRegistry(opts.node, SERVER_CLOCK) : undefined;
    const blocking = this.blocking;
    this.diagnostics = new Diagnostics(table, opts.diagnostics, () => opts.node.role() === 'primary');
    this.tracking = new TrackingTable((id) => {
      for (const c of this.conns) if (c.id === id) return c;
      return undefined;
    });
    const host: HandlerHost = {
      ...(blocking ? { blocking } : {}),
      tracking: this.tracking,
      mode: this.mode,
      node: opts.node,
      requirePass: opts.requirePass,
      table,
      dbsizeOnNode,
      clients: () => this.conns,
      infoContext: () => this.infoContext(),
      configOptions: () => this.configOptions(),
      pause: (mode, endMs) => this.pause.pause(mode, endMs),
      unpause: () => this.pause.unpause(),
    };
    const handlers = connectionHandlers(host);
    for (const [name, h] of this.diagnostics.handlers()) handlers.set(name, h);
    if (this.mode === 'sentinel') {
      // A Sentinel answers only discovery, pub/sub and connection housekeeping.
      for (const name of [...handlers.keys()])
        if (!['ping', 'info', 'role', 'client', 'hello', 'auth', 'command', 'quit', 'reset', 'echo'].includes(name)) handlers.delete(name);
    }
    // The data port's PUBLISH reaches every node (the node's peer channel); the sentinel port only
    // carries what the Sentinel emulation publishes (+switch-master).
    const relay = this.mode === 'data' && opts.node.relayPublish ? opts.node.relayPublish.bind(opts.node) : undefined;
    this.pubsub = new PubSubRegistry(relay);
    for (const [name, h] of this.pubsub.handlers({ publish: this.mode === 'data' })) handlers.set(name, h);
    this.onPeerPublish = (shard, channel, message) => void this.pubsub.deliver(shard, channel, message);
    // Keyspace notifications are published by the node that applies the change, to its own subscribers.
    this.onApplied = (u) => {
      publishKeyEvents(this.pubsub, this.settings.notifyKeyspaceEvents, u);
      this.tracking.applied(u);
    };
    this.onReplaced = () => this.tracking.flushAll();
    if (this.mode === 'data') {
      opts.node.on('publish', this.onPeerPublish);
      opts.node.on('applied', this.onApplied);
      opts.node.on('replaced', this.onReplaced);
    }
    for (const [name, h] of opts.extraHandlers ?? []) handlers.set(name, h);
    const self = this;
    this.ctx = {
      mode: this.mode,
      node: opts.node,
      limits: this.limits,
      requirePass: opts.requirePass,
      table,
      handlers,
      stats: this.stats,
      commandStats: this.commandStats,
      touchKeys: (keys) => this.touchKeys(keys),
      hasWatchers: () => this.watchers.size > 0,
      watchKey: (conn, key) => this.watchKey(conn, key),
      unwatchAll: (conn) => this.unwatchAll(conn),
      removeConnection: (conn) => {
        self.conns.delete(conn);
        blocking?.drop(conn);
        self.diagnostics.monitors.remove(conn);
      },
      dropSubscriptions: (conn) => {
        self.pubsub.dropAll(conn);
        self.tracking.forget(conn);
      },
      trackReads: (conn, cmds) => self.tracking.remember(conn, cmds),
      ...(blocking ? { blocking } : {}),
      pause: this.pause,
      started: (conn, argv) => this.diagnostics.started(conn, argv),
      ran: (conn, argv, durationUs) => this.diagnostics.ran(conn, argv, durationUs),
      accessed: (conn, cmds) => this.diagnostics.access.accessed(cmds, conn.noTouch),
      forNode: (cmds) => this.diagnostics.access.forNode(cmds),
    };
    this.server = createServer((socket) => this.accept(socket));
    this.server.maxConnections = hardConnectionLimit(this.limits.maxClients);
    let wasPrimary = opts.node.role() === 'primary';
    this.onRole = (role) => {
      // Only a demotion closes connections: Sentinel-aware clients must then ask where the primary is.
      if (wasPrimary && role !== 'primary') this.closeAllClients(`node is now ${role}`);
      wasPrimary = role === 'primary';
    };
    if (opts.closeClientsOnDemotion ?? this.mode === 'data') opts.node.on('role', this.onRole);
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => {
        this.server.off('error', onError);
        const a = this.server.address() as AddressInfo;
        this.listeningPort = a.port;
        this.opts.logger?.info({ port: a.port, mode: this.mode }, 'RESP server listening');
        resolve(a);
      });
    });
  }

  get port(): number {
    return this.listeningPort;
  }

  get clientCount(): number {
    return this.conns.size;
  }

  /** Every open client connection (for the sentinel's pub/sub and for tests). */
  connections(): Iterable<Connection> {
    return this.conns;
  }

  /** Drops every client connection now (demotion, shutdown). */
  closeAllClients(reason: string): void {
    if (this.conns.size) this.opts.logger?.info({ clients: this.conns.size, reason }, 'closing client connections');
    for (const c of [...this.conns]) c.destroy();
  }

  /** Stops accepting, closes every client, and resolves once the listener is closed. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    clearInterval(this.idleTimer);
    this.node.off('role', this.onRole);
    this.node.off('publish', this.onPeerPublish);
    this.pause.stop();
    this.node.off('applied', this.onApplied);
    this.node.off('replaced', this.onReplaced);
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.closeAllClients('server closing');
    });
  }

  private accept(socket: Socket): void {
    this.stats.connectionsReceived++;
    if (this.closed || this.conns.size >= this.settings.maxClients) {
      // Redis's exact text, so clients report it as they would for Redis; the limit is limits.maxClients.
      this.stats.rejectedConnections++;
      this.opts.logger?.warn({ maxClients: this.settings.maxClients }, 'client refused: limits.maxClients (CONFIG SET maxclients) reached');
      socket.on('error', () => socket.destroy());
      // Write the refusal, then close at once: an unread socket would never see the peer's FIN.
      socket.end(MAX_CLIENTS_ERROR, () => socket.destroy());
      return;
    }
    const conn = new Connection(socket, this.ctx);
    this.conns.add(conn);
  }

  private touchKeys(keys: readonly Buffer[] | 'all'): void {
    if (this.watchers.size === 0) return;
    if (keys === 'all') {
      for (const set of this.watchers.values()) for (const c of set) c.watchDirty = true;
      return;
    }
    for (const k of keys) {
      const set = this.watchers.get(k.toString('latin1'));
      if (set) for (const c of set) c.watchDirty = true;
    }
  }

  private watchKey(conn: Connection, key: string): void {
    if (conn.watched.has(key)) return;
    conn.watched.add(key);
    let set = this.watchers.get(key);
    if (!set) this.watchers.set(key, (set = new Set()));
    set.add(conn);
  }

  private unwatchAll(conn: Connection): void {
    for (const key of conn.watched) {
      const set = this.watchers.get(key);
      set?.delete(conn);
      if (set?.size === 0) this.watchers.delete(key);
    }
    conn.watched.clear();
    conn.watchDirty = false;
  }

  private infoContext(): InfoContext {
    return {
      node: this.node,
      mode: this.mode,
      runId: this.runId,
      port: this.listeningPort,
      startedAtMs: this.startedAtMs,
      connectedClients: this.conns.size,
      maxClients: this.settings.maxClients,
      blockedClients: this.blocking?.size ?? 0,
      connectionsReceived: this.stats.connectionsReceived,
      rejectedConnections: this.stats.rejectedConnections,
      commandsProcessed: this.stats.commandsProcessed,
      commandStats: this.commandStats,
      pubsub: this.pubsub.sizes,
      tracking: this.tracking.sizes,
      ...(this.opts.infoSections ? { extra: this.opts.infoSections } : {}),
    };
  }

  private configOptions(): ConfigOptions {
    return {
      settings: this.settings,
      port: () => this.listeningPort,
      bind: this.opts.host ?? '127.0.0.1',
      maxValueBytes: this.limits.maxValueBytes,
      ...(this.opts.configParams ? { extra: this.opts.configParams } : {}),
      more: this.diagnostics.configParams(),
      // The hard stop follows maxclients, well above the polite refusal.
      changed: () => (this.server.maxConnections = hardConnectionLimit(this.settings.maxClients)),
      resetStats: () => {
        this.stats.commandsProcessed = 0;
        this.stats.connectionsReceived = 0;
        this.stats.rejectedConnections = 0;
        this.commandStats.reset();
      },
    };
  }

  /** Redis's `timeout`: closes clients idle longer than it, except subscribers and those awaiting a reply. */
  private closeIdleClients(): void {
    const limitMs = this.settings.timeoutSec * 1000;
    if (limitMs === 0) return;
    const now = Date.now();
    for (const c of [...this.conns])
      if (now - c.lastActiveMs > limitMs && c.pendingReplies === 0 && !PubSubRegistry.subscribed(c)) c.destroy();
  }
}

/** Connections the listener takes at all: well above maxclients, so that the polite refusal is what clients see. */
function hardConnectionLimit(maxClients: number): number {
  return Math.max(maxClients + 64, 1024);
}

/** The blocking pops' time: wall milliseconds, as Redis dates their timeouts, and plain timers. */
const SERVER_CLOCK: Clock = {
  nowMs: () => performance.now(),
  wallMs: () => Date.now(),
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, delayMs);
    return { cancel: () => clearTimeout(t) };
  },
};

/** Creates a RESP server and waits until it listens. */
export async function startRespServer(opts: RespServerOptions): Promise<RespServer> {
  const s = new RespServer(opts);
  await s.listen();
  return s;
}
