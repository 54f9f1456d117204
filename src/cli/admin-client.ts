// A small client of the nodes' admin HTTP APIs for the CLI: GET /cluster and
// POST /switchover, with the bearer token when one is configured, a timeout on
// every request, and errors that say which URL failed and why. It takes one or
// more admin URLs: a read goes to the first that answers; a switchover must be
// asked of the primary, so it goes to each in turn until the primary accepts.
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
  /** Admin base URLs, e.g. ["http://127.0.0.1:7301", "http://127.0.0.1:7302"]. */
  readonly urls: readonly string[];
  readonly token?: string;
  readonly timeoutMs?: number;
}

/** "URL1,URL2" (flag or environment) → list of URLs; throws naming the first that is not http(s). */
export function parseAdminUrls(s: string): string[] {
  const urls = s
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u.length > 0);
  for (const u of urls) {
    let protocol = '';
    try {
      protocol = new URL(u).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new Error(`admin URL ${JSON.stringify(u)} is not an http:// or https:// URL: pass e.g. --admin http://127.0.0.1:7301 (or several, comma-separated)`);
    }
  }
  return urls;
}

/** An HTTP answer that was not 2xx (as opposed to no answer at all). */
class AdminHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function request(opts: AdminClientOptions, base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const url = new URL(path, base.endsWith('/') ? base : base + '/').href;
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
    throw new AdminHttpError(`${method} ${url}: HTTP ${res.status}: ${msg}${hint}`, res.status);
  }
  return json;
}

function noUrls(): Error {
  return new Error('no admin URL given: pass --admin http://host:port (or several, comma-separated)');
}

/** GET /cluster from the first admin URL that answers (any node serves the whole view). */
export async function getCluster(opts: AdminClientOptions): Promise<ClusterView> {
  let last: Error = noUrls();
  for (const base of opts.urls) {
    let v: ClusterView | undefined;
    try {
      v = (await request(opts, base, 'GET', 'cluster')) as ClusterView | undefined;
    } catch (e) {
      if (e instanceof AdminHttpError) throw e;
      last = e as Error;
      continue;
    }
    if (!v || !Array.isArray(v.nodes)) throw new Error(`GET ${base}/cluster: the reply has no "nodes" array`);
    return v;
  }
  throw last;
}

/**
 * POST /switchover to each admin URL in turn: only the primary carries out a switchover, and
 * a node that is not the primary answers 409 (or does not answer at all, if it is down).
 */
/** One node's /status, from the first URL (the node this command runs beside, for --if-primary). */
export async function getNodeStatus(opts: AdminClientOptions): Promise<NodeStatus> {
  const base = opts.urls[0];
  if (base === undefined) throw noUrls();
  return (await request(opts, base, 'GET', 'status')) as NodeStatus;
}

export async function postSwitchover(opts: AdminClientOptions, to: string | undefined): Promise<{ primaryId: string | null; epoch: number }> {
  let last: Error = noUrls();
  const refused: string[] = [];
  for (const base of opts.urls) {
    try {
      return (await request(opts, base, 'POST', 'switchover', to !== undefined ? { to } : {})) as { primaryId: string | null; epoch: number };
    } catch (e) {
      if (e instanceof AdminHttpError && e.status !== 409) throw e;
      last = e as Error;
      refused.push(base);
    }
  }
  if (refused.length === opts.urls.length && opts.urls.length > 0 && last instanceof AdminHttpError)
    throw new Error(`${last.message}\nno admin URL given is the primary's: pass every node's admin URL, e.g. --admin ${opts.urls[0]},http://<other node>`);
  throw last;
}
