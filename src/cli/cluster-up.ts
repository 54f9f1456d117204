// `understudy cluster up`: a whole cluster on this machine for trying things
// out — N `understudy start` child processes with generated configurations
// (run by src/cli/cluster-supervisor.ts: restarted when they crash, stopped and
// started by id through src/cli/cluster-control.ts), their logs in files and
// in short lines on the terminal (src/cli/node-log-lines.ts), and every child
// stopped on Ctrl-C, SIGTERM, SIGHUP or the loss of the parent process.
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { ConfigInput } from '../config/schema.ts';
import { parseConfig } from '../config/load.ts';
import { dataDirEmpty, initDataDir } from '../host/init-data-dir.ts';
import { answeringSupervisor, startControl } from './cluster-control.ts';
import { ClusterSupervisor } from './cluster-supervisor.ts';
import { watchParent } from './parent-watch.ts';
import { prettyNodeLine, type LogFormat } from './node-log-lines.ts';

/** Ports are laid out in blocks of this stride: redis, peer, sentinel, admin. */
export const PORT_STRIDE = 100;
export const MAX_CLUSTER_UP_NODES = 15;
/** Where `cluster up` keeps its nodes' data, and where `cluster stop|start|ps` look for it. */
export const DEFAULT_CLUSTER_DATA = './data';

export interface ClusterUpOptions {
  readonly nodes: number;
  readonly basePort: number;
  readonly data: string;
  readonly storage: 'lmdb' | 'memory';
  readonly witness: boolean;
  readonly host: string;
  readonly masterName: string;
  readonly logLevel: string;
  readonly requirePass?: string;
  readonly demo: boolean;
  /** What the terminal shows of the nodes' logs (every line goes to <data>/cluster/<id>.log); default pretty. */
  readonly logFormat?: LogFormat;
}

export interface PlannedNode {
  readonly id: string;
  readonly kind: 'data' | 'witness';
  readonly configPath: string;
  readonly config: ConfigInput;
  readonly redisPort?: number;
  readonly sentinelPort?: number;
  readonly adminPort: number;
}

/** Checks the options and lays out ids, ports, data directories and configurations (no I/O). */
export function planCluster(o: ClusterUpOptions, secret = randomBytes(16).toString('hex')): PlannedNode[] {
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > MAX_CLUSTER_UP_NODES)
    throw new Error(`--nodes must be an integer from 1 to ${MAX_CLUSTER_UP_NODES} (got ${o.nodes})`);
  const count = o.nodes + (o.witness ? 1 : 0);
  if (count > PORT_STRIDE) throw new Error(`at most ${PORT_STRIDE} members fit the port layout`);
  const top = o.basePort + 3 * PORT_STRIDE + count - 1;
  if (!Number.isInteger(o.basePort) || o.basePort < 1024 || top > 65535)
    throw new Error(`--base-port must be an integer ≥ 1024 leaving room for ${3 * PORT_STRIDE + count} ports (up to ${top}); got ${o.basePort}`);
  const root = resolve(o.data);
  const addr = (block: number, i: number): string => `${o.host}:${o.basePort + block * PORT_STRIDE + i}`;
  const members = Array.from({ length: count }, (_, i) => {
    const witness = i >= o.nodes;
    const id = witness ? 'w1' : `n${i + 1}`;
    return witness
      ? { id, kind: 'witness' as const, peerAddr: addr(1, i), adminAddr: addr(3, i) }
      : { id, kind: 'data' as const, redisAddr: addr(0, i), peerAddr: addr(1, i), sentinelAddr: addr(2, i), adminAddr: addr(3, i) };
  });
  return members.map((m, i) => {
    const config: ConfigInput = {
      nodeId: m.id,
      dataDir: join(root, m.id),
      members,
      clusterSecret: secret,
      masterName: o.masterName,
      storage: o.storage,
      logLevel: o.logLevel as ConfigInput['logLevel'],
      demo: o.demo,
      ...(o.requirePass !== undefined ? { requirePass: o.requirePass } : {}),
    };
    // Validate now, so a bad flag fails here with the config error rather than in N children.
    parseConfig(config, `generated configuration for ${m.id}`);
    return {
      id: m.id,
      kind: m.kind,
      configPath: join(root, 'cluster', `${m.id}.json`),
      config,
      ...(m.kind === 'data' ? { redisPort: o.basePort + i, sentinelPort: o.basePort + 2 * PORT_STRIDE + i } : {}),
      adminPort: o.basePort + 3 * PORT_STRIDE + i,
    };
  });
}

/** What to tell the user once the children are starting. */
export function connectionHelp(plan: readonly PlannedNode[], o: Pick<ClusterUpOptions, 'host' | 'masterName' | 'requirePass' | 'data' | 'logFormat'>): string {
  const data = plan.filter((n) => n.kind === 'data');
  const sentinels = data.map((n) => `{ host: '${o.host}', port: ${n.sentinelPort} }`).join(', ');
  const first = data[0]!;
  const auth = o.requirePass !== undefined ? ' -a <password>' : '';
  const ioAuth = o.requirePass !== undefined ? ", password: '<password>'" : '';
  const adminList = plan.map((n) => `http://${o.host}:${n.adminPort}`).join(',');
  const dataFlag = o.data === DEFAULT_CLUSTER_DATA ? '' : ` --data ${o.data}`;
  const lines = [
    `understudy cluster: ${data.length} data node(s)${plan.length > data.length ? ' + witness' : ''}; configs in ${join(first.configPath, '..')}`,
    '',
    `  redis-cli:  redis-cli -h ${o.host} -p ${first.redisPort}${auth}      (any node answers; secondaries are read-only)`,
    `  nodes:      ${data.map((n) => `${n.id}=${o.host}:${n.redisPort}`).join('  ')}`,
    `  sentinels:  ${data.map((n) => `${o.host}:${n.sentinelPort}`).join(' ')}   (master name "${o.masterName}")`,
    `  ioredis:    new Redis({ sentinels: [${sentinels}], name: '${o.masterName}'${ioAuth} })`,
    `  admin:      http://${o.host}:${first.adminPort}/   (dashboard)`,
    `  status:     understudy status --admin ${adminList}`,
    `  switchover: understudy switchover --to <id> --admin ${adminList}`,
    `  stop/start: understudy cluster stop ${data[0]!.id}${dataFlag}   (add --kill for a crash)   understudy cluster start ${data[0]!.id}${dataFlag}`,
    `  logs:       ${nodeLogPath(plan, '<id>')}${(o.logFormat ?? 'pretty') === 'pretty' ? '   (every line; --log-format json shows them all here)' : ''}`,
    '',
    'A node that exits on its own is started again after a backoff. Ctrl-C stops every node (a second Ctrl-C kills them).',
  ];
  return lines.join('\n');
}

/** Every port a member listens on, with what it is for (to name the taken ones). */
export function plannedPorts(plan: readonly PlannedNode[]): Array<{ port: number; what: string }> {
  const out: Array<{ port: number; what: string }> = [];
  for (const n of plan) {
    const m = (n.config.members as ReadonlyArray<{ id: string; redisAddr?: string; peerAddr: string; sentinelAddr?: string; adminAddr?: string }>).find((x) => x.id === n.id)!;
    for (const [what, addr] of [['redis', m.redisAddr], ['peer', m.peerAddr], ['sentinel', m.sentinelAddr], ['admin', m.adminAddr]] as const) {
      if (addr !== undefined) out.push({ port: Number(addr.slice(addr.lastIndexOf(':') + 1)), what: `${n.id} ${what}` });
    }
  }
  return out;
}

/** Whether something already listens on host:port (a bind attempt that fails with EADDRINUSE). */
function portTaken(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolvePort(e.code === 'EADDRINUSE' || e.code === 'EACCES'));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolvePort(false)));
  });
}

/**
 * Why the cluster cannot start here, or null: another supervisor runs on this data directory,
 * or some of the ports are taken (most likely by a cluster already running on them).
 */
export async function startBlocker(plan: readonly PlannedNode[], o: Pick<ClusterUpOptions, 'host' | 'data' | 'basePort'>): Promise<string | null> {
  const other = await answeringSupervisor(o.data);
  if (other) return `a cluster is already running on ${resolve(o.data)} (supervisor pid ${other.pid}); stop it first (Ctrl-C in its terminal, or kill ${other.pid})`;
  const taken: string[] = [];
  for (const p of plannedPorts(plan)) if (await portTaken(o.host, p.port)) taken.push(`${p.port} (${p.what})`);
  if (taken.length === 0) return null;
  return (
    `ports already in use on ${o.host}: ${taken.join(', ')} — is another cluster running on them? ` +
    `Stop it, or choose other ports with --base-port (now ${o.basePort})`
  );
}

/** Copies a child's output line by line to its log file and, as the format says, to the terminal. */
function pipeLines(stream: NodeJS.ReadableStream | null, id: string, file: NodeJS.WritableStream, format: LogFormat, out: NodeJS.WritableStream, width: number): void {
  if (!stream) return;
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', (line) => {
    file.write(line + '\n');
    if (format === 'json') return void out.write(`[${id.padEnd(width)}] ${line}\n`);
    const shown = prettyNodeLine(id.padEnd(width), line);
    if (shown !== null) out.write(shown + '\n');
  });
}

/** Where a member's log lines are kept (all of them, as JSON, whatever the terminal shows). */
export function nodeLogPath(plan: readonly PlannedNode[], id: string): string {
  return join(plan[0]!.configPath, '..', `${id}.log`);
}

/** Writes the configs, starts the children, and resolves with an exit code once they are all gone. */
/**
 * When no member's data directory holds anything yet, the cluster is new: each member's directory
 * is initialised (src/host/init-data-dir.ts), so the members need not ask each other what they
 * lost and the first election needs a majority, not every voter. One member with data means an
 * existing cluster, where an empty directory is a lost disk and must be refilled as such: then
 * nothing is initialised. Returns whether the cluster was new.
 */
export async function initNewCluster(plan: readonly PlannedNode[]): Promise<boolean> {
  if (!plan.every((n) => dataDirEmpty(String(n.config.dataDir)))) return false;
  for (const n of plan) await initDataDir(String(n.config.dataDir));
  return true;
}

export async function runClusterUp(o: ClusterUpOptions, io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr }): Promise<number> {
  const plan = planCluster(o);
  const blocker = await startBlocker(plan, o);
  if (blocker !== null) {
    io.err.write(`understudy cluster up: ${blocker}\n`);
    return 1;
  }
  await initNewCluster(plan);
  for (const n of plan) {
    mkdirSync(join(n.configPath, '..'), { recursive: true });
    mkdirSync(String(n.config.dataDir), { recursive: true });
    writeFileSync(n.configPath, JSON.stringify(n.config, null, 2) + '\n', { mode: 0o600 });
  }
  const width = Math.max(...plan.map((n) => n.id.length));
  const format = o.logFormat ?? 'pretty';
  const files = new Map(plan.map((n) => [n.id, createWriteStream(nodeLogPath(plan, n.id), { flags: 'a', mode: 0o600 })]));
  const note = (id: string, line: string): void => void io.err.write(`${clock()} ${id.padEnd(width)}  ${line}\n`);
  const sup = new ClusterSupervisor(
    plan.map((n) => ({ id: n.id, configPath: n.configPath })),
    {
      note,
      spawned: (id, child) => {
        const file = files.get(id)!;
        pipeLines(child.stdout, id, file, format, io.out, width);
        pipeLines(child.stderr, id, file, format, io.err, width);
      },
    },
  );
  const control = await startControl(sup, o.data, plannedPorts(plan).map((p) => p.port));
  let stopping = false;
  return new Promise<number>((resolveExit) => {
    const stopAll = (why: string): void => {
      if (stopping) {
        // A second Ctrl-C means now: kill what is left by PID.
        io.err.write('understudy cluster: killing the remaining node(s)\n');
        sup.killAll();
        return;
      }
      stopping = true;
      unwatch();
      io.err.write(`understudy cluster: ${why}; stopping ${sup.runningCount} node(s)…\n`);
      void sup.stopAll().then(async (clean) => {
        for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
        await control.close();
        for (const f of files.values()) f.end();
        resolveExit(clean ? 0 : 1);
      });
    };
    const onSignal = (sig: NodeJS.Signals): void => stopAll(sig);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
    // A parent that dies (npm start killed, its terminal gone) leaves this process to init:
    // stop the cluster rather than run on unseen.
    const parent = process.ppid;
    const unwatch = watchParent(parent, () => stopAll(`parent process ${parent} is gone`));
    sup.startAll();
    io.out.write(connectionHelp(plan, o) + '\n');
    watchPrimary(plan, o.host, io.out, () => stopping);
  });
}

function clock(): string {
  return new Date().toISOString().slice(11, 19);
}

/** How often `cluster up` asks the nodes who is primary, to announce it and every change. */
const PRIMARY_POLL_MS = 500;

/**
 * Announces the primary once it is elected, and again after every failover or switchover, so
 * that a newcomer knows which port takes writes (the others answer -READONLY, as replicas do).
 */
function watchPrimary(plan: ReturnType<typeof planCluster>, host: string, out: NodeJS.WritableStream, stopped: () => boolean): void {
  let announced = '';
  const poll = async (): Promise<void> => {
    if (stopped()) return;
    for (const n of plan) {
      try {
        const res = await fetch(`http://${host}:${n.adminPort}/status`, { signal: AbortSignal.timeout(PRIMARY_POLL_MS) });
        if (!res.ok) continue;
        const st = (await res.json()) as { role?: string; epoch?: number; id?: string };
        if (st.role !== 'primary') continue;
        const key = `${st.id}/${st.epoch}`;
        if (key !== announced && n.redisPort !== undefined) {
          announced = key;
          out.write(`\nprimary: ${st.id} (epoch ${st.epoch}) — writes go to redis-cli -h ${host} -p ${n.redisPort}\n\n`);
        }
        break;
      } catch {
        // That node is down or still starting: ask the next one.
      }
    }
    if (!stopped()) setTimeout(() => void poll(), PRIMARY_POLL_MS).unref();
  };
  setTimeout(() => void poll(), PRIMARY_POLL_MS).unref();
}
