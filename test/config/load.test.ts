// Configuration: every validation path produces a message naming the key, what
// is wrong and what is allowed; typos get a suggestion; precedence is
// defaults < file < environment < flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig, envOverrides, setOverrides, configLeaves } from '../../src/config/load.ts';
import { LIMITS_DEFAULTS, TIMING_DEFAULTS } from '../../src/config/schema.ts';
import { coreConfigOf } from '../../src/config/core-config.ts';
import { DEFAULT_LIMITS, DEFAULT_TIMING, validateCoreConfig } from '../../src/core/config.ts';
import { editDistance, suggest } from '../../src/config/suggest.ts';
import { isUnderstudyError } from '../../src/errors.ts';

const SECRET = '0123456789abcdef0123';

function valid(): Record<string, unknown> {
  return {
    nodeId: 'n1',
    dataDir: './data/n1',
    clusterSecret: SECRET,
    members: [
      { id: 'n1', peerAddr: '127.0.0.1:7101', redisAddr: '127.0.0.1:7001', sentinelAddr: '127.0.0.1:7201', adminAddr: '127.0.0.1:7301' },
      { id: 'n2', peerAddr: '127.0.0.1:7102', redisAddr: '127.0.0.1:7002' },
      { id: 'w', kind: 'witness', peerAddr: '127.0.0.1:7103' },
    ],
  };
}

/** The problem lines of a CONFIG_INVALID error (asserting that it is one). */
function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(isUnderstudyError(e, 'CONFIG_INVALID'), `expected CONFIG_INVALID, got ${String(e)}`);
    const p = e.details?.['problems'];
    return Array.isArray(p) ? (p as string[]) : [e.message];
  }
  assert.fail('expected a CONFIG_INVALID error');
}

function withChange(change: (c: Record<string, unknown>) => void): Record<string, unknown> {
  const c = valid();
  change(c);
  return c;
}

function expectProblem(change: (c: Record<string, unknown>) => void, ...fragments: string[]): void {
  const ps = problems(() => parseConfig(withChange(change)));
  assert.ok(
    ps.some((p) => fragments.every((f) => p.includes(f))),
    `no problem contains ${JSON.stringify(fragments)}; got:\n${ps.join('\n')}`,
  );
}

const members = (c: Record<string, unknown>) => c['members'] as Array<Record<string, unknown>>;

test('a minimal valid config gets every documented default', () => {
  const c = parseConfig(valid());
  assert.equal(c.storage, 'lmdb');
  assert.equal(c.masterName, 'understudy');
  assert.equal(c.clusterName, 'understudy');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.demo, false);
  assert.equal(c.requirePass, undefined);
  assert.deepEqual(c.timing, TIMING_DEFAULTS);
  assert.deepEqual(c.limits, LIMITS_DEFAULTS);
  assert.equal(c.timing.heartbeatIntervalMs, 50);
  assert.equal(c.timing.electionTimeoutMs, 300);
  assert.equal(c.members[1]!.kind, 'data');
});

test('a partial timing object keeps the defaults of the keys it leaves out', () => {
  const c = parseConfig(withChange((x) => (x['timing'] = { heartbeatIntervalMs: 20 })));
  assert.equal(c.timing.heartbeatIntervalMs, 20);
  assert.equal(c.timing.electionTimeoutMs, 300);
});

test('unknown keys are errors with a did-you-mean suggestion, at every level', () => {
  expectProblem((c) => (c['storge'] = 'memory'), 'storge: unknown key', 'did you mean "storage"?');
  expectProblem((c) => (c['limits'] = { maxClient: 5 }), 'limits.maxClient: unknown key', 'did you mean "maxClients"?', 'allowed here:');
  expectProblem((c) => (c['timing'] = { heartbeatIntervalMS: 5 }), 'did you mean "heartbeatIntervalMs"?');
  expectProblem((c) => (members(c)[0]!['redisAdr'] = '127.0.0.1:1'), 'members[0].redisAdr: unknown key', 'did you mean "redisAddr"?');
  // Nothing close: no suggestion, but the allowed keys are listed.
  const ps = problems(() => parseConfig(withChange((c) => (c['zzzzzzzz'] = 1))));
  assert.ok(ps.some((p) => p.startsWith('zzzzzzzz: unknown key (allowed here: nodeId, dataDir')), ps.join('\n'));
  assert.ok(!ps.some((p) => p.includes('did you mean')));
});

test('type, range, enum, format and required-key errors name the key, the problem and what is allowed', () => {
  expectProblem((c) => delete c['nodeId'], 'nodeId: is required (expected string)');
  expectProblem((c) => (c['dataDir'] = 5), 'dataDir: expected string, got 5');
  expectProblem((c) => (c['dataDir'] = ''), 'dataDir: must be a non-empty path');
  expectProblem((c) => (c['storage'] = 'rocksdb'), 'storage: must be one of "lmdb", "memory" (got "rocksdb")');
  expectProblem((c) => (c['logLevel'] = 'loud'), 'logLevel: must be one of', '"debug"');
  expectProblem((c) => (c['timing'] = { heartbeatIntervalMs: 1 }), 'timing.heartbeatIntervalMs: must be >= 5 (got 1)');
  expectProblem((c) => (c['timing'] = { electionTimeoutMs: 10_000_000 }), 'timing.electionTimeoutMs: must be <= 60000');
  expectProblem((c) => (c['limits'] = { maxClients: 1.5 }), 'limits.maxClients', 'expected int');
  expectProblem((c) => (c['clusterSecret'] = 'short'), 'clusterSecret: must be at least 16 characters', 'openssl rand -hex 16');
  expectProblem((c) => (c['nodeId'] = 'has space'), 'nodeId: must be 1–64 characters');
  expectProblem((c) => (c['masterName'] = 'a b'), 'masterName: must be 1–64 characters');
  expectProblem((c) => (members(c)[0]!['peerAddr'] = 'localhost'), 'members[0].peerAddr: must be host:port');
  expectProblem((c) => (members(c)[0]!['peerAddr'] = '127.0.0.1:70000'), 'members[0].peerAddr: must be host:port with a port in 1..65535');
  expectProblem((c) => (members(c)[1]!['kind'] = 'arbiter'), 'members[1].kind: must be one of "data", "witness"');
  expectProblem((c) => (c['members'] = []), 'members: must list at least one member');
  expectProblem((c) => (c['demo'] = 'yes'), 'demo: expected boolean, got "yes"');
  expectProblem((c) => (c['requirePass'] = ''), 'requirePass');
});

test('cross-key rules: membership, addresses and timing/limit relationships', () => {
  expectProblem((c) => (c['nodeId'] = 'n9'), 'nodeId: "n9" is not one of members (n1, n2, w)');
  expectProblem((c) => (members(c)[1]!['id'] = 'n1'), 'members[1].id: "n1" appears twice');
  expectProblem((c) => delete members(c)[1]!['redisAddr'], 'members[1].redisAddr: is required for a data member');
  expectProblem((c) => (members(c)[2]!['redisAddr'] = '127.0.0.1:7009'), 'members[2]: a witness holds no data', 'remove redisAddr');
  expectProblem(
    (c) => {
      c['nodeId'] = 'w';
      c['members'] = [{ id: 'w', kind: 'witness', peerAddr: '127.0.0.1:1' }];
    },
    'members: needs at least one member of kind "data"',
  );
  expectProblem((c) => (members(c)[1]!['redisAddr'] = '127.0.0.1:7001'), 'members[1].redisAddr: 127.0.0.1:7001 is already used by members[0].redisAddr');
  expectProblem((c) => (c['timing'] = { heartbeatIntervalMs: 200, electionTimeoutMs: 300 }), 'timing.electionTimeoutMs: must be at least 2 × timing.heartbeatIntervalMs (400)');
  expectProblem((c) => (c['timing'] = { heartbeatIntervalMs: 100, ackTimeoutMs: 100 }), 'timing.ackTimeoutMs: must exceed timing.heartbeatIntervalMs (100)');
  expectProblem((c) => (c['limits'] = { maxUpdatesPerAppend: 100, maxInFlightPerSecondary: 10 }), 'limits.maxInFlightPerSecondary: must be at least limits.maxUpdatesPerAppend (100)');
  expectProblem((c) => (c['timing'] = { leaseMarginMs: 300 }), 'timing.leaseMarginMs: must be < timing.electionTimeoutMs (300)');
  expectProblem((c) => (c['limits'] = { maxValueBytes: 8 * 1024 * 1024, maxFrameBytes: 8 * 1024 * 1024 }), 'limits.maxFrameBytes: must exceed limits.maxValueBytes by at least 64 KiB');
  expectProblem((c) => (c['limits'] = { maxQueryBufferBytes: 1024 * 1024, maxValueBytes: 1024 * 1024 }), 'limits.maxQueryBufferBytes: must exceed limits.maxValueBytes by at least 64 KiB');
  expectProblem((c) => (c['limits'] = { maxValueBytes: 16 * 1024 * 1024 }), 'limits.maxValueBytes: must leave 64 KiB of a log record', 'at most 16711680');
  expectProblem((c) => (c['limits'] = { maxValueBytes: 64 * 1024 * 1024 }), 'limits.maxValueBytes: must be <= 16777216');
});

test('all problems are reported at once, in one message', () => {
  try {
    parseConfig(withChange((c) => {
      c['storage'] = 'x';
      c['logLevel'] = 'y';
    }));
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isUnderstudyError(e, 'CONFIG_INVALID'));
    assert.match(e.message, /^invalid configuration:\n {2}- storage: .*\n {2}- logLevel: /);
    assert.equal(e.toResp().split(' ')[0], 'ERR');
  }
});

test('files: missing, not JSON, not an object', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-config-'));
  try {
    assert.match(problems(() => loadConfig({ file: join(dir, 'nope.json') }))[0]!, /cannot read config file .*nope\.json/);
    writeFileSync(join(dir, 'bad.json'), '{ "nodeId": ');
    assert.match(problems(() => loadConfig({ file: join(dir, 'bad.json') }))[0]!, /bad\.json is not valid JSON/);
    writeFileSync(join(dir, 'arr.json'), '[1]');
    assert.match(problems(() => loadConfig({ file: join(dir, 'arr.json') }))[0]!, /must be a JSON object/);
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(valid()));
    assert.equal(loadConfig({ file: join(dir, 'ok.json') }).nodeId, 'n1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('precedence: defaults < file < environment < flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-config-'));
  try {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ ...valid(), logLevel: 'warn', timing: { heartbeatIntervalMs: 40 } }));
    assert.equal(loadConfig({ file }).logLevel, 'warn');
    assert.equal(loadConfig({ file }).timing.heartbeatIntervalMs, 40);
    assert.equal(loadConfig({ file }).timing.electionTimeoutMs, 300, 'default under a file that sets a sibling');
    const env = { UNDERSTUDY_LOG_LEVEL: 'debug', UNDERSTUDY_TIMING_HEARTBEAT_INTERVAL_MS: '30', UNDERSTUDY_DEMO: 'true' };
    const fromEnv = loadConfig({ file, env });
    assert.equal(fromEnv.logLevel, 'debug');
    assert.equal(fromEnv.timing.heartbeatIntervalMs, 30);
    assert.equal(fromEnv.demo, true);
    const fromFlags = loadConfig({ file, env, overrides: { logLevel: 'error', ...setOverrides(['timing.heartbeatIntervalMs=20']) } });
    assert.equal(fromFlags.logLevel, 'error');
    assert.equal(fromFlags.timing.heartbeatIntervalMs, 20);
    assert.equal(fromFlags.demo, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a config entirely from the environment (members as JSON)', () => {
  const v = valid();
  const c = loadConfig({
    env: {
      UNDERSTUDY_NODE_ID: 'n2',
      UNDERSTUDY_DATA_DIR: '/tmp/x',
      UNDERSTUDY_CLUSTER_SECRET: SECRET,
      UNDERSTUDY_MEMBERS: JSON.stringify(v['members']),
      UNDERSTUDY_STORAGE: 'memory',
      UNDERSTUDY_LIMITS_MAX_CLIENTS: '7',
    },
  });
  assert.equal(c.nodeId, 'n2');
  assert.equal(c.storage, 'memory');
  assert.equal(c.limits.maxClients, 7);
});

test('environment: typos of known variables fail with a suggestion; unrelated variables are ignored; bad values are named', () => {
  assert.match(problems(() => envOverrides({ UNDERSTUDY_LOG_LEVLE: 'debug' }))[0]!, /UNDERSTUDY_LOG_LEVLE: unknown variable; did you mean UNDERSTUDY_LOG_LEVEL\?/);
  assert.deepEqual(envOverrides({ UNDERSTUDY_TEST: '1', UNDERSTUDY_CONFIG: 'x.json', UNDERSTUDY_SOMETHING_ELSE_ENTIRELY: 'x', PATH: '/bin' }), {});
  assert.match(problems(() => envOverrides({ UNDERSTUDY_LIMITS_MAX_CLIENTS: 'many' }))[0]!, /limits\.maxClients: expected a number, got "many"/);
  assert.match(problems(() => envOverrides({ UNDERSTUDY_DEMO: 'perhaps' }))[0]!, /demo: expected true or false, got "perhaps"/);
  assert.match(problems(() => envOverrides({ UNDERSTUDY_MEMBERS: '[{' }))[0]!, /members: expected JSON/);
  // A value of the right type but out of range is caught by the schema, naming the key.
  const env = { UNDERSTUDY_TIMING_HEARTBEAT_INTERVAL_MS: '1' };
  assert.ok(problems(() => loadConfig({ env: { ...env }, overrides: valid() as Record<string, unknown> })).some((p) => p.includes('timing.heartbeatIntervalMs: must be >= 5')));
});

test('--set overrides: key=value, typo suggestion, malformed pair', () => {
  assert.deepEqual(setOverrides(['limits.maxClients=5', 'storage=memory']), { 'limits.maxClients': 5, storage: 'memory' });
  assert.match(problems(() => setOverrides(['limits.maxClient=5']))[0]!, /--set limits\.maxClient: unknown key; did you mean "limits\.maxClients"\?/);
  assert.match(problems(() => setOverrides(['storage']))[0]!, /--set storage: expected key=value/);
});

test('every leaf has an environment variable named after its path', () => {
  const envs = configLeaves().map((l) => l.env);
  assert.ok(envs.includes('UNDERSTUDY_TIMING_ELECTION_TIMEOUT_MS'));
  assert.ok(envs.includes('UNDERSTUDY_LIMITS_MAX_RETAINED_LOG_BYTES'));
  assert.ok(envs.includes('UNDERSTUDY_REQUIRE_PASS'));
  assert.equal(new Set(envs).size, envs.length, 'environment names are unique');
});

test('suggest: near misses only', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(suggest('storge', ['storage', 'members']), 'storage');
  assert.equal(suggest('MAXCLIENTS', ['maxClients']), 'maxClients');
  assert.equal(suggest('banana', ['storage', 'members']), undefined);
});

test('the defaults agree with the protocol core\'s, and coreConfigOf passes its safety checks', () => {
  const core = coreConfigOf(parseConfig(valid()), 7);
  assert.deepEqual(core.timing, DEFAULT_TIMING);
  assert.deepEqual(core.limits, DEFAULT_LIMITS);
  assert.equal(core.self, 'n1');
  assert.deepEqual(core.members, [
    { id: 'n1', kind: 'data' },
    { id: 'n2', kind: 'data' },
    { id: 'w', kind: 'witness' },
  ]);
  validateCoreConfig(core);
  // Every value the config layer accepts at the edge of its rules is accepted by the core too.
  const edge = coreConfigOf(parseConfig(withChange((c) => {
    c['timing'] = { heartbeatIntervalMs: 100, electionTimeoutMs: 200, ackTimeoutMs: 101, leaseMarginMs: 199 };
    c['limits'] = { maxUpdatesPerAppend: 10, maxInFlightPerSecondary: 10 };
  })), 1);
  validateCoreConfig(edge);
});

test('a frame too small for a gathered update is refused, naming both limits', () => {
  assert.throws(
    () => parseConfig({ nodeId: 'n1', dataDir: '/tmp/x', members: [{ id: 'n1', peerAddr: '127.0.0.1:1', redisAddr: '127.0.0.1:2' }], clusterSecret: 'a-secret-of-some-length', limits: { maxFrameBytes: 1024 * 1024, maxValueBytes: 512 * 1024, maxUpdateBytes: 1024 * 1024 } }),
    /limits\.maxFrameBytes: must be at least twice limits\.maxUpdateBytes/,
  );
});
