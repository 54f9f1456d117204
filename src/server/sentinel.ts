// Sentinel-compatible discovery, answered by every data node: Sentinel-aware
// clients (ioredis `sentinels: [...]`, redis-cli -p <sentinel port>) ask
// `SENTINEL get-master-addr-by-name <masterName>`, list replicas and the other
// sentinels, and subscribe to `+switch-master`, which is published here when
// the node learns of a new primary. There is no separate Sentinel quorum: the
// cluster's own election decides, and each node reports what it knows.
import type { Logger } from 'pino';
import { arr, bulk, err, type Reply } from '../core/reply.ts';
import type { NodeId } from '../core/types.ts';
import type { NodeHandle } from '../runtime/node-api.ts';
import type { CommandSpec } from './resp-command-table.ts';
import type { Handler } from './resp-connection.ts';
import type { PubSubRegistry } from './pubsub.ts';
import { memberById, splitAddr } from './resp-info.ts';
import type { RespLimits } from './resp-limits.ts';
import { RespServer } from './resp-server.ts';

/** How often the node's view of the primary is re-read (events cover most changes; this covers the rest). */
export const SENTINEL_POLL_INTERVAL_MS = 100;
export const DEFAULT_MASTER_NAME = 'understudy';
export const SWITCH_MASTER_CHANNEL = '+switch-master';

export interface SentinelServiceOptions {
  readonly node: NodeHandle;
  /** The name clients ask for (configuration key masterName). */
  readonly masterName?: string;
  /**
   * Sentinel address (host:port) of each node. MemberInfo carries no sentinel address, so this
   * comes from the configuration's members[].sentinelAddr.
   */
  readonly sentinelAddrs?: Readonly<Record<NodeId, string>>;
  readonly pollIntervalMs?: number;
  /** Sentinel's "down-after-milliseconds", reported in SENTINEL master (the election timeout). */
  readonly downAfterMs?: number;
  readonly logger?: Logger;
}

const lower = (b: Buffer | undefined): string => (b === undefined ? '' : b.toString('latin1').toLowerCase());
const str = (b: Buffer | undefined): string => (b === undefined ? '' : b.toString('utf8'));
const fields = (pairs: ReadonlyArray<readonly [string, string]>): Reply => ({
  t: 'map',
  entries: pairs.map(([k, v]) => [bulk(k), bulk(v)] as const),
});

/** State and commands of the Sentinel emulation; shared by the sentinel port and the main port. */
export class SentinelService {
  readonly masterName: string;
  private readonly node: NodeHandle;
  /** The registries +switch-master is published to (each sentinel port's). */
  private readonly registries = new Set<PubSubRegistry>();
  /** The last primary this node knew of: kept through elections, so discovery always has an answer. */
  private lastPrimary: NodeId | null;
  private sentinelAddrs: Readonly<Record<NodeId, string>>;
  private timer: NodeJS.Timeout | null = null;
  private readonly check = (): void => this.checkPrimary();

  constructor(private readonly opts: SentinelServiceOptions) {
    this.node = opts.node;
    this.masterName = opts.masterName ?? DEFAULT_MASTER_NAME;
    this.lastPrimary = opts.node.primaryId();
    this.sentinelAddrs = opts.sentinelAddrs ?? {};
  }

  /** Replaces the sentinel addresses (when ports are only known after listening, e.g. port 0). */
  setSentinelAddrs(addrs: Readonly<Record<NodeId, string>>): void {
    this.sentinelAddrs = addrs;
  }

  /** Follows the node's primary (events plus a bounded-interval poll) until stop(). */
  start(): void {
    if (this.timer) return;
    this.node.on('role', this.check);
    this.node.on('epoch', this.check);
    this.timer = setInterval(this.check, this.opts.pollIntervalMs ?? SENTINEL_POLL_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.node.off('role', this.check);
    this.node.off('epoch', this.check);
  }

  /** The primary clients should use: the current one, else the last known. */
  primary(): NodeId | null {
    return this.node.primaryId() ?? this.lastPrimary;
  }

  /** Publishes +switch-master when the primary this node knows of changes. */
  checkPrimary(): void {
    const now = this.node.primaryId();
    if (now === null || now === this.lastPrimary) return;
    const old = this.lastPrimary;
    this.lastPrimary = now;
    if (old === null) return;
    const a = splitAddr(memberById(this.node, old)?.redisAddr);
    const b = splitAddr(memberById(this.node, now)?.redisAddr);
    if (!b) return;
    const msg = `${this.masterName} ${a?.host ?? '?'} ${a?.port ?? 0} ${b.host} ${b.port}`;
    this.opts.logger?.info({ from: old, to: now }, `${SWITCH_MASTER_CHANNEL} ${msg}`);
    this.publish(SWITCH_MASTER_CHANNEL, msg);
  }

  /** Delivers a message to every subscriber of the channel (or of a matching pattern) on the sentinel ports. */
  publish(channel: string, message: string): number {
    let n = 0;
    for (const r of this.registries) n += r.deliver(false, Buffer.from(channel), Buffer.from(message)).count;
    return n;
  }

  /** The pub/sub of a port whose subscribers get the Sentinel events (the sentinel port's). */
  addRegistry(r: PubSubRegistry): void {
    this.registries.add(r);
  }

  private addrOf(id: NodeId): { host: string; port: number } | null {
    return splitAddr(memberById(this.node, id)?.redisAddr);
  }

  private masterFields(): Reply | null {
    const p = this.primary();
    const a = p === null ? null : this.addrOf(p);
    if (p === null || !a) return null;
    const dataMembers = this.node.members.filter((m) => m.kind === 'data');
    const voters = this.node.members.length;
    const leaseOk = this.node.role() !== 'primary' || this.node.status().leaseValid;
    return fields([
      ['name', this.masterName],
      ['ip', a.host],
      ['port', String(a.port)],
      ['runid', p],
      ['flags', this.node.primaryId() === null || !leaseOk ? 'master,s_down' : 'master'],
      ['link-pending-commands', '0'],
      ['link-refcount', '1'],
      ['last-ping-sent', '0'],
      ['last-ok-ping-reply', '0'],
      ['last-ping-reply', '0'],
      ['down-after-milliseconds', String(this.opts.downAfterMs ?? 300)],
      ['role-reported', 'master'],
      ['config-epoch', String(this.node.epoch())],
      ['num-slaves', String(dataMembers.length - 1)],
      ['num-other-sentinels', String(Math.max(0, this.sentinelMembers().length - 1))],
      ['quorum', String(Math.floor(voters / 2) + 1)],
      ['failover-timeout', String(this.opts.downAfterMs ?? 300)],
      ['parallel-syncs', '1'],
    ]);
  }

  private replicaFields(): Reply[] {
    const p = this.primary();
    const pa = p === null ? null : this.addrOf(p);
    const status = this.node.role() === 'primary' ? this.node.status() : null;
    const out: Reply[] = [];
    for (const m of this.node.members) {
      if (m.kind !== 'data' || m.id === p) continue;
      const a = splitAddr(m.redisAddr);
      if (!a) continue;
      // Only the primary knows its secondaries' links; elsewhere a replica is reported as up.
      const sec = status?.secondaries.find((s) => s.id === m.id);
      const down = sec !== undefined && sec.connection !== 'connected';
      out.push(
        fields([
          ['name', `${a.host}:${a.port}`],
          ['ip', a.host],
          ['port', String(a.port)],
          ['runid', m.id],
          ['flags', down ? 's_down,slave,disconnected' : 'slave'],
          ['link-pending-commands', '0'],
          ['role-reported', 'slave'],
          ['master-link-down-time', '0'],
          ['master-link-status', down ? 'err' : 'ok'],
          ['master-host', pa?.host ?? '?'],
          ['master-port', String(pa?.port ?? 0)],
          ['slave-priority', '100'],
          ['slave-repl-offset', String(sec?.ackedLsn ?? 0)],
        ]),
      );
    }
    return out;
  }

  private sentinelMembers(): Array<{ id: NodeId; host: string; port: number }> {
    const out: Array<{ id: NodeId; host: string; port: number }> = [];
    for (const [id, addr] of Object.entries(this.sentinelAddrs)) {
      const a = splitAddr(addr);
      if (a) out.push({ id, ...a });
    }
    return out;
  }

  /** SENTINEL <subcommand> …, with Redis Sentinel's reply shapes and errors. */
  sentinelCommand(argv: readonly Buffer[]): Reply {
    const sub = lower(argv[1]);
    const name = str(argv[2]);
    const needName = (): Reply | null => {
      if (argv.length !== 3) return err(`ERR wrong number of arguments for 'sentinel|${sub}' command`);
      return name === this.masterName ? null : err('ERR No such master with that name');
    };
    switch (sub) {
      case 'get-master-addr-by-name': {
        if (argv.length !== 3) return err(`ERR wrong number of arguments for 'sentinel|${sub}' command`);
        const p = this.primary();
        const a = p === null ? null : this.addrOf(p);
        if (name !== this.masterName || !a) return arr(null);
        return arr([bulk(a.host), bulk(String(a.port))]);
      }
      case 'masters': {
        const m = this.masterFields();
        return arr(m ? [m] : []);
      }
      case 'master': {
        const e = needName();
        if (e) return e;
        return this.masterFields() ?? err('ERR No such master with that name');
      }
      case 'replicas':
      case 'slaves': {
        const e = needName();
        return e ?? arr(this.replicaFields());
      }
      case 'sentinels': {
        const e = needName();
        if (e) return e;
        return arr(
          this.sentinelMembers()
            .filter((s) => s.id !== this.node.id)
            .map((s) =>
              fields([
                ['name', s.id],
                ['ip', s.host],
                ['port', String(s.port)],
                ['runid', s.id],
                ['flags', 'sentinel'],
                ['link-pending-commands', '0'],
                ['link-refcount', '1'],
                ['voted-leader', '?'],
                ['voted-leader-epoch', '0'],
              ]),
            ),
        );
      }
      case 'myid':
        return bulk(this.node.id);
      case 'ckquorum': {
        const e = needName();
        if (e) return e;
        const n = this.node.members.length;
        return { t: 'simple', s: `OK ${n} usable Sentinels. Quorum and failover authorization can be reached` };
      }
      default:
        return err(`ERR unknown subcommand '${str(argv[1])}'. Try SENTINEL HELP.`);
    }
  }

  /**
   * SENTINEL FAILOVER <name>: a planned switchover to the most up-to-date secondary, through the
   * node (which forwards it to the primary). Answers once it is done, like the admin API's
   * POST /switchover; Redis's NOGOODSLAVE when no secondary could take over.
   */
  private failover(argv: readonly Buffer[], done: (r: Reply) => void): void {
    if (argv.length !== 3) return done(err("ERR wrong number of arguments for 'sentinel|failover' command"));
    if (str(argv[2]) !== this.masterName) return done(err('ERR No such master with that name'));
    this.node.switchover(undefined, (e) => {
      if (e === null) return done({ t: 'simple', s: 'OK' });
      this.opts.logger?.warn({ err: e }, 'SENTINEL FAILOVER refused');
      done(err(`NOGOODSLAVE No suitable replica to promote (${e.message.replace(/[\r\n]+/g, ' ')})`));
    });
  }

  /** The sentinel section of INFO on the sentinel port. */
  infoSection(): string[] {
    const p = this.primary();
    const a = p === null ? null : this.addrOf(p);
    const replicas = this.node.members.filter((m) => m.kind === 'data' && m.id !== p).length;
    return [
      'sentinel_masters:1',
      'sentinel_tilt:0',
      'sentinel_running_scripts:0',
      'sentinel_scripts_queue_length:0',
      `master0:name=${this.masterName},status=${this.node.primaryId() === null ? 'odown' : 'ok'},address=${a ? `${a.host}:${a.port}` : '?'},slaves=${replicas},sentinels=${this.sentinelMembers().length}`,
    ];
  }

  /** SENTINEL on any port; Sentinel's ROLE only on the sentinel port (its SUBSCRIBE family is the port's PubSubRegistry). */
  handlers(mode: 'data' | 'sentinel'): Map<string, Handler> {
    const h = new Map<string, Handler>();
    h.set('sentinel', (_c, argv, done) => {
      if (argv[1]?.toString('latin1').toLowerCase() === 'failover') return this.failover(argv, done);
      done(this.sentinelCommand(argv));
    });
    if (mode === 'data') return h;
    h.set('role', (_c, _argv, done) => done(arr([bulk('sentinel'), arr([bulk(this.masterName)])])));
    return h;
  }
}

export interface SentinelServerOptions extends SentinelServiceOptions {
  readonly host?: string;
  readonly port: number;
  readonly limits?: Partial<RespLimits>;
  readonly dataCommands?: readonly CommandSpec[];
}

/** The sentinel port: a RESP server in sentinel mode over a SentinelService. */
export class SentinelServer {
  constructor(
    readonly service: SentinelService,
    readonly server: RespServer,
  ) {}

  get port(): number {
    return this.server.port;
  }

  async close(): Promise<void> {
    this.service.stop();
    await this.server.close();
  }
}

/** Starts the Sentinel service and its port; pass the same service to the main port's server for SENTINEL there. */
export async function startSentinelServer(opts: SentinelServerOptions, service = new SentinelService(opts)): Promise<SentinelServer> {
  const server = new RespServer({
    node: opts.node,
    port: opts.port,
    mode: 'sentinel',
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    extraHandlers: service.handlers('sentinel'),
    infoSections: { sentinel: () => service.infoSection() },
    closeClientsOnDemotion: false,
  });
  service.addRegistry(server.pubsub);
  await server.listen();
  service.start();
  return new SentinelServer(service, server);
}
