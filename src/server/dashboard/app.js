// understudy live dashboard. Plain ES module, no build step, no network beyond
// the node that serves it: an EventSource on /events delivers cluster
// snapshots (~500 ms), one throughput/latency sample per second from the
// server's rolling window, and failover reports as they happen.
/* global uPlot */

/** A snapshot older than this means the stream stalled even if the socket looks open. */
const STALE_AFTER_MS = 2500;
/** Rows of the in-flight matrix; the rest are counted, not drawn (the page must fit one screen). */
const MAX_INFLIGHT_ROWS = 8;
/** Failover reports kept on the page (the server keeps its own bounded list). */
const MAX_TIMELINE = 50;
/** Chart points kept client-side: five minutes at one sample per second, as on the server. */
const MAX_POINTS = 300;
const REGION_COUNT = 64;
const TOKEN_KEY = 'understudy.adminToken';
/** How long a probe of a node's /healthz may take before the node counts as not answering. */
const PROBE_TIMEOUT_MS = 400;
/** Between rounds of looking for a member to move to, when none answered. */
const MOVE_RETRY_MS = 500;

const $ = (sel) => document.querySelector(sel);

// A page that moved here from a member that stopped answering says where it came from, and
// brings the admin token along (the new origin's sessionStorage does not have it). The fragment
// never reaches a server, and it is removed from the address bar at once.
const arrival = new URLSearchParams(location.hash.slice(1));
if (arrival.has('token')) sessionStorage.setItem(TOKEN_KEY, arrival.get('token'));
if (arrival.has('from') || arrival.has('token')) history.replaceState(null, '', location.pathname + location.search);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) ?? '',
  cluster: null,
  lastSnapshotAt: 0,
  reports: [],
  series: { t: [], commands: [], updates: [], p99: [] },
  es: null,
  charts: null,
};

// ---------- helpers ----------

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function fmt(n) {
  return typeof n === 'number' ? n.toLocaleString('en-US') : '–';
}

function fmtBytes(b) {
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 ** 3) return `${(b / 1024 / 1024).toFixed(1)} MiB`;
  return `${(b / 1024 ** 3).toFixed(2)} GiB`;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
}

function authHeaders() {
  return state.token ? { authorization: `Bearer ${state.token}` } : {};
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { ...authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { code: 'HTTP', message: text };
  }
  if (res.status === 401) askToken();
  if (!res.ok) throw new Error(json?.message ? `${json.code}: ${json.message}` : `HTTP ${res.status}`);
  return json;
}

let toastTimer = 0;
function toast(msg, isError = false) {
  const t = $('#toast');
  t.textContent = msg;
  t.className = isError ? 'toast error' : 'toast';
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 4000);
}

function setConn(kind, text) {
  const c = $('#conn');
  c.className = `conn conn-${kind}`;
  c.textContent = text;
}

const isDown = (n) => typeof n.error === 'string';

// ---------- auth ----------

function askToken() {
  const d = $('#token-dialog');
  if (!d.open) d.showModal();
}

$('#token-form').addEventListener('submit', () => {
  state.token = $('#token-input').value.trim();
  sessionStorage.setItem(TOKEN_KEY, state.token);
  start();
});

// ---------- node cards ----------

const cards = new Map();

function ensureCard(id) {
  let c = cards.get(id);
  if (c) return c;
  const root = el('article', 'card');
  root.dataset.node = id;
  const head = el('div', 'card-head');
  const name = el('span', 'id', id);
  const self = el('span', 'self');
  const role = el('span', 'role');
  const epoch = el('span', 'epoch num');
  head.append(name, self, role, epoch);
  const error = el('div', 'error-text');
  const body = el('div', 'card-body');
  const facts = el('div', 'facts');
  const note = el('div', 'note');
  const bar = el('div', 'logbar');
  bar.title = 'update log: cleared (awaiting segment deletion) · committed · not yet committed';
  const segCleared = el('div', 'seg cleared');
  const segCommitted = el('div', 'seg committed');
  const segPending = el('div', 'seg pending');
  const tickApplied = el('div', 'tick applied');
  tickApplied.title = 'applied';
  bar.append(segCleared, segCommitted, segPending, tickApplied);
  const pointers = el('div', 'pointers');
  body.append(facts, note, bar, pointers);
  root.append(head, error, body);
  c = { root, self, role, epoch, error, body, facts, note, bar, segCleared, segCommitted, segPending, tickApplied, pointers, hasData: false };
  cards.set(id, c);
  return c;
}

/** The five log pointers as a two-row grid: labels above, values below, always aligned. */
function pointerCells(L) {
  const items = [
    ['start', L.start, 'start-of-log pointer (claim 3)'],
    ['to clear', L.nextToClear, 'pointer to the next update to clear (claim 4)'],
    ['applied', L.appliedLsn, 'last update applied to the storage area'],
    ['commit', L.commitLsn, 'last committed update'],
    ['end', L.lastLsn, 'last update in the log'],
  ];
  const labels = items.map(([label, , title]) => {
    const e = el('span', 'label', label);
    e.title = title;
    return e;
  });
  return [...labels, ...items.map(([, v]) => el('b', 'num', fmt(v)))];
}

function fact(label, value) {
  const s = el('span');
  s.append(`${label} `, el('b', '', value));
  return s;
}

function renderNodes(view) {
  const container = $('#nodes');
  const up = view.nodes.filter((n) => !isDown(n) && n.role !== 'witness');
  // One scale for every bar, so the logs can be compared position for position.
  let lo = Math.min(...up.map((n) => n.log.start));
  let hi = Math.max(...up.map((n) => n.log.lastLsn));
  if (!Number.isFinite(lo)) lo = 0;
  if (!Number.isFinite(hi) || hi - lo < 10) hi = lo + 10;
  const pct = (lsn) => `${(Math.max(0, Math.min(1, (lsn - lo) / (hi - lo))) * 100).toFixed(2)}%`;
  const span = (seg, a, b) => {
    seg.style.left = pct(a);
    seg.style.width = `calc(${pct(Math.max(a, b))} - ${pct(a)})`;
  };

  const seen = new Set();
  for (const n of view.nodes) {
    seen.add(n.id);
    const c = ensureCard(n.id);
    if (c.root.parentElement !== container || container.children[view.nodes.indexOf(n)] !== c.root) {
      container.insertBefore(c.root, container.children[view.nodes.indexOf(n)] ?? null);
    }
    c.self.textContent = n.id === view.servedBy ? 'this node' : '';
    if (isDown(n)) {
      c.root.className = 'card down';
      c.role.className = 'role down';
      c.role.textContent = 'unreachable';
      c.error.textContent = n.error;
      c.error.hidden = false;
      // Keep the last data seen, dimmed; a member never seen has nothing to show.
      c.body.hidden = !c.hasData;
      continue;
    }
    c.hasData = true;
    c.body.hidden = false;
    c.error.hidden = true;
    c.root.className = `card role-${n.role}`;
    c.role.className = `role ${n.role}`;
    c.role.textContent = n.role;
    c.epoch.textContent = `epoch ${n.epoch}`;
    const f = [fact('keys', fmt(n.keys)), fact('log', `${fmtBytes(n.log.bytes)} · ${n.log.segments} seg`)];
    if (n.role === 'primary') {
      f.push(fact('lease', n.leaseValid ? 'valid' : 'EXPIRED'));
      f.push(fact('in dest', `${n.secondaries.filter((s) => s.inDest).length}/${n.secondaries.length}`));
    } else {
      f.push(fact('primary', n.primaryId ?? 'none'));
    }
    if (n.dirtyRegions.length) f.push(fact('resyncing', `${n.dirtyRegions.length} regions`));
    c.facts.replaceChildren(...f);
    const witness = n.role === 'witness';
    c.note.hidden = !witness;
    c.note.textContent = witness ? 'Witness: votes in elections so that two data nodes keep a majority; holds no data.' : '';
    c.bar.hidden = witness;
    c.pointers.hidden = witness;
    if (witness) continue;
    const L = n.log;
    span(c.segCleared, L.start, L.nextToClear);
    span(c.segCommitted, L.nextToClear, L.commitLsn + 1);
    span(c.segPending, Math.max(L.commitLsn + 1, L.nextToClear), L.lastLsn + 1);
    c.tickApplied.style.left = pct(L.appliedLsn + 1);
    c.pointers.replaceChildren(...pointerCells(L));
  }
  for (const [id, c] of cards) {
    if (!seen.has(id)) {
      c.root.remove();
      cards.delete(id);
    }
  }
}

// ---------- in-flight matrix (claims 7–9) ----------

function renderSecondaries(primary) {
  const box = $('#secondaries');
  if (!primary || primary.secondaries.length === 0) {
    box.replaceChildren();
    return;
  }
  const table = el('table', 'matrix');
  const head = el('tr');
  for (const h of ['secondary', 'sent', 'acked', 'behind', 'oldest']) head.append(el('th', '', h));
  const thead = el('thead');
  thead.append(head);
  const tbody = el('tbody');
  for (const s of primary.secondaries) {
    const tr = el('tr');
    const id = el('td');
    const dot = el('span', `link ${s.connection}`, '●');
    dot.title = s.connection;
    id.append(dot, ` ${s.id}`);
    // A secondary left out of dest no longer holds up commits; it catches up, then rejoins.
    if (!s.inDest) id.append(el('span', 'left-out', 'left out of dest'));
    if (s.resyncRegions > 0) id.append(el('span', 'resync', `${s.resyncRegions} regions to resync`));
    const behind = el('td', 'num', fmt(s.lagUpdates));
    behind.title = `${s.lagUpdates} updates not yet acknowledged`;
    const oldest = el('td', 'num', `${s.lagMs.toFixed(0)} ms`);
    oldest.title = 'age of the oldest unacknowledged update';
    tr.append(id, el('td', 'num', fmt(s.sentLsn)), el('td', 'num', fmt(s.ackedLsn)), behind, oldest);
    tbody.append(tr);
  }
  table.append(thead, tbody);
  box.replaceChildren(el('h3', '', `Replication from ${primary.id}`), table);
}

function renderInFlight(primary) {
  const box = $('#inflight');
  renderSecondaries(primary);
  if (!primary) {
    box.replaceChildren(el('div', 'empty', 'No reachable primary: nothing is in flight.'));
    return;
  }
  const secs = primary.secondaries.map((s) => s.id);
  const rows = [...primary.inFlight].sort((a, b) => b.lsn - a.lsn);
  if (rows.length === 0) {
    box.replaceChildren(el('div', 'empty', `Nothing in flight on ${primary.id}: every update is acknowledged.`));
    return;
  }
  const table = el('table', 'matrix');
  const head = el('tr');
  head.append(el('th', '', 'lsn'), el('th', '', 'regions'), ...secs.map((s) => el('th', '', s)));
  const thead = el('thead');
  thead.append(head);
  const tbody = el('tbody');
  for (const u of rows.slice(0, MAX_INFLIGHT_ROWS)) {
    const tr = el('tr');
    const regions = el('td', 'regions num', u.regions.join(' '));
    regions.title = `regions ${u.regions.join(', ')}`;
    tr.append(el('td', 'num', u.lsn), regions);
    for (const s of secs) {
      const td = el('td');
      const sent = u.sent.includes(s);
      const recv = u.received.includes(s);
      td.title = `${s}: ${sent ? 'sent' : 'not sent'}, ${recv ? 'received' : 'not received'}`;
      td.append(el('span', `ind s${sent ? ' on' : ''}`), el('span', `ind r${recv ? ' on' : ''}`));
      tr.append(td);
    }
    tbody.append(tr);
  }
  table.append(thead, tbody);
  const legend = el('div', 'legend');
  legend.innerHTML =
    '<span><span class="swatch" style="background:var(--sent)"></span>sent indicator</span>' +
    '<span><span class="swatch" style="background:var(--received)"></span>received indicator</span>';
  const parts = [table];
  if (rows.length > MAX_INFLIGHT_ROWS) parts.push(el('div', 'more', `+ ${rows.length - MAX_INFLIGHT_ROWS} more in flight (older)`));
  parts.push(legend);
  box.replaceChildren(...parts);
}

// ---------- regional counters heat map (claim 26) ----------

const heatCells = [];
function renderHeatmap(primary, view) {
  const box = $('#heatmap');
  if (heatCells.length === 0) {
    for (let r = 0; r < REGION_COUNT; r++) {
      const c = el('div', 'cell', r);
      heatCells.push(c);
      box.append(c);
    }
  }
  const counters = primary?.regionalCounters ?? {};
  const dirty = new Set();
  for (const n of view.nodes) if (!isDown(n)) for (const r of n.dirtyRegions) dirty.add(r);
  const max = Math.max(1, ...Object.values(counters));
  for (let r = 0; r < REGION_COUNT; r++) {
    const v = counters[r] ?? 0;
    const c = heatCells[r];
    const x = v / max;
    c.style.background = v === 0 ? '' : heat(x);
    // White text only where the colour is dark enough to read it on.
    c.classList.toggle('hot', v > 0 && x >= 0.45);
    c.classList.toggle('warm', v > 0 && x < 0.45);
    c.classList.toggle('dirty', dirty.has(r));
    c.textContent = v > 0 ? String(v) : String(r);
    c.title = `region ${r}: ${v} outstanding acknowledgement${v === 1 ? '' : 's'}${dirty.has(r) ? ' · awaiting resync' : ''}`;
  }
  $('#heatmap-legend').innerHTML =
    `<span>0 <span class="gradient"></span> ${max}</span>` +
    '<span><span class="swatch" style="outline:2px solid var(--down);outline-offset:-2px"></span>awaiting resync</span>';
  $('#heatmap-source').textContent = primary ? `on ${primary.id}` : 'no primary';
}

function heat(x) {
  // amber → red as a region's outstanding acknowledgements grow
  const h = 38 - 34 * x;
  const l = 55 - 15 * x;
  return `hsl(${h.toFixed(0)} 85% ${l.toFixed(0)}%)`;
}

// ---------- charts ----------

function makeCharts() {
  const tputBox = $('#chart-tput');
  const p99Box = $('#chart-p99');
  const width = Math.max(240, tputBox.clientWidth);
  const axes = (label) => [
    {
      stroke: '#6a7587', grid: { stroke: '#eef1f5' }, ticks: { stroke: '#e1e6ee' }, font: '11px system-ui', space: 70,
      values: (_u, splits) => splits.map((t) => clock(t * 1000)),
    },
    { stroke: '#6a7587', grid: { stroke: '#eef1f5' }, ticks: { stroke: '#e1e6ee' }, font: '11px system-ui', label, labelFont: '11px system-ui', labelSize: 16, size: 44 },
  ];
  const tput = new uPlot(
    {
      width,
      height: 150,
      cursor: { drag: { x: false, y: false } },
      legend: { live: false },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(10, max * 1.15)] } },
      axes: axes('per second'),
      series: [
        {},
        { label: 'updates/s', stroke: '#2563eb', width: 1.6, fill: 'rgba(37,99,235,.08)', value: (_u, v) => (v == null ? '–' : v.toFixed(0)) },
        { label: 'commands/s', stroke: '#0f9d7a', width: 1.4, value: (_u, v) => (v == null ? '–' : v.toFixed(0)) },
      ],
    },
    [[], [], []],
    tputBox,
  );
  const p99 = new uPlot(
    {
      width,
      height: 150,
      cursor: { drag: { x: false, y: false } },
      legend: { live: false },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, (max ?? 1) * 1.15)] } },
      axes: axes('ms'),
      series: [{}, { label: 'p99 write ms', stroke: '#d97706', width: 1.6, fill: 'rgba(217,119,6,.08)', spanGaps: false, value: (_u, v) => (v == null ? '–' : v.toFixed(2)) }],
    },
    [[], []],
    p99Box,
  );
  window.addEventListener('resize', () => {
    const w = Math.max(240, tputBox.clientWidth);
    tput.setSize({ width: w, height: 150 });
    p99.setSize({ width: w, height: 150 });
  });
  return { tput, p99 };
}

function pushSample(s) {
  const S = state.series;
  const t = s.t / 1000;
  if (S.t.length && t <= S.t[S.t.length - 1]) return;
  S.t.push(t);
  S.updates.push(s.updatesPerS);
  S.commands.push(s.commandsPerS);
  S.p99.push(s.p99WriteMs);
  if (S.t.length > MAX_POINTS) for (const k of Object.keys(S)) S[k].splice(0, S[k].length - MAX_POINTS);
}

/**
 * Write latency is measured where writes are answered: on the primary. The stream carries the
 * serving node's own samples; when the primary is another member, the page reads that member's
 * series through the serving node (GET /series?node=…) once per second instead.
 */
let chartSource = null;
let fetchingSeries = false;

function setSeries(samples) {
  const S = state.series;
  for (const k of Object.keys(S)) S[k].length = 0;
  for (const s of samples) pushSample(s);
  drawCharts();
}

async function refreshRemoteSeries() {
  if (!state.cluster || chartSource === null || chartSource === state.cluster.servedBy || fetchingSeries) return;
  fetchingSeries = true;
  try {
    const r = await api('GET', `/series?node=${encodeURIComponent(chartSource)}`);
    if (r.node === chartSource) {
      setSeries(r.samples);
      $('#chart-source').textContent = `measured on ${chartSource} (primary)`;
    }
  } catch (e) {
    $('#chart-source').textContent = `${chartSource} unavailable: ${e.message}`;
  } finally {
    fetchingSeries = false;
  }
}

function chooseChartSource(view, primary) {
  const want = primary && primary.id !== view.servedBy ? primary.id : view.servedBy;
  if (want === chartSource) return;
  chartSource = want;
  $('#chart-source').textContent = `measured on ${want}${primary && primary.id === want ? ' (primary)' : ''}`;
  if (want === view.servedBy) api('GET', '/series').then((r) => setSeries(r.samples), () => undefined);
  else refreshRemoteSeries();
}

function drawCharts() {
  if (!state.charts) return;
  const S = state.series;
  state.charts.tput.setData([S.t, S.updates, S.commands]);
  state.charts.p99.setData([S.t, S.p99]);
}

// ---------- failover timeline ----------

const reportKey = (r) => `${r.newEpoch}/${r.newPrimary}/${r.at}`;

function addReports(list, fresh) {
  const known = new Set(state.reports.map(reportKey));
  for (const r of list) {
    if (known.has(reportKey(r))) continue;
    state.reports.push({ ...r, fresh });
    known.add(reportKey(r));
  }
  state.reports.sort((a, b) => b.at - a.at);
  state.reports.length = Math.min(state.reports.length, MAX_TIMELINE);
  renderTimeline();
}

const sum = (rec) => Object.values(rec).reduce((a, b) => a + b, 0);
const per = (rec) => {
  const e = Object.entries(rec).filter(([, v]) => v > 0);
  return e.length ? ` (${e.map(([k, v]) => `${k}: ${v}`).join(', ')})` : '';
};

function renderTimeline() {
  const ol = $('#timeline');
  if (state.reports.length === 0) {
    ol.replaceChildren(el('li', 'empty', 'No failover seen by this node yet.'));
    ol.firstChild.style.border = 'none';
    return;
  }
  ol.replaceChildren(
    ...state.reports.map((r) => {
      const li = el('li', r.fresh ? 'fresh' : '');
      r.fresh = false;
      li.dataset.epoch = r.newEpoch;
      const total = r.detectionMs + r.electionMs + r.failoverSyncMs;
      const what = el('div', 'what', `${r.oldPrimary ?? '—'} → ${r.newPrimary}`);
      const when = el('span', 'when', ` ${clock(r.at)} · epoch ${r.oldEpoch} → ${r.newEpoch} · ${total.toFixed(0)} ms total`);
      what.append(when);
      const phases = el('div', 'phases');
      phases.title = 'detection · election · FailoverSync';
      for (const [cls, ms] of [['detect', r.detectionMs], ['elect', r.electionMs], ['sync', r.failoverSyncMs]]) {
        const p = el('div', cls);
        p.style.width = `${total > 0 ? (ms / total) * 100 : 0}%`;
        phases.append(p);
      }
      const kv = el('div', 'kv');
      const item = (k, v, swatch) => {
        const s = el('span');
        if (swatch) s.append(el('span', `swatch ${swatch}`));
        s.append(`${k} `, el('b', '', v));
        kv.append(s);
      };
      item('detection', `${r.detectionMs.toFixed(0)} ms`, 'detect');
      item('election', `${r.electionMs.toFixed(0)} ms`, 'elect');
      item('FailoverSync', `${r.failoverSyncMs.toFixed(0)} ms`, 'sync');
      item('updates shipped', `${sum(r.shippedTo)}${per(r.shippedTo)}`);
      if (sum(r.pulledFrom) > 0) item('pulled', `${sum(r.pulledFrom)}${per(r.pulledFrom)}`);
      item('acknowledged writes lost', r.acknowledgedWritesLost === undefined ? '—' : String(r.acknowledgedWritesLost));
      item('uncommitted updates discarded', `${sum(r.truncated)}${per(r.truncated)}`);
      if (sum(r.regionsResynced) > 0) item('regions resynced', `${sum(r.regionsResynced)}${per(r.regionsResynced)}`);
      li.append(what, phases, kv);
      return li;
    }),
  );
}

// ---------- controls ----------

function renderControls(view) {
  const sel = $('#switch-target');
  const primaryId = view.nodes.find((n) => !isDown(n) && n.role === 'primary')?.id ?? null;
  const options = view.nodes.filter((n) => n.id !== primaryId && (isDown(n) || n.role !== 'witness')).map((n) => n.id);
  const want = ['', ...options].join('|');
  if (sel.dataset.options !== want) {
    const keep = sel.value;
    sel.replaceChildren(new Option('most up-to-date secondary', ''), ...options.map((id) => new Option(id, id)));
    sel.value = options.includes(keep) ? keep : '';
    sel.dataset.options = want;
  }
  $('#kill-btn').hidden = !view.demo;
}

$('#switch-btn').addEventListener('click', async () => {
  const btn = $('#switch-btn');
  const to = $('#switch-target').value;
  btn.disabled = true;
  try {
    const r = await api('POST', '/switchover', to ? { to } : {});
    toast(`Switchover done: primary is ${r.primaryId ?? 'unknown'}, epoch ${r.epoch}`);
  } catch (e) {
    toast(`Switchover failed — ${e.message}`, true);
  } finally {
    btn.disabled = false;
  }
});

$('#kill-btn').addEventListener('click', async () => {
  const btn = $('#kill-btn');
  btn.disabled = true;
  try {
    const r = await api('POST', '/demo/kill-primary');
    toast(`Killed primary ${r.killed ?? '(none)'} — watch the failover`);
  } catch (e) {
    toast(`Kill failed — ${e.message}`, true);
  } finally {
    btn.disabled = false;
  }
});

// ---------- snapshots ----------

function markStale(message) {
  document.body.classList.add('stale');
  const banner = $('#banner');
  banner.className = 'banner error';
  banner.textContent = message;
  banner.hidden = false;
}

/** The newest epoch seen: a higher one means a failover whose report another node holds. */
let newestEpoch = 0;

function onCluster(view) {
  document.body.classList.remove('stale');
  const epoch = Math.max(0, ...view.nodes.filter((n) => !isDown(n)).map((n) => n.epoch));
  if (newestEpoch !== 0 && epoch > newestEpoch) {
    // The report is made by the new primary once FailoverSync commits: ask the cluster shortly after.
    setTimeout(() => api('GET', '/failovers?scope=cluster').then(({ reports }) => addReports(reports, true)).catch(() => {}), 500);
  }
  newestEpoch = Math.max(newestEpoch, epoch);
  state.cluster = view;
  state.lastSnapshotAt = Date.now();
  $('#served-by').textContent = view.servedBy;
  setConn('live', 'live');
  const primary = view.nodes.find((n) => !isDown(n) && n.role === 'primary' && n.leaseValid) ?? view.nodes.find((n) => !isDown(n) && n.role === 'primary');
  chooseChartSource(view, primary);
  renderNodes(view);
  renderInFlight(primary);
  renderHeatmap(primary, view);
  renderControls(view);
  const down = view.nodes.filter(isDown);
  const banner = $('#banner');
  if (down.length > 0) {
    banner.className = 'banner error';
    banner.textContent = `${down.length} of ${view.nodes.length} nodes unreachable: ${down.map((n) => `${n.id} (${n.error})`).join('; ')}. The page keeps updating with the rest.`;
    banner.hidden = false;
  } else if (!primary) {
    banner.className = 'banner';
    banner.textContent = 'No primary right now: an election or failover is in progress.';
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

// ---------- moving to another member when the serving node is gone ----------

/** Resolves true if `base` answers /healthz in time; cross-origin probes are opaque but still fail on a dead port. */
async function answers(base, crossOrigin) {
  try {
    await fetch(`${base}/healthz`, { mode: crossOrigin ? 'no-cors' : 'same-origin', cache: 'no-store', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return true;
  } catch {
    return false;
  }
}

/** A member's admin URL as this browser reaches it: a wildcard bind address means "the host this page came from". */
function browserUrl(url) {
  const u = new URL(url);
  if (u.hostname === '0.0.0.0' || u.hostname === '[::]') u.hostname = location.hostname;
  return u.origin;
}

let moving = false;

/**
 * The stream broke. If the serving node still answers, EventSource reconnects by itself; if not,
 * the page goes to the first other member that answers — the primary of the last snapshot first
 * — so it keeps showing the cluster instead of waiting for a dead node.
 */
async function onStreamLost() {
  if (moving || !state.cluster) return;
  moving = true;
  try {
    for (;;) {
      if (await answers('', false)) return;
      const view = state.cluster;
      const primaryId = view.nodes.find((n) => !isDown(n) && n.role === 'primary')?.id;
      const others = Object.keys(view.adminUrls ?? {})
        .filter((id) => id !== view.servedBy)
        .sort((a, b) => (b === primaryId) - (a === primaryId));
      for (const id of others) {
        const base = browserUrl(view.adminUrls[id]);
        if (base === location.origin) continue;
        if (!(await answers(base, true))) continue;
        const hash = new URLSearchParams({ from: view.servedBy });
        if (state.token) hash.set('token', state.token);
        location.replace(`${base}/#${hash}`);
        return;
      }
      await new Promise((r) => setTimeout(r, MOVE_RETRY_MS));
    }
  } finally {
    moving = false;
  }
}

function connect() {
  state.es?.close();
  const url = state.token ? `/events?access_token=${encodeURIComponent(state.token)}` : '/events';
  const es = new EventSource(url);
  state.es = es;
  es.addEventListener('open', () => setConn('live', 'live'));
  es.addEventListener('error', () => {
    // EventSource reconnects by itself (the server sets `retry`); say so meanwhile, and make it
    // plain that what is on screen is the last data received, not the present.
    const who = state.cluster?.servedBy ?? 'this node';
    setConn('down', `connection to ${who} lost — reconnecting…`);
    markStale(`Lost the connection to ${who}, which serves this page: showing data as of ${state.lastSnapshotAt ? clock(state.lastSnapshotAt) : '—'}. Reconnecting…`);
    onStreamLost();
  });
  es.addEventListener('cluster', (e) => onCluster(JSON.parse(e.data)));
  es.addEventListener('series', (e) => {
    if (chartSource === null || chartSource === state.cluster?.servedBy) setSeries(JSON.parse(e.data).samples);
  });
  es.addEventListener('sample', (e) => {
    if (chartSource !== null && chartSource !== state.cluster?.servedBy) return refreshRemoteSeries();
    pushSample(JSON.parse(e.data));
    drawCharts();
  });
  es.addEventListener('failover', (e) => addReports([JSON.parse(e.data)], true));
}

async function start() {
  try {
    const { reports } = await api('GET', '/failovers?scope=cluster');
    addReports(reports, false);
  } catch (e) {
    if (!/NOAUTH/.test(String(e.message))) toast(`Could not read failovers — ${e.message}`, true);
    if (/NOAUTH/.test(String(e.message))) return; // the token dialog is open; start() runs again on submit
  }
  connect();
}

setInterval(() => {
  if (state.lastSnapshotAt && Date.now() - state.lastSnapshotAt > STALE_AFTER_MS && state.es?.readyState === EventSource.OPEN) {
    setConn('stale', `no update for ${Math.round((Date.now() - state.lastSnapshotAt) / 1000)} s`);
    markStale(`No snapshot from ${state.cluster?.servedBy ?? 'this node'} since ${clock(state.lastSnapshotAt)}: the data on screen may be out of date.`);
  }
}, 1000);

state.charts = makeCharts();
renderTimeline();
if (arrival.has('from')) toast(`${arrival.get('from')}, which served this page, stopped answering: now served by this member`);
start();
