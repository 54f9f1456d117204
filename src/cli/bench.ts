// `understudy bench`: throughput and latency of a running cluster, measured
// from this machine with the closed-loop RESP generator `npm run bench` uses.
// It loads whatever Redis port it is given; a secondary answers writes with
// READONLY, which is reported with what to do about it.
import { respLoad, type RespLoadResult } from '../bench/resp-load.ts';

export interface BenchOptions {
  readonly host: string;
  readonly port: number;
  readonly clients: readonly number[];
  readonly pipeline: number;
  readonly seconds: number;
  readonly ops: ReadonlyArray<'set' | 'get'>;
  readonly valueBytes: number;
  readonly keyspace: number;
}

function fmt(x: number): string {
  return !Number.isFinite(x) ? '—' : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
}

/** Runs every (op, clients) pair in turn and prints one markdown table; exit code 0, or 1 when any run saw errors. */
export async function runBench(o: BenchOptions, out: NodeJS.WritableStream): Promise<number> {
  out.write(
    `understudy bench: ${o.host}:${o.port}, ${o.seconds} s per run, ${o.valueBytes}-byte values, ${o.keyspace} keys, pipeline ${o.pipeline}\n\n` +
      '| op | clients | ops/s | p50 ms | p99 ms | p99.9 ms | errors | generator CPU |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n',
  );
  let failed = false;
  let readonly = false;
  for (const op of o.ops) {
    for (const c of o.clients) {
      let r: RespLoadResult;
      try {
        r = await respLoad({ host: o.host, port: o.port, conns: c, durationMs: o.seconds * 1000, op, pipeline: o.pipeline, valueBytes: o.valueBytes, keyspace: o.keyspace, onError: (line) => (readonly ||= line.startsWith('-READONLY')) });
      } catch (e) {
        out.write(`\nunderstudy bench: cannot connect to ${o.host}:${o.port}: ${(e as Error).message}\n`);
        return 1;
      }
      if (r.errors > 0 || r.stalled > 0) failed = true;
      out.write(
        `| ${op.toUpperCase()} | ${c} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.p999Ms ?? NaN)} | ${r.errors + r.stalled} | ${r.genCpu.toFixed(2)} |\n`,
      );
    }
  }
  if (readonly) out.write(`\n${o.host}:${o.port} is a secondary (it answered READONLY): point --port at the primary's Redis port (\`understudy status\` shows which node is primary).\n`);
  else if (failed) out.write('\nSome operations failed or went unanswered (counted under errors).\n');
  if (o.ops.length && o.clients.some((c) => c >= 16)) out.write('\nA generator CPU near 1.00 means the generator, not the cluster, may be the limit: run it from another machine or with fewer clients.\n');
  return failed ? 1 : 0;
}
