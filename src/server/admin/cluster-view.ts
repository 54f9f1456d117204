// The cluster as one node sees it: its own status plus every other member's
// /status read over HTTP. Each peer read has a short deadline and its own
// error, so a member that is down, slow or misconfigured shows up as
// `{ id, error }` and never breaks the page.
import type { NodeId } from '../../core/types.ts';
import type { NodeHandle, NodeStatus } from '../../runtime/node-api.ts';

/** A peer's /status must answer within this, well under the 500 ms dashboard refresh. */
export const PEER_STATUS_TIMEOUT_MS = 300;
/** A peer answer larger than this is refused rather than parsed (a status is a few KiB, a series ~30 KiB). */
export const PEER_STATUS_MAX_BYTES = 1 << 20;

export interface UnreachableNode {
  readonly id: NodeId;
  readonly error: string;
}

export type ClusterNode = NodeStatus | UnreachableNode;

export interface ClusterView {
  readonly servedBy: NodeId;
  readonly demo: boolean;
  readonly at: number;
  readonly nodes: readonly ClusterNode[];
  /**
   * Each member's admin base URL from the configuration (members without one are absent): a
   * dashboard whose serving node stops answering moves to another member's with it.
   */
  readonly adminUrls: Readonly<Record<NodeId, string>>;
}

export interface ClusterViewOptions {
  readonly node: NodeHandle;
  readonly peersAdmin: (id: NodeId) => string | undefined;
  readonly adminToken?: string | undefined;
  readonly demo: boolean;
  readonly timeoutMs?: number;
}

export async function readCluster(opts: ClusterViewOptions): Promise<ClusterView> {
  const { node } = opts;
  const ids = node.members.map((m) => m.id);
  if (!ids.includes(node.id)) ids.unshift(node.id);
  const nodes = await Promise.all(
    ids.map(async (id): Promise<ClusterNode> => {
      if (id === node.id) {
        try {
          return node.status();
        } catch (e) {
          // This node's own trouble is one card's error, not a broken page.
          return { id, error: `status unavailable: ${e instanceof Error ? e.message : String(e)}` };
        }
      }
      const base = opts.peersAdmin(id);
      if (base === undefined) return { id, error: 'no admin address configured for this member' };
      return fetchPeerStatus(id, base, opts.adminToken, opts.timeoutMs ?? PEER_STATUS_TIMEOUT_MS);
    }),
  );
  const adminUrls: Record<NodeId, string> = {};
  for (const id of ids) {
    const url = opts.peersAdmin(id);
    if (url !== undefined) adminUrls[id] = url;
  }
  return { servedBy: node.id, demo: opts.demo, at: Date.now(), nodes, adminUrls };
}

async function fetchPeerStatus(id: NodeId, base: string, token: string | undefined, timeoutMs: number): Promise<ClusterNode> {
  const r = await fetchPeerJson(base, '/status', token, timeoutMs);
  if ('error' in r) return { id, error: r.error };
  if (!isNodeStatus(r.body)) return { id, error: 'answer is not a node status' };
  if (r.body.id !== id) return { id, error: `admin address answers as member ${r.body.id}` };
  return r.body;
}

/** GET a peer's admin route as JSON, with a deadline and a size limit; never throws. */
export async function fetchPeerJson(base: string, path: string, token: string | undefined, timeoutMs: number): Promise<{ body: unknown } | { error: string }> {
  const url = `${base.replace(/\/+$/, '')}${path}`;
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      // Members of one cluster share the admin token.
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    const text = await res.text();
    if (text.length > PEER_STATUS_MAX_BYTES) return { error: `answer larger than ${PEER_STATUS_MAX_BYTES} bytes` };
    if (!res.ok) return { error: `HTTP ${res.status}: ${errorMessageOf(text)}` };
    return { body: JSON.parse(text) as unknown };
  } catch (e) {
    return { error: describeFetchError(e, timeoutMs) };
  }
}

function errorMessageOf(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') return body.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 200);
}

function describeFetchError(e: unknown, timeoutMs: number): string {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
    const cause = (e as { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code;
      return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message;
    }
    return e.message;
  }
  return String(e);
}

function isNodeStatus(x: unknown): x is NodeStatus {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o['id'] === 'string' && typeof o['role'] === 'string' && typeof o['epoch'] === 'number' && typeof o['log'] === 'object' && o['log'] !== null;
}

export function isUnreachable(n: ClusterNode): n is UnreachableNode {
  return 'error' in n;
}
