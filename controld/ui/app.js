// SPDX-License-Identifier: GPL-2.0
// mb-controld's dashboard (docs/dashboard.md). Everything shown comes from
// the HTTP API (docs/api.md) with the admin token the operator entered,
// kept in sessionStorage only. Text from the API (VM names come from
// guests) is only ever set as textContent, never parsed as HTML.
'use strict';

const POLL_MS = 5000;
const TOKEN_KEY = 'mb-controld-token';
const CHART_VMS = 12;   // VMs charted at most, the first by name

const $ = (id) => document.getElementById(id);

// el('td', {class: 'num', 'data-field': 'x'}, 'text', child, ...)
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {}))
    if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const c of children)
    if (c !== undefined && c !== null)
      e.append(c instanceof Node ? c : String(c));
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Numbers as the tests read them back: integers with thousands commas,
// MiB and percentages with one decimal.
const fmtInt = (n) => (n === null || n === undefined) ? '-' :
  Math.round(n).toLocaleString('en-US');
const fmtMB = (x) => (x === null || x === undefined) ? '-' : x.toFixed(1);
const fmtPct = (x) => (x === null || x === undefined) ? '-' : x.toFixed(1) + ' %';
const fmtRate = (bps) => (bps === null || bps === undefined) ? '-' :
  (bps / 1024).toFixed(1) + ' KiB/s';
const fmtTime = (s) => s ? new Date(s * 1000).toLocaleString('en-GB') : '-';

function table(id, head, rows) {
  const t = $(id);
  t.replaceChildren();
  if (!rows.length) {
    t.hidden = true;
    return t;
  }
  t.hidden = false;
  t.append(el('thead', null, el('tr', null, ...head.map((h) => el('th', null, h)))));
  const body = el('tbody');
  for (const r of rows) body.append(r);
  t.append(body);
  return t;
}

// ---- the token and the API ----

let token = sessionStorage.getItem(TOKEN_KEY);
let timer = null;
let refreshes = 0;

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, method) {
  const r = await fetch(path, {
    method: method || 'GET',
    headers: {Authorization: 'Bearer ' + token},
    cache: 'no-store',
    credentials: 'omit',
  });
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    body = null;
  }
  if (r.status === 401 || r.status === 403) {
    signOut((body && body.error) || ('HTTP ' + r.status));
    throw new ApiError(r.status, 'signed out');
  }
  if (!r.ok)
    throw new ApiError(r.status, (body && body.error) || ('HTTP ' + r.status));
  return body;
}

// GET, or null when the route answers 404 (no hosts configured, no plan
// yet, no statistics yet).
async function optional(path) {
  try {
    return await api(path);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

function signOut(why) {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  if (timer) clearTimeout(timer);
  timer = null;
  // Nothing of what was shown stays on the page.
  for (const id of ['host-list', 'unplaced', 'heatmap', 'sharing-vms',
    'plan-actions', 'plan-hosts', 'actions', 'charts'])
    $(id).replaceChildren();
  for (const id of ['sharing-summary', 'sharing-skipped', 'plan-summary',
    'plan-message', 'actions-note', 'timeline-note', 'status'])
    $(id).textContent = '';
  $('app').hidden = true;
  $('signout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = why || '';
  $('token').value = '';
  $('token').focus();
}

function signedIn() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  refresh();
}

// ---- hosts and their VMs ----

function figure(label, value, field) {
  return el('div', null, el('dt', null, label), el('dd', {'data-field': field}, value));
}

function memoryBar(h, saved) {
  const inUse = h.configured_mb_in_use || 0;
  const total = Math.max(h.capacity_mb + h.reserve_mb, inUse + h.reserve_mb, 1);
  const parts = [
    ['used', Math.max(inUse - saved, 0)],
    ['saved', Math.min(saved, inUse)],
    ['free', Math.max(h.capacity_mb - inUse, 0)],
    ['reserved', h.reserve_mb],
  ];
  const bar = el('div', {class: 'bar', role: 'img',
    'aria-label': 'memory of ' + h.name});
  for (const [cls, mb] of parts) {
    const d = el('div', {class: cls, title: cls + ': ' + fmtMB(mb) + ' MiB'});
    d.style.width = (100 * mb / total) + '%';
    bar.append(d);
  }
  return bar;
}

function renderHosts(d) {
  const list = $('host-list');
  list.replaceChildren();
  const byUuid = new Map(d.vms.map((v) => [v.uuid, v]));
  const statsVm = new Map(((d.stats && d.stats.vms) || []).map((v) => [v.uuid, v]));
  const statsHost = new Map(((d.stats && d.stats.hosts) || []).map((h) => [h.name, h]));
  const savedOf = new Map(((d.sharing && d.sharing.hosts) || []).map((h) => [h.name, h]));
  const hot = new Map(((d.hotspots && d.hotspots.hosts) || []).map((h) => [h.name, h]));
  if (!d.hosts) {
    list.append(el('p', {class: 'muted'}, 'No hosts are configured (mb-controld runs ' +
      'without --host): the VMs below are those with traces.'));
  }
  for (const h of d.hosts || []) {
    const s = statsHost.get(h.name) || {};
    const sh = savedOf.get(h.name);
    const saved = sh ? sh.saved_mb : 0;
    const hs = hot.get(h.name);
    const card = el('div', {class: 'host' + (h.up ? '' : ' down'), 'data-host': h.name},
      el('h3', null, h.name + ' ',
        el('span', {class: 'badge' + (h.up ? '' : ' down')}, h.up ? 'up' : 'down'),
        hs && hs.hot ? el('span', {class: 'badge hot'}, 'hotspot') : null));
    if (h.error) card.append(el('p', {class: 'error'}, h.error));
    card.append(memoryBar(h, saved));
    card.append(el('dl', {class: 'figures'},
      figure(el('span', null, el('span', {class: 'swatch used'}), 'in use'),
        fmtMB(h.configured_mb_in_use) + ' MiB', 'configured_mb_in_use'),
      figure(el('span', null, el('span', {class: 'swatch saved'}), 'saved by sharing'),
        fmtMB(saved) + ' MiB', 'saved_mb'),
      figure(el('span', null, el('span', {class: 'swatch free'}), 'capacity'),
        fmtMB(h.capacity_mb) + ' MiB', 'capacity_mb'),
      figure(el('span', null, el('span', {class: 'swatch reserved'}), 'reserved'),
        fmtMB(h.reserve_mb) + ' MiB', 'reserve_mb'),
      figure('CPU', fmtPct(s.cpu_pct), 'cpu_pct'),
      figure('network in', fmtRate(s.rx_bps), 'rx_bps'),
      figure('out', fmtRate(s.tx_bps), 'tx_bps'),
      hs ? figure('utilisation cpu / net / mem',
        ['cpu', 'net', 'mem'].map((k) => fmtPct(100 * hs.now[k])).join(' / '),
        'utilisation') : null));
    const rows = (h.domains || []).map((dom) => {
      const v = byUuid.get(dom.uuid) || {};
      const st = statsVm.get(dom.uuid) || {};
      return el('tr', {'data-vm': dom.uuid},
        el('td', null, dom.name),
        el('td', {class: 'num', 'data-field': 'memory_mb'}, fmtMB(dom.memory_mb)),
        el('td', null, dom.state),
        el('td', {class: 'num', 'data-field': 'cpu_pct'}, fmtPct(st.cpu_pct)),
        el('td', {class: 'num', 'data-field': 'balloon_mb'}, fmtMB(st.balloon_mb)),
        el('td', {class: 'num', 'data-field': 'latest_version'},
          v.latest_version ? v.latest_version : 'no trace'));
    });
    if (rows.length) {
      const t = el('table', {class: 'vms'});
      t.append(el('thead', null, el('tr', null, ...['VM', 'memory MiB', 'state', 'CPU',
        'balloon MiB', 'trace version'].map((x) => el('th', null, x)))));
      t.append(el('tbody', null, ...rows));
      card.append(t);
    } else {
      card.append(el('p', {class: 'muted'}, 'no domains'));
    }
    list.append(card);
  }
  const unplaced = d.vms.filter((v) => !v.host).map((v) => el('tr', {'data-vm': v.uuid},
    el('td', null, v.name), el('td', null, v.uuid),
    el('td', {class: 'num', 'data-field': 'versions'}, fmtInt(v.versions)),
    el('td', {class: 'num', 'data-field': 'latest_version'}, v.latest_version || '-'),
    el('td', {class: 'num', 'data-field': 'age_seconds'}, fmtInt(v.age_seconds))));
  table('unplaced', ['VM', 'uuid', 'versions', 'latest version', 'age s'], unplaced);
  $('unplaced-title').hidden = !unplaced.length;
}

// ---- sharing ----

// White to dark blue, as `mbuddy sharing --svg` draws it.
function heat(fr) {
  fr = Math.min(Math.max(fr, 0), 1);
  const c = (hi, lo) => Math.round(hi - fr * (hi - lo));
  return 'rgb(' + c(255, 8) + ',' + c(255, 48) + ',' + c(255, 107) + ')';
}

function renderSharing(s) {
  const hm = $('heatmap');
  hm.replaceChildren();
  if (!s || !s.vms.length) {
    $('sharing-summary').textContent = 'No traces yet.';
    table('sharing-vms', [], []);
    $('sharing-skipped').textContent = '';
    return;
  }
  const g = s.group;
  $('sharing-summary').replaceChildren(
    s.vms.length + ' VMs, ' + s.algorithm + ' digests (' + s.digest_bits +
    '-bit), exact counts of their latest traces. All together: ',
    el('span', {'data-field': 'group.pages'}, fmtInt(g.pages)), ' pages, ',
    el('span', {'data-field': 'group.distinct'}, fmtInt(g.distinct)), ' distinct, ',
    el('span', {'data-field': 'group.saved'}, fmtInt(g.saved)), ' saved (',
    el('span', {'data-field': 'group.saved_mb'}, fmtMB(g.saved_mb)), ' MiB). ' +
    'Cells: the shared fraction of the smaller VM\'s distinct pages, and the common pages.');
  hm.append(el('thead', null, el('tr', null, el('th'),
    ...s.vms.map((v) => el('th', {class: 'col', title: v.uuid}, v.name)))));
  const body = el('tbody');
  s.vms.forEach((v, i) => {
    const tr = el('tr', null, el('th', {title: v.uuid}, v.name));
    s.vms.forEach((w, j) => {
      const fr = s.shared_fraction[i][j];
      const td = el('td', {class: 'cell' + (fr > 0.5 ? ' dark' : ''),
        'data-i': i, 'data-j': j,
        title: v.name + ' / ' + w.name + ': ' + fmtInt(s.common[i][j]) + ' common pages'},
      el('span', {class: 'frac'}, fr === null ? '-' : fr.toFixed(2)),
      el('span', {class: 'common'}, fmtInt(s.common[i][j])));
      td.style.backgroundColor = heat(fr || 0);
      tr.append(td);
    });
    body.append(tr);
  });
  hm.append(body);
  table('sharing-vms', ['VM', 'host', 'tenant', 'trace', 'pages', 'distinct',
    'duplicates', 'dup MiB'], s.vms.map((v) => el('tr', {'data-vm': v.uuid},
    el('td', null, v.name), el('td', null, v.host || '-'), el('td', null, v.tenant || '-'),
    el('td', null, v.trace),
    el('td', {class: 'num', 'data-field': 'pages'}, fmtInt(v.pages)),
    el('td', {class: 'num', 'data-field': 'distinct'}, fmtInt(v.distinct)),
    el('td', {class: 'num', 'data-field': 'duplicates'}, fmtInt(v.duplicates)),
    el('td', {class: 'num', 'data-field': 'saved_mb'}, fmtMB(v.saved_mb)))));
  $('sharing-skipped').textContent = s.skipped.length ? 'Not counted: ' +
    s.skipped.map((x) => x.name + ' (' + x.why + ')').join('; ') : '';
}

// ---- the plan ----

let shownPlan = null;
let confirming = false;

function target(a) {
  if (a.action === 'resize' || a.kind === 'resize')
    return 'to ' + fmtMB(a.target_mb) + ' MiB';
  return a.from + ' \u2192 ' + a.to;
}

function renderPlan(p, controlled) {
  shownPlan = p;
  $('plan-new').disabled = !controlled;
  if (!controlled) {
    $('plan-summary').textContent = 'Plans need hosts (mb-controld --host).';
    table('plan-actions', [], []);
    table('plan-hosts', [], []);
    $('plan-apply').disabled = true;
    return;
  }
  if (!p) {
    $('plan-summary').textContent = 'No plan yet.';
    table('plan-actions', [], []);
    table('plan-hosts', [], []);
    $('plan-apply').disabled = true;
    return;
  }
  $('plan-summary').replaceChildren('Plan ',
    el('span', {'data-field': 'id'}, '#' + p.id), ' of ' + fmtTime(p.created) +
    ' (' + p.algorithm + '; policies ' + p.policies + '): ',
    el('span', {'data-field': 'actions'}, String(p.actions.length)), ' actions, saving ',
    el('span', {'data-field': 'saved_mb'}, fmtMB(p.saved_mb)), ' MiB. ' +
    (p.apply ? 'mb-controld carries plans out itself (--apply).' :
      'Dry run: nothing moves unless the plan is applied.'));
  table('plan-actions', ['#', 'action', 'VM', 'move', 'policy', 'reason', 'gain MiB'],
    p.actions.map((a, i) => el('tr', {'data-action': i},
      el('td', {class: 'num'}, i + 1), el('td', null, a.action), el('td', null, a.name),
      el('td', null, target(a)), el('td', null, a.policy), el('td', null, a.reason),
      el('td', {class: 'num', 'data-field': 'gain_mb'}, fmtMB(a.gain_mb)))));
  table('plan-hosts', ['host', 'capacity MiB', 'in use before MiB', 'after MiB', 'VMs'],
    p.hosts.map((h) => el('tr', {'data-host': h.name}, el('td', null, h.name),
      el('td', {class: 'num', 'data-field': 'capacity_mb'}, fmtMB(h.capacity_mb)),
      el('td', {class: 'num', 'data-field': 'before_mb'}, fmtMB(h.before_mb)),
      el('td', {class: 'num', 'data-field': 'after_mb'}, fmtMB(h.after_mb)),
      el('td', null, h.vms.join(', ')))));
  if (!confirming) {
    $('plan-apply').disabled = !p.actions.length;
    $('plan-apply').textContent = 'Apply plan #' + p.id;
  }
}

function resetApply() {
  confirming = false;
  $('plan-apply').classList.remove('confirm');
  $('plan-cancel').hidden = true;
  if (shownPlan) $('plan-apply').textContent = 'Apply plan #' + shownPlan.id;
}

// Apply takes two clicks: the first says what would be queued.
async function applyClicked() {
  const p = shownPlan;
  if (!p) return;
  if (!confirming) {
    confirming = true;
    $('plan-apply').classList.add('confirm');
    $('plan-apply').textContent = 'Confirm: queue ' + p.actions.length + ' actions of plan #' + p.id;
    $('plan-cancel').hidden = false;
    return;
  }
  resetApply();
  $('plan-apply').disabled = true;
  try {
    const r = await api('/v1/plan/apply?plan=' + encodeURIComponent(p.id), 'POST');
    const ids = r.actions.map((a) => '#' + a.id).join(', ');
    $('plan-message').textContent = r.actions.length ? 'Plan #' + r.plan + ': queued ' +
      r.actions.length + ' actions (' + ids + '); History follows them.' :
      'Plan #' + r.plan + ': nothing queued (every VM of it is busy or waiting to retry).';
  } catch (e) {
    if (e.status) $('plan-message').textContent = 'Apply failed: ' + e.message;
  }
  refresh();
}

async function newPlanClicked() {
  $('plan-new').disabled = true;
  try {
    const p = await api('/v1/plan', 'POST');
    $('plan-message').textContent = 'Plan #' + p.id + ' made.';
  } catch (e) {
    if (e.status) $('plan-message').textContent = 'No plan: ' + e.message;
  }
  resetApply();
  refresh();
}

// ---- history ----

function renderActions(list) {
  const rows = (list || []).slice().reverse().map((a) => el('tr',
    {class: 'state-' + a.state, 'data-id': a.id},
    el('td', {class: 'num'}, a.id), el('td', {class: 'num'}, a.plan === null ? '-' : a.plan),
    el('td', null, a.kind), el('td', null, a.name), el('td', null, target(a)),
    el('td', {class: 'state'}, a.state), el('td', null, a.policy),
    el('td', null, a.reason), el('td', null, fmtTime(a.created)),
    el('td', {class: 'num', 'data-field': 'duration_s'},
      a.duration_s == null ? '-' : a.duration_s.toFixed(2)),
    el('td', {class: a.error ? 'error' : ''}, a.error || a.note || '')));
  table('actions', ['id', 'plan', 'kind', 'VM', 'move', 'state', 'policy', 'reason',
    'created', 'took s', 'error or note'], rows);
  $('actions-note').textContent = rows.length ? '' : list ? 'No actions yet.' :
    'Actions need hosts (mb-controld --host).';
}

// ---- over time ----

const W = 520, H = 180, PAD = 34;

// A line chart of series [{label, points: [[t, v], ...]}] with optional
// markers [{t, label}] (actions, mitigations, decisions) and a threshold.
function chart(title, unit, series, markers, threshold, key) {
  const pts = series.flatMap((s) => s.points);
  const box = el('figure', {class: 'chart', 'data-chart': key});
  const s = svg('svg', {width: W, height: H, viewBox: '0 0 ' + W + ' ' + H});
  box.append(el('figcaption', null, title));
  if (!pts.length) {
    box.append(el('p', {class: 'muted'}, 'no samples yet'));
    return box;
  }
  const ts = pts.map((p) => p[0]).concat(markers.map((m) => m.t));
  const t0 = Math.min(...ts), t1 = Math.max(...ts, t0 + 1);
  let vmax = Math.max(...pts.map((p) => p[1]), threshold || 0, 1);
  if (unit === '%') vmax = Math.max(vmax, 100);
  const x = (t) => PAD + (W - PAD - 8) * (t - t0) / (t1 - t0);
  const y = (v) => H - 20 - (H - 30) * v / vmax;
  s.append(svg('line', {class: 'axis', x1: PAD, y1: y(0), x2: W - 8, y2: y(0)}));
  s.append(svg('line', {class: 'axis', x1: PAD, y1: y(0), x2: PAD, y2: 8}));
  s.append(svg('text', {x: 2, y: 14}, vmax.toFixed(0) + ' ' + unit));
  s.append(svg('text', {x: 2, y: y(0)}, '0'));
  s.append(svg('text', {x: PAD, y: H - 4}, new Date(t0 * 1000).toLocaleTimeString('en-GB')));
  s.append(svg('text', {x: W - 60, y: H - 4}, new Date(t1 * 1000).toLocaleTimeString('en-GB')));
  if (threshold)
    s.append(svg('line', {class: 'threshold', x1: PAD, x2: W - 8, y1: y(threshold),
      y2: y(threshold)}));
  series.forEach((ser, i) => {
    if (!ser.points.length) return;
    s.append(svg('polyline', {class: 's' + i, 'data-series': ser.label,
      'data-points': ser.points.length,
      points: ser.points.map((p) => x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1)).join(' ')}));
    s.append(svg('rect', {class: 'k' + i, x: PAD + 8 + i * 150, y: 2, width: 8, height: 8}));
    s.append(svg('text', {x: PAD + 20 + i * 150, y: 10}, ser.label));
  });
  for (const m of markers) {
    const g = svg('g', {class: 'marker-group', 'data-marker': m.label});
    g.append(svg('line', {class: 'marker', x1: x(m.t), x2: x(m.t), y1: 8, y2: y(0)}));
    g.append(svg('title', {}, m.label));
    s.append(g);
  }
  box.append(s);
  if (markers.length)
    box.append(el('ul', {class: 'muted'}, ...markers.slice(-5).map((m) =>
      el('li', null, new Date(m.t * 1000).toLocaleTimeString('en-GB') + ' ' + m.label))));
  return box;
}

const series = (samples, field, scale) => (samples || [])
  .filter((p) => p[field] !== null && p[field] !== undefined)
  .map((p) => [p.t, p[field] * (scale || 1)]);

async function renderTimeline(d) {
  const charts = el('div');
  const hs = d.hotspots && d.hotspots.mode !== 'off' ? d.hotspots : null;
  const actions = d.actions || [];
  const startOf = (a) => (a.started_ms ? a.started_ms / 1000 : a.created);
  for (const h of d.hosts || []) {
    const st = await optional('/v1/hosts/' + encodeURIComponent(h.name) + '/stats');
    const samples = st ? st.samples : [];
    const memPct = samples.filter((p) => p.mem_used_mb !== null && p.mem_total_mb)
      .map((p) => [p.t, 100 * p.mem_used_mb / p.mem_total_mb]);
    const markers = actions.filter((a) => a.kind === 'migrate' &&
      (a.from === h.name || a.to === h.name)).map((a) => ({t: startOf(a),
      label: 'action ' + a.id + ': migrate ' + a.name + ' ' + a.from + ' \u2192 ' + a.to +
        ' (' + a.policy + ', ' + a.state + ')'}));
    const hh = hs && hs.hosts.find((x) => x.name === h.name);
    if (hh && hh.mitigated)
      markers.push({t: hh.mitigated, label: 'hotspot of ' + h.name + ' mitigated'});
    charts.append(chart('host ' + h.name + ': CPU and memory in use', '%',
      [{label: 'CPU %', points: series(samples, 'cpu_pct')},
        {label: 'memory %', points: memPct}], markers,
      hs ? 100 * hs.params.threshold.cpu : null, 'host:' + h.name));
  }
  const decisions = new Map();
  for (const bh of (d.balance && d.balance.hosts) || [])
    for (const v of bh.vms || [])
      if (v.decision) decisions.set(v.uuid, v.decision);
  const vms = d.vms.filter((v) => v.latest_version || v.host)
    .sort((a, b) => (a.name || '').localeCompare(b.name || '')).slice(0, CHART_VMS);
  for (const v of vms) {
    const st = await optional('/v1/vms/' + encodeURIComponent(v.uuid) + '/stats');
    if (!st) continue;
    const markers = actions.filter((a) => a.uuid === v.uuid && a.kind === 'resize')
      .map((a) => ({t: startOf(a), label: 'action ' + a.id + ': resize to ' +
        fmtMB(a.target_mb) + ' MiB (' + a.policy + ', ' + a.state + ')'}));
    const dec = decisions.get(v.uuid);
    if (dec)
      markers.push({t: dec.t, label: 'balance: ' + dec.action + ' to ' + dec.target_mb +
        ' MiB: ' + dec.reason});
    charts.append(chart('VM ' + v.name + ': memory', 'MiB',
      [{label: 'balloon MiB', points: series(st.samples, 'balloon_mb')},
        {label: 'guest available MiB', points: series(st.guest, 'mem_available_mb')},
        {label: 'guest total MiB', points: series(st.guest, 'mem_total_mb')}],
      markers, null, 'vm:' + v.uuid));
  }
  $('charts').replaceChildren(...charts.childNodes);
  $('timeline-note').textContent = (hs ? 'Dashed: Sandpiper\'s CPU threshold. ' : '') +
    'Vertical lines: actions, hotspot mitigations and balance decisions.';
}

// ---- polling ----

async function refresh() {
  if (timer) clearTimeout(timer);
  timer = null;
  if (!token) return;
  try {
    const vms = await api('/v1/vms');
    const [hosts, stats, sharing, plan, actions, hotspots, balance] = await Promise.all([
      optional('/v1/hosts'), optional('/v1/stats'), optional('/v1/sharing'),
      optional('/v1/plan'), optional('/v1/actions'), optional('/v1/hotspots'),
      optional('/v1/balance')]);
    const d = {vms: vms.vms, hosts: hosts && hosts.hosts, stats, sharing,
      actions: actions && actions.actions, hotspots, balance};
    renderHosts(d);
    renderSharing(sharing);
    renderPlan(plan, !!hosts);
    renderActions(d.actions);
    await renderTimeline(d);
    refreshes++;
    document.body.dataset.refreshes = refreshes;
    $('status').textContent = 'updated ' + new Date().toLocaleTimeString('en-GB');
  } catch (e) {
    if (!token) return;
    $('status').textContent = 'update failed: ' + e.message;
  }
  if (token) timer = setTimeout(refresh, POLL_MS);
}

document.addEventListener('DOMContentLoaded', () => {
  $('login').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    token = $('token').value.trim();
    $('token').value = '';
    if (!token) return;
    try {
      await api('/v1/vms');
    } catch (e) {
      if (token) $('login-error').textContent = e.message;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    signedIn();
  });
  $('signout').addEventListener('click', () => signOut(''));
  $('plan-apply').addEventListener('click', applyClicked);
  $('plan-cancel').addEventListener('click', resetApply);
  $('plan-new').addEventListener('click', newPlanClicked);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && token) refresh();
  });
  if (token) signedIn();
  else signOut('');
});
