// A small client of a node's admin HTTP API for the CLI: GET /cluster and
// POST /switchover, with the bearer token when one is configured, a timeout on
// every request, and errors that say which URL failed and why.
import type { NodeStatus } from '../runtime/node-api.ts';

/** Every admin request gives up after this long (the server bounds switchover itself). */
export const ADMIN_REQUEST_TIMEOUT_MS = 15_000;
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:7301';

export interface UnreachableNode {
  readonly id: string;
  readonly error: string;
}

export interface ClusterView {
  readonly servedBy?: string;
  readonly at?: number;
  readonly nodes: ReadonlyArray<NodeStatus | UnreachableNode>;
}

export function isUnreachable(n: NodeStatus | UnreachableNode): n is UnreachableNode {
  return 'error' in n && !('role' in n);
}

export interface AdminClientOptions {
  readonly url: string;
  readonly token?: string;
  readonly timeoutMs?: number;
}

async function request(opts: AdminClientOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const url = new URL(path, opts.url.endsWith('/') ? opts.url : opts.url + '/').href;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(opts.timeoutMs ?? ADMIN_REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach the admin API at ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    throw new Error(`${method} ${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const msg = (json as { message?: string } | undefined)?.message ?? text.slice(0, 200);
    const hint = res.status === 401 ? ' (pass --token or set UNDERSTUDY_ADMIN_TOKEN)' : '';
    throw new Error(`${method} ${url}: HTTP ${res.status}: ${msg}${hint}`);
  }
  return json;
}

export async function getCluster(opts: AdminClientOptions): Promise<ClusterView> {
  const v = (await request(opts, 'GET', 'cluster')) as ClusterView | undefined;
  if (!v || !Array.isArray(v.nodes)) throw new Error(`GET ${opts.url}/cluster: the reply has no "nodes" array`);
  return v;
}

export async function postSwitchover(opts: AdminClientOptions, to: string | undefined): Promise<{ primaryId: string | null; epoch: number }> {
  return (await request(opts, 'POST', 'switchover', to !== undefined ? { to } : {})) as { primaryId: string | null; epoch: number };
}
