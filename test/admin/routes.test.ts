// Admin HTTP routes through fastify's inject (no socket), over the HTTP-layer
// harness in fake-node.ts: this exercises the HTTP layer only, not replication.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { UnderstudyError } from '../../src/errors.ts';
import { MAX_FAILOVER_REPORTS } from '../../src/server/admin/failover-history.ts';
import { PEER_STATUS_TIMEOUT_MS } from '../../src/server/admin/cluster-view.ts';
import type { NodeStatus } from '../../src/runtime/node-api.ts';
import { makeStatus, report } from './fake-node.ts';
import { build } from './harness.ts';

const TOKEN = 's3cret-token';

test('GET /status returns this node\'s status, field for field', async (t) => {
  const { app, node } = build();
  t.after(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/status' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), JSON.parse(JSON.stringify(node.current)));
  node.current = makeStatus('n1', { role: 'candidate', epoch: 7, primaryId: null });
  const res2 = await app.inject({ method: 'GET', url: '/status' });
  assert.equal(res2.json().role, 'candidate');
  assert.equal(res2.json().epoch, 7);
});

test('a status missing a field is a 500 with a JSON error, not a silently partial answer', async (t) => {
  const { app, node } = build();
  t.after(() => app.close());
  const broken = { ...node.current } as Record<string, unknown>;
  delete broken['log'];
  node.current = broken as never;
  const res = await app.inject({ method: 'GET', url: '/status' });
  assert.equal(res.statusCode, 500);
  assert.equal(res.json().code, 'INTERNAL');
});

test('auth on: every route but /healthz, /readyz and static files needs the bearer token', async (t) => {
  const { app } = build({ adminToken: TOKEN, demo: true });
  t.after(() => app.close());
  const guarded: Array<[string, string]> = [
    ['GET', '/status'],
    ['GET', '/cluster'],
    ['GET', '/failovers'],
    ['GET', '/series'],
    ['GET', '/metrics'],
    ['GET', '/events'],
    ['GET', '/openapi.json'],
    ['POST', '/switchover'],
    ['POST', '/demo/kill-primary'],
  ];
  for (const [method, url] of guarded) {
    const none = await app.inject({ method: method as 'GET', url });
    assert.equal(none.statusCode, 401, `${method} ${url} without a token`);
    assert.deepEqual(none.json(), { code: 'NOAUTH', message: 'authentication required: send "Authorization: Bearer <admin token>"' });
    const wrong = await app.inject({ method: method as 'GET', url, headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.statusCode, 401, `${method} ${url} with a wrong token`);
    assert.equal(wrong.json().code, 'NOAUTH');
    assert.match(wrong.json().message, /invalid admin token/);
  }
  const ok = await app.inject({ method: 'GET', url: '/status', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(ok.statusCode, 200);
  // Without the token, unknown paths look like guarded ones: which routes exist does not leak.
  assert.equal((await app.inject({ method: 'GET', url: '/no-such-route' })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/no-such-route', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 404);
  for (const url of ['/healthz', '/readyz', '/', '/app.js', '/style.css', '/vendor/uplot/uPlot.iife.min.js', '/vendor/uplot/uPlot.min.css']) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, `${url} is public`);
  }
});

test('auth off: routes answer without a token', async (t) => {
  const { app } = build();
  t.after(() => app.close());
  for (const url of ['/status', '/cluster', '/failovers', '/series', '/metrics', '/openapi.json', '/healthz', '/readyz']) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, url);
  }
});

test('the dashboard page and uPlot are served as static files', async (t) => {
  const { app } = build();
  t.after(() => app.close());
  const page = await app.inject({ method: 'GET', url: '/' });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /text\/html/);
  assert.match(page.body, /<script[^>]+app\.js/);
  const uplot = await app.inject({ method: 'GET', url: '/vendor/uplot/uPlot.iife.min.js' });
  assert.match(String(uplot.headers['content-type']), /javascript/);
  assert.ok(uplot.body.includes('uPlot'));
});

test('GET /healthz answers while the node cannot serve', async (t) => {
  const { app, node } = build();
  t.after(() => app.close());
  node.current = makeStatus('n1', { role: 'candidate', primaryId: null });
  const res = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { ok: true });
});

test('GET /readyz: 200 only for a leased primary or a secondary following a primary', async (t) => {
  const { app, node } = build();
  t.after(() => app.close());
  const cases: Array<[Partial<NodeStatus>, number, string | undefined]> = [
    [{ role: 'primary', primaryId: 'n1', leaseValid: true }, 200, undefined],
    [{ role: 'primary', primaryId: 'n1', leaseValid: false }, 503, 'LEASE_EXPIRED'],
    [{ role: 'secondary', primaryId: 'n2' }, 200, undefined],
    [{ role: 'secondary', primaryId: null }, 503, 'FAILOVER_IN_PROGRESS'],
    [{ role: 'secondary', primaryId: 'n2', dirtyRegions: [4, 5] }, 503, 'REGION_RESYNC'],
    [{ role: 'candidate', primaryId: null }, 503, 'FAILOVER_IN_PROGRESS'],
    [{ role: 'witness', primaryId: 'n2' }, 503, 'NOT_PRIMARY'],
  ];
  for (const [over, status, code] of cases) {
    node.current = makeStatus('n1', { epoch: 4, ...over });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, status, JSON.stringify(over));
    const body = res.json();
    assert.equal(body.ready, status === 200);
    assert.equal(body.role, over.role);
    assert.equal(body.epoch, 4);
    assert.equal(body.code, code);
    if (code !== undefined) assert.ok(typeof body.reason === 'string' && body.reason.length > 0);
  }
});

test('GET /failovers lists reports newest first, bounded', async (t) => {
  const { app, node } = build();
  t.after(() => app.close());
  assert.deepEqual((await app.inject({ method: 'GET', url: '/failovers' })).json(), { reports: [] });
  for (let e = 2; e < 2 + MAX_FAILOVER_REPORTS + 5; e++) node.emitFailover(report({ oldEpoch: e - 1, newEpoch: e }));
  const reports = (await app.inject({ method: 'GET', url: '/failovers' })).json().reports as Array<{ newEpoch: number; at: number }>;
  assert.equal(reports.length, MAX_FAILOVER_REPORTS);
  assert.equal(reports[0]?.newEpoch, 1 + MAX_FAILOVER_REPORTS + 5);
  assert.equal(reports.at(-1)?.newEpoch, 7);
  assert.deepEqual(reports[0], JSON.parse(JSON.stringify(report({ at: reports[0]?.at ?? 0, oldEpoch: 105, newEpoch: 106 }))));
});

test('POST /switchover passes the target to the node and validates input', async (t) => {
  const { app, node } = build();
  t.after(() => app.close());
  const to = await app.inject({ method: 'POST', url: '/switchover', payload: { to: 'n2' } });
  assert.equal(to.statusCode, 200);
  assert.deepEqual(to.json(), { ok: true, primaryId: 'n1', epoch: 1 });
  assert.equal((await app.inject({ method: 'POST', url: '/switchover', payload: {} })).statusCode, 200);
  assert.equal((await app.inject({ method: 'POST', url: '/switchover' })).statusCode, 200);
  assert.deepEqual(node.switchovers, ['n2', undefined, undefined]);

  for (const payload of [{ to: 5 }, { to: '' }, { target: 'n2' }, [1, 2]]) {
    const res = await app.inject({ method: 'POST', url: '/switchover', payload });
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    assert.equal(res.json().code, 'SYNTAX');
    assert.match(res.json().message, /invalid request/);
  }
  const bad = await app.inject({ method: 'POST', url: '/switchover', headers: { 'content-type': 'application/json' }, payload: '{"to":' });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'SYNTAX');

  const unknown = await app.inject({ method: 'POST', url: '/switchover', payload: { to: 'n9' } });
  assert.equal(unknown.statusCode, 404);
  assert.deepEqual(unknown.json(), { code: 'NOT_FOUND', message: 'no member named n9' });
  assert.equal(node.switchovers.length, 3, 'invalid requests never reach the node');
});

test('POST /switchover maps the node\'s errors to their catalogue codes', async (t) => {
  const { app, node } = build();
  t.after(() => app.close());
  node.switchoverError = new UnderstudyError('NO_QUORUM', 'only 1 of 3 voting members reachable');
  const q = await app.inject({ method: 'POST', url: '/switchover', payload: { to: 'n3' } });
  assert.equal(q.statusCode, 503);
  assert.deepEqual(q.json(), { code: 'NO_QUORUM', message: 'only 1 of 3 voting members reachable' });
  node.switchoverError = new Error('n3 is too far behind');
  const f = await app.inject({ method: 'POST', url: '/switchover', payload: { to: 'n3' } });
  assert.equal(f.statusCode, 409);
  assert.deepEqual(f.json(), { code: 'SWITCHOVER_FAILED', message: 'n3 is too far behind' });
});

test('POST /demo/kill-primary exists only in demo mode', async (t) => {
  const off = build();
  const on = build({ demo: true });
  t.after(() => Promise.all([off.app.close(), on.app.close()]));
  const res = await off.app.inject({ method: 'POST', url: '/demo/kill-primary' });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().code, 'NOT_FOUND');
  assert.equal(off.killed, 0);
  const ok = await on.app.inject({ method: 'POST', url: '/demo/kill-primary' });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json(), { ok: true, killed: 'n1' });
  assert.equal(on.killed, 1);
});

test('unknown routes and methods are JSON 404s', async (t) => {
  const { app } = build();
  t.after(() => app.close());
  for (const [method, url] of [['GET', '/nope'], ['DELETE', '/status'], ['GET', '/status/extra']] as const) {
    const res = await app.inject({ method, url });
    assert.equal(res.statusCode, 404, `${method} ${url}`);
    assert.equal(res.json().code, 'NOT_FOUND');
  }
});

test('an oversized body is refused', async (t) => {
  const { app, node } = build();
  t.after(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/switchover', payload: { to: 'x'.repeat(64 * 1024) } });
  assert.equal(res.statusCode, 413);
  assert.equal(typeof res.json().code, 'string');
  assert.equal(node.switchovers.length, 0);
});

/** A TCP server that accepts connections and never answers: a hung peer. */
async function silentServer(t: { after(fn: () => unknown): void }): Promise<string> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

/** A port that was just free: nothing listens there. */
async function closedPort(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

test('GET /cluster reads peers over HTTP; a down, hung or unconfigured member shows its error', async (t) => {
  const peer = build({ id: 'n2', adminToken: TOKEN });
  t.after(() => peer.app.close());
  const peerUrl = await peer.app.listen({ port: 0, host: '127.0.0.1' });
  const hung = await silentServer(t);
  const addrs = new Map<string, string>([['n2', peerUrl], ['n3', hung]]);
  const { app, node } = build({ adminToken: TOKEN, peersAdmin: (id) => addrs.get(id) });
  t.after(() => app.close());
  const auth = { authorization: `Bearer ${TOKEN}` };

  const t0 = Date.now();
  const res = await app.inject({ method: 'GET', url: '/cluster', headers: auth });
  const elapsed = Date.now() - t0;
  assert.equal(res.statusCode, 200);
  const view = res.json();
  assert.equal(view.servedBy, 'n1');
  assert.equal(view.demo, false);
  assert.deepEqual(view.nodes.map((n: { id: string }) => n.id), ['n1', 'n2', 'n3']);
  assert.deepEqual(view.nodes[0], JSON.parse(JSON.stringify(node.current)));
  assert.deepEqual(view.nodes[1], JSON.parse(JSON.stringify(peer.node.current)), 'the peer status crosses HTTP intact (token forwarded)');
  assert.deepEqual(view.nodes[2], { id: 'n3', error: `no answer within ${PEER_STATUS_TIMEOUT_MS} ms` });
  assert.ok(elapsed < PEER_STATUS_TIMEOUT_MS * 10, `a hung peer delays the view by its timeout only (${elapsed} ms)`);

  addrs.set('n3', await closedPort());
  addrs.delete('n2');
  const res2 = (await app.inject({ method: 'GET', url: '/cluster', headers: auth })).json();
  assert.deepEqual(res2.nodes[1], { id: 'n2', error: 'no admin address configured for this member' });
  assert.match(res2.nodes[2].error, /ECONNREFUSED/);

  // A peer that refuses our token says so.
  addrs.set('n2', peerUrl);
  const wrong = build({ adminToken: 'other', peersAdmin: (id) => addrs.get(id) });
  t.after(() => wrong.app.close());
  const res3 = (await wrong.app.inject({ method: 'GET', url: '/cluster', headers: { authorization: 'Bearer other' } })).json();
  assert.equal(res3.nodes[1].error, 'HTTP 401: invalid admin token');
});

test('GET /series reads this node\'s window, or another member\'s through this node', async (t) => {
  const peer = build({ id: 'n2' });
  t.after(() => peer.app.close());
  const peerUrl = await peer.app.listen({ port: 0, host: '127.0.0.1' });
  const addrs = new Map<string, string>([['n2', peerUrl], ['n3', await closedPort()]]);
  const { app } = build({ peersAdmin: (id) => addrs.get(id) });
  t.after(() => app.close());
  await app.ready();
  const own = (await app.inject({ method: 'GET', url: '/series' })).json();
  assert.equal(own.node, 'n1');
  assert.equal(own.intervalMs, 1000);
  assert.ok(Array.isArray(own.samples));
  const other = await app.inject({ method: 'GET', url: '/series?node=n2' });
  assert.equal(other.statusCode, 200);
  assert.equal(other.json().node, 'n2');
  const down = await app.inject({ method: 'GET', url: '/series?node=n3' });
  assert.equal(down.statusCode, 502);
  assert.equal(down.json().code, 'PEER_UNREACHABLE');
  assert.match(down.json().message, /ECONNREFUSED/);
  const unknown = await app.inject({ method: 'GET', url: '/series?node=zz' });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().code, 'NOT_FOUND');
  const bad = await app.inject({ method: 'GET', url: '/series?bogus=1' });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'SYNTAX');
});

test('GET /cluster shows this node\'s own status failure as its error, not a broken page', async (t) => {
  const { app, node } = build();
  t.after(() => app.close());
  await app.ready();
  node.status = () => {
    throw new Error('storage closed');
  };
  const res = await app.inject({ method: 'GET', url: '/cluster' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json().nodes[0], { id: 'n1', error: 'status unavailable: storage closed' });
});
