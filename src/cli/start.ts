// `understudy start`: one node from a configuration file (plus environment and
// flags), run until SIGINT/SIGTERM, then stopped cleanly.
import type { Config } from '../config/schema.ts';
import { loadConfig, setOverrides } from '../config/load.ts';

export interface StartFlags {
  readonly config?: string;
  readonly nodeId?: string;
  readonly dataDir?: string;
  readonly storage?: string;
  readonly logLevel?: string;
  readonly requirePass?: string;
  readonly demo?: boolean;
  readonly set?: readonly string[];
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
type StartNode = (config: Config) => Promise<StartedNode> | StartedNode;

// Loaded on demand so that the CLI's other commands do not open LMDB; the
// specifier is a literal so that the build rewrites it to the emitted .js.
async function loadStartNode(): Promise<StartNode> {
  const mod = await import('../host/start-node.ts');
  return mod.startNode;
}

/** Upper bound on a clean stop before the process exits anyway. */
export const STOP_TIMEOUT_MS = 15_000;

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

/** Runs one node until a signal; resolves with the process exit code. */
export async function runStart(f: StartFlags): Promise<number> {
  const config = resolveConfig(f, process.env);
  const startNode = await loadStartNode();
  const node = await startNode(config);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      const timer = setTimeout(() => {
        process.stderr.write(`understudy: node ${config.nodeId} did not stop within ${STOP_TIMEOUT_MS} ms; exiting\n`);
        resolve(1);
      }, STOP_TIMEOUT_MS);
      timer.unref();
      stopNode(node).then(
        () => {
          clearTimeout(timer);
          resolve(sig === 'SIGINT' ? 130 : 0);
        },
        (e: unknown) => {
          clearTimeout(timer);
          process.stderr.write(`understudy: stopping node ${config.nodeId} failed: ${String(e)}\n`);
          resolve(1);
        },
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
