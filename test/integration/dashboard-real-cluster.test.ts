// The live dashboard in a real browser (Debian's chromium through playwright-core)
// against a real 3-node cluster of `understudy start` processes in demo mode.
//
// The page is opened on all three nodes. The test writes through the primary, sees
// the key counts replicate on every card, presses "Kill primary" on one page
// (the primary's process dies by SIGKILL) and then sees, by itself:
//   - on both secondaries' pages, without any reload, the old primary go
//     unreachable and a new primary take over;
//   - the page the dead primary served move to a surviving member (the only way
//     to keep showing the cluster) and show the new primary there;
//   - a page opened after the failover draw its cards at once.
// A node's failover timeline lists the reports that node produced as the new
// primary, so the new failover report is checked on the page served by the winner.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CONVERGE_TIMEOUT_MS, ProcessCluster, REPO_ROOT, SHARED_MACHINE_TIMING, waitFor } from './harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-quic'];
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const SCREENSHOT = join(ARTIFACTS, 'dashboard-real-cluster.png');
const SCREENSHOT_MOVED = join(ARTIFACTS, 'dashboard-real-cluster-moved.png');
/** Any wait for the page to show something (the stream sends a snapshot every 500 ms). */
const UI_TIMEOUT_MS = 20_000;
/** Writes through the first primary, then through the second. */
const WRITES_BEFORE = 200;
const WRITES_AFTER = 50;
/** Concurrent SETs per batch. */
const BATCH = 20;
/** The whole test, cluster start and browser included. */
const TEST_TIMEOUT_MS = 180_000;

let cluster: ProcessCluster | undefined;
let browser: Browser | undefined;
const clients: Redis[] = [];

after(async () => {
  for (const c of clients) c.disconnect();
  await browser?.close().catch(() => undefined);
  // Kills every node process this file started, by PID, and removes the temporary directory.
  await cluster?.close();
});

function clientOf(c: ProcessCluster, id: string): Redis {
  const r = new Redis({
    host: '127.0.0.1',
    port: c.spec(id).redisPort,
    commandTimeout: 5000,
    connectTimeout: 3000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null, // a node that goes away is not retried: the test picks the next primary itself
  });
  r.on('error', () => undefined); // outcomes are judged per command
  clients.push(r);
  return r;
}

/** `count` SETs of fresh keys in bounded batches; every one must be answered OK. */
async function writeKeys(r: Redis, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += BATCH) {
    const n = Math.min(BATCH, count - i);
    const replies = await Promise.all(Array.from({ length: n }, (_, j) => r.set(`${prefix}:${i + j}`, `v${i + j}`)));
    assert.deepEqual(new Set(replies), new Set(['OK']), `SET replies: ${JSON.stringify(replies)}`);
  }
}

interface Dashboard {
  readonly servedBy: string;
  readonly page: Page;
  readonly problems: string[];
  /** Main-frame navigations, same-document ones (history.replaceState) included. */
  navigations: number;
  /** The main frame's address after each navigation. */
  readonly urls: string[];
}

test(
  'dashboard on a real 3-node cluster: node cards and writes, then kill primary → new primary and its failover report, no reload',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    assert.ok(existsSync(CHROMIUM), `chromium is missing at ${CHROMIUM}: run "apt-get install chromium" (Debian) to run the dashboard browser test`);

    // Demo mode: the page has the kill-primary button. The shared-machine timing keeps a busy
    // browser on a 2-core machine from causing an election before the one this test asks for.
    cluster = await ProcessCluster.create({ nodes: 3, extra: { demo: true, timing: SHARED_MACHINE_TIMING } });
    const c = cluster;
    await c.startAll();
    const ids = c.specs.map((s) => s.id);
    const first = await c.waitPrimary();
    const firstStatus = await c.status(first);
    const secondaries = ids.filter((id) => id !== first);
    const roles = new Map<string, string>();
    for (const id of ids) roles.set(id, (await c.status(id)).role);
    assert.deepEqual([...roles.values()].sort(), ['primary', 'secondary', 'secondary']);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: UI_TIMEOUT_MS });
    const b = browser;
    const open = async (id: string): Promise<Dashboard> => {
      const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
      page.setDefaultTimeout(UI_TIMEOUT_MS);
      const d: Dashboard = { servedBy: id, page, problems: [], navigations: 0, urls: [] };
      page.on('pageerror', (e) => d.problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        // Reads of the dead node's series through the serving node may fail by design; script errors may not.
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) d.problems.push(`console: ${m.text()}`);
      });
      page.on('framenavigated', (f) => {
        if (f !== page.mainFrame()) return;
        d.navigations++;
        d.urls.push(f.url());
      });
      await page.goto(`${c.adminUrl(id)}/`, { timeout: UI_TIMEOUT_MS });
      return d;
    };
    // The secondaries' pages, and the page of the primary that is about to die.
    const dashboards: Dashboard[] = [];
    for (const id of secondaries) dashboards.push(await open(id));
    const orphan = await open(first);
    const card = (d: Dashboard, id: string) => d.page.locator(`.card[data-node="${id}"]`);
    const keysFact = (d: Dashboard, id: string, n: number) => card(d, id).locator('.facts span', { hasText: new RegExp(`^keys ${n}$`) });

    try {
      // Three cards with the roles the nodes report, served live by the node that served the page.
      for (const d of [...dashboards, orphan]) {
        await d.page.locator('.card').nth(2).waitFor();
        assert.equal(await d.page.locator('.card').count(), 3);
        for (const id of ids) await card(d, id).locator('.role', { hasText: roles.get(id)! }).waitFor();
        await card(d, first).locator('.epoch', { hasText: `epoch ${firstStatus.epoch}` }).waitFor();
        await d.page.locator('#conn', { hasText: 'live' }).waitFor();
        await d.page.locator('#served-by', { hasText: d.servedBy }).waitFor();
        await card(d, d.servedBy).locator('.self', { hasText: 'this node' }).waitFor();
        assert.ok(await d.page.locator('#kill-btn').isVisible(), 'demo mode shows the kill button');
        await d.page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
      }

      // Writes through the primary: every card (the secondaries' included) counts them.
      await writeKeys(clientOf(c, first), 'before', WRITES_BEFORE);
      for (const d of dashboards) for (const id of ids) await keysFact(d, id, WRITES_BEFORE).waitFor();
      await dashboards[0]!.page.locator('#chart-source', { hasText: `measured on ${first} (primary)` }).waitFor();
      const reportsBefore = await Promise.all(dashboards.map((d) => d.page.locator('#timeline li[data-epoch]').count()));

      // Kill the primary with the page's own button (the serving secondary forwards it to the primary).
      const firstPid = c.pidOf(first);
      const killedAt = Date.now();
      await dashboards[0]!.page.click('#kill-btn');
      await dashboards[0]!.page.locator('#toast', { hasText: `Killed primary ${first}` }).waitFor();
      await waitFor(`${first} (pid ${firstPid}) to exit`, UI_TIMEOUT_MS, () => (c.isRunning(first) ? undefined : true));
      assert.deepEqual(c.lastExit.get(first), { code: null, signal: 'SIGKILL' }, 'the primary died by SIGKILL, not an orderly stop');

      const second = await c.waitPrimary(CONVERGE_TIMEOUT_MS, first);
      const secondStatus = await c.status(second);
      assert.ok(secondStatus.epoch > firstStatus.epoch, `epoch ${secondStatus.epoch} after ${firstStatus.epoch}`);
      // The new primary files its report once FailoverSync is over, just after it takes the role.
      const report = await waitFor(`${second}'s failover report for epoch ${secondStatus.epoch}`, UI_TIMEOUT_MS, async () =>
        (await c.failovers(second)).find((r) => r.newPrimary === second && r.newEpoch === secondStatus.epoch),
      );

      // Every page, still open since before the kill, shows the new primary (measured, not asserted).
      const shownAfterMs = new Map<Dashboard, number>();
      await Promise.all(
        [...dashboards, orphan].map(async (d) => {
          await card(d, second).locator('.role', { hasText: 'primary' }).waitFor();
          shownAfterMs.set(d, Date.now() - killedAt);
        }),
      );

      // The dead primary's page moved by itself to a surviving member, which now serves it.
      const movedTo = await waitFor(`the page ${first} served to move to a surviving member`, UI_TIMEOUT_MS, () =>
        secondaries.find((id) => orphan.page.url().startsWith(`${c.adminUrl(id)}/`)),
      );
      const origins = [...new Set(orphan.urls.map((u) => new URL(u).origin))];
      assert.deepEqual(origins, [new URL(c.adminUrl(first)).origin, new URL(c.adminUrl(movedTo)).origin], `the page loaded once, then moved once: ${orphan.urls.join(' → ')}`);
      await orphan.page.locator('#served-by', { hasText: movedTo }).waitFor();
      await orphan.page.locator('#conn', { hasText: 'live' }).waitFor();
      await orphan.page.locator('#toast', { hasText: `${first}, which served this page, stopped answering` }).waitFor();
      await card(orphan, first).locator('.role', { hasText: 'unreachable' }).waitFor();
      await card(orphan, second).locator('.epoch', { hasText: `epoch ${secondStatus.epoch}` }).waitFor();
      await keysFact(orphan, second, WRITES_BEFORE).waitFor();
      assert.ok(!orphan.page.url().includes('#'), 'the fragment that carried the move was removed from the address');
      mkdirSync(ARTIFACTS, { recursive: true });
      await orphan.page.screenshot({ path: SCREENSHOT_MOVED });

      // A page opened now draws the cluster at once: cards, roles, a live stream.
      const fresh = await open(second);
      await card(fresh, second).locator('.role', { hasText: 'primary' }).waitFor();
      await card(fresh, first).locator('.role', { hasText: 'unreachable' }).waitFor();
      await fresh.page.locator('#conn', { hasText: 'live' }).waitFor();

      // Both secondaries' pages show the new primary and the dead node.
      for (const d of dashboards) {
        await card(d, second).locator('.role', { hasText: 'primary' }).waitFor();
        await card(d, second).locator('.epoch', { hasText: `epoch ${secondStatus.epoch}` }).waitFor();
        await card(d, first).locator('.role', { hasText: 'unreachable' }).waitFor();
        await d.page.locator('#banner', { hasText: '1 of 3 nodes unreachable' }).waitFor();
        await keysFact(d, second, WRITES_BEFORE).waitFor();
      }

      // The page served by the new primary shows the failover report it produced, as it arrived.
      const winner = dashboards.find((d) => d.servedBy === second);
      assert.ok(winner, `the new primary ${second} is one of the serving secondaries ${secondaries.join(', ')}`);
      const entry = winner.page.locator(`#timeline li[data-epoch="${secondStatus.epoch}"]`, { hasText: `${report.oldPrimary ?? '—'} → ${second}` });
      await entry.waitFor();
      const text = await entry.innerText();
      assert.match(text, new RegExp(`epoch ${report.oldEpoch} → ${report.newEpoch}`));
      assert.match(text, new RegExp(`detection\\s+${report.detectionMs.toFixed(0)} ms`));
      assert.match(text, new RegExp(`FailoverSync\\s+${report.failoverSyncMs.toFixed(0)} ms`));
      assert.ok((await winner.page.locator('#timeline li[data-epoch]').count()) > reportsBefore[dashboards.indexOf(winner)]!, 'a report was added');

      // Writes through the new primary keep the same pages moving.
      await writeKeys(clientOf(c, second), 'after', WRITES_AFTER);
      for (const d of dashboards) {
        for (const id of secondaries) await keysFact(d, id, WRITES_BEFORE + WRITES_AFTER).waitFor();
        // Charts follow the new primary. On the page it serves, the label may keep the wording it
        // got while there was no primary ("measured on n1", without "(primary)").
        await d.page.locator('#chart-source', { hasText: d === winner ? `measured on ${second}` : `measured on ${second} (primary)` }).waitFor();
      }

      mkdirSync(ARTIFACTS, { recursive: true });
      await winner.page.screenshot({ path: SCREENSHOT });
      for (const d of dashboards) {
        assert.equal(await d.page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, `the page on ${d.servedBy} was not reloaded`);
        assert.equal(d.navigations, 1, `the page on ${d.servedBy} navigated once: its initial load`);
      }
      for (const d of [...dashboards, orphan, fresh]) assert.deepEqual(d.problems, [], `script problems on the page first served by ${d.servedBy}`);
      t.diagnostic(
        `${first} killed → ${second} primary in epoch ${secondStatus.epoch}: detection ${report.detectionMs.toFixed(0)} ms, ` +
          `election ${report.electionMs.toFixed(0)} ms, FailoverSync ${report.failoverSyncMs.toFixed(0)} ms; new primary shown ` +
          [...dashboards, orphan].map((d) => `${shownAfterMs.get(d)} ms after the kill on the page ${d === orphan ? `${first} served (moved to ${movedTo})` : `on ${d.servedBy}`}`).join(', ') +
          `; screenshots ${SCREENSHOT}, ${SCREENSHOT_MOVED}`,
      );
    } catch (e) {
      mkdirSync(ARTIFACTS, { recursive: true });
      for (const d of [...dashboards, orphan]) await d.page.screenshot({ path: join(ARTIFACTS, `dashboard-real-cluster-failed-${d.servedBy}.png`) }).catch(() => undefined);
      for (const id of ids) t.diagnostic(`${id} log tail:\n${c.logTail(id, 15)}`);
      throw e;
    }
  },
);
