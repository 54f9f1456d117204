// The stock Redis tools against the primary of a 3-node cluster of real
// processes: redis-cli (arguments, piped commands, --pipe mass insertion) and
// redis-benchmark (SET, GET, INCR, MSET), every reply as Redis would give it and
// no error. Every write here is durably logged on both secondaries before OK.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { respCommand } from '../../src/bench/resp-load.ts';
import { runTool } from '../tool-run.ts';
import { ProcessCluster, SHARED_MACHINE_TIMING } from './harness.ts';

/** redis-benchmark requests per test, as the brief for this suite asks. */
const BENCH_REQUESTS = 20_000;
/**
 * Keys sent through redis-cli --pipe in one burst. Kept well below the burst whose processing
 * keeps the primary's event loop busy for longer than the election timeout (about 3,000
 * pipelined SETs on a 2-core machine): the primary then fails its own majority check and steps
 * down (a known limitation of the core's check-quorum, reported to its owner).
 */
const PIPE_KEYS = 1000;
/** A redis-cli or redis-benchmark run must be done within this long. */
const TOOL_TIMEOUT_MS = 60_000;

const INSTALL_HINT = 'redis-cli and redis-benchmark are needed: apt-get install redis-tools';

function toolPresent(name: string): boolean {
  const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}

let cluster: ProcessCluster;

before(async () => {
  cluster = await ProcessCluster.create({ nodes: 3, extra: { timing: SHARED_MACHINE_TIMING } });
  await cluster.startAll();
});

/** The Redis port of the current primary (asked before each tool run). */
async function primaryPort(): Promise<number> {
  return cluster.spec(await cluster.waitPrimary()).redisPort;
}

after(async () => {
  await cluster?.close();
});

async function cli(args: string[]): Promise<string> {
  const r = await promisify(execFile)('redis-cli', ['-h', '127.0.0.1', '-p', String(await primaryPort()), ...args], { timeout: TOOL_TIMEOUT_MS });
  return r.stdout;
}

test('the Redis tools are installed', () => {
  assert.ok(toolPresent('redis-cli'), INSTALL_HINT);
  assert.ok(toolPresent('redis-benchmark'), INSTALL_HINT);
});

test('redis-cli: commands as arguments', async () => {
  assert.equal(await cli(['set', 'a', '1']), 'OK\n');
  assert.equal(await cli(['get', 'a']), '1\n');
  assert.equal(await cli(['incr', 'a']), '2\n');
  assert.equal(await cli(['get', 'missing']), '\n');
  assert.match(await cli(['set', 'a']), /ERR wrong number of arguments for 'set' command/);
});

test('redis-cli: piped commands, WAIT counting both secondaries', async () => {
  const r = await runTool('redis-cli', ['-h', '127.0.0.1', '-p', String(await primaryPort())], 'SET p 1\nINCR p\nINCRBY p 40\nGET p\nDEL p\nEXISTS p\nWAIT 2 2000\n');
  assert.equal(r.code, 0, r.stderr);
  // Every write is on both secondaries before its reply, so WAIT finds both at once.
  assert.equal(r.stdout, 'OK\n2\n42\n42\n1\n0\n2\n');
});

test('redis-cli --pipe: mass insertion, every reply received, no error', async () => {
  const parts: string[] = [];
  for (let i = 0; i < PIPE_KEYS; i++) parts.push(respCommand('SET', `pipe:${i}`, `value-${i}`));
  const r = await runTool('redis-cli', ['-h', '127.0.0.1', '-p', String(await primaryPort()), '--pipe'], parts.join(''), TOOL_TIMEOUT_MS);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, new RegExp(`errors: 0, replies: ${PIPE_KEYS}`), r.stdout);
  assert.equal(await cli(['get', 'pipe:0']), 'value-0\n');
  assert.equal(await cli(['get', `pipe:${PIPE_KEYS - 1}`]), `value-${PIPE_KEYS - 1}\n`);
});

test(`redis-benchmark -t set,get,incr,mset -n ${BENCH_REQUESTS} -q: no errors`, async (t) => {
  const r = await promisify(execFile)('redis-benchmark', ['-h', '127.0.0.1', '-p', String(await primaryPort()), '-t', 'set,get,incr,mset', '-n', String(BENCH_REQUESTS), '-q'], {
    timeout: TOOL_TIMEOUT_MS * 2,
  });
  // -q rewrites a progress line with \r; the final figure of each test ends its line.
  const lines = r.stdout
    .split('\n')
    .map((l) => l.split('\r').pop()!.trim())
    .filter((l) => l !== '');
  assert.doesNotMatch(r.stdout + r.stderr, /error|ERR/i, r.stdout + r.stderr);
  for (const name of ['SET', 'GET', 'INCR', 'MSET (10 keys)']) {
    const line = lines.find((l) => l.startsWith(`${name}: `));
    assert.ok(line, `no ${name} result in:\n${lines.join('\n')}`);
    const rps = Number(/: ([\d.]+) requests per second/.exec(line)?.[1]);
    assert.ok(rps > 0, line);
  }
  // The benchmark's writes really went through: INCR ran BENCH_REQUESTS times on one counter.
  assert.equal(await cli(['get', 'counter:__rand_int__']), `${BENCH_REQUESTS}\n`);
  t.diagnostic(lines.join(' | '));
});
