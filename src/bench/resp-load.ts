// The closed-loop RESP load generator behind `understudy bench` and `npm run bench`:
// one connection per client, raw sockets (no client library in the way); each
// connection sends one operation (or a pipeline of them), waits for every
// reply, and sends the next. Every latency is kept, so p99.9 is exact.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** A connection still waiting for a reply this long after its run's end is abandoned (ms). */
export const STALL_GRACE_MS = 3000;
/** Distinct keys the generator cycles through (like redis-benchmark's -r). */
export const DEFAULT_KEYSPACE = 100_000;
/** Value size in bytes (redis-benchmark's -d). */
export const DEFAULT_VALUE_BYTES = 100;

export interface Sample {
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Only where the generator keeps every latency (not redis-benchmark's CSV). */
  readonly p999Ms?: number;
  /** Load generator CPU time / wall time (1 = one core busy). */
  readonly genCpu: number;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function respCommand(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** 16-byte keys like redis-benchmark's "key:000000012345". */
export function key16(i: number, keyspace = DEFAULT_KEYSPACE): string {
  return `key:${String(i % keyspace).padStart(12, '0')}`;
}

export interface RespLoadOptions {
  readonly host?: string;
  readonly port: number;
  readonly conns: number;
  readonly durationMs: number;
  /** 'set': SET key value; 'set-wait': SET then WAIT 2 1000 (Redis's write acknowledged by both replicas); 'get': GET key. */
  readonly op: 'set' | 'set-wait' | 'get' | 'evalsha' | 'evalsha-wait';
  /** For 'evalsha' / 'evalsha-wait': the cached script, called with one key and the value as ARGV[1]; its reply must not be an integer. */
  readonly sha?: string;
  /** Operations sent together per round trip on each connection (1 = no pipelining). */
  readonly pipeline?: number;
  readonly valueBytes?: number;
  readonly keyspace?: number;
  /** Called with each error reply line (e.g. to tell READONLY from other errors). */
  readonly onError?: (line: string) => void;
}

export interface RespLoadResult extends Sample {
  /** Error replies (and for set-wait, WAIT answering fewer than 2 replicas). */
  readonly errors: number;
  /** Connections that ended with an operation unanswered (closed by the server, or no reply within STALL_GRACE_MS of the end). */
  readonly stalled: number;
  /** Operations answered. */
  readonly ops: number;
}

/**
 * Runs the load for durationMs and reports throughput and latency. With pipelining, a latency
 * is that of the whole pipeline (as redis-benchmark reports it).
 */
export async function respLoad(o: RespLoadOptions): Promise<RespLoadResult> {
  const { port, conns, durationMs } = o;
  const host = o.host ?? '127.0.0.1';
  const withWait = o.op === 'set-wait' || o.op === 'evalsha-wait';
  const pipeline = Math.max(1, o.pipeline ?? 1);
  const value = 'v'.repeat(o.valueBytes ?? DEFAULT_VALUE_BYTES);
  const keyspace = o.keyspace ?? DEFAULT_KEYSPACE;
  const write = (k: string): string => (o.op === 'evalsha' || o.op === 'evalsha-wait' ? respCommand('EVALSHA', o.sha ?? '', '1', k, value) : respCommand('SET', k, value));
  const one = (k: string): string => (o.op === 'get' ? respCommand('GET', k) : withWait ? write(k) + respCommand('WAIT', '2', '1000') : write(k));
  const repliesPerOp = (withWait ? 2 : 1) * pipeline;
  const latencies: number[] = [];
  let errors = 0;
  let seq = randomBytes(2).readUInt16BE(0);
  const sockets: Socket[] = [];
  await Promise.all(
    Array.from({ length: conns }, () => new Promise<void>((resolve, reject) => {
      const s = connect({ host, port, noDelay: true }, () => resolve());
      s.once('error', reject);
      sockets.push(s);
    })),
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  // A connection whose operation is still unanswered this long after the deadline is given up on.
  let stalled = 0;
  const ends: Array<() => void> = [];
  const giveUp = setTimeout(() => ends.forEach((f) => f()), durationMs + STALL_GRACE_MS);
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((done) => {
          let finished = false;
          const resolve = (): void => {
            if (!finished) {
              finished = true;
              done();
            }
          };
          ends.push(() => {
            if (!finished) stalled++;
            resolve();
          });
          let pending = 0;
          let sentAt = 0;
          let tail = '';
          let payloadNext = false;
          const send = (): void => {
            if (performance.now() >= deadline) return resolve();
            let batch = '';
            for (let p = 0; p < pipeline; p++) batch += one(key16(seq++, keyspace));
            pending = repliesPerOp;
            sentAt = performance.now();
            s.write(batch);
          };
          s.on('data', (b: Buffer) => {
            tail += b.toString('latin1');
            let i: number;
            while ((i = tail.indexOf('\r\n')) >= 0) {
              const line = tail.slice(0, i);
              tail = tail.slice(i + 2);
              // A bulk string's payload line (GET's value) is part of the reply on the line before.
              if (payloadNext) payloadNext = false;
              else if (line.startsWith('$') && line !== '$-1') {
                payloadNext = true;
                continue;
              } else if (line.startsWith('-') || (withWait && line.startsWith(':') && line !== ':2')) {
                errors++;
                o.onError?.(line);
              }
              if (--pending === 0) {
                latencies.push(performance.now() - sentAt);
                send();
              }
            }
          });
          // A server that closes the connection ends this client's loop (counted as stalled if an operation was unanswered).
          s.once('error', () => resolve());
          s.once('close', () => {
            if (pending > 0 && !finished) stalled++;
            resolve();
          });
          send();
        }),
    ),
  );
  clearTimeout(giveUp);
  const wallMs = Math.min(performance.now() - t0, durationMs + (stalled ? 0 : STALL_GRACE_MS));
  const cpu = process.cpuUsage(cpu0);
  for (const s of sockets) s.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    opsPerSec: ((latencies.length * pipeline) / wallMs) * 1000,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    genCpu: (cpu.user + cpu.system) / 1000 / wallMs,
    errors,
    stalled,
    ops: latencies.length * pipeline,
  };
}
