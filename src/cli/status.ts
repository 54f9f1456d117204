// `understudy status` and `understudy switchover`: the operator's view of the
// cluster from any node's admin API.
import type { NodeStatus } from '../runtime/node-api.ts';
import { getCluster, getNodeStatus, isUnreachable, postSwitchover, type AdminClientOptions, type ClusterView } from './admin-client.ts';

/** Left-aligned text table with a header row and a rule under it. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The status table: one row per node, lag per secondary as the primary sees it. */
export function formatClusterStatus(view: ClusterView): string {
  const statuses = view.nodes.filter((n): n is NodeStatus => !isUnreachable(n));
  const primary = statuses.filter((s) => s.role === 'primary').sort((a, b) => b.epoch - a.epoch)[0];
  const rows = view.nodes.map((n) => {
    if (isUnreachable(n)) return [n.id, 'unreachable', '-', '-', '-', '-', '-', n.error];
    const sec = primary?.secondaries.find((s) => s.id === n.id);
    const lag =
      n.role === 'primary'
        ? '-'
        : sec
          ? `${sec.lagUpdates} upd / ${sec.lagMs} ms${sec.inDest ? '' : ' (out of dest)'}${sec.connection === 'connected' ? '' : ` [${sec.connection}]`}`
          : '?';
    return [
      n.id,
      n.role + (n.role === 'primary' && !n.leaseValid ? ' (no lease)' : ''),
      String(n.epoch),
      String(n.log.start),
      String(n.log.appliedLsn),
      String(n.log.lastLsn),
      lag,
      String(n.keys),
    ];
  });
  const header = ['NODE', 'ROLE', 'EPOCH', 'LOG START', 'APPLIED', 'END', 'LAG', 'KEYS'];
  const summary = primary
    ? `primary: ${primary.id} (epoch ${primary.epoch})`
    : 'primary: none known (election in progress, or no quorum)';
  return `${summary}\n\n${formatTable(header, rows)}`;
}

export async function runStatus(
  opts: AdminClientOptions & { json: boolean; watch?: boolean; watchSeconds?: number },
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  if (opts.watch) return watchStatus(opts, out);
  const view = await getCluster(opts);
  out.write(opts.json ? JSON.stringify(view, null, 2) + '\n' : formatClusterStatus(view) + '\n');
  return view.nodes.some(isUnreachable) ? 2 : 0;
}

/** How often `status --watch` refreshes. */
export const WATCH_INTERVAL_MS = 1000;
/** A secondary this many updates behind (or resyncing regions) gets a progress bar. */
export const PROGRESS_MIN_LAG = 100;
const BAR_WIDTH = 30;

/** Where a catching-up secondary started from, to draw its progress. */
interface Catchup {
  readonly fromLag: number;
  lastAcked: number;
  lastAt: number;
  /** Updates acknowledged per second, smoothed. */
  rate: number;
}

/**
 * One progress line per secondary that is far behind or resyncing: a bar from where it stood
 * when first seen behind to the primary's end, its catch-up rate and an ETA.
 */
export function formatProgress(view: ClusterView, seen: Map<string, Catchup>, nowMs: number): string[] {
  const statuses = view.nodes.filter((n): n is NodeStatus => !isUnreachable(n));
  const primary = statuses.filter((s) => s.role === 'primary').sort((a, b) => b.epoch - a.epoch)[0];
  if (!primary) return [];
  const lines: string[] = [];
  for (const sec of primary.secondaries) {
    const behind = sec.lagUpdates >= PROGRESS_MIN_LAG || sec.resyncRegions > 0;
    let c = seen.get(sec.id);
    if (!behind) {
      seen.delete(sec.id);
      continue;
    }
    if (!c) {
      c = { fromLag: Math.max(sec.lagUpdates, 1), lastAcked: sec.ackedLsn, lastAt: nowMs, rate: 0 };
      seen.set(sec.id, c);
    } else if (nowMs > c.lastAt) {
      const r = ((sec.ackedLsn - c.lastAcked) * 1000) / (nowMs - c.lastAt);
      c.rate = c.rate === 0 ? r : 0.5 * c.rate + 0.5 * r;
      c.lastAcked = sec.ackedLsn;
      c.lastAt = nowMs;
    }
    const done = Math.min(1, Math.max(0, 1 - sec.lagUpdates / Math.max(c.fromLag, sec.lagUpdates)));
    const filled = Math.round(done * BAR_WIDTH);
    const eta = c.rate > 0 ? `ETA ${Math.ceil(sec.lagUpdates / c.rate)} s` : 'ETA —';
    const what = sec.resyncRegions > 0 ? `region resync (${sec.resyncRegions} regions), then catching up` : 'catching up';
    lines.push(
      `${sec.id} ${what} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(done * 100).toFixed(0)}%  ${sec.lagUpdates} updates behind  ${Math.max(0, c.rate).toFixed(0)} updates/s  ${eta}`,
    );
  }
  return lines;
}

async function watchStatus(opts: AdminClientOptions & { watchSeconds?: number }, out: NodeJS.WritableStream): Promise<number> {
  const seen = new Map<string, Catchup>();
  const until = Date.now() + (opts.watchSeconds ?? Infinity) * 1000;
  for (;;) {
    let text: string;
    try {
      const view = await getCluster(opts);
      const progress = formatProgress(view, seen, Date.now());
      text = formatClusterStatus(view) + (progress.length ? `\n\n${progress.join('\n')}` : '');
    } catch (e) {
      text = `cannot reach the admin API: ${(e as Error).message}`;
    }
    // Redraw in place on a terminal; append otherwise (logs, pipes).
    const tty = (out as NodeJS.WriteStream).isTTY === true;
    out.write((tty ? '\x1b[2J\x1b[H' : '') + `${new Date().toISOString()}\n${text}\n${tty ? '' : '\n'}`);
    if (Date.now() + WATCH_INTERVAL_MS > until) return 0;
    await new Promise((r) => setTimeout(r, WATCH_INTERVAL_MS));
  }
}

export async function runSwitchover(opts: AdminClientOptions & { to?: string; ifPrimary?: boolean }, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  if (opts.ifPrimary) {
    // A stop hook (Kubernetes preStop, systemd ExecStop) on every node: only the primary's hands over.
    const st = await getNodeStatus(opts);
    if (st.role !== 'primary') {
      out.write(`${st.id} is not the primary (${st.role}); nothing to hand over\n`);
      return 0;
    }
    opts = { ...opts, urls: opts.urls.slice(0, 1) };
  }
  const r = await postSwitchover(opts, opts.to);
  // Right after the hand-over the answering node may not have heard from the new primary yet.
  out.write(
    r.primaryId !== null
      ? `switchover done: primary is ${r.primaryId} at epoch ${r.epoch}\n`
      : `switchover done at epoch ${r.epoch}; the new primary is being announced (see: understudy status)\n`,
  );
  return 0;
}
