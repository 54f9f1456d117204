// `understudy status` and `understudy switchover`: the operator's view of the
// cluster from any node's admin API.
import type { NodeStatus } from '../runtime/node-api.ts';
import { getCluster, isUnreachable, postSwitchover, type AdminClientOptions, type ClusterView } from './admin-client.ts';

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

export async function runStatus(opts: AdminClientOptions & { json: boolean }, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const view = await getCluster(opts);
  out.write(opts.json ? JSON.stringify(view, null, 2) + '\n' : formatClusterStatus(view) + '\n');
  return view.nodes.some(isUnreachable) ? 2 : 0;
}

export async function runSwitchover(opts: AdminClientOptions & { to?: string }, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const r = await postSwitchover(opts, opts.to);
  // Right after the hand-over the answering node may not have heard from the new primary yet.
  out.write(
    r.primaryId !== null
      ? `switchover done: primary is ${r.primaryId} at epoch ${r.epoch}\n`
      : `switchover done at epoch ${r.epoch}; the new primary is being announced (see: understudy status)\n`,
  );
  return 0;
}
