// Switchboard operator dashboard. It polls the admin API of the node that
// served it and draws what it sees; charts are plain SVG, no libraries.
'use strict';

(() => {
  // Relative, so the page works behind a proxy that adds a path prefix.
  const API = '../api/v1/';
  const POLL_MS = 1500;
  const METRICS_POLL_MS = 3000;
  const METRICS_SPAN_MS = 30 * 60 * 1000;
  // Live series keep this much history; older points are dropped.
  const LIVE_SPAN_MS = 5 * 60 * 1000;
  const MSG_COUNTER = 'switchboard_messages_acked_total';
  const MAX_KEYS = 8; // agents charted besides "*"; the table lists more
  const MAX_TABLE_KEYS = 20;
  const TOKEN_KEY = 'switchboard-admin-token';
  const SVGNS = 'http://www.w3.org/2000/svg';
  const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563', '#65a30d', '#9333ea'];

  const $ = (id) => document.getElementById(id);

  // ---- token ---------------------------------------------------------------

  let token = '';

  function takeToken() {
    const m = /(?:^|&)token=([^&]*)/.exec(location.hash.slice(1));
    if (m) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
      // Out of the address bar, so it is not bookmarked or shared by accident.
      history.replaceState(null, '', location.pathname + location.search);
    }
    token = sessionStorage.getItem(TOKEN_KEY) || '';
    showTokenState();
  }

  function showTokenState() {
    $('token-state').textContent = token ? 'token set' : 'no token';
  }

  function setupTokenForm() {
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = $('token').value.trim();
      if (!v) return;
      token = v;
      sessionStorage.setItem(TOKEN_KEY, v);
      $('token').value = '';
      showTokenState();
      pollNow();
    });
    $('forget').addEventListener('click', () => {
      token = '';
      sessionStorage.removeItem(TOKEN_KEY);
      showTokenState();
      pollNow();
    });
  }

  // call asks the admin API; a refusal throws its error, with its status.
  async function call(path, init) {
    const headers = { Accept: 'application/json', ...init.headers };
    if (token) headers.Authorization = 'Bearer ' + token;
    const res = await fetch(API + path, { ...init, headers });
    let body = null;
    try {
      body = await res.json();
    } catch (_) {
      // Not JSON: the status line says enough.
    }
    if (!res.ok) {
      const err = new Error((body && body.error) || res.status + ' ' + res.statusText);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  const getJSON = (path) => call(path, { cache: 'no-store' });
  const postJSON = (path, body) => call(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}) });
  const putJSON = (path, body) => call(path, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  // ---- formatting ----------------------------------------------------------

  function fmtNum(v) {
    const a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
    if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
    if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
    if (a >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  function fmtMs(v) {
    if (v === 0) return '0';
    if (v < 0.1) return v.toFixed(2) + ' ms';
    if (v < 100) return v.toFixed(1) + ' ms';
    if (v < 1000) return Math.round(v) + ' ms';
    if (v < 60000) return (v / 1000).toFixed(1) + ' s';
    return (v / 60000).toFixed(1) + ' min';
  }

  const fmtPct = (v) => Math.round(v * 100) + '%';

  function fmtUptime(s) {
    s = Math.max(0, Math.round(s));
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + String(m).padStart(2, '0') + 'm';
    if (m) return m + 'm ' + String(s % 60).padStart(2, '0') + 's';
    return s + 's';
  }

  function clock(t) {
    const d = new Date(t);
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
  }

  function shortName(name) {
    return name.replace(/^switchboard_/, '').replace(/_total$/, '').replace(/_seconds$/, '');
  }

  // ---- charts --------------------------------------------------------------

  const colors = new Map();
  function colorFor(name) {
    if (name === '*') return '#111827';
    if (!colors.has(name)) colors.set(name, PALETTE[colors.size % PALETTE.length]);
    return colors.get(name);
  }

  // niceStep picks a grid step (1, 2, 2.5 or 5 times a power of ten) so that
  // four steps cover v; counts never get fractional steps.
  function niceStep(v, integer) {
    const raw = v > 0 ? (v * 1.0001) / 4 : 0.25;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    let step = 10 * p;
    for (const m of [1, 2, 2.5, 5]) {
      if (m * p >= raw) {
        step = m * p;
        break;
      }
    }
    return integer ? Math.max(1, Math.ceil(step)) : step;
  }

  function svgEl(parent, tag, attrs, text) {
    const el = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    parent.appendChild(el);
    return el;
  }

  // drawChart renders series ([{name, points: [[ms, value], ...]}]) as lines.
  // The figure's data-* attributes say what is drawn (points of the longest
  // series, latest value of the first, sum of the latest values, ok/nodata),
  // for tests and for anyone inspecting the page.
  function drawChart(id, series, opt) {
    opt = opt || {};
    const fmt = opt.fmt || fmtNum;
    const fig = $(id);
    const svg = fig.querySelector('svg');
    // Drawn at the rendered width, so text keeps its size in wide charts.
    const W = Math.max(320, Math.round(svg.getBoundingClientRect().width) || 600);
    const H = 200, L = 58, R = 14, T = 10, B = 22;
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('height', String(H));
    svg.replaceChildren();
    const shown = series.filter((s) => s.points.length > 0);
    fig.dataset.points = String(shown.reduce((n, s) => Math.max(n, s.points.length), 0));
    fig.dataset.series = String(shown.length);
    const first = shown[0];
    fig.dataset.latest = first ? String(first.points[first.points.length - 1][1]) : '';
    fig.dataset.state = shown.length ? 'ok' : 'nodata';
    fig.dataset.sum = String(shown.reduce((a, s) => a + s.points[s.points.length - 1][1], 0));
    drawLegend(fig, shown, fmt, opt.more || 0);
    if (!shown.length) {
      svgEl(svg, 'text', { x: (L + W - R) / 2, y: H / 2, class: 'empty' }, opt.empty || 'no data');
      return;
    }
    let [t0, t1] = opt.range || [Infinity, -Infinity];
    let vMax = 0;
    for (const s of shown) {
      for (const [t, v] of s.points) {
        if (t < t0) t0 = t;
        if (t > t1) t1 = t;
        if (v > vMax) vMax = v;
      }
    }
    if (t1 - t0 < 1000) t0 = t1 - 1000;
    const step = opt.yMax ? opt.yMax / 4 : niceStep(vMax, opt.integer);
    const yMax = step * 4;
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - Math.min(Math.max(v, 0), yMax) / yMax) * (H - T - B);
    for (let i = 0; i <= 4; i++) {
      const v = step * i, yy = y(v).toFixed(1);
      svgEl(svg, 'line', { x1: L, y1: yy, x2: W - R, y2: yy, class: i ? 'grid' : 'axis' });
      svgEl(svg, 'text', { x: L - 6, y: Number(yy) + 4, class: 'ylabel' }, fmt(v));
    }
    svgEl(svg, 'text', { x: L, y: H - 5, class: 'xlabel' }, clock(t0));
    svgEl(svg, 'text', { x: W - R, y: H - 5, class: 'xlabel end' }, clock(t1));
    // Drawn last to first, so the first series (e.g. "*") ends up on top.
    for (const s of [...shown].reverse()) {
      const color = colorFor(s.name);
      const d = s.points.map(([t, v], j) => (j ? 'L' : 'M') + x(t).toFixed(1) + ' ' + y(v).toFixed(1)).join(' ');
      const path = svgEl(svg, 'path', { d, class: 'line', stroke: color });
      path.dataset.name = s.name;
      path.dataset.latest = String(s.points[s.points.length - 1][1]);
      // Sparse series (one point, or a few windows) get dots to be visible.
      if (s.points.length === 1 || opt.dots) {
        for (const [t, v] of s.points) svgEl(svg, 'circle', { cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 3, fill: color });
      }
    }
  }

  function drawLegend(fig, shown, fmt, more) {
    const box = fig.querySelector('.legend');
    box.replaceChildren();
    for (const s of shown) {
      const item = document.createElement('span');
      item.className = 'item';
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = colorFor(s.name);
      const name = document.createElement('span');
      name.textContent = s.label || s.name;
      const val = document.createElement('span');
      val.className = 'val';
      val.textContent = fmt(s.points[s.points.length - 1][1]);
      item.append(sw, name, val);
      box.appendChild(item);
    }
    if (more > 0) {
      const item = document.createElement('span');
      item.className = 'item val';
      item.textContent = '+' + more + ' more';
      box.appendChild(item);
    }
  }

  // Live series: name -> [[ms, value], ...], trimmed to LIVE_SPAN_MS.
  class Live {
    constructor() {
      this.series = new Map();
    }
    push(name, t, v) {
      if (!this.series.has(name)) this.series.set(name, []);
      this.series.get(name).push([t, v]);
    }
    trim(now) {
      for (const [name, pts] of this.series) {
        while (pts.length && pts[0][0] < now - LIVE_SPAN_MS) pts.shift();
        if (!pts.length) this.series.delete(name);
      }
    }
    list(labels) {
      return [...this.series].map(([name, points]) => ({ name, points, label: labels ? labels(name) : name }));
    }
  }

  const live = {
    messages: new Live(),
    latency: new Live(),
    grains: new Live(),
    connections: new Live(),
    counters: new Live(),
  };
  let prev = null; // previous status sample {t, counters}

  // ---- members and status --------------------------------------------------

  function td(text, cls) {
    const el = document.createElement('td');
    if (cls) el.className = cls;
    el.textContent = text;
    return el;
  }

  // placeholderRow adds a row of one muted cell across cols columns.
  function placeholderRow(body, text, cols) {
    const tr = document.createElement('tr');
    tr.className = 'placeholder';
    const c = td(text);
    c.colSpan = cols;
    tr.appendChild(c);
    body.appendChild(tr);
  }

  function renderMembers(members) {
    const body = $('members').querySelector('tbody');
    body.replaceChildren();
    for (const m of members) {
      const tr = document.createElement('tr');
      tr.dataset.id = m.id;
      const id = td(m.id, 'mono');
      if (m.self) {
        const s = document.createElement('span');
        s.className = 'self';
        s.textContent = 'this node';
        id.appendChild(s);
        $('node-name').textContent = 'node ' + m.id;
      }
      const state = td('');
      const badge = document.createElement('span');
      badge.className = 'badge ' + m.state;
      badge.textContent = m.state;
      state.appendChild(badge);
      const kinds = Object.keys(m.grains || {}).sort();
      const grains = kinds.length ? kinds.map((k) => k + ' ' + m.grains[k]).join(', ') : '–';
      tr.append(
        id,
        td(m.address, 'mono'),
        td(m.admin_addr || '–', 'mono'),
        state,
        td(grains),
        td(String(m.connections), 'num'),
        td(m.state === 'unreachable' ? '–' : fmtUptime(m.uptime_s), 'num'),
        td(m.health || (m.state === 'unreachable' ? 'no answer' : 'ok')),
        td(m.version || '–', 'mono build'),
      );
      body.appendChild(tr);
    }
    if (!members.length) {
      placeholderRow(body, 'no members', 9);
    }
  }

  const sumValues = (o) => Object.values(o || {}).reduce((a, b) => a + b, 0);

  function renderSummary(st, rate) {
    const h = $('sum-health');
    h.textContent = st.health;
    h.className = 'value ' + (st.health === 'ok' ? 'ok' : 'bad');
    $('sum-members').textContent = String(st.members);
    const u = $('sum-unreachable');
    u.textContent = String(st.unreachable);
    u.className = 'value ' + (st.unreachable ? 'bad' : '');
    $('sum-connections').textContent = String(st.connections);
    $('sum-grains').textContent = String(sumValues(st.grains));
    $('sum-grains-kinds').textContent = Object.keys(st.grains || {}).sort().map((k) => k + ' ' + st.grains[k]).join(' · ');
    $('sum-rate').textContent = rate === null ? '–' : fmtNum(rate);
  }

  function renderGauges(counters) {
    const body = $('gauges').querySelector('tbody');
    body.replaceChildren();
    const names = Object.keys(counters).filter((n) => !n.endsWith('_total')).sort();
    for (const n of names) {
      const tr = document.createElement('tr');
      tr.append(td(n, 'mono'), td(fmtNum(counters[n]), 'num'));
      body.appendChild(tr);
    }
    if (!names.length) {
      placeholderRow(body, 'no switchboard_* gauges on this node', 2);
    }
  }

  // sample turns one members+status answer into points of the live charts.
  function sample(now, members, st) {
    const counters = st.counters || {};
    let msgRate = null;
    if (prev) {
      const dt = (now - prev.t) / 1000;
      for (const [name, v] of Object.entries(counters)) {
        const before = prev.counters[name];
        // A counter that went down was reset (restart): skip that interval.
        if (!name.endsWith('_total') || before === undefined || v < before || dt <= 0) continue;
        const rate = (v - before) / dt;
        live.counters.push(name, now, rate);
        if (name === MSG_COUNTER) msgRate = rate;
      }
    }
    if (msgRate !== null) live.messages.push('messages/s', now, msgRate);
    prev = { t: now, counters };
    for (const [name, ms] of Object.entries(st.latency_ms || {})) live.latency.push(name, now, ms);
    for (const m of members) {
      if (m.state === 'unreachable') continue;
      live.grains.push(m.id, now, sumValues(m.grains));
      live.connections.push(m.id, now, m.connections);
    }
    for (const l of Object.values(live)) l.trim(now);

    const hasCounter = MSG_COUNTER in counters;
    drawChart('chart-messages', live.messages.list(), {
      empty: hasCounter ? 'waiting for a second sample…' : 'no data: this node exports no ' + MSG_COUNTER,
    });
    drawChart('chart-latency', live.latency.list(shortName), { fmt: fmtMs, empty: 'no latency histograms observed yet' });
    drawChart('chart-grains', live.grains.list(), { integer: true, empty: 'no members answered' });
    drawChart('chart-connections', live.connections.list(), { integer: true, empty: 'no members answered' });
    drawChart('chart-counters', live.counters.list(shortName), {
      empty: prev && Object.keys(counters).some((n) => n.endsWith('_total')) ? 'waiting for a second sample…' : 'no switchboard_*_total counters on this node',
    });
    renderGauges(counters);
    return hasCounter ? msgRate : null;
  }

  // ---- service metrics -----------------------------------------------------

  function addRow(agg, r) {
    agg.questions += r.questions;
    agg.timely += r.timely;
    agg.respSum += r.avg_response_ms * r.questions;
    agg.msgQuestions += r.msg_questions;
    agg.msgTimely += r.msg_timely;
    agg.sessions += r.sessions;
    agg.sessionSum += r.avg_session_ms * r.sessions;
    // Not every session has a first response; weighting by sessions is an
    // approximation good enough for a glance.
    if (r.avg_first_response_ms > 0) {
      agg.firstSum += r.avg_first_response_ms * Math.max(r.sessions, 1);
      agg.firstN += Math.max(r.sessions, 1);
    }
    agg.ratings += r.ratings || 0;
    agg.satisfied += r.satisfied || 0;
    // Desk sessions' first responses, across any gap: exact, weighted by their count.
    agg.deskFirstN += r.desk_first_responses || 0;
    agg.deskFirstSum += (r.avg_desk_first_response_ms || 0) * (r.desk_first_responses || 0);
    // The agents' handling: resolved sessions, and the average over every span.
    agg.handledN += r.desk_handled || 0;
    agg.resolved += r.desk_resolved || 0;
    agg.handleSum += (r.avg_handle_ms || 0) * (r.desk_handled || 0);
    // Sessions taken back unanswered (the desk's answer timeout).
    agg.missed += r.desk_missed || 0;
  }

  function renderMetrics(report, from, now) {
    const byKey = new Map();
    for (const r of report.rows || []) {
      if (!byKey.has(r.key)) {
        byKey.set(r.key, { key: r.key, rows: [], questions: 0, timely: 0, respSum: 0, msgQuestions: 0, msgTimely: 0, sessions: 0, sessionSum: 0, firstSum: 0, firstN: 0, deskFirstSum: 0, deskFirstN: 0, handledN: 0, resolved: 0, handleSum: 0, missed: 0, ratings: 0, satisfied: 0 });
      }
      const k = byKey.get(r.key);
      k.rows.push(r);
      addRow(k, r);
    }
    const agents = [...byKey.values()].filter((k) => k.key !== '*').sort((a, b) => b.questions - a.questions || b.sessions - a.sessions || (a.key < b.key ? -1 : 1));
    const keys = (byKey.has('*') ? [byKey.get('*')] : []).concat(agents);
    const charted = keys.slice(0, MAX_KEYS + 1);
    const more = keys.length - charted.length;
    const series = (pick, onlyAnswered) => charted.map((k) => ({
      name: k.key,
      label: k.key === '*' ? 'all agents (*)' : k.key,
      // A window with no answered question has rate 0 by definition; don't
      // chart that as a bad rate.
      points: k.rows.filter((r) => !onlyAnswered || r.questions > 0).map((r) => [Date.parse(r.window_start), pick(r)]),
    }));
    const empty = 'no service conversations in the last 30 min';
    // The whole span queried, up to the window now open: a lone window
    // reads as "the last minute", not as the whole chart.
    const range = [from, now - (now % 60000)];
    drawChart('chart-timely', series((r) => r.timely_rate, true), { fmt: fmtPct, yMax: 1, dots: true, range, more, empty });
    drawChart('chart-response', series((r) => r.avg_response_ms, true), { fmt: fmtMs, dots: true, range, more, empty });
    drawChart('chart-sessions', series((r) => r.sessions, false), { integer: true, dots: true, range, more, empty });

    const body = $('agents').querySelector('tbody');
    body.replaceChildren();
    for (const k of keys.slice(0, MAX_TABLE_KEYS)) {
      const tr = document.createElement('tr');
      tr.dataset.key = k.key;
      const dash = '–';
      tr.append(
        td(k.key === '*' ? '* (all agents)' : k.key, 'mono'),
        td(String(k.questions), 'num'),
        td(k.questions ? fmtPct(k.timely / k.questions) : dash, 'num'),
        td(k.questions ? fmtMs(k.respSum / k.questions) : dash, 'num'),
        td(k.msgQuestions ? fmtPct(k.msgTimely / k.msgQuestions) : dash, 'num'),
        td(String(k.sessions), 'num'),
        td(k.firstN ? fmtMs(k.firstSum / k.firstN) : dash, 'num'),
        td(k.deskFirstN ? fmtMs(k.deskFirstSum / k.deskFirstN) + ' of ' + k.deskFirstN : dash, 'num'),
        td(k.sessions ? fmtMs(k.sessionSum / k.sessions) : dash, 'num'),
        td(k.handledN ? String(k.resolved) + ' · ' + fmtMs(k.handleSum / k.handledN) : dash, 'num'),
        td(String(k.missed), 'num'),
        // Customers' ratings of 4 or 5 out of all ratings (docs/METRICS.md).
        td(k.ratings ? fmtPct(k.satisfied / k.ratings) + ' of ' + k.ratings : dash, 'num'),
      );
      body.appendChild(tr);
    }
    if (!keys.length) {
      placeholderRow(body, empty, 12);
    }
    let note = keys.length > MAX_TABLE_KEYS ? (keys.length - MAX_TABLE_KEYS) + ' more agents not listed. ' : '';
    note += 'Late events: ' + (report.late_events || 0) + ', future events: ' + (report.future_events || 0) + '.';
    $('metrics-note').textContent = note;
  }

  // ---- reports (docs/OPERATIONS.md, "Moderation") ---------------------------

  const REPORTS_SHOWN = 50;
  // What the moderator did per report on this page, for its resolution.
  const actionsTaken = new Map();

  // actButton makes a button that runs run when clicked and writes what it
  // returns, or why it failed, into the note noteId. once: it stays
  // disabled after it worked (a report's steps).
  function actButton(label, cls, noteId, once, run) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = cls;
    b.textContent = label;
    b.addEventListener('click', async () => {
      b.disabled = true;
      let ok = false;
      try {
        $(noteId).textContent = await run();
        ok = true;
      } catch (err) {
        $(noteId).textContent = label + ' failed: ' + err.message;
      }
      b.disabled = once && ok;
    });
    return b;
  }

  // actionButton is a report's step; the list shows its result at the next poll.
  const actionButton = (label, cls, run) => actButton(label, cls, 'reports-note', true, async () => {
    try {
      return await run();
    } finally {
      reportsAt = 0;
    }
  });

  function renderReports(res) {
    const body = $('reports').querySelector('tbody');
    body.replaceChildren();
    for (const r of res.reports || []) {
      const tr = document.createElement('tr');
      tr.dataset.id = r.id;
      const done = actionsTaken.get(r.id) || [];
      const took = (what) => {
        actionsTaken.set(r.id, (actionsTaken.get(r.id) || []).concat(what));
      };
      const acts = document.createElement('td');
      acts.className = 'actions';
      acts.append(
        actionButton('Context', 'context', async () => {
          showContext(await getJSON('reports/' + encodeURIComponent(r.id) + '/context'));
          return 'The messages around ' + r.conv + ' #' + r.seq + ' are below.';
        }),
        actionButton('Recall', 'recall', async () => {
          await postJSON('conversations/' + encodeURIComponent(r.conv) + '/messages/' + r.seq + '/recall');
          took('recalled the message');
          return 'Recalled ' + r.conv + ' #' + r.seq + '.';
        }),
        actionButton('Suspend sender 24 h', 'suspend', async () => {
          await postJSON('users/' + encodeURIComponent(r.sender) + '/suspend', { reason: 'report ' + r.id + (r.reason ? ': ' + r.reason : ''), for: '24h' });
          took('suspended ' + r.sender + ' for 24 h');
          return 'Suspended ' + r.sender + ' for 24 h.';
        }),
        actionButton('Resolve', 'resolve', async () => {
          const resolution = (actionsTaken.get(r.id) || []).join('; ') || 'no action';
          await postJSON('reports/' + encodeURIComponent(r.id) + '/resolve', { resolution });
          actionsTaken.delete(r.id);
          return 'Resolved report ' + r.id + ' (' + resolution + ').';
        }),
      );
      if (done.length) acts.title = done.join('; ');
      tr.append(
        td(clock(Date.parse(r.reported_at))),
        td(r.conv + ' #' + r.seq, 'mono'),
        td(r.sender, 'mono'),
        td(r.reporter, 'mono'),
        td(r.reason || ''),
        td(r.kind === 'card' ? '(card) ' + r.body : r.body, 'text'),
        acts,
      );
      body.appendChild(tr);
    }
    const shown = (res.reports || []).length;
    const rest = !shown ? 'no open reports' : res.total > shown ? (res.total - shown) + ' more open reports: resolve these first' : '';
    if (rest) {
      placeholderRow(body, rest, 7);
    }
  }

  // showContext lists the messages around a reported one, that one marked.
  function showContext(c) {
    const box = $('report-context');
    box.replaceChildren();
    box.hidden = false;
    box.dataset.report = c.report.id;
    const h = document.createElement('h3');
    h.textContent = 'Around ' + c.report.conv + ' #' + c.report.seq + ' (report ' + c.report.id + ')';
    const list = document.createElement('ol');
    for (const m of c.messages || []) {
      const li = document.createElement('li');
      if (m.reported) li.className = 'reported';
      li.textContent = '#' + m.seq + ' ' + clock(Date.parse(m.sent_at)) + ' ' + m.sender + ': ' + (m.recalled ? '(recalled)' : m.body || '(' + m.kind + ')');
      list.appendChild(li);
    }
    box.append(h, list);
  }

  let reportsAt = 0;
  let reportsBusy = false;

  async function reportsMaybe(now) {
    if (reportsBusy || now - reportsAt < METRICS_POLL_MS) return;
    reportsBusy = true;
    reportsAt = now;
    try {
      const res = await getJSON('reports?limit=' + REPORTS_SHOWN);
      renderReports(res);
      $('reports').dataset.total = String(res.total);
    } catch (err) {
      if (err.status !== 401) $('reports-note').textContent = 'Reports unavailable: ' + err.message;
    } finally {
      reportsBusy = false;
    }
  }

  // ---- users (docs/OPERATIONS.md, "Moderation") -----------------------------

  // MESSAGES_SHOWN: the first page of what a user sent; the CLI pages all.
  const MESSAGES_SHOWN = 200;

  const userButton = (label, cls, run) => actButton(label, cls, 'user-note', false, run);

  function userStatusText(st) {
    let t = st.user + ': ';
    if (!st.suspended) t += 'not suspended';
    else t += 'suspended since ' + st.since + (st.until ? ' until ' + st.until : ', until lifted') + (st.reason ? ' (' + st.reason + ')' : '');
    const online = st.online_devices || [];
    return t + '; ' + (online.length ? 'online: ' + online.join(', ') : 'no device online');
  }

  async function lookUpUser(user) {
    const path = 'users/' + encodeURIComponent(user);
    const st = await getJSON(path);
    const panel = $('user-panel');
    panel.hidden = false;
    panel.dataset.user = user;
    panel.dataset.suspended = st.suspended ? '1' : '0';
    $('user-status').textContent = userStatusText(st);
    $('user-messages').hidden = true;
    const reason = () => $('user-reason').value.trim();
    const acts = $('user-actions');
    acts.replaceChildren(
      userButton('Suspend 24 h', 'suspend', async () => {
        await postJSON(path + '/suspend', { reason: reason(), for: '24h' });
        await lookUpUser(user);
        return 'Suspended ' + user + ' for 24 h.';
      }),
      userButton('Lift suspension', 'unsuspend', async () => {
        await postJSON(path + '/unsuspend');
        await lookUpUser(user);
        return 'Lifted the suspension of ' + user + '.';
      }),
      userButton('Messages', 'messages', async () => {
        const page = await getJSON(path + '/messages?limit=' + MESSAGES_SHOWN);
        showSentMessages(page.messages || []);
        const n = (page.messages || []).length;
        return 'Messages of ' + user + ': ' + n + (page.done ? '.' : ' shown; for all: switchboard moderate messages --user ' + user);
      }),
      eraseButton(user, path),
    );
  }

  // eraseButton erases on its second click: the first asks to confirm.
  function eraseButton(user, path) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'erase';
    b.textContent = 'Erase…';
    b.addEventListener('click', async () => {
      if (b.dataset.armed !== '1') {
        b.dataset.armed = '1';
        b.textContent = 'Confirm: erase ' + user + ' for good';
        $('user-note').textContent = 'Erasing recalls every message ' + user + ' sent and closes the account. It cannot be undone.';
        return;
      }
      b.disabled = true;
      try {
        let recalled = 0;
        let convs = 0;
        let res = { next: undefined };
        do {
          res = await postJSON(path + '/erase', res.next ? { after: res.next } : {});
          recalled += res.recalled;
          convs += res.conversations;
        } while (!res.done);
        await lookUpUser(user);
        $('user-note').textContent = 'Erased ' + user + ': messages recalled ' + recalled + ', conversations read ' + convs + '.';
      } catch (err) {
        $('user-note').textContent = 'Erase failed: ' + err.message;
        b.disabled = false;
      }
    });
    return b;
  }

  function showSentMessages(msgs) {
    const list = $('user-messages');
    list.replaceChildren();
    list.hidden = false;
    for (const m of msgs) {
      const li = document.createElement('li');
      li.dataset.conv = m.conv;
      li.dataset.seq = String(m.seq);
      const what = m.recalled ? '(recalled)' : m.kind === 'edit' ? '(edit of #' + m.ref_seq + ') ' + m.body : m.kind === 'card' ? '(card) ' + m.body : m.body;
      li.textContent = m.conv + ' #' + m.seq + ' ' + clock(Date.parse(m.sent_at)) + ' ' + what;
      list.appendChild(li);
    }
  }

  function setupUserForm() {
    $('user-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const user = $('user-id').value.trim();
      if (!user) return;
      try {
        await lookUpUser(user);
        $('user-note').textContent = '';
      } catch (err) {
        $('user-note').textContent = 'Look up failed: ' + err.message;
      }
    });
  }

  // ---- business lines (docs/DESK.md, "Business hours", "First-response targets", "Saved replies")

  const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

  function showHours(h) {
    $('hours-tz').value = h ? h.tz : '';
    for (const d of DAYS) $('hours-' + d).value = (h && h.week && h.week[d]) || '';
    $('hours-closed').value = h && h.closed_dates ? h.closed_dates.join(' ') : '';
    $('hours-message').value = (h && h.message) || '';
  }

  // A target as the page writes it ("90s", "2m", "1h", "1d") and back.
  const TARGET_UNITS = { s: 1000, m: 60000, h: 3600000, d: 86400000 };
  function targetText(t) {
    if (!t || !t.first_response_ms) return ''; // none, or only an answer timeout
    const ms = t.first_response_ms;
    for (const u of ['d', 'h', 'm', 's']) {
      if (ms % TARGET_UNITS[u] === 0) return ms / TARGET_UNITS[u] + u;
    }
    return ms + 'ms';
  }
  function parseTarget(text) {
    const m = /^(\d+)\s*(ms|s|m|h|d)$/.exec(text.trim());
    if (!m) throw new Error('"' + text + '" is not a duration such as 90s, 2m or 1h');
    return { first_response_ms: Number(m[1]) * (m[2] === 'ms' ? 1 : TARGET_UNITS[m[2]]) };
  }

  // repliesText and parseReplies: the list as "NAME: TEXT" lines.
  const repliesText = (list) => list.map((r) => r.name + ': ' + r.text).join('\n');
  function parseReplies(text) {
    const out = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const i = line.indexOf(':');
      if (i < 0) throw new Error('"' + line + '" is not NAME: TEXT');
      out.push({ name: line.slice(0, i).trim(), text: line.slice(i + 1).trim() });
    }
    return out;
  }

  // The line's targets as loaded: a save changes the first response and
  // keeps the rest (its own answer timeout, set with the CLI or the API).
  let lineTargets = null;

  async function openLine(line) {
    const path = 'desk/lines/' + encodeURIComponent(line);
    const [hours, targets, replies, reasons] = await Promise.all([
      getJSON(path + '/hours'), getJSON(path + '/targets'), getJSON(path + '/replies'), getJSON(path + '/reasons'),
    ]);
    const panel = $('line-panel');
    panel.dataset.line = line;
    panel.hidden = false;
    showHours(hours.hours);
    lineTargets = targets.targets;
    $('target-first').value = targetText(targets.targets);
    $('replies-text').value = repliesText(replies.replies || []);
    showReasons(reasons);
  }

  // showReasons: the week's contact reasons (docs/DESK.md, "Tags: contact reasons").
  function showReasons(r) {
    $('reasons-range').textContent = r.from + ' to ' + r.to + ': ' + r.tagged_sessions + ' tagged sessions';
    const body = $('reasons').querySelector('tbody');
    body.textContent = '';
    for (const t of r.tags) {
      const tr = document.createElement('tr');
      for (const [text, num] of [[t.tag, false], [String(t.sessions), true], [Math.round((100 * t.sessions) / r.tagged_sessions) + ' %', true]]) {
        const td = document.createElement('td');
        td.textContent = text;
        if (num) td.className = 'num';
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }

  function setupLineForm() {
    const days = $('hours-days');
    for (const d of DAYS) {
      const l = document.createElement('label');
      const i = document.createElement('input');
      i.id = 'hours-' + d;
      i.size = 24;
      i.placeholder = d === 'sat' || d === 'sun' ? 'closed' : '09:00-18:00';
      l.append(d + ' ', i);
      days.appendChild(l);
    }
    const note = (t) => ($('line-note').textContent = t);
    const path = () => 'desk/lines/' + encodeURIComponent($('line-panel').dataset.line);
    $('line-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const line = $('line-id').value.trim();
      if (!line) return;
      try {
        await openLine(line);
        note('');
      } catch (err) {
        note('Open failed: ' + err.message);
      }
    });
    $('hours-save').addEventListener('click', async () => {
      const week = {};
      for (const d of DAYS) {
        const v = $('hours-' + d).value.replace(/\s+/g, '');
        if (v) week[d] = v;
      }
      const closed = $('hours-closed').value.split(/[\s,]+/).filter(Boolean);
      try {
        const res = await putJSON(path() + '/hours', { tz: $('hours-tz').value.trim(), week, closed_dates: closed, message: $('hours-message').value.trim() });
        showHours(res.hours);
        note('Saved the hours of ' + res.line + '.');
      } catch (err) {
        note('Save failed: ' + err.message);
      }
    });
    $('hours-clear').addEventListener('click', async () => {
      try {
        const res = await call(path() + '/hours', { method: 'DELETE' });
        showHours(res.hours);
        note(res.line + ' is always open.');
      } catch (err) {
        note('Clear failed: ' + err.message);
      }
    });
    $('target-save').addEventListener('click', async () => {
      try {
        const res = await putJSON(path() + '/targets', Object.assign({}, lineTargets, parseTarget($('target-first').value)));
        lineTargets = res.targets;
        $('target-first').value = targetText(res.targets);
        note('Saved the target of ' + res.line + ': a first response within ' + targetText(res.targets) + '.');
      } catch (err) {
        note('Save failed: ' + err.message);
      }
    });
    $('target-clear').addEventListener('click', async () => {
      try {
        // A line's own answer timeout stays: only the first response goes.
        const keep = lineTargets && lineTargets.answer_timeout_ms;
        const res = keep
          ? await putJSON(path() + '/targets', Object.assign({}, lineTargets, { first_response_ms: 0 }))
          : await call(path() + '/targets', { method: 'DELETE' });
        lineTargets = res.targets;
        $('target-first').value = targetText(res.targets);
        note(res.line + ' has no first-response target' + (keep ? ' (its answer timeout stays).' : '.'));
      } catch (err) {
        note('Clear failed: ' + err.message);
      }
    });
    $('replies-save').addEventListener('click', async () => {
      try {
        const res = await putJSON(path() + '/replies', { replies: parseReplies($('replies-text').value) });
        $('replies-text').value = repliesText(res.replies);
        note('Saved ' + res.replies.length + ' replies of ' + res.line + '.');
      } catch (err) {
        note('Save failed: ' + err.message);
      }
    });
  }

  // ---- polling -------------------------------------------------------------

  function banner(text, isError) {
    const b = $('banner');
    if (!text) {
      b.hidden = true;
      return;
    }
    b.hidden = false;
    b.className = isError ? 'error' : '';
    b.textContent = text;
  }

  function authProblem(err) {
    $('token-form').classList.add('need');
    banner(token
      ? 'The admin API refused the token (' + err.message + '). Paste the right one above.'
      : 'The admin API needs a token: paste it above, or open this page as …/dashboard/#token=TOKEN.', false);
    $('status').textContent = 'waiting for an admin token';
  }

  let timer = null;
  let busy = false;

  async function poll() {
    if (busy) return;
    busy = true;
    clearTimeout(timer);
    try {
      const [m, st] = await Promise.all([getJSON('members'), getJSON('status')]);
      const now = Date.now();
      $('token-form').classList.remove('need');
      banner('');
      const members = m.members || [];
      renderMembers(members);
      renderSummary(st, sample(now, members, st));
      $('status').textContent = 'updated ' + clock(now) + ' · polling every ' + POLL_MS / 1000 + ' s';
      metricsMaybe(now);
      reportsMaybe(now);
    } catch (err) {
      if (err.status === 401) authProblem(err);
      else {
        banner('Cannot read the admin API: ' + err.message, true);
        $('status').textContent = 'last error ' + clock(Date.now());
      }
    } finally {
      busy = false;
      timer = setTimeout(poll, POLL_MS);
    }
  }

  let metricsAt = 0;
  let metricsBusy = false;

  // The metrics report is heavier than status and its windows are a minute
  // wide, so it is fetched less often, and never twice at once.
  async function metricsMaybe(now) {
    if (metricsBusy || now - metricsAt < METRICS_POLL_MS) return;
    metricsBusy = true;
    metricsAt = now;
    // Aligned to a window start, so the first window is whole.
    const from = now - METRICS_SPAN_MS - ((now - METRICS_SPAN_MS) % 60000);
    try {
      const report = await getJSON('metrics?window=1m&slide=1m&from=' + encodeURIComponent(new Date(from).toISOString()));
      renderMetrics(report, from, now);
    } catch (err) {
      if (err.status !== 401) $('metrics-note').textContent = 'Service metrics unavailable: ' + err.message;
    } finally {
      metricsBusy = false;
    }
  }

  function pollNow() {
    metricsAt = 0;
    reportsAt = 0;
    poll();
  }

  takeToken();
  setupTokenForm();
  setupUserForm();
  setupLineForm();
  window.addEventListener('hashchange', () => {
    takeToken();
    pollNow();
  });
  poll();
})();
