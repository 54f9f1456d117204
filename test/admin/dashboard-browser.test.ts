// The live dashboard in a real browser (Debian's chromium through
// playwright-core), served by admin apps on real 127.0.0.1 ports.
//
// For now the three nodes are the HTTP-layer harness (fake-node.ts): their
// statuses are plain data this test changes and their failover reports come
// from an EventEmitter, so this exercises the page and the HTTP layer only.
// When the replication runtime lands, the same checks run against a real
// 3-node cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { NodeId } from '../../src/core/types.ts';
import type { NodeStatus } from '../../src/runtime/node-api.ts';
import { buildAdminApp } from '../../src/server/admin/app.ts';
import type { AdminApp } from '../../src/server/admin/app.ts';
import { Metrics } from '../../src/server/metrics.ts';
import { makeFakeNode, makeStatus, members, primaryStatus, report } from './fake-node.ts';
import type { FakeNode } from './fake-node.ts';
import { memoryLogger } from './harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(new URL('../..', import.meta.url).pathname, 'test-artifacts');
/** Any wait for the page to show something; the stream updates every 500 ms. */
const UI_TIMEOUT_MS = 8000;
/** The simulated workload ticks this often while the page is open. */
const WORKLOAD_TICK_MS = 100;
const IDS: readonly NodeId[] = ['n1', 'n2', 'n3'];

interface Member {
  readonly node: FakeNode;
  kills: number;
  readonly metrics: Metrics;
  readonly app: AdminApp;
  url: string;
}

function secondaryOf(id: NodeId, primary: NodeId, epoch: number, lsn: number, lag: number): NodeStatus {
  const last = lsn - lag;
  return makeStatus(id, {
    epoch,
    primaryId: primary,
    log: { start: Math.max(1, Math.floor((lsn - 300) / 100) * 100 + 1), nextToClear: Math.max(1, lsn - 40), appliedLsn: last, commitLsn: lsn - 3, lastLsn: last, durableLsn: last, bytes: last * 120, segments: 1 + Math.floor(last / 5000) },
    keys: 1200 + Math.floor(last / 3),
  });
}

test('dashboard: three node cards, then a failover shows the new primary and its report without a reload', async (t) => {
  assert.ok(existsSync(CHROMIUM), `chromium is missing at ${CHROMIUM}: run "apt-get install chromium" (Debian) to run the dashboard browser test`);

  // Three admin apps that read each other's /status over HTTP, as in a real cluster.
  const urls = new Map<NodeId, string>();
  const cluster = new Map<NodeId, Member>();
  for (const id of IDS) {
    const node = makeFakeNode(id, id === 'n1' ? primaryStatus('n1', ['n2', 'n3'], 100) : secondaryOf(id, 'n1', 1, 100, 2), members(IDS));
    const metrics = new Metrics({ nodeId: id, processMetrics: false });
    const demo = { killPrimary: () => void m.kills++ };
    const app = buildAdminApp({ node, metrics, logger: memoryLogger().logger, peersAdmin: (p) => urls.get(p), demo });
    const m: Member = { node, kills: 0, metrics, app, url: '' };
    cluster.set(id, m);
  }
  for (const [id, m] of cluster) {
    m.url = await m.app.listen({ port: 0, host: '127.0.0.1' });
    urls.set(id, m.url);
  }
  t.after(() => Promise.all([...cluster.values()].map((m) => m.app.close())));
  const get = (id: NodeId): Member => cluster.get(id) as Member;

  // A moving workload: lsns advance, writes are timed, regional counters and indicators change.
  let primary: NodeId = 'n1';
  let epoch = 1;
  let lsn = 100;
  let tick = 0;
  let rejoined = false;
  const workload = setInterval(() => {
    tick++;
    lsn += 37 + (tick % 7) * 5;
    // After the failover n1 is gone until it rejoins as a secondary.
    const secs = IDS.filter((id) => id !== primary && (id !== 'n1' || primary === 'n1' || rejoined));
    const p = get(primary);
    p.node.current = primaryStatus(primary, secs, lsn, {
      epoch,
      regionalCounters: { [tick % 64]: 2, [(tick * 7) % 64]: 1, 17: 3 + (tick % 4), 40: 1 + (tick % 2), 41: 1 },
    });
    for (const s of secs) get(s).node.current = secondaryOf(s, primary, epoch, lsn, s === 'n3' ? 4 : 1);
    for (let i = 0; i < 40; i++) {
      p.metrics.command('SET', 0.001);
      p.metrics.clientWrite(0.0008 + ((i * 37 + tick * 11) % 100) / 40000);
    }
  }, WORKLOAD_TICK_MS);
  t.after(() => clearInterval(workload));

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-quic'] });
  t.after(() => browser.close());
  // The page under test is served by n3, a secondary that lives through the failover.
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // While n1 is dead the page's reads through n3 may fail (502) by design; script errors may not.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  // A second page served by n1, the primary about to die: it must move to a member that answers.
  const onPrimary = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  onPrimary.on('pageerror', (e) => problems.push(`page on n1: ${e.message}`));

  await page.goto(`${get('n3').url}/`);
  await onPrimary.goto(`${get('n1').url}/`);
  const card = (id: NodeId) => page.locator(`.card[data-node="${id}"]`);
  await page.locator('.card').nth(2).waitFor({ timeout: UI_TIMEOUT_MS });
  assert.equal(await page.locator('.card').count(), 3);
  await card('n1').locator('.role', { hasText: 'primary' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await card('n2').locator('.role', { hasText: 'secondary' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await card('n3').locator('.role', { hasText: 'secondary' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.locator('#served-by', { hasText: 'n3' }).waitFor({ timeout: UI_TIMEOUT_MS });
  assert.equal(await page.locator('#inflight table.matrix tbody tr').count(), 3, 'the primary\'s in-flight updates are drawn');
  assert.equal(await page.locator('#heatmap .cell').count(), 64);
  assert.ok(await page.locator('#kill-btn').isVisible(), 'demo mode shows the kill button');
  // Write latency is measured on the primary, whichever node serves the page.
  await page.locator('#chart-source', { hasText: 'measured on n1 (primary)' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));

  // The buttons reach the serving node's API; a secondary forwards a switchover to the primary.
  const targets = await page.locator('#switch-target option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
  assert.deepEqual(targets, ['', 'n2', 'n3'], 'the primary is not offered as a switchover target');
  await page.selectOption('#switch-target', 'n2');
  await page.click('#switch-btn');
  await page.locator('#toast', { hasText: 'Switchover done' }).waitFor({ timeout: UI_TIMEOUT_MS });
  assert.deepEqual(get('n1').node.switchovers, ['n2'], 'n3 forwarded the switchover to the primary, n1');
  assert.deepEqual(get('n3').node.switchovers, []);
  get('n1').node.switchoverError = new Error('n2 is too far behind');
  await page.click('#switch-btn');
  await page.locator('#toast', { hasText: /SWITCHOVER_FAILED: .*n2 is too far behind/ }).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.click('#kill-btn');
  await page.locator('#toast', { hasText: 'Killed primary n1' }).waitFor({ timeout: UI_TIMEOUT_MS });
  assert.equal(get('n3').kills, 1);
  assert.equal(await page.locator('#timeline li[data-epoch]').count(), 0);

  // Let the charts collect a few samples, then fail over: n1 dies, n2 takes over in epoch 2.
  await page.waitForTimeout(3000);
  await get('n1').app.close(); // still configured, no longer answering
  primary = 'n2';
  epoch = 2;
  // n1's page finds n1 gone and goes to n2, the first other member that answers.
  await onPrimary.waitForURL((u) => u.origin === new URL(get('n2').url).origin && u.hash === '', { timeout: UI_TIMEOUT_MS });
  await onPrimary.locator('#served-by', { hasText: 'n2' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await onPrimary.locator('#toast', { hasText: 'n1, which served this page, stopped answering' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await onPrimary.locator('.card[data-node="n2"] .role', { hasText: 'primary' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await onPrimary.locator('.card[data-node="n1"] .role', { hasText: 'unreachable' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await card('n1').locator('.role', { hasText: 'unreachable' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.locator('#banner', { hasText: '1 of 3 nodes unreachable' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await card('n2').locator('.role', { hasText: 'primary' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await card('n2').locator('.epoch', { hasText: 'epoch 2' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.locator('#chart-source', { hasText: 'measured on n2 (primary)' }).waitFor({ timeout: UI_TIMEOUT_MS });
  get('n3').node.emitFailover(
    report({ oldPrimary: 'n1', newPrimary: 'n2', oldEpoch: 1, newEpoch: 2, detectionMs: 240, electionMs: 38, failoverSyncMs: 12, shippedTo: { n3: 3 }, truncated: { n1: 2 } }),
  );
  await page.locator('#timeline li[data-epoch="2"]', { hasText: 'n1 → n2' }).waitFor({ timeout: UI_TIMEOUT_MS });
  const text = await page.locator('#timeline li[data-epoch="2"]').innerText();
  assert.match(text, /detection\s+240 ms/);
  assert.match(text, /FailoverSync\s+12 ms/);
  assert.match(text, /updates shipped\s+3 \(n3: 3\)/);
  assert.match(text, /uncommitted updates discarded[^\n]*\s+2 \(n1: 2\)/);
  assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, 'the page was not reloaded');

  // n1 comes back as a secondary of n2: the same page shows it.
  const back = buildAdminApp({ node: get('n1').node, metrics: new Metrics({ nodeId: 'n1', processMetrics: false }), logger: memoryLogger().logger, peersAdmin: (p) => urls.get(p) });
  t.after(() => back.close());
  rejoined = true;
  urls.set('n1', await back.listen({ port: 0, host: '127.0.0.1' }));
  await card('n1').locator('.role', { hasText: 'secondary' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.locator('#banner').waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
  assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, 'still the same page');
  await page.waitForTimeout(1500); // let the bars and charts move once more before the picture

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') });
  await onPrimary.screenshot({ path: join(ARTIFACTS, 'dashboard-moved-from-dead-node.png') });
  assert.equal(navigations, 1, 'the page navigated once: its initial load');
  assert.deepEqual(problems, []);
});

test('dashboard with an admin token: the page asks for it, then streams with it', async (t) => {
  assert.ok(existsSync(CHROMIUM), `chromium is missing at ${CHROMIUM}: run "apt-get install chromium" (Debian) to run the dashboard browser test`);
  const token = 'a-long-enough-admin-token';
  const node = makeFakeNode('n1', primaryStatus('n1', ['n2', 'n3'], 100), members(IDS));
  const app = buildAdminApp({ node, metrics: new Metrics({ nodeId: 'n1', processMetrics: false }), logger: memoryLogger().logger, peersAdmin: () => undefined, adminToken: token });
  t.after(() => app.close());
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-quic'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/`);
  await page.locator('#token-dialog[open]').waitFor({ timeout: UI_TIMEOUT_MS });
  assert.equal(await page.locator('.card').count(), 0, 'nothing is shown without the token');
  await page.fill('#token-input', token);
  await page.click('#token-form button[type="submit"]');
  await page.locator('.card[data-node="n1"] .role', { hasText: 'primary' }).waitFor({ timeout: UI_TIMEOUT_MS });
  // The other two members have no admin address here: they show as unreachable, with the reason.
  await page.locator('.card[data-node="n2"] .error-text', { hasText: 'no admin address' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: UI_TIMEOUT_MS });
  assert.ok(await page.locator('#kill-btn').isHidden(), 'no kill button outside demo mode');
  assert.deepEqual(errors, []);
});

test('dashboard with an admin token whose serving node goes away: the page moves to another member and streams there without asking again', async (t) => {
  assert.ok(existsSync(CHROMIUM), `chromium is missing at ${CHROMIUM}: run "apt-get install chromium" (Debian) to run the dashboard browser test`);
  const token = 'a-long-enough-admin-token';
  const ids: readonly NodeId[] = ['n1', 'n2'];
  const urls = new Map<NodeId, string>();
  const apps = new Map<NodeId, AdminApp>();
  for (const id of ids) {
    const status = id === 'n1' ? primaryStatus('n1', ['n2'], 100) : secondaryOf('n2', 'n1', 1, 100, 1);
    const node = makeFakeNode(id, status, members(ids));
    apps.set(id, buildAdminApp({ node, metrics: new Metrics({ nodeId: id, processMetrics: false }), logger: memoryLogger().logger, peersAdmin: (p) => urls.get(p), adminToken: token }));
  }
  for (const [id, app] of apps) urls.set(id, await app.listen({ port: 0, host: '127.0.0.1' }));
  t.after(() => Promise.all([...apps.values()].map((a) => a.close())));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-quic'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${urls.get('n1')}/`);
  await page.locator('#token-dialog[open]').waitFor({ timeout: UI_TIMEOUT_MS });
  await page.fill('#token-input', token);
  await page.click('#token-form button[type="submit"]');
  await page.locator('#served-by', { hasText: 'n1' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.locator('.card[data-node="n2"] .role', { hasText: 'secondary' }).waitFor({ timeout: UI_TIMEOUT_MS });

  await apps.get('n1')!.close();
  const n2 = new URL(urls.get('n2')!).origin;
  await page.waitForURL((u) => u.origin === n2 && u.hash === '', { timeout: UI_TIMEOUT_MS });
  await page.locator('#served-by', { hasText: 'n2' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.locator('.card[data-node="n1"] .role', { hasText: 'unreachable' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: UI_TIMEOUT_MS });
  assert.ok(await page.locator('#token-dialog').evaluate((d) => !(d as unknown as { open: boolean }).open), 'the token came along: no dialog on the new member');
  assert.equal(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('understudy.adminToken')), token);
  assert.deepEqual(errors, []);
});
