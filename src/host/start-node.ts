// startNode(config): one real node. Opens the update log, the vote and the
// storage area under config.dataDir, connects to the peers over TCP, starts the
// protocol driver, and puts the Redis/Sentinel ports and the admin HTTP app in
// front of it — the same wiring as sim/sim-node.ts, with real ports.
//
// Data directory layout (docs/configuration.md): log/ (update log segments),
// hard-state (epoch and vote), storage/ (LMDB; absent with memory storage or
// on a witness).
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import type { Config } from '../config/schema.ts';
import { coreConfigOf } from '../config/core-config.ts';
import { isWriteCommand } from '../core/kv/command-table.ts';
import { HardStateFile } from '../log/hard-state.ts';
import { type RecoveryReport, UpdateLog } from '../log/update-log.ts';
import type { MemberInfo, NodeHandle } from '../runtime/node-api.ts';
import { RuntimeNode } from '../runtime/node.ts';
import { buildAdminApp, type AdminApp } from '../server/admin/app.ts';
import { createNodeLogger, type Logger } from '../server/logger.ts';
import { Metrics } from '../server/metrics.ts';
import { listenAddr, startClientServers, type ClientServers } from '../server/resp-node-servers.ts';
import { splitAddr } from '../server/resp-info.ts';
import { LmdbStorage } from '../storage/lmdb-storage.ts';
import { MemoryStorage } from '../storage/memory-storage.ts';
import type { StorageArea } from '../storage/storage-area.ts';
import { LuaEngine } from '../scripting/lua-engine.ts';
import { FsDisk } from './fs-disk.ts';
import { dataDirEmpty } from './init-data-dir.ts';
import { PeerTransport } from './peer-transport.ts';
import { createRealClock } from './real-clock.ts';

/** Demo mode's kill-primary answers the HTTP request before the process dies; this is the head start. */
export const DEMO_KILL_DELAY_MS = 100;
/** A kill-primary request forwarded to the primary's admin API gives up after this long. */
export const DEMO_FORWARD_TIMEOUT_MS = 2000;

export interface StartNodeOptions {
  /**
   * The node cannot go on (its log or storage failed). Default: log the error and exit the
   * process with code 1 — a node that cannot write its log must not linger and answer clients.
   */
  readonly onFatal?: (err: Error) => void;
  /** Install SIGTERM/SIGINT handlers that stop the node and exit (the CLI handles signals itself). */
  readonly handleSignals?: boolean;
  /**
   * Open the update log with its repair option (`understudy start --repair-log`): damage in the
   * middle ends the log just before it instead of refusing to start.
   */
  readonly repairLog?: boolean;
  /** Where log lines go; default stdout. */
  readonly logDestination?: import('pino').DestinationStream;
}

/** A stop that takes longer than this logs the step it is waiting for (a stop should take milliseconds). */
export const STOP_SLOW_MS = 2000;
/** How often the RESP connection gauge is sampled. */
const RESP_CONNECTIONS_SAMPLE_MS = 1000;

/** A running node: the handle to use it, where it listens, and how to stop it. */
export interface StartedNode {
  readonly node: RuntimeNode;
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Bound addresses (host:port); absent where the member has none. */
  readonly addresses: { readonly peer: string; readonly redis?: string; readonly sentinel?: string; readonly admin?: string };
  /** Orderly stop: peer transport, admin app, client servers, driver (log and storage closed). */
  stop(cb?: (err: Error | null) => void): Promise<void>;
}

function cb2p<T>(fn: (cb: (err: Error | null, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));
}

function memberInfos(config: Config): MemberInfo[] {
  return config.members.map((m) => ({
    id: m.id,
    kind: m.kind,
    peerAddr: m.peerAddr,
    ...(m.redisAddr !== undefined ? { redisAddr: m.redisAddr } : {}),
    ...(m.adminAddr !== undefined ? { adminAddr: m.adminAddr } : {}),
  }));
}


/**
 * A damaged tail cut off (or a repair) is worth a warning with its code: the node rejoins behind
 * what it may have acknowledged and fetches the rest from the primary.
 */
function logRecoveryCuts(logger: Logger, report: RecoveryReport): void {
  if (report.tornSegment !== null) {
    logger.warn(
      { code: 'LOG_TORN_TAIL', segment: report.tornSegment, offset: report.tornOffset, bytes: report.tornBytes, reason: report.tornReason, clearedCutTo: report.clearedCutTo },
      `LOG_TORN_TAIL: the damaged tail of log segment ${report.tornSegment} (${report.tornBytes} bytes at offset ${report.tornOffset}: ${report.tornReason}) was cut; ` +
        'what it held is fetched again from the primary',
    );
  }
  if (report.repaired !== null) {
    logger.warn(
      { code: 'LOG_CORRUPT_RECORD', repaired: report.repaired },
      `log repaired: ${report.repaired.segment} cut at offset ${report.repaired.offset} (${report.repaired.reason}); updates from lsn ${report.repaired.firstLsnDiscarded} on are fetched again from the primary`,
    );
  }
}

/** Starts one node from a validated configuration (see src/config). */
export async function startNode(config: Config, options: StartNodeOptions = {}): Promise<StartedNode> {
  const self = config.members.find((m) => m.id === config.nodeId);
  if (!self) throw new Error(`nodeId ${config.nodeId} is not one of members[].id`);
  const nl = createNodeLogger({ nodeId: config.nodeId, level: config.logLevel, ...(options.logDestination ? { destination: options.logDestination } : {}) });
  const logger = nl.logger;
  // redis.log lines: warning → warn, notice → info, verbose and debug → debug.
  const scriptLogger = logger.child({ component: 'script' });
  const metrics = new Metrics({ nodeId: config.nodeId });
  const disk = new FsDisk();
  const dir = config.dataDir;

  // storage: memory — the storage area does not outlive the process, and the log alone cannot
  // bring it back (its records are cleared once applied everywhere, claim 4). So a restarted
  // node starts as one whose disk was replaced: its old log is dropped and it is refilled from
  // the others (src/core/disk-loss.ts); when every node restarts, the cluster starts empty, as
  // Redis does without persistence. Its vote (the hard state) is kept, which only helps.
  const memoryRestart = self.kind === 'data' && config.storage === 'memory' && !dataDirEmpty(join(dir, 'log'));
  if (memoryRestart) await rm(join(dir, 'log'), { recursive: true, force: true });
  await cb2p<void>((cb) => disk.mkdirp(join(dir, 'log'), cb));
  const [log, report] = await new Promise<[UpdateLog, RecoveryReport]>((resolve, reject) =>
    UpdateLog.open(disk, join(dir, 'log'), { repair: options.repairLog ?? false }, (err, l, r) => (err || !l || !r ? reject(err ?? new Error('no log')) : resolve([l, r]))),
  );
  logger.info({ dir: join(dir, 'log'), start: log.start, lastLsn: log.lastLsn, recovery: report }, 'update log opened');
  logRecoveryCuts(logger, report);
  const closeLog = (): Promise<void> => cb2p<void>((cb) => log.close(cb)).catch(() => undefined);

  let storage: StorageArea | null = null;
  let transport: PeerTransport | null = null;
  /** Once the node is open, its stop() closes the log and the storage area. */
  let nodeOwnsFiles = false;
  try {
    const hardState = await cb2p<HardStateFile>((cb) => HardStateFile.load(disk, join(dir, 'hard-state'), cb));
    if (self.kind === 'data') storage = config.storage === 'memory' ? new MemoryStorage() : LmdbStorage.open(join(dir, 'storage'));

    const peerListen = listenAddr(self.peerAddr, `members[${config.nodeId}].peerAddr`, config.listenHost);
    transport = new PeerTransport({
      self: config.nodeId,
      listenHost: peerListen.host,
      listenPort: peerListen.port,
      peers: Object.fromEntries(config.members.map((m) => [m.id, m.peerAddr])),
      secret: config.clusterSecret,
      clusterName: config.clusterName,
      logger: logger.child({ component: 'peer' }),
      maxFrameBytes: config.limits.maxFrameBytes,
      handshakeTimeoutMs: config.timing.connectTimeoutMs,
    });

    let fatal = false;
    const onFatal =
      options.onFatal ??
      ((err: Error): void => {
        logger.fatal({ err }, 'node cannot continue: stopping the process');
        process.exit(1);
      });
    const t = transport;
    const clock = createRealClock();
    const node = await cb2p<RuntimeNode>((cb) =>
      RuntimeNode.open(
        {
          driver: {
            config: coreConfigOf(config, randomInt(0, 2 ** 31 - 1)),
            clock,
            network: t,
            log,
            hardState,
            storage,
            dataLost: memoryRestart,
            defer: setImmediate,
            scripting: new LuaEngine({ log: (level, message) => scriptLogger[level === 3 ? 'warn' : level === 2 ? 'info' : 'debug']({ script: true }, message) }),
          },
          members: memberInfos(config),
          onFatal: (err) => {
            if (fatal) return;
            fatal = true;
            onFatal(err);
          },
          onBatch: (updates, seconds) => metrics.fsync(seconds, updates),
          observer: {
            command(name, seconds, errCode, isWrite) {
              metrics.command(name, seconds, errCode);
              if (isWrite) metrics.clientWrite(seconds);
            },
          },
          isWrite: (name) => isWriteCommand(name),
        },
        cb,
      ),
    );
    nodeOwnsFiles = true;
    const unfollow = nl.follow(node);
    const partial: { servers: ClientServers | null; admin: AdminApp | null } = { servers: null, admin: null };
    // The admin app logs each failover itself; without one (a member with no adminAddr) log it here.
    const onFailover = (r: import('../runtime/node-api.ts').FailoverReport): void => {
      if (partial.admin) return;
      logger.info({ failover: r }, `failover: ${r.oldPrimary ?? '(none)'} → ${r.newPrimary}, epoch ${r.newEpoch}, detection ${r.detectionMs} ms, election ${r.electionMs} ms, sync ${r.failoverSyncMs} ms`);
    };
    const onTruncate = (afterLsn: number, epoch: number, removed: number): void =>
      logger.warn({ afterLsn, epoch, removed }, 'divergent log tail truncated; its regions are re-fetched from the primary');
    const onRole = (role: string, epoch: number): void => logger.info({ newRole: role, newEpoch: epoch, primaryId: node.primaryId() }, `role: ${role}`);
    const onLostData = (phase: 'floor' | 'refilled', floor: { epoch: number; lastEpoch: number; lastLsn: number }, lastLsn: number): void => {
      if (phase === 'refilled') logger.info({ code: 'DATA_LOST', floor, lastLsn }, 'refilled after losing data: this node serves reads and votes again');
      else if (floor.lastLsn > lastLsn)
        logger.warn(
          { code: 'DATA_LOST', floor, lastLsn },
          `this node's data is gone (its log ends at lsn ${lastLsn}) but its peers hold updates up to lsn ${floor.lastLsn} (epoch ${floor.lastEpoch}): ` +
            'it lost data; it serves no reads and votes only for a log holding them until the primary has refilled it',
        );
    };
    const onPeerLostData = (id: string, incarnation: number, previous: number, ackedLsn: number, inDest: boolean): void =>
      logger.warn(
        { code: 'DATA_LOST', node: id, incarnation, previousIncarnation: previous, ackedLsn, inDest },
        `${id} came back with incarnation ${incarnation} (was ${previous}): it lost data it had acknowledged up to lsn ${ackedLsn}; ` +
          (inDest ? 'it stays in dest (a majority needs it) and writes wait until it is refilled' : 'it is out of dest until refilled'),
      );
    node.on('failover', onFailover);
    node.on('truncate', onTruncate);
    node.on('role', onRole);
    node.on('lostData', onLostData);
    node.on('peerLostData', onPeerLostData);
    const lost = node.status().lostData;
    if (lost) {
      logger.warn(
        { code: 'DATA_LOST', incarnation: node.status().incarnation },
        'this node starts without all of its data (an empty data directory, a log tail cut, or a memory storage area restarted): it asks the other voters where they stand ' +
          'and serves no reads until refilled',
      );
    }

    /** The step an orderly stop is in, for the warning when it takes long. */
    let stopStep = 'not stopping';
    const closeAll = async (): Promise<void> => {
      const errs: unknown[] = [];
      // The peer transport first: a stopping node has nothing left to tell its peers, and its
      // dialing of peers that are gone (or stopping too) must not go on while the rest closes.
      stopStep = 'closing the peer transport';
      await new Promise<void>((resolve) => t.close(resolve));
      stopStep = 'closing the admin API';
      if (partial.admin) await partial.admin.close().catch((e: unknown) => errs.push(e));
      stopStep = 'closing the client servers';
      if (partial.servers) await partial.servers.close().catch((e: unknown) => errs.push(e));
      stopStep = 'closing the log and the storage area';
      await cb2p<void>((cb) => node.stop(cb)).catch((e: unknown) => errs.push(e));
      node.off('failover', onFailover);
      node.off('truncate', onTruncate);
      node.off('role', onRole);
      node.off('lostData', onLostData);
      node.off('peerLostData', onPeerLostData);
      unfollow();
      if (errs.length > 0) throw errs[0] instanceof Error ? errs[0] : new Error(String(errs[0]));
    };

    let bound: { host: string; port: number };
    let redis: string | undefined;
    let sentinel: string | undefined;
    let admin: string | undefined;
    try {
      bound = await new Promise((resolve, reject) => t.listen((err, a) => (err || !a ? reject(err ?? new Error('no peer address')) : resolve(a))));
      if (self.kind === 'data' && self.redisAddr !== undefined) {
        partial.servers = await startClientServers(node, config, logger);
        // The RESP server counts its clients; the gauge samples that count.
        const servers = partial.servers;
        setInterval(() => metrics.respConnectionsNow(servers.resp.clientCount), RESP_CONNECTIONS_SAMPLE_MS).unref();
        redis = `${splitAddr(self.redisAddr)!.host}:${partial.servers.resp.port}`;
        if (partial.servers.sentinel && self.sentinelAddr !== undefined) sentinel = self.sentinelAddr;
      }
      if (self.adminAddr !== undefined) {
        const a = listenAddr(self.adminAddr, `members[${config.nodeId}].adminAddr`, config.listenHost);
        const adminOf = (id: string): string | undefined => {
          const m = config.members.find((x) => x.id === id);
          return m?.adminAddr !== undefined ? `http://${m.adminAddr}` : undefined;
        };
        partial.admin = buildAdminApp({
          node,
          peersAdmin: adminOf,
          adminToken: config.adminToken,
          demo: config.demo ? { killPrimary: () => killPrimary(node, adminOf, config.adminToken, logger) } : undefined,
          metrics,
          logger,
        });
        await partial.admin.listen({ host: a.host, port: a.port });
        admin = self.adminAddr;
      }
    } catch (e) {
      await closeAll().catch(() => undefined);
      throw e;
    }

    // Time starts now that every server is up (see createRealClock: why not earlier).
    clock.start();

    let stopping: Promise<void> | null = null;
    const stop = (cb?: (err: Error | null) => void): Promise<void> => {
      if (!stopping) {
        logger.info('stopping');
        const slow = setTimeout(() => logger.warn({ step: stopStep }, `stop still waiting after ${STOP_SLOW_MS} ms: ${stopStep}`), STOP_SLOW_MS);
        slow.unref();
        stopping = closeAll().finally(() => clearTimeout(slow)).then(() => logger.info('stopped'));
      }
      return stopping.then(
        () => cb?.(null),
        (e: unknown) => {
          const err = e instanceof Error ? e : new Error(String(e));
          if (cb) cb(err);
          else throw err;
        },
      );
    };

    if (options.handleSignals) {
      const onSignal = (sig: NodeJS.Signals): void => {
        stop().then(
          () => process.exit(sig === 'SIGINT' ? 130 : 0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }

    logger.info(
      { peer: `${bound.host}:${bound.port}`, redis, sentinel, admin, storage: self.kind === 'data' ? config.storage : 'none', members: config.members.length },
      `node ${config.nodeId} started`,
    );
    return {
      node,
      config,
      logger,
      metrics,
      addresses: { peer: `${bound.host}:${bound.port}`, ...(redis ? { redis } : {}), ...(sentinel ? { sentinel } : {}), ...(admin ? { admin } : {}) },
      stop,
    };
  } catch (e) {
    transport?.close();
    if (nodeOwnsFiles) throw e;
    if (storage) await cb2p<void>((cb) => storage!.close(cb)).catch(() => undefined);
    await closeLog();
    throw e;
  }
}

/**
 * Demo mode: make the primary's process exit abruptly (kill -9), to watch a failover. On the
 * primary itself the process kills itself once the HTTP reply had time to leave; elsewhere the
 * request is forwarded to the primary's admin API.
 */
function killPrimary(node: NodeHandle, adminOf: (id: string) => string | undefined, token: string | undefined, logger: Logger): void {
  const primary = node.primaryId();
  if (primary === node.id) {
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), DEMO_KILL_DELAY_MS);
    return;
  }
  const base = primary === null ? undefined : adminOf(primary);
  if (base === undefined) {
    logger.warn({ primary }, 'demo: no primary with an admin address to kill');
    return;
  }
  fetch(`${base}/demo/kill-primary`, {
    method: 'POST',
    headers: token !== undefined ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(DEMO_FORWARD_TIMEOUT_MS),
  }).catch((e: unknown) => logger.warn({ err: e, primary }, 'demo: forwarding kill-primary failed'));
}
