// The data-model rows of `npm run bench`: redis-benchmark's own collection tests against
// understudy and Redis side by side, and element writes (HSET, ZADD, LPUSH) on a collection of
// ELEMENTS elements beside the same on a 10-element one — ops/s on the running cluster, and the
// bytes of the update each write becomes (the update codec's size: what goes on the wire and
// into every log), with the primary's executor time per write measured in-process. The claim
// checked: one element's write costs the same whatever the collection's size.
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { encodedSize } from '../../src/codec/update-codec.ts';
import { encodeListPosition, encodeScore, LIST_POSITION_STEP } from '../../src/core/collections.ts';
import { execute } from '../../src/core/kv/executor.ts';
import { regionOfKey } from '../../src/core/regions.ts';
import type { Op } from '../../src/core/types.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { respCommand, type Sample } from '../../src/bench/resp-load.ts';
import { fmtOps } from './common.ts';

/** redis-benchmark's own tests: the strings and every collection type (this redis-benchmark's names). */
export const DATA_MODEL_TESTS = ['set', 'get', 'incr', 'lpush', 'rpush', 'lpop', 'rpop', 'sadd', 'hset', 'spop', 'zadd', 'zpopmin', 'lrange_100', 'lrange_600', 'mset'] as const;
/** Size of the big collections. */
export const DEFAULT_ELEMENTS = 1_000_000;
const SMALL_ELEMENTS = 10;
/** Elements per preloading command, and commands in flight while preloading. */
const PRELOAD_BATCH = 1000;
const PRELOAD_WINDOW = 32;
const CLIENTS = 16;
const RB_TIMEOUT_S = 120;
/** In-process executor timing: writes per measurement. */
const EXEC_REPS = 20_000;

/** Runs redis-benchmark with `-t` tests or one custom command; one Sample per CSV row, by row name. */
function redisBenchmark(port: number, requests: number, what: { tests: readonly string[] } | { command: readonly string[]; random: number }): Map<string, Sample> {
  const target = 'tests' in what ? `-t ${what.tests.join(',')}` : `-r ${what.random} ${what.command.join(' ')}`;
  const rb = `timeout -s KILL ${RB_TIMEOUT_S} redis-benchmark -h 127.0.0.1 -p ${port} -c ${CLIENTS} -n ${requests} --csv ${target}`;
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', `${rb}; rc=$?; times; exit $rc`], { encoding: 'utf8', timeout: (RB_TIMEOUT_S + 5) * 1000 });
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`redis-benchmark ${target} failed (status ${r.status}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const times = lines[lines.length - 1]!.trim().split(/\s+/);
  const cpu = times.map((s) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(s);
    return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
  });
  const out = new Map<string, Sample>();
  for (const line of lines) {
    if (!line.startsWith('"') || line.startsWith('"test"')) continue;
    const f = line.split('","').map((x) => x.replaceAll('"', ''));
    out.set(f[0]!, { opsPerSec: Number(f[1]), p50Ms: Number(f[4]), p99Ms: Number(f[6]), genCpu: (cpu[0]! + cpu[1]!) / wallS });
  }
  return out;
}

/** Writes `n` elements into `key` with pipelined commands of PRELOAD_BATCH elements; resolves when all are answered. */
function preload(port: number, kind: 'hash' | 'zset' | 'list', key: string, n: number): Promise<void> {
  const commands: string[] = [];
  for (let i = 0; i < n; i += PRELOAD_BATCH) {
    const args: string[] = [];
    for (let j = i; j < Math.min(n, i + PRELOAD_BATCH); j++) {
      if (kind === 'hash') args.push(`field:${j}`, 'v');
      else if (kind === 'zset') args.push(String(j), `member:${j}`);
      else args.push(`e${j}`);
    }
    commands.push(respCommand(kind === 'hash' ? 'HSET' : kind === 'zset' ? 'ZADD' : 'RPUSH', key, ...args));
  }
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let sent = 0;
    let answered = 0;
    let buf = '';
    const pump = (): void => {
      while (sent < commands.length && sent - answered < PRELOAD_WINDOW) sock.write(commands[sent++]!);
    };
    sock.on('connect', pump);
    sock.on('error', reject);
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let eol: number;
      while ((eol = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, eol);
        buf = buf.slice(eol + 2);
        if (line.startsWith('-')) return reject(new Error(`preloading ${key}: ${line}`));
        answered++;
      }
      if (answered === commands.length) {
        sock.destroy();
        resolve();
      } else pump();
    });
  });
}

/** An element write on `key`: overwrite a random existing field, bump a random member, push one element. */
function elementWrite(kind: 'hash' | 'zset' | 'list', key: string): string[] {
  if (kind === 'hash') return ['HSET', key, 'field:__rand_int__', 'w'];
  if (kind === 'zset') return ['ZINCRBY', key, '1', 'member:__rand_int__'];
  return ['LPUSH', key, 'x'];
}

/**
 * In-process, on a storage area holding the collection: the encoded update of one element
 * write, and the primary's executor time per write.
 */
function updateCost(kind: 'hash' | 'zset' | 'list', size: number): { bytes: number; execUs: number } {
  const storage = new MemoryStorage();
  const key = Buffer.from(`${kind}:${size}`);
  const ops: Op[] = [];
  for (let i = 0; i < size; i++) {
    if (kind === 'hash') ops.push({ k: 'elem', key, type: 'hash', elem: Buffer.from(`field:${i}`), value: Buffer.from('v') });
    else if (kind === 'zset') ops.push({ k: 'elem', key, type: 'zset', elem: Buffer.from(`member:${i}`), value: encodeScore(i) });
    else ops.push({ k: 'elem', key, type: 'list', elem: encodeListPosition(i * LIST_POSITION_STEP), value: Buffer.from(`e${i}`) });
  }
  storage.apply({ lsn: 1, epoch: 1, dest: [], kind: 'data', ops, regions: [regionOfKey(key)] });
  const write = (i: number): Buffer[] => {
    const f = String(i % size);
    const args = kind === 'hash' ? ['HSET', key.toString(), `field:${f}`, `w${i}`] : kind === 'zset' ? ['ZINCRBY', key.toString(), '1', `member:${f}`] : ['LPUSH', key.toString(), 'x'];
    return args.map((a) => Buffer.from(a));
  };
  const one = execute(write(1), storage, 0);
  const bytes = encodedSize({ lsn: 2, epoch: 1, dest: ['n2', 'n3'], kind: 'data', ops: one.ops, regions: [regionOfKey(key)] });
  const t0 = performance.now();
  for (let i = 0; i < EXEC_REPS; i++) execute(write(i), storage, 0);
  return { bytes, execUs: ((performance.now() - t0) * 1000) / EXEC_REPS };
}

export interface DataModelOptions {
  /** The understudy primary's Redis port (asked again before each run: a primary may change). */
  readonly understudyPort: () => Promise<number>;
  readonly redisPort: number;
  readonly elements?: number;
  /** Requests per redis-benchmark run. */
  readonly requests?: number;
  readonly log: (s: string) => void;
}

/** Runs the data-model rows; returns markdown lines. */
export async function dataModelBench(o: DataModelOptions): Promise<string[]> {
  const elements = o.elements ?? DEFAULT_ELEMENTS;
  const requests = o.requests ?? 20_000;
  const out: string[] = [];
  o.log(`redis-benchmark -t ${DATA_MODEL_TESTS.join(',')} on understudy and Redis`);
  const u = redisBenchmark(await o.understudyPort(), requests, { tests: DATA_MODEL_TESTS });
  const r = redisBenchmark(o.redisPort, requests, { tests: DATA_MODEL_TESTS });
  out.push(`## Collections: redis-benchmark -t ${DATA_MODEL_TESTS.join(',')} (-c ${CLIENTS}, -n ${requests})`, '');
  out.push('| test | understudy ops/s | understudy p50 / p99 ms | Redis ops/s | Redis p50 / p99 ms |', '| --- | ---: | ---: | ---: | ---: |');
  for (const [name, s] of u) {
    const t = r.get(name);
    out.push(`| ${name} | ${fmtOps(s.opsPerSec)} | ${s.p50Ms} / ${s.p99Ms} | ${t ? fmtOps(t.opsPerSec) : '–'} | ${t ? `${t.p50Ms} / ${t.p99Ms}` : '–'} |`);
  }
  out.push('', 'Redis: primary + 2 replicas, appendfsync always, no WAIT (its writes are acknowledged before any replica has them).', '');

  out.push(`## Element writes: a ${elements.toLocaleString('en-US')}-element collection beside a ${SMALL_ELEMENTS}-element one`, '');
  out.push('| write | elements | understudy ops/s | Redis ops/s | update bytes | executor µs/write |', '| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const kind of ['hash', 'zset', 'list'] as const) {
    for (const size of [SMALL_ELEMENTS, elements]) {
      const key = `bench:${kind}:${size}`;
      o.log(`preloading ${key} (${size} elements) on understudy and Redis`);
      await preload(await o.understudyPort(), kind, key, size);
      await preload(o.redisPort, kind, key, size);
      const cmd = elementWrite(kind, key);
      const random = kind === 'list' ? 1 : size;
      const us = [...redisBenchmark(await o.understudyPort(), requests, { command: cmd, random }).values()][0]!;
      const rs = [...redisBenchmark(o.redisPort, requests, { command: cmd, random }).values()][0]!;
      o.log(`updateCost ${kind} ${size}`);
      const cost = updateCost(kind, size);
      out.push(`| ${cmd[0]} | ${size.toLocaleString('en-US')} | ${fmtOps(us.opsPerSec)} | ${fmtOps(rs.opsPerSec)} | ${cost.bytes} | ${cost.execUs.toFixed(1)} |`);
    }
  }
  out.push(
    '',
    'ops/s: redis-benchmark with the command (`HSET key field:__rand_int__ w` over existing fields, `ZINCRBY key 1 member:__rand_int__` over existing members, `LPUSH key x`). ' +
      'update bytes: the encoded update of one such write (what every secondary receives and logs); executor µs: the primary computing that update, in-process, on a storage area holding the collection.',
    '',
  );
  return out;
}
