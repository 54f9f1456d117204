// /metrics: the exposition parses strictly, every family is ours and typed,
// counters and histograms move after calls, gauges follow the node status.
// The node is the HTTP-layer harness (fake-node.ts): no replication behind it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/server/metrics.ts';
import { report } from './fake-node.ts';
import { build } from './harness.ts';
import { ParseError, parseExposition, sampleValue } from './prom-text.ts';
import type { Family } from './prom-text.ts';

async function scrape(app: ReturnType<typeof build>['app']): Promise<Map<string, Family>> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseExposition(res.body);
}

const EXPECTED: Record<string, string> = {
  understudy_commands_total: 'counter',
  understudy_command_errors_total: 'counter',
  understudy_command_seconds: 'histogram',
  understudy_client_write_seconds: 'histogram',
  understudy_fsync_seconds: 'histogram',
  understudy_replication_rtt_seconds: 'histogram',
  understudy_batch_size: 'histogram',
  understudy_in_flight_updates: 'gauge',
  understudy_replication_lag_updates: 'gauge',
  understudy_replication_lag_seconds: 'gauge',
  understudy_log_bytes: 'gauge',
  understudy_log_segments: 'gauge',
  understudy_epoch: 'gauge',
  understudy_role: 'gauge',
  understudy_failovers_total: 'counter',
  understudy_failoversync_updates_shipped_total: 'counter',
  understudy_regions_resynced_total: 'counter',
  understudy_resp_connections: 'gauge',
};

test('the strict parser rejects malformed expositions', () => {
  const bad = [
    'no_newline 1',
    'm{a="1" 1\n',
    'm{a=1} 1\n',
    'm{1a="x"} 1\n',
    'm{a="x",a="y"} 1\n',
    'm one\n',
    'm NaNa\n',
    'm 1 2 3\n',
    '# TYPE m counter\nm -1\n',
    '# TYPE m gauge\n# TYPE m gauge\nm 1\n',
    '# TYPE m wat\n',
    'a 1\nb 1\na 2\n',
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n',
    '# TYPE h histogram\nh 1\n',
  ];
  for (const text of bad) assert.throws(() => parseExposition(text), ParseError, JSON.stringify(text));
  const good = parseExposition('# HELP h a \\\\ help\n# TYPE h histogram\nh_bucket{x="a\\"b",le="1"} 1\nh_bucket{x="a\\"b",le="+Inf"} 2\nh_sum{x="a\\"b"} 3.5\nh_count{x="a\\"b"} 2\nu 1 1700000000000\n');
  assert.equal(good.get('h')?.help, 'a \\ help');
  assert.equal(sampleValue(good, 'h_sum', { x: 'a"b' }), 3.5);
  assert.equal(sampleValue(good, 'u'), 1);
});

test('every family is prefixed understudy_, typed and documented', async (t) => {
  const { app } = build();
  t.after(() => app.close());
  const fams = await scrape(app);
  for (const [name, type] of Object.entries(EXPECTED)) {
    const f = fams.get(name);
    assert.ok(f, `family ${name} is exposed`);
    assert.equal(f.type, type, `${name} is a ${type}`);
  }
  for (const f of fams.values()) {
    assert.ok(f.name.startsWith('understudy_'), `${f.name} has the prefix`);
    assert.ok(f.type !== undefined && f.help !== undefined && f.help.length > 0, `${f.name} has TYPE and HELP`);
    for (const s of f.samples) assert.equal(s.labels['node'], 'n1', `${s.name} carries the node label`);
  }
  assert.ok(fams.has('understudy_process_cpu_user_seconds_total'), 'default process metrics are collected');
});

test('counters and histograms increase after the runtime\'s calls', async (t) => {
  const { app, metrics } = build();
  t.after(() => app.close());
  const before = await scrape(app);
  assert.equal(sampleValue(before, 'understudy_commands_total', { cmd: 'set' }), undefined);
  for (let i = 0; i < 3; i++) metrics.command('SET', 0.001);
  metrics.command('INCR', 0.001, 'WRONG_TYPE');
  metrics.clientWrite(0.0012);
  metrics.clientWrite(0.3);
  metrics.fsync(0.002, 17);
  metrics.fsync(0.004, 3);
  metrics.replicationRtt(0.0007);
  metrics.respConnectionOpened();
  metrics.respConnectionOpened();
  metrics.respConnectionClosed();
  const after = await scrape(app);
  assert.equal(sampleValue(after, 'understudy_commands_total', { cmd: 'set' }), 3);
  assert.equal(sampleValue(after, 'understudy_commands_total', { cmd: 'incr' }), 1);
  assert.equal(sampleValue(after, 'understudy_command_errors_total', { cmd: 'incr', code: 'WRONG_TYPE' }), 1);
  assert.equal(sampleValue(after, 'understudy_command_seconds_count'), 4);
  assert.equal(sampleValue(after, 'understudy_client_write_seconds_count'), 2);
  assert.equal(sampleValue(after, 'understudy_client_write_seconds_bucket', { le: '0.0025' }), 1);
  assert.ok(Math.abs((sampleValue(after, 'understudy_client_write_seconds_sum') ?? 0) - 0.3012) < 1e-9);
  assert.equal(sampleValue(after, 'understudy_fsync_seconds_count'), 2);
  assert.equal(sampleValue(after, 'understudy_batch_size_sum'), 20);
  assert.equal(sampleValue(after, 'understudy_batch_size_bucket', { le: '4' }), 1);
  assert.equal(sampleValue(after, 'understudy_replication_rtt_seconds_count'), 1);
  assert.equal(sampleValue(after, 'understudy_resp_connections'), 1);
  metrics.command('SET', 0.001);
  assert.equal(sampleValue(await scrape(app), 'understudy_commands_total', { cmd: 'set' }), 4);
});

test('gauges follow the node status on every scrape', async (t) => {
  const { app, node } = build();
  t.after(() => app.close());
  const a = await scrape(app);
  assert.equal(sampleValue(a, 'understudy_role', { role: 'primary' }), 1);
  assert.equal(sampleValue(a, 'understudy_role', { role: 'secondary' }), 0);
  assert.equal(sampleValue(a, 'understudy_epoch'), 1);
  assert.equal(sampleValue(a, 'understudy_in_flight_updates'), 3);
  assert.equal(sampleValue(a, 'understudy_replication_lag_updates', { secondary: 'n2' }), 3);
  assert.equal(sampleValue(a, 'understudy_replication_lag_seconds', { secondary: 'n3' }), 0.003);
  assert.equal(sampleValue(a, 'understudy_log_bytes'), 12000);
  assert.equal(sampleValue(a, 'understudy_log_segments'), 1);

  node.current = { ...node.current, role: 'secondary', epoch: 5, primaryId: 'n2', secondaries: [], inFlight: [] };
  const b = await scrape(app);
  assert.equal(sampleValue(b, 'understudy_role', { role: 'primary' }), 0);
  assert.equal(sampleValue(b, 'understudy_role', { role: 'secondary' }), 1);
  assert.equal(sampleValue(b, 'understudy_epoch'), 5);
  assert.equal(sampleValue(b, 'understudy_in_flight_updates'), 0);
  assert.equal(sampleValue(b, 'understudy_replication_lag_updates', { secondary: 'n2' }), undefined, 'a secondary no longer reported is dropped');
});

test('failover reports count once each, with the updates FailoverSync shipped', async (t) => {
  const { app, node, metrics } = build();
  t.after(() => app.close());
  const hostDetach = metrics.observeNode(node); // a second attach (the host may also call it) must not double count
  node.emitFailover(report({ shippedTo: { n2: 4, n3: 6 }, regionsResynced: { n1: 2 } }));
  node.emitFailover(report({ newEpoch: 3, shippedTo: {}, regionsResynced: {} }));
  const f = await scrape(app);
  assert.equal(sampleValue(f, 'understudy_failovers_total'), 2);
  assert.equal(sampleValue(f, 'understudy_failoversync_updates_shipped_total'), 10);
  assert.equal(sampleValue(f, 'understudy_regions_resynced_total'), 2);
  await app.close();
  assert.equal(node.listenerCount('failover'), 1, 'the host\'s attachment outlives the admin app');
  node.emitFailover(report({ newEpoch: 4, shippedTo: {}, regionsResynced: {} }));
  hostDetach();
  hostDetach(); // idempotent
  assert.equal(node.listenerCount('failover'), 0, 'the last detach unsubscribes');
  node.emitFailover(report({ newEpoch: 5, shippedTo: {}, regionsResynced: {} }));
  const after = parseExposition((await metrics.exposition()).body);
  assert.equal(sampleValue(after, 'understudy_failovers_total'), 3);
});

test('several Metrics live in one process without sharing samples', () => {
  const a = new Metrics({ nodeId: 'a' });
  const b = new Metrics({ nodeId: 'b' });
  a.command('GET', 0.001);
  return Promise.all([a.exposition(), b.exposition()]).then(([ea, eb]) => {
    assert.equal(sampleValue(parseExposition(ea.body), 'understudy_commands_total', { cmd: 'get' }), 1);
    assert.equal(sampleValue(parseExposition(eb.body), 'understudy_commands_total', { cmd: 'get' }), undefined);
  });
});
