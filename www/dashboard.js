// dashboard.js — polls the pool's /api/status once a second and its
// /api/history (the pool's last hour, one sample per --history-interval),
// and draws the campaigns with their ETA, three charts with time axes, the
// workers with their CPU load and memory, and the failed tasks.
//
// ?cap=CAP (or the older ?key=K) is passed on to pools that want a
// capability; ?pool=http://host:port reads another pool.
'use strict';

const params = new URLSearchParams(location.search);
const base = (params.get('pool') || '').replace(/^ws/, 'http').replace(/\/$/, '');
const cap = params.get('cap') || params.get('key') || '';
const capArg = cap ? '?cap=' + encodeURIComponent(cap) : '';
const statusUrl = base + '/api/status' + capArg;
const historyUrl = base + '/api/history' + capArg;
const failuresUrl = base + '/api/failures' + capArg;
const COLORS = ['#1f6feb', '#d4731c', '#2da44e', '#a371f7', '#cf222e', '#6e7781'];
let failuresSeen = -1;  // failures_total when the list was last read
let lastStatus = null, lastHistory = null, historyDue = 0;
const $ = (id) => document.getElementById(id);
if (cap) $('volunteer-link').href = 'index.html' + capArg;

function esc(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

// "1 worker", "2 workers".
function count(n, noun) {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

// A table row whose cells carry their column's name (data-label), which
// the narrow layout (style.css, .cards) shows in front of each value.
function row(table, cells) {
  const labels = [...$(table).closest('table').querySelectorAll('thead th')].map((th) => th.textContent);
  return '<tr>' + cells.map(([html, cls], i) =>
    `<td data-label="${esc(labels[i] || '')}"${cls ? ` class="${cls}"` : ''}>${html}</td>`).join('') + '</tr>';
}

function duration(s) {
  if (s < 60) return Math.max(1, Math.round(s)) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.round(s % 3600 / 60) + ' min';
  return Math.floor(s / 86400) + ' d ' + Math.round(s % 86400 / 3600) + ' h';
}

function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(n < 10 ? 1 : 0) : n) + ' ' + units[i];
}

// When the campaign will be done: from its smoothed rate; none when it
// is finished, paused or has made no progress yet.
function eta(c) {
  if (c.state === 'done' || c.state === 'cancelled') return '—';
  if (c.state === 'paused') return 'paused';
  return c.eta_s >= 0 ? duration(c.eta_s) : 'unknown';
}

function drawCampaigns(campaigns) {
  $('campaigns').innerHTML = campaigns.map((c) => {
    const pct = c.total ? Math.floor(100 * (c.done + c.failed) / c.total) : 100;
    return row('campaigns', [[esc(c.name)], [esc(c.state), 'state-' + esc(c.state)],
      [`<div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" ` +
        `aria-valuenow="${pct}" aria-label="${esc(c.name)} progress"><span style="width:${pct}%"></span></div> ${pct}%`],
      [c.done], [c.failed, c.failed ? 'error' : ''], [c.total], [(c.rate || 0).toFixed(1) + '/s'], [eta(c)]]);
  }).join('') || '<tr><td colspan="8">no campaigns</td></tr>';
}

function load(w) {
  if (w.load === null || w.load === undefined) return '—';
  const pct = Math.round(w.load * 100);
  return `<div class="bar load" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${Math.min(pct, 100)}" ` +
    `aria-label="${esc(w.id)} CPU load"><span style="width:${Math.min(pct, 100)}%"></span></div> ${pct}%`;
}

function drawWorkers(workers) {
  $('workers').innerHTML = workers.map((w) => row('workers', [[esc(w.id)], [esc(w.platform)], [w.slots],
    [Math.round(w.score || 0)], [w.tasks_done], [w.tasks_failed], [w.leased], [load(w)],
    [bytes(w.rss)]])).join('') || '<tr><td colspan="9">no workers connected</td></tr>';
}

// Draws one chart from the history: series(sample) gives {name: value}.
function chart(id, unit, samples, series) {
  const names = [];
  for (const s of samples) for (const n of Object.keys(series(s))) if (!names.includes(n)) names.push(n);
  const shown = names.slice(0, COLORS.length);
  const lines = shown.map((name, i) => ({ name, color: COLORS[i],
    points: samples.filter((s) => name in series(s)).map((s) => [s.t, series(s)[name]]) }));
  const to = samples.length ? samples[samples.length - 1].t : Date.now() / 1000;
  const from = samples.length ? Math.min(samples[0].t, to - 60) : to - 60;
  wkitChart($('chart-' + id), { series: lines, unit, from, to });
  $('legend-' + id).innerHTML = lines.map((l) =>
    `<li><span class="swatch" style="background:${l.color}"></span>${esc(l.name)}</li>`).join('') +
    (names.length > shown.length ? `<li>and ${names.length - shown.length} more</li>` : '');
}

function perCampaign(field) {
  return (s) => Object.fromEntries(s.campaigns.map((c) => [c.name, c[field]]));
}

function drawHistory(h) {
  const samples = h.samples;
  chart('rate', 'tasks/s', samples, perCampaign('rate'));
  chart('queue', 'tasks', samples, perCampaign('queued'));
  chart('workers', 'count', samples, (s) => ({ workers: s.workers, slots: s.slots }));
  const span = samples.length > 1 ? samples[samples.length - 1].t - samples[0].t : 0;
  $('history-span').textContent = samples.length
    ? `(last ${duration(span)}, a sample every ${h.interval_s} s)` : '';
}

async function drawFailures(total) {
  if (total === failuresSeen) return;  // read the list only when it changed
  failuresSeen = total;
  const r = await fetch(failuresUrl, { cache: 'no-store' });
  if (!r.ok) return;
  const { failures } = await r.json();
  $('failures').innerHTML = failures.map((f) => row('failures',
    [[esc(f.campaign)], [f.seq], [esc(f.worker)], [esc(f.error), 'error']])).join('') ||
    '<tr><td colspan="4">none</td></tr>';
}

async function fetchJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  if (r.status === 403) throw new Error('the pool wants a capability: open this page with ?cap=CAP');
  if (!r.ok) throw new Error('HTTP ' + r.status);
  return r.json();
}

async function poll() {
  try {
    const s = await fetchJson(statusUrl);
    lastStatus = s;
    const platforms = [...new Set(s.workers.map((w) => w.platform))];
    $('summary').textContent = `${count(s.campaigns.length, 'campaign')}, ${count(s.workers.length, 'worker')}` +
      (platforms.length ? ` (${platforms.join(', ')})` : '') +
      `, ${count(s.results_total, 'result')}, ${count(s.failures_total, 'failure')}, up ${duration(s.uptime_s)}`;
    drawCampaigns(s.campaigns);
    drawWorkers(s.workers);
    // The history changes once per interval: read it as often, not every second.
    if (Date.now() >= historyDue) {
      lastHistory = await fetchJson(historyUrl);
      historyDue = Date.now() + Math.max(1, Math.min(60, lastHistory.interval_s)) * 1000;
      drawHistory(lastHistory);
    }
    await drawFailures(s.failures_total);
  } catch (e) {
    $('summary').textContent = 'cannot read the pool: ' + e.message;
  }
}

poll();
setInterval(poll, 1000);
window.wkitDashboard = {
  get status() { return lastStatus; },
  get history() { return lastHistory; },
};
