// `understudy start`: one node from a configuration file (plus environment and
// flags), run until SIGINT/SIGTERM, then stopped cleanly.
import type { Config } from '../config/schema.ts';
import { loadConfig, setOverrides } from '../config/load.ts';
import { watchParent } from './parent-watch.ts';

export interface StartFlags {
  readonly config?: string;
  readonly nodeId?: string;
  readonly dataDir?: string;
  readonly storage?: string;
  readonly logLevel?: string;
  readonly requirePass?: string;
  readonly demo?: boolean;
  readonly set?: readonly string[];
  /** --repair-log: open the log with its repair option (docs/log-format.md, "The way out"). */
  readonly repairLog?: boolean;
}

/** Flag values as dotted config keys (highest precedence over file and environment). */
export function flagOverrides(f: StartFlags): Record<string, unknown> {
  const o: Record<string, unknown> = { ...setOverrides(f.set ?? []) };
  if (f.nodeId !== undefined) o['nodeId'] = f.nodeId;
  if (f.dataDir !== undefined) o['dataDir'] = f.dataDir;
  if (f.storage !== undefined) o['storage'] = f.storage;
  if (f.logLevel !== undefined) o['logLevel'] = f.logLevel;
  if (f.requirePass !== undefined) o['requirePass'] = f.requirePass;
  if (f.demo !== undefined) o['demo'] = f.demo;
  return o;
}

/** Config file path: --config, else UNDERSTUDY_CONFIG. */
export function resolveConfig(f: StartFlags, env: NodeJS.ProcessEnv): Config {
  const file = f.config ?? env['UNDERSTUDY_CONFIG'];
  return loadConfig({ ...(file !== undefined ? { file } : {}), env, overrides: flagOverrides(f) });
}

/** What startNode resolves to: something that can be stopped (promise- or callback-style). */
interface StartedNode {
  stop(cb?: (err: Error | null) => void): unknown;
}
type StartNode = (config: Config, options?: { readonly repairLog?: boolean }) => Promise<StartedNode> | StartedNode;

// Loaded on demand so that the CLI's other commands do not open LMDB; the
// specifier is a literal so that the build rewrites it to the emitted .js.
async function loadStartNode(): Promise<StartNode> {
  const mod = await import('../host/start-node.ts');
  return mod.startNode;
}

/**
 * Upper bound on a clean stop before the process exits anyway. Below `cluster up`'s
 * CHILD_STOP_TIMEOUT_MS, so that a stuck stop is reported by the node itself (naming the step
 * it was stuck in) rather than ended by its supervisor's SIGKILL.
 */
export const STOP_TIMEOUT_MS = 8000;

function stopNode(node: StartedNode): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null | undefined): void => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve();
    };
    const r = node.stop((err) => finish(err));
    if (r instanceof Promise) r.then(() => finish(null), (e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
  });
}

/**
 * Set by `cluster up` to its PID in each node's environment: the node stops when its
 * supervisor is gone (its IPC channel closed, or its parent PID changed).
 */
export const SUPERVISOR_PID_ENV = 'UNDERSTUDY_SUPERVISOR_PID';

/** Why the node is stopping: a signal, or the end of its supervisor's IPC channel. */
type StopReason = NodeJS.Signals | 'supervisor gone';

/**
 * Runs one node until a signal; resolves with the process exit code.
 *
 * Started by `cluster up` (SUPERVISOR_PID_ENV set, an IPC channel open), the node also stops
 * when that channel closes — the kernel closes it however the supervisor ends, SIGKILL
 * included — or its parent PID changes, so a node never outlives the supervisor that started it. Signals and the channel are watched from
 * before the node starts; a stop asked for during start-up is carried out as soon as it is up.
 */
export async function runStart(f: StartFlags): Promise<number> {
  const config = resolveConfig(f, process.env);
  let reason: StopReason | null = null;
  let onStop: (() => void) | null = null;
  let timer: NodeJS.Timeout | undefined;
  const request = (r: StopReason): void => {
    if (reason !== null) return;
    reason = r;
    // A hung stop must not keep the process.
    timer = setTimeout(() => {
      process.stderr.write(`understudy: node ${config.nodeId} did not stop within ${STOP_TIMEOUT_MS} ms (STOP_TIMEOUT_MS); exiting\n`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    onStop?.();
  };
  const onSignal = (sig: NodeJS.Signals): void => request(sig);
  const onDisconnect = (): void => request('supervisor gone');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let unwatch = (): void => undefined;
  const supervisor = Number(process.env[SUPERVISOR_PID_ENV]);
  if (Number.isInteger(supervisor) && supervisor > 0) {
    if (process.channel && process.connected) {
      // The channel alone must not keep the process alive once the node has stopped.
      process.channel.unref();
      process.once('disconnect', onDisconnect);
    } else {
      // The channel closed before this code ran (the supervisor died while this process started).
      request('supervisor gone');
    }
    // And a parent-death check, for a supervisor gone without the channel noticing.
    unwatch = watchParent(supervisor, onDisconnect);
  }
  const startNode = await loadStartNode();
  const node = await startNode(config, f.repairLog ? { repairLog: true } : {});
  return new Promise<number>((resolve) => {
    onStop = (): void => {
      stopNode(node).then(
        () => resolve(reason === 'SIGINT' ? 130 : 0),
        (e: unknown) => {
          process.stderr.write(`understudy: stopping node ${config.nodeId} failed: ${String(e)}\n`);
          resolve(1);
        },
      );
    };
    if (reason !== null) onStop();
  }).finally(() => {
    clearTimeout(timer);
    unwatch();
    // The signal handlers stay until the process ends: a second SIGTERM while it exits (the
    // supervisor passing one on after another sender's) must not end it by the default action,
    // which reports a killed node instead of a clean stop. Once stopped, request() ignores it.
    process.off('disconnect', onDisconnect);
  });
}
