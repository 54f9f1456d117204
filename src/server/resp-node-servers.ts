// Starts a node's client-facing servers from its configuration: the Redis
// port (members[self].redisAddr) and, when configured, the sentinel port
// (members[self].sentinelAddr), sharing one SentinelService so that SENTINEL
// works on both. The host's startNode() calls this once the node is running.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { NodeHandle } from '../runtime/node-api.ts';
import { splitAddr } from './resp-info.ts';
import { RespServer } from './resp-server.ts';
import { SentinelService, startSentinelServer, type SentinelServer } from './sentinel.ts';

export interface ClientServers {
  readonly resp: RespServer;
  readonly sentinel: SentinelServer | null;
  /** Closes both (sentinel first, so discovery stops pointing at a node that is going away). */
  close(): Promise<void>;
}

/** Where to bind a member address: its port, on config.listenHost when set, else on its host. */
export function listenAddr(addr: string, key: string, listenHost?: string): { host: string; port: number } {
  const a = splitAddr(addr);
  if (!a) throw new Error(`${key}: cannot listen on "${addr}" (expected host:port)`);
  return listenHost === undefined ? a : { host: listenHost.replace(/^\[(.*)\]$/, '$1'), port: a.port };
}

/** The Redis and sentinel servers of a data node; throws for a witness (it serves no clients). */
export async function startClientServers(node: NodeHandle, config: Config, logger?: Logger): Promise<ClientServers> {
  const self = config.members.find((m) => m.id === config.nodeId);
  if (!self || self.kind !== 'data' || self.redisAddr === undefined)
    throw new Error(`node ${config.nodeId} is not a data member with a redisAddr; a witness serves no clients`);
  const limits = {
    maxClients: config.limits.maxClients,
    maxValueBytes: config.limits.maxValueBytes,
    maxArgs: config.limits.maxArgs,
    maxInlineBytes: config.limits.maxInlineBytes,
    maxQueuedCommands: config.limits.maxQueuedCommands,
    maxQueryBufferBytes: config.limits.maxQueryBufferBytes,
  };
  const sentinelAddrs = Object.fromEntries(config.members.flatMap((m) => (m.sentinelAddr !== undefined ? [[m.id, m.sentinelAddr]] : [])));
  const service = new SentinelService({
    node,
    masterName: config.masterName,
    sentinelAddrs,
    downAfterMs: config.timing.electionTimeoutMs,
    ...(logger ? { logger } : {}),
  });
  const main = listenAddr(self.redisAddr, `members[${config.nodeId}].redisAddr`, config.listenHost);
  const resp = new RespServer({
    node,
    host: main.host,
    port: main.port,
    limits,
    extraHandlers: service.handlers('data'),
    configParams: { dir: config.dataDir },
    diagnostics: config.diagnostics,
    ...(config.requirePass !== undefined ? { requirePass: config.requirePass } : {}),
    ...(logger ? { logger } : {}),
  });
  await resp.listen();
  let sentinel: SentinelServer | null = null;
  try {
    if (self.sentinelAddr !== undefined) {
      const s = listenAddr(self.sentinelAddr, `members[${config.nodeId}].sentinelAddr`, config.listenHost);
      sentinel = await startSentinelServer({ node, host: s.host, port: s.port, limits, ...(logger ? { logger } : {}) }, service);
    } else {
      service.start();
    }
  } catch (e) {
    await resp.close();
    throw e;
  }
  return {
    resp,
    sentinel,
    async close() {
      service.stop();
      if (sentinel) await sentinel.close();
      await resp.close();
    },
  };
}
