// The torture clients: each a real ioredis client in Sentinel mode from the machine's own
// namespace, one operation outstanding at a time, recording invoke/ok/fail/info into the
// simulator's history model (sim/history.ts) so the project's own linearizability checker
// judges it. Keys rotate per nemesis round (a bounded set at any time), so the unknown-outcome
// operations a fault leaves behind do not pile up on one key's search.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { HistoryRecorder, type OpCall, type OpResult } from '../../sim/history.ts';
import { Prng } from '../../src/lib/prng.ts';
import { MASTER_NAME, sleep, type ProcessCluster } from '../integration/harness.ts';

/** Registers per round: small, so clients contend on each. */
export const KEYS_PER_ROUND = 6;
/** One command's bound: past it the outcome is unknown (info). */
export const OP_TIMEOUT_MS = 2000;
/** Pause after an operation that failed or timed out, so a client does not spin through an election. */
const ERROR_BACKOFF_MS = 50;
/** One in this many operations is also a write of a unique key, read back after the run. */
const UNIQUE_WRITE_EVERY = 4;

/** SET key ARGV[2] if GET key equals ARGV[1]: a compare-and-set through EVALSHA. */
const CAS_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[1], ARGV[2]) return 1 else return 0 end";

type CasClient = Redis & { cas(key: string, expect: string, value: string): Promise<number> };

/**
 * Error replies that prove the command did not run: refused before anything was logged, or
 * an error of the command itself against the key's value. Every other failure (a timeout, a
 * closed connection, an error while the write was being replicated) is info.
 */
const DEFINITE_FAILURES = [/^READONLY/, /^ERR value is not an integer/, /^WRONGTYPE/, /^NOSCRIPT/, /enableOfflineQueue options is false/, /^LOADING/, /^MASTERDOWN/];

export function isDefiniteFailure(message: string): boolean {
  return DEFINITE_FAILURES.some((re) => re.test(message));
}

export interface Workload {
  readonly recorder: HistoryRecorder;
  /** Unique keys acknowledged by SET (key → value): each must read back after the run. */
  readonly acked: Map<string, string>;
  /** Wall-time stamps (performance.now) of every ok operation, in order. */
  readonly okTimes: number[];
  /** Registers used so far (every round's). */
  readonly keys: Set<string>;
  counts: { ok: number; fail: number; info: number };
  round: number;
  stop(): Promise<void>;
}

function clientFor(cluster: ProcessCluster): CasClient {
  const r = new Redis({
    sentinels: cluster.specs.map((s) => ({ host: s.host, port: s.sentinelPort })),
    name: MASTER_NAME,
    commandTimeout: OP_TIMEOUT_MS,
    connectTimeout: OP_TIMEOUT_MS,
    // Never resend or queue a command: a second copy of an APPEND or INCR sent after a
    // reconnect would be a second operation the history does not know about.
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 100,
    sentinelRetryStrategy: () => 100,
    // A deposed primary answers READONLY: look the primary up again.
    reconnectOnError: (e) => (e.message.startsWith('READONLY') ? 1 : false),
  });
  r.on('error', () => undefined);
  r.defineCommand('cas', { numberOfKeys: 1, lua: CAS_SCRIPT });
  return r as CasClient;
}

/** Starts `clients` loops on the cluster; stop() ends them and closes their connections. */
export function startWorkload(cluster: ProcessCluster, clients: number, seed: number): Workload {
  const recorder = new HistoryRecorder();
  const rng = new Prng(seed);
  const w: Workload = {
    recorder,
    acked: new Map(),
    okTimes: [],
    keys: new Set(),
    counts: { ok: 0, fail: 0, info: 0 },
    round: 0,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      for (const c of conns) c.disconnect();
    },
  };
  let running = true;
  const conns: CasClient[] = [];
  const now = (): number => performance.now();
  const loop = async (id: number): Promise<void> => {
    const c = clientFor(cluster);
    conns.push(c);
    const name = `c${id}`;
    let lastSeen = new Map<string, string>();
    let uniq = 0;
    while (running) {
      const key = `t${w.round}:k${rng.int(0, KEYS_PER_ROUND - 1)}`;
      w.keys.add(key);
      const call = pickCall(rng, key, lastSeen.get(key));
      const op = recorder.invoke(name, call, now());
      try {
        const res = await run(c, call);
        recorder.ok(op, res, now());
        w.counts.ok++;
        w.okTimes.push(now());
        if (call.kind === 'read' && typeof res === 'string') lastSeen.set(key, res);
      } catch (e) {
        const msg = (e as Error).message;
        if (isDefiniteFailure(msg)) {
          recorder.fail(op, now());
          w.counts.fail++;
        } else {
          recorder.info(op, now());
          w.counts.info++;
        }
        await sleep(ERROR_BACKOFF_MS);
      }
      if (lastSeen.size > KEYS_PER_ROUND * 4) lastSeen = new Map();
      if (rng.int(0, UNIQUE_WRITE_EVERY - 1) === 0 && running) {
        const k = `u:${name}:${uniq++}`;
        const v = randomBytes(4).toString('hex');
        try {
          if ((await c.set(k, v)) === 'OK') w.acked.set(k, v);
        } catch {
          // Unknown outcome: never counted as lost.
        }
      }
    }
  };
  const loops = Array.from({ length: clients }, (_, i) => loop(i + 1));
  return w;
}

function pickCall(rng: Prng, key: string, seen: string | undefined): OpCall {
  const r = rng.int(0, 100 - 1);
  if (r < 35) return { kind: 'read', key };
  if (r < 55) return { kind: 'write', key, value: String(rng.int(0, 1000 - 1)) };
  if (r < 65) return { kind: 'append', key, suffix: String(rng.int(0, 10 - 1)) };
  if (r < 72) return { kind: 'delete', key };
  if (r < 85) return { kind: 'incr', key, by: 1 + rng.int(0, 5 - 1) };
  return { kind: 'cas', key, expect: seen ?? String(rng.int(0, 1000 - 1)), value: String(rng.int(0, 1000 - 1)) };
}

async function run(c: CasClient, call: OpCall): Promise<OpResult> {
  switch (call.kind) {
    case 'read':
      return c.get(call.key);
    case 'write': {
      const r = await c.set(call.key, call.value);
      if (r !== 'OK') throw new Error(`SET answered ${String(r)}`);
      return null;
    }
    case 'append':
      return c.append(call.key, call.suffix);
    case 'delete':
      return c.del(call.key);
    case 'incr':
      return c.incrby(call.key, call.by);
    case 'cas':
      return Number(await c.cas(call.key, call.expect, call.value));
  }
}
