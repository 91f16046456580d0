// dashboard.js — polls the pool's /api/status once a second and draws the
// campaigns, the workers and a throughput chart. ?key=K is passed on to
// pools that want one; ?pool=http://host:port reads another pool.
'use strict';

const params = new URLSearchParams(location.search);
const base = (params.get('pool') || '').replace(/^ws/, 'http').replace(/\/$/, '');
const keyArg = params.get('key') ? '?key=' + encodeURIComponent(params.get('key')) : '';
const statusUrl = base + '/api/status' + keyArg;
const failuresUrl = base + '/api/failures' + keyArg;
let failuresSeen = -1;  // failures_total when the list was last read
const $ = (id) => document.getElementById(id);
const samples = [];  // [time s, results_total]
let lastStatus = null;

function esc(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

function drawCampaigns(campaigns) {
  $('campaigns').innerHTML = campaigns.map((c) => {
    const pct = c.total ? Math.floor(100 * (c.done + c.failed) / c.total) : 0;
    return `<tr><td>${esc(c.name)}</td><td>${esc(c.state)}</td>` +
      `<td><div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" ` +
      `aria-valuenow="${pct}" aria-label="${esc(c.name)} progress"><span style="width:${pct}%"></span></div> ${pct}%</td>` +
      `<td>${c.done}</td><td class="${c.failed ? 'error' : ''}">${c.failed}</td><td>${c.total}</td>` +
      `<td>${(c.rate || 0).toFixed(1)}/s</td></tr>`;
  }).join('') || '<tr><td colspan="7">no campaigns</td></tr>';
}

function drawWorkers(workers) {
  $('workers').innerHTML = workers.map((w) =>
    `<tr><td>${esc(w.id)}</td><td>${esc(w.platform)}</td><td>${w.slots}</td>` +
    `<td>${Math.round(w.score || 0)}</td><td>${w.tasks_done}</td><td>${w.tasks_failed}</td>` +
    `<td>${w.leased}</td></tr>`).join('') || '<tr><td colspan="7">no workers connected</td></tr>';
}

function drawChart() {
  const canvas = $('chart');
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const rates = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = samples[i][0] - samples[i - 1][0];
    rates.push([samples[i][0], dt > 0 ? (samples[i][1] - samples[i - 1][1]) / dt : 0]);
  }
  const max = Math.max(1, ...rates.map((r) => r[1]));
  const now = Date.now() / 1000;
  ctx.strokeStyle = '#1f6feb';
  ctx.lineWidth = 2;
  ctx.beginPath();
  rates.forEach(([t, r], i) => {
    const x = w - (now - t) / 300 * w;
    const y = h - 4 - r / max * (h - 20);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = '#888';
  ctx.font = '12px system-ui';
  ctx.fillText(max.toFixed(1) + '/s', 4, 14);
}

async function drawFailures(total) {
  if (total === failuresSeen) return;  // read the list only when it changed
  failuresSeen = total;
  const r = await fetch(failuresUrl, { cache: 'no-store' });
  if (!r.ok) return;
  const { failures } = await r.json();
  $('failures').innerHTML = failures.map((f) =>
    `<tr><td>${esc(f.campaign)}</td><td>${f.seq}</td><td>${esc(f.worker)}</td>` +
    `<td class="error">${esc(f.error)}</td></tr>`).join('') ||
    '<tr><td colspan="4">none</td></tr>';
}

async function poll() {
  try {
    const r = await fetch(statusUrl, { cache: 'no-store' });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const s = await r.json();
    lastStatus = s;
    samples.push([Date.now() / 1000, s.results_total || 0]);
    while (samples.length > 301) samples.shift();
    const platforms = [...new Set(s.workers.map((w) => w.platform))];
    $('summary').textContent = `${s.campaigns.length} campaigns, ${s.workers.length} workers` +
      (platforms.length ? ` (${platforms.join(', ')})` : '') +
      `, ${s.results_total} results, ${s.failures_total} failures, up ${Math.round(s.uptime_s)} s`;
    drawCampaigns(s.campaigns);
    drawWorkers(s.workers);
    drawChart();
    await drawFailures(s.failures_total);
  } catch (e) {
    $('summary').textContent = 'cannot read ' + statusUrl + ': ' + e.message;
  }
}

poll();
setInterval(poll, 1000);
window.wkitDashboard = { get status() { return lastStatus; } };
