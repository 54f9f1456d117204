// The server's rolling throughput/latency window and the bounded latency
// histogram behind its p99. The node is the HTTP-layer harness (fake-node.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Series } from '../../src/server/admin/series.ts';
import { LatencyWindow, Metrics } from '../../src/server/metrics.ts';
import { makeFakeNode, members, primaryStatus } from './fake-node.ts';

test('LatencyWindow p99 is within one bucket (12%) of the exact value and resets on drain', () => {
  const w = new LatencyWindow();
  assert.deepEqual(w.drain(), { count: 0, p99S: null });
  for (let i = 1; i <= 1000; i++) w.record(i / 1000 / 100); // 10 µs … 10 ms
  const { count, p99S } = w.drain();
  assert.equal(count, 1000);
  assert.ok(p99S !== null && p99S >= 0.0099 && p99S <= 0.0099 * LatencyWindow.GROWTH, `p99 ${p99S}`);
  assert.deepEqual(w.drain(), { count: 0, p99S: null });
  w.record(1e9);
  w.record(0);
  assert.equal(w.drain().count, 2, 'out-of-range values are clamped, not lost');
});

test('series samples rates from metrics totals and the commit lsn, bounded in length', () => {
  const node = makeFakeNode('n1', primaryStatus('n1', ['n2'], 100), members(['n1', 'n2']));
  const metrics = new Metrics({ processMetrics: false });
  const errors: unknown[] = [];
  const series = new Series(node, metrics, (e) => errors.push(e), 3);
  assert.equal(series.sample(10_000), null, 'the first call sets the baseline');
  for (let i = 0; i < 50; i++) metrics.command('SET', 0.001);
  for (let i = 0; i < 40; i++) metrics.clientWrite(0.002);
  node.current = primaryStatus('n1', ['n2'], 300); // commit lsn 97 → 297
  const s = series.sample(12_000);
  assert.deepEqual(s && { ...s, p99WriteMs: s.p99WriteMs !== null && s.p99WriteMs >= 2 && s.p99WriteMs <= 2.3 }, {
    t: 12_000,
    commandsPerS: 25,
    writesPerS: 20,
    updatesPerS: 100,
    p99WriteMs: true,
  });
  node.current = primaryStatus('n1', ['n2'], 250); // a truncated tail: the lsn went back
  assert.equal(series.sample(13_000)?.updatesPerS, 0);
  assert.equal(series.sample(14_000)?.p99WriteMs, null, 'no writes in the interval');
  series.sample(15_000);
  assert.deepEqual(series.list().map((x) => x.t), [13_000, 14_000, 15_000]);
  assert.deepEqual(errors, []);
});
