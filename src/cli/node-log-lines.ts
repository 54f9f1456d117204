// What `cluster up` shows of its nodes' logs. Every node writes pino JSON lines; all of them
// go to the node's log file (<data>/cluster/<id>.log). The terminal gets, by default
// (--log-format pretty), one short human line for what a newcomer watches for — a node up, a
// role change, a failover with its report, every warning and error — and with
// --log-format json every line as the node wrote it, prefixed with its id.
import type { FailoverReport } from '../runtime/node-api.ts';

export type LogFormat = 'pretty' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['pretty', 'json'];

/** pino's numeric levels. */
const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const WARN_LEVEL = 40;

interface NodeLine {
  level?: number;
  time?: number;
  msg?: string;
  code?: string;
  err?: { code?: string; message?: string };
  failover?: FailoverReport;
  newEpoch?: number;
  redis?: string;
  admin?: string;
}

function clock(ms: number | undefined): string {
  return new Date(ms ?? Date.now()).toISOString().slice(11, 19);
}

function counts(what: string, m: Readonly<Record<string, number>> | undefined): string | null {
  const parts = Object.entries(m ?? {}).filter(([, n]) => n > 0);
  return parts.length ? `${what} ${parts.map(([id, n]) => `${id}:${n}`).join(' ')}` : null;
}

/** A failover report in one line: who, which epoch, how long each phase took, what moved. */
export function failoverLine(r: FailoverReport): string {
  const moved = [counts('shipped', r.shippedTo), counts('pulled', r.pulledFrom), counts('truncated', r.truncated), counts('regions resynced', r.regionsResynced)].filter((x) => x !== null);
  const lost = r.acknowledgedWritesLost !== undefined ? `, acknowledged writes lost: ${r.acknowledgedWritesLost}` : '';
  return (
    `failover: ${r.oldPrimary ?? '(none)'} → ${r.newPrimary}, epoch ${r.newEpoch} — detection ${Math.round(r.detectionMs)} ms, election ${Math.round(r.electionMs)} ms, sync ${Math.round(r.failoverSyncMs)} ms` +
    (moved.length ? ` (${moved.join('; ')})` : '') +
    lost
  );
}

/**
 * The terminal line for one line of a node's output in pretty format, or null to leave it to
 * the log file. A line that is not JSON (a crash's stack trace) is shown as it is.
 */
export function prettyNodeLine(id: string, raw: string): string | null {
  let l: NodeLine;
  try {
    l = JSON.parse(raw) as NodeLine;
  } catch {
    return `${id}  ${raw}`;
  }
  if (typeof l !== 'object' || l === null || typeof l.msg !== 'string') return `${id}  ${raw}`;
  const at = `${clock(l.time)} ${id}`;
  const level = l.level ?? 30;
  if (level >= WARN_LEVEL) {
    const code = l.code ?? l.err?.code;
    const detail = l.err?.message !== undefined && !l.msg.includes(l.err.message) ? `: ${l.err.message}` : '';
    return `${at}  ${LEVEL_NAMES[level] ?? level} ${l.msg}${detail}${code !== undefined ? ` [${code}]` : ''}`;
  }
  if (l.failover) return `${at}  ${failoverLine(l.failover)}`;
  if (l.msg.startsWith('role: ')) return `${at}  ${l.msg}${l.newEpoch !== undefined ? ` (epoch ${l.newEpoch})` : ''}`;
  if (/^node \S+ started$/.test(l.msg)) return `${at}  started${l.redis !== undefined ? ` (redis ${l.redis})` : ''}`;
  return null;
}
