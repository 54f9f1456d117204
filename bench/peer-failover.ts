// `tsx bench/peer-failover.ts [--reps N]`: the failover drills of the systems
// understudy is compared with, on their own, without the whole benchmark:
// etcd with --heartbeat-interval 50 --election-timeout 300, etcd with its
// default timing, and Redis + 3 Sentinels with down-after-milliseconds 1000.
// Prints a markdown table (median (min–max) over the repetitions) and the
// notes saying what each figure means.
import { cpus } from 'node:os';
import { versionOf } from './lib/common.ts';
import { etcdFailoverDrill, PEER_DRILL_NOTES, PEER_DRILL_TABLE_HEADER, peerDrillRows, type PeerDrillResult, sentinelFailoverDrill } from './lib/peer-drills.ts';
import { etcdInstalled } from './lib/peers.ts';

const DEFAULT_REPS = 3;
/** More repetitions than this is a typo, not a benchmark. */
const MAX_REPS = 100;
const ETCD_FAST_TIMING = { heartbeatMs: 50, electionMs: 300 } as const;
const SENTINEL_DOWN_AFTER_MS = 1000;

function parseReps(argv: string[]): number {
  const i = argv.indexOf('--reps');
  if (i < 0) return DEFAULT_REPS;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPS) throw new Error(`--reps wants an integer from 1 to ${MAX_REPS}, got ${argv[i + 1]}`);
  return n;
}

async function main(): Promise<void> {
  const reps = parseReps(process.argv.slice(2));
  const t0 = Date.now();
  const log = (s: string): void => void process.stderr.write(`[peer-failover ${((Date.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);
  const results: Array<{ label: string; rs: PeerDrillResult[] }> = [];
  const notes: string[] = [];
  if (etcdInstalled()) {
    const fast = `etcd ${ETCD_FAST_TIMING.heartbeatMs}/${ETCD_FAST_TIMING.electionMs} ms`;
    results.push({ label: fast, rs: await etcdFailoverDrill({ ...ETCD_FAST_TIMING, reps, log }) });
    results.push({ label: 'etcd default timing', rs: await etcdFailoverDrill({ reps, log }) });
  } else notes.push('etcd is not installed (Debian package etcd-server): etcd drills skipped.');
  results.push({ label: `Redis + Sentinel, down-after ${SENTINEL_DOWN_AFTER_MS} ms`, rs: await sentinelFailoverDrill({ downAfterMs: SENTINEL_DOWN_AFTER_MS, reps, log }) });

  const out = [
    `# Peer failover drills, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${cpus().length} cores, Node ${process.version}. etcd ${versionOf('etcd', ['--version'], /etcd Version: (\S+)/)} (3 members), ` +
      `Redis ${versionOf('redis-server', ['--version'], /v=(\S+)/)} (primary + 2 replicas, appendonly yes, appendfsync always, 3 Sentinels, quorum 2). All on 127.0.0.1. ${reps} drills per system.`,
    '',
    ...PEER_DRILL_TABLE_HEADER,
    ...results.flatMap((r) => peerDrillRows(r.label, r.rs)),
    '',
    '## Notes',
    '',
    ...[...PEER_DRILL_NOTES, ...notes].map((n) => `- ${n}`),
    '',
    `Whole run: ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
    '',
  ];
  process.stdout.write(out.join('\n'));
}

// Ctrl-C or a kill: leave through process.exit so common.ts kills the processes this run started.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(sig === 'SIGINT' ? 130 : 143));

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`peer-failover failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
