// GET /events over a real 127.0.0.1 socket (Server-Sent Events need a live
// connection to observe an abort). The node is the HTTP-layer harness
// (fake-node.ts): statuses and failover reports are plain data from the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { report } from './fake-node.ts';
import { build } from './harness.ts';

/** Upper bound on any wait in this file: the stream sends every 500 ms. */
const WAIT_LIMIT_MS = 5000;

interface SseEvent {
  readonly event: string;
  readonly data: unknown;
}

/** Reads SSE frames from a fetch body; next(pred) waits (bounded) for a matching event. */
function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const queue: SseEvent[] = [];
  let ended = false;
  const pump = async (): Promise<void> => {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      return;
    }
    buf += decoder.decode(value, { stream: true });
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = 'message';
      let data: string | undefined;
      for (const line of frame.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = line.slice(6);
      }
      if (data !== undefined) queue.push({ event, data: JSON.parse(data) });
    }
  };
  return {
    get ended() {
      return ended;
    },
    async next(pred: (e: SseEvent) => boolean, what: string): Promise<SseEvent> {
      const deadline = Date.now() + WAIT_LIMIT_MS;
      while (Date.now() < deadline) {
        const i = queue.findIndex(pred);
        if (i >= 0) return queue.splice(i, 1)[0] as SseEvent;
        if (ended) throw new Error(`stream ended before ${what}`);
        await Promise.race([pump(), sleep(deadline - Date.now())]);
      }
      throw new Error(`no ${what} within ${WAIT_LIMIT_MS} ms`);
    },
    async untilEnd(): Promise<void> {
      const deadline = Date.now() + WAIT_LIMIT_MS;
      while (!ended && Date.now() < deadline) await Promise.race([pump(), sleep(deadline - Date.now())]);
    },
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('the event stream sends series and cluster snapshots, failovers as they happen, and cleans up on abort', async (t) => {
  const { app, node } = build();
  t.after(() => app.close());
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const baseline = node.listenerCount('failover');

  const abort = new AbortController();
  const res = await fetch(`${base}/events`, { signal: abort.signal });
  assert.equal(res.status, 200);
  assert.match(String(res.headers.get('content-type')), /^text\/event-stream/);
  assert.ok(res.body);
  const sse = sseReader(res.body);

  const series = await sse.next((e) => e.event === 'series', 'series');
  assert.ok(Array.isArray((series.data as { samples: unknown[] }).samples));
  const first = await sse.next((e) => e.event === 'cluster', 'first cluster snapshot');
  const view = first.data as { servedBy: string; nodes: Array<{ id: string; role?: string; error?: string }> };
  assert.equal(view.servedBy, 'n1');
  assert.deepEqual(view.nodes.map((n) => n.id), ['n1', 'n2', 'n3']);
  assert.equal(view.nodes[0]?.role, 'primary');
  assert.equal(view.nodes[1]?.error, 'no admin address configured for this member');
  assert.equal(node.listenerCount('failover'), baseline + 1, 'the stream listens for failovers while open');

  // Snapshots keep coming, and follow the status.
  node.current = { ...node.current, role: 'secondary', epoch: 2, primaryId: 'n2', leaseValid: false };
  const later = await sse.next((e) => e.event === 'cluster' && (e.data as typeof view).nodes[0]?.role === 'secondary', 'snapshot after the role change');
  assert.ok(later);

  const r = report({ newEpoch: 2 });
  node.emitFailover(r);
  const fo = await sse.next((e) => e.event === 'failover', 'failover report');
  assert.deepEqual(fo.data, JSON.parse(JSON.stringify(r)));

  abort.abort();
  await until(() => node.listenerCount('failover') === baseline, 'the stream to release its failover listener');
});

test('through inject (no socket): at least one snapshot, then abort releases the stream', async (t) => {
  const { app, node } = build();
  t.after(() => app.close());
  await app.ready();
  const baseline = node.listenerCount('failover');
  const abort = new AbortController();
  const res = await app.inject({ method: 'GET', url: '/events', payloadAsStream: true, signal: abort.signal });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/event-stream/);
  const stream = res.stream();
  let text = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no cluster snapshot within ${WAIT_LIMIT_MS} ms`)), WAIT_LIMIT_MS);
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.includes('event: cluster\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const frame = text.slice(text.indexOf('event: cluster\n'));
  const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? 'null') as { servedBy: string; nodes: unknown[] };
  assert.equal(data.servedBy, 'n1');
  assert.equal(data.nodes.length, 3);
  assert.equal(node.listenerCount('failover'), baseline + 1);
  stream.on('error', () => undefined); // the abort surfaces as an error on the payload stream
  abort.abort();
  await until(() => node.listenerCount('failover') === baseline, 'the aborted stream to be released');
});

test('closing the app ends open streams', async (t) => {
  const { app } = build();
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const res = await fetch(`${base}/events`);
  assert.ok(res.body);
  const sse = sseReader(res.body);
  await sse.next((e) => e.event === 'cluster', 'first cluster snapshot');
  const closing = app.close();
  await sse.untilEnd();
  assert.ok(sse.ended, 'the stream ended when the server closed');
  await closing;
  t.diagnostic('closed');
});

test('with a token, EventSource-style access_token in the query is accepted and a wrong one refused', async (t) => {
  const { app } = build({ adminToken: 'tok en/+' });
  t.after(() => app.close());
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const denied = await fetch(`${base}/events?access_token=wrong`);
  assert.equal(denied.status, 401);
  assert.equal(((await denied.json()) as { code: string }).code, 'NOAUTH');
  const bare = await fetch(`${base}/events`);
  assert.equal(bare.status, 401);
  await bare.body?.cancel();
  const abort = new AbortController();
  const ok = await fetch(`${base}/events?access_token=${encodeURIComponent('tok en/+')}`, { signal: abort.signal });
  assert.equal(ok.status, 200);
  assert.ok(ok.body);
  await sseReader(ok.body).next((e) => e.event === 'cluster', 'cluster snapshot');
  abort.abort();
  // The query token is for the event stream only; other routes want the header.
  const status = await fetch(`${base}/status?access_token=${encodeURIComponent('tok en/+')}`);
  assert.equal(status.status, 401);
});
