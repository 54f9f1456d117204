// A job queue as applications build it on blocking pops: producers RPUSH jobs, consumers
// BLPOP them (first in, first out: with LPUSH the newest job would be taken first and a backlog
// would starve the oldest), every client on its own raw connection (no client library in the way), closed
// loop. The figure is jobs delivered per second and the time from a job's push being sent to
// its pop being answered. understudy acknowledges a push or a pop only once it is durable on
// every secondary; the Redis rows are the same queue with RPUSH and BLPOP each followed by
// WAIT 2 1000 (durable on both replicas before the client goes on), and without WAIT.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { percentile, respCommand, STALL_GRACE_MS, type Sample } from '../../src/bench/resp-load.ts';

/** The configuration: 16 producers and 16 consumers. */
export const QUEUE_PRODUCERS = 16;
export const QUEUE_CONSUMERS = 16;
/** BLPOP's timeout, seconds: a consumer comes back this often to see whether the run is over. */
const POP_TIMEOUT_S = '0.2';
/** Job payload bytes (like the 100-byte values of the SET rows), after the send time. */
const JOB_BYTES = 100;

export interface QueueLoadOptions {
  readonly port: number;
  readonly durationMs: number;
  /** Follow every RPUSH and BLPOP with WAIT 2 1000 (Redis: durable on both replicas). */
  readonly wait: boolean;
  readonly producers?: number;
  readonly consumers?: number;
}

export interface QueueLoadResult extends Sample {
  readonly pushed: number;
  readonly popped: number;
  /** Error replies, and WAITs that counted fewer than 2 replicas. */
  readonly errors: number;
  /** Clients that ended with a command unanswered. */
  readonly stalled: number;
}

/** One connection answering line by line; `expect` says how many lines the next reply takes, from its first line. */
class LineConn {
  private tail = '';
  private waiting: { lines: string[]; resolve: (lines: string[]) => void } | null = null;
  private closed = false;
  private constructor(private readonly s: Socket) {
    s.on('data', (b: Buffer) => this.onData(b.toString('latin1')));
    s.on('close', () => {
      this.closed = true;
      this.waiting?.resolve([]);
      this.waiting = null;
    });
    s.on('error', () => undefined);
  }

  static open(port: number): Promise<LineConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(new LineConn(s)));
      s.once('error', reject);
    });
  }

  /** Sends `cmd` and resolves with the lines of its reply ([] if the connection closed). */
  call(cmd: string): Promise<string[]> {
    if (this.closed) return Promise.resolve([]);
    return new Promise((resolve) => {
      this.waiting = { lines: [], resolve };
      this.s.write(cmd);
      this.onData('');
    });
  }

  close(): void {
    this.s.destroy();
  }

  private onData(chunk: string): void {
    this.tail += chunk;
    let i: number;
    while (this.waiting && (i = this.tail.indexOf('\r\n')) >= 0) {
      const w = this.waiting;
      w.lines.push(this.tail.slice(0, i));
      this.tail = this.tail.slice(i + 2);
      if (w.lines.length >= replyLines(w.lines[0]!)) {
        this.waiting = null;
        w.resolve(w.lines);
      }
    }
  }
}

/** Lines of the replies used here: a line (+ - :), a nil array, or BLPOP's [key, value]. */
function replyLines(first: string): number {
  return first === '*2' ? 5 : 1;
}

export async function queueLoad(o: QueueLoadOptions): Promise<QueueLoadResult> {
  const producers = o.producers ?? QUEUE_PRODUCERS;
  const consumers = o.consumers ?? QUEUE_CONSUMERS;
  // A key of its own per run: jobs left by an earlier run are not counted here.
  const queue = `bench:queue:${randomBytes(4).toString('hex')}`;
  const pad = 'j'.repeat(JOB_BYTES);
  const waitCmd = respCommand('WAIT', '2', '1000');
  const popCmd = respCommand('BLPOP', queue, POP_TIMEOUT_S);
  const conns = await Promise.all(Array.from({ length: producers + consumers }, () => LineConn.open(o.port)));
  const latencies: number[] = [];
  let pushed = 0;
  let popped = 0;
  let errors = 0;
  let stalled = 0;
  let producing = true;
  const check = (lines: string[], ok: (l: string) => boolean): boolean => {
    if (lines.length === 0) {
      stalled++;
      return false;
    }
    if (!ok(lines[0]!)) errors++;
    return true;
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + o.durationMs;
  let popsInWindow = 0;

  const producer = async (c: LineConn): Promise<void> => {
    while (performance.now() < deadline) {
      const job = `${performance.now().toFixed(3)}:${pad}`;
      const r = await c.call(respCommand('RPUSH', queue, job));
      if (!check(r, (l) => l.startsWith(':'))) return;
      if (r[0]!.startsWith(':')) pushed++;
      if (o.wait && !check(await c.call(waitCmd), (l) => l === ':2')) return;
    }
  };
  const consumer = async (c: LineConn): Promise<void> => {
    const giveUpAt = deadline + STALL_GRACE_MS;
    for (;;) {
      const r = await c.call(popCmd);
      if (!check(r, (l) => l === '*2' || l === '*-1')) return;
      if (r[0] === '*2') {
        const now = performance.now();
        latencies.push(now - Number(r[4]!.slice(0, r[4]!.indexOf(':'))));
        popped++;
        if (now <= deadline) popsInWindow++;
        if (o.wait && !check(await c.call(waitCmd), (l) => l === ':2')) return;
      } else if (!producing && popped >= pushed) return;
      if (performance.now() > giveUpAt) return;
    }
  };

  const consumed = Promise.all(conns.slice(producers).map(consumer));
  await Promise.all(conns.slice(0, producers).map(producer));
  producing = false;
  await consumed;
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  for (const c of conns) c.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    opsPerSec: popsInWindow / (o.durationMs / 1000),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    genCpu: (cpu.user + cpu.system) / 1e6 / wallS,
    pushed,
    popped,
    errors,
    stalled,
  };
}

/** The queue rows of one round: understudy, Redis with WAIT, Redis without. */
export async function queueRound(o: { understudyPort: number; redisPort: number; durationMs: number }): Promise<Array<{ system: string; workload: string; conc: string; sample: QueueLoadResult; note?: string }>> {
  const conc = `${QUEUE_PRODUCERS}+${QUEUE_CONSUMERS}`;
  const runs: Array<{ system: string; workload: string; port: number; wait: boolean }> = [
    { system: 'understudy', workload: 'RPUSH/BLPOP queue (jobs/s, push→pop ms)', port: o.understudyPort, wait: false },
    { system: 'Redis', workload: 'RPUSH/BLPOP queue, each + WAIT 2 1000', port: o.redisPort, wait: true },
    { system: 'Redis', workload: 'RPUSH/BLPOP queue (no WAIT)', port: o.redisPort, wait: false },
  ];
  const out = [];
  for (const r of runs) {
    const sample = await queueLoad({ port: r.port, durationMs: o.durationMs, wait: r.wait });
    const bad = sample.errors + sample.stalled;
    out.push({
      system: r.system,
      workload: r.workload,
      conc,
      sample,
      ...(bad || sample.popped !== sample.pushed
        ? { note: `${r.system} ${r.workload}: ${sample.pushed} pushed, ${sample.popped} popped, ${sample.errors} errors, ${sample.stalled} clients stalled` }
        : {}),
    });
  }
  return out;
}
