// `understudy start`: one node from a configuration file (plus environment and
// flags), run until SIGINT/SIGTERM, then stopped cleanly.
import { pathToFileURL } from 'node:url';
import type { Config } from '../config/schema.ts';
import { loadConfig, setOverrides } from '../config/load.ts';

/** The host module that turns a Config into a running node (owned by src/host). */
export const START_NODE_MODULE = new URL('../host/start-node.ts', import.meta.url);

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

async function loadStartNode(): Promise<StartNode> {
  let mod: { startNode?: unknown };
  try {
    mod = (await import(pathToFileURL(START_NODE_MODULE.pathname).href)) as { startNode?: unknown };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes('start-node'))
      throw new Error(`this installation has no node host: ${START_NODE_MODULE.pathname} is missing`);
    throw e;
  }
  if (typeof mod.startNode !== 'function') throw new Error(`${START_NODE_MODULE.pathname} does not export startNode(config)`);
  return mod.startNode as StartNode;
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
