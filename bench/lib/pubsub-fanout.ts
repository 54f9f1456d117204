// PUBLISH fan-out: one publisher keeps a window of PUBLISH commands in flight
// for a fixed time while SUBSCRIBERS raw-socket subscribers (spread over the
// given ports) receive every message; each message carries its send time, so
// the publish → delivery latency is measured at the subscribers. Used by
// bench/run.ts for understudy (subscribers on the publishing node, and spread
// over the three nodes) beside Redis.
import { connect, type Socket } from 'node:net';
import { percentile, respCommand, type Sample } from '../../src/bench/resp-load.ts';

export const FANOUT_SUBSCRIBERS = 100;
/** PUBLISH commands in flight at once on the publisher's connection. */
export const FANOUT_WINDOW = 16;
/** Subscribers whose latencies are kept (bounds memory; all of them count deliveries). */
const LATENCY_SUBSCRIBERS = 10;
/** After the run, how long deliveries may take to drain before the count is final. */
const DRAIN_MS = 5000;
const CHANNEL = 'bench-fanout';
/** The message: send time in ns since the run began, fixed width so every frame has one length. */
const STAMP_DIGITS = 16;
const FRAME = `*3\r\n$7\r\nmessage\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n$${STAMP_DIGITS}\r\n`;
const FRAME_BYTES = FRAME.length + STAMP_DIGITS + 2;

export interface FanoutResult extends Sample {
  /** Messages delivered to subscribers per second (published × subscribers reached). */
  readonly deliveriesPerSec: number;
  /** Deliveries missing after the drain (0 unless something was lost). */
  readonly missing: number;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });
}

/** Runs the fan-out for durationMs; subscribers go round-robin over `subscriberPorts`. */
export async function publishFanout(o: { publisherPort: number; subscriberPorts: readonly number[]; durationMs: number }): Promise<FanoutResult> {
  const t0 = process.hrtime.bigint();
  const nowNs = (): bigint => process.hrtime.bigint() - t0;
  let delivered = 0;
  const latencies: number[] = [];
  const subs: Socket[] = [];
  for (let i = 0; i < FANOUT_SUBSCRIBERS; i++) {
    const s = await open(o.subscriberPorts[i % o.subscriberPorts.length]!);
    subs.push(s);
    const keep = i < LATENCY_SUBSCRIBERS;
    let buf: Buffer = Buffer.alloc(0);
    let confirmed = false;
    await new Promise<void>((resolve) => {
      s.on('data', (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        if (!confirmed) {
          const end = buf.indexOf(':1\r\n');
          if (end < 0) return;
          confirmed = true;
          buf = buf.subarray(end + 4);
          resolve();
        }
        let at = 0;
        for (; at + FRAME_BYTES <= buf.length; at += FRAME_BYTES) {
          delivered++;
          if (keep) latencies.push(Number(nowNs() - BigInt(buf.toString('latin1', at + FRAME.length, at + FRAME.length + STAMP_DIGITS))) / 1e6);
        }
        buf = buf.subarray(at);
      });
      s.write(respCommand('SUBSCRIBE', CHANNEL));
    });
  }
  const pub = await open(o.publisherPort);
  let published = 0;
  let inFlight = 0;
  let running = true;
  const cpu0 = process.cpuUsage();
  const started = Date.now();
  const send = (): void => {
    while (running && inFlight < FANOUT_WINDOW) {
      inFlight++;
      pub.write(respCommand('PUBLISH', CHANNEL, String(nowNs()).padStart(STAMP_DIGITS, '0')));
    }
  };
  pub.on('data', (chunk: Buffer) => {
    // Every reply is one integer line.
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
      inFlight--;
      published++;
    }
    send();
  });
  send();
  await new Promise((r) => setTimeout(r, o.durationMs));
  running = false;
  const elapsedS = (Date.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const want = (): number => published * FANOUT_SUBSCRIBERS;
  const deadline = Date.now() + DRAIN_MS;
  while ((inFlight > 0 || delivered < want()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  pub.destroy();
  for (const s of subs) s.destroy();
  latencies.sort((a, b) => a - b);
  const sorted = Float64Array.from(latencies);
  return {
    opsPerSec: published / elapsedS,
    deliveriesPerSec: delivered / elapsedS,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    genCpu: (cpu.user + cpu.system) / 1e6 / elapsedS,
    missing: Math.max(0, want() - delivered),
  };
}

/** What one bench round needs: a running understudy cluster, a Redis primary, and the table. */
export interface FanoutRoundOptions {
  readonly cluster: { waitPrimary(): Promise<string>; readonly specs: ReadonlyArray<{ readonly id: string; readonly redisPort: number }> };
  readonly redisPort: number;
  readonly durationMs: number;
  readonly add: (system: string, workload: string, conc: string, s: Sample) => void;
  readonly notes: string[];
  readonly round: number;
}

/**
 * One round of the fan-out rows: understudy with every subscriber on the publishing primary (what
 * a single Redis does), understudy with the subscribers spread over its three nodes (two thirds
 * reached over the peer channel), and Redis.
 */
export async function fanoutRound(o: FanoutRoundOptions): Promise<void> {
  const primary = await o.cluster.waitPrimary();
  const port = (id: string): number => o.cluster.specs.find((s) => s.id === id)!.redisPort;
  const runs: Array<[string, string, number, number[]]> = [
    ['understudy', `PUBLISH → ${FANOUT_SUBSCRIBERS} subscribers on the primary`, port(primary), [port(primary)]],
    ['understudy', `PUBLISH → ${FANOUT_SUBSCRIBERS} subscribers over 3 nodes`, port(primary), o.cluster.specs.map((s) => s.redisPort)],
    ['Redis', `PUBLISH → ${FANOUT_SUBSCRIBERS} subscribers`, o.redisPort, [o.redisPort]],
  ];
  for (const [system, workload, publisherPort, subscriberPorts] of runs) {
    const r = await publishFanout({ publisherPort, subscriberPorts, durationMs: o.durationMs });
    if (r.missing > 0) o.notes.push(`round ${o.round}: ${system} ${workload}: ${r.missing} deliveries missing after the drain`);
    o.add(system, workload, `1 × W${FANOUT_WINDOW}`, r);
  }
}
