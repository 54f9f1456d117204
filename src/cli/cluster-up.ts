// `understudy cluster up`: a whole cluster on this machine for trying things
// out — N `understudy start` child processes with generated configurations,
// their log lines prefixed with the node id, and every child stopped (by PID)
// on Ctrl-C or SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../config/schema.ts';
import { parseConfig } from '../config/load.ts';

/** Ports are laid out in blocks of this stride: redis, peer, sentinel, admin. */
export const PORT_STRIDE = 100;
export const MAX_CLUSTER_UP_NODES = 15;
/** How long children get to stop after SIGTERM before they are killed. */
export const CHILD_STOP_TIMEOUT_MS = 10_000;

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
export function connectionHelp(plan: readonly PlannedNode[], o: Pick<ClusterUpOptions, 'host' | 'masterName' | 'requirePass'>): string {
  const data = plan.filter((n) => n.kind === 'data');
  const sentinels = data.map((n) => `{ host: '${o.host}', port: ${n.sentinelPort} }`).join(', ');
  const first = data[0]!;
  const auth = o.requirePass !== undefined ? ' -a <password>' : '';
  const ioAuth = o.requirePass !== undefined ? ", password: '<password>'" : '';
  const adminList = plan.map((n) => `http://${o.host}:${n.adminPort}`).join(',');
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
    '',
    'Ctrl-C stops every node (a second Ctrl-C kills them).',
  ];
  return lines.join('\n');
}

function binPath(): string {
  return fileURLToPath(new URL('../../bin/understudy.mjs', import.meta.url));
}

/** Prefixes each line of a child's output with its node id. */
function pipeLines(stream: NodeJS.ReadableStream | null, prefix: string, out: NodeJS.WritableStream): void {
  if (!stream) return;
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', (line) => out.write(`${prefix} ${line}\n`));
}

/** Writes the configs, starts the children, and resolves with an exit code once they are all gone. */
export async function runClusterUp(o: ClusterUpOptions, io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr }): Promise<number> {
  const plan = planCluster(o);
  for (const n of plan) {
    mkdirSync(join(n.configPath, '..'), { recursive: true });
    mkdirSync(String(n.config.dataDir), { recursive: true });
    writeFileSync(n.configPath, JSON.stringify(n.config, null, 2) + '\n', { mode: 0o600 });
  }
  const width = Math.max(...plan.map((n) => n.id.length));
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  return new Promise<number>((resolveExit) => {
    let exitCode = 0;
    const maybeDone = (): void => {
      if (children.size > 0) return;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveExit(stopping ? exitCode : 1);
    };
    const stopAll = (): void => {
      if (stopping) return;
      stopping = true;
      io.err.write(`understudy cluster: stopping ${children.size} node(s)…\n`);
      for (const [id, child] of children) {
        if (child.pid === undefined) continue;
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch (e) {
          io.err.write(`[${id}] could not be signalled: ${(e as Error).message}\n`);
        }
      }
      const timer = setTimeout(() => {
        for (const [id, child] of children) {
          if (child.pid === undefined) continue;
          io.err.write(`[${id}] did not stop within ${CHILD_STOP_TIMEOUT_MS} ms; killing pid ${child.pid}\n`);
          exitCode = 1;
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            // Already gone between the check and the kill: nothing left to stop.
          }
        }
      }, CHILD_STOP_TIMEOUT_MS);
      timer.unref();
    };
    const onSignal = (): void => {
      if (!stopping) return stopAll();
      // A second Ctrl-C means now: kill what is left by PID.
      io.err.write('understudy cluster: killing the remaining node(s)\n');
      exitCode = 1;
      for (const child of children.values()) {
        if (child.pid === undefined) continue;
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // Already gone: nothing left to stop.
        }
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    for (const n of plan) {
      const child = spawn(process.execPath, [binPath(), 'start', '--config', n.configPath], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: process.env,
      });
      children.set(n.id, child);
      const prefix = `[${n.id.padEnd(width)}]`;
      pipeLines(child.stdout, prefix, io.out);
      pipeLines(child.stderr, prefix, io.err);
      child.on('error', (e) => io.err.write(`${prefix} failed to start: ${e.message}\n`));
      child.on('exit', (code, signal) => {
        children.delete(n.id);
        if (!stopping) {
          io.err.write(`${prefix} exited (${signal ?? `code ${code}`}); the other nodes keep running\n`);
          exitCode = 1;
        }
        maybeDone();
      });
    }
    io.out.write(connectionHelp(plan, o) + '\n');
    watchPrimary(plan, o.host, io.out, () => stopping);
  });
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
